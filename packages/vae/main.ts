/**
 * The VAE's command line: `deno task train:vae`, `eval:vae`, `sample:vae`.
 *
 * ```sh
 * deno task train:vae --epochs 10 --latent 2
 * deno task eval:vae --checkpoint runs/vae-20261203-120000 --json
 * deno task sample:vae --checkpoint runs/vae-20261203-120000 --count 64 --out samples.png
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  adam,
  EMBEDDED_MNIST,
  type ImageSet,
  loadImages,
  type LoopState,
  readCheckpointMeta,
  restoreOptimizer,
} from "@simple-nets/core";
import { BACKEND_NAMES } from "@simple-nets/core/backend";
// Registers the optional OpenBLAS kernels (needs --allow-ffi; falls back with a note).
import "@simple-nets/core/native";
import {
  checkOutFile,
  type FlagSpecs,
  interruptSignal,
  MetricsLog,
  parseFlags,
  planRun,
  printSummary,
  Progress,
  requireFlag,
  runCommands,
  startBackend,
  UserError,
  writeFileAtomic,
} from "@simple-nets/core/cli";
import { imageGrid } from "@simple-nets/core/images";
import { lossPlot } from "@simple-nets/core/plot";
import { createVae, DEFAULT_VAE_CONFIG, disposeVae, type Vae, type VaeConfig } from "./model.ts";
import { evaluateVae, trainVae } from "./train.ts";
import { latentManifold, reconstruct, sampleVae } from "./generate.ts";
import { loadVae, saveVae, VAE_PACKAGE } from "./io.ts";

/** Epochs of the default run: ~25 s on 2 cores with native OpenBLAS, under a minute on plain wasm. */
const DEFAULT_EPOCHS = 20;

const COMMON = {
  seed: { type: "int", default: 1, help: "seed of every random choice" },
  backend: { type: "string", choices: BACKEND_NAMES, default: "auto", help: "TF.js backend" },
  json: { type: "boolean", default: false, help: "print the summary as one JSON line on stdout" },
} as const satisfies FlagSpecs;

const TRAIN_FLAGS = {
  data: {
    type: "string",
    placeholder: "DIR",
    help: "folder of MNIST-format IDX files (default: the embedded 10,000 digits)",
  },
  out: { type: "string", placeholder: "DIR", help: "run folder (default: runs/vae-<timestamp>)" },
  epochs: { type: "int", min: 1, default: DEFAULT_EPOCHS, help: "passes over the training images" },
  "batch-size": { type: "int", min: 1, default: 128, help: "images per step" },
  lr: { type: "number", min: 0, exclusiveMin: true, default: 1e-3, help: "Adam learning rate" },
  hidden: { type: "int", min: 1, default: DEFAULT_VAE_CONFIG.hidden, help: "hidden units H" },
  latent: { type: "int", min: 1, default: DEFAULT_VAE_CONFIG.latent, help: "latent dimensions Z" },
  resume: { type: "string", placeholder: "DIR", help: "continue the run in this run folder" },
  ...COMMON,
} as const satisfies FlagSpecs;

const EVAL_FLAGS = {
  checkpoint: { type: "string", placeholder: "DIR", help: "run folder of a trained VAE (required)" },
  data: {
    type: "string",
    placeholder: "DIR",
    help: "folder with the t10k IDX pair (default: the checkpoint's own data)",
  },
  ...COMMON,
} as const satisfies FlagSpecs;

const SAMPLE_FLAGS = {
  checkpoint: { type: "string", placeholder: "DIR", help: "run folder of a trained VAE (required)" },
  count: { type: "int", min: 1, max: 10000, default: 64, help: "images to draw" },
  out: { type: "string", placeholder: "FILE.png", help: "PNG file to write (required)" },
  ...COMMON,
} as const satisfies FlagSpecs;

/** The settings a run is resumed with, kept in `meta.json`. */
interface RunOptions {
  epochs: number;
  batchSize: number;
  lr: number;
}

async function writePictures(dir: string, vae: Vae, test: ImageSet, seed: number): Promise<string[]> {
  const written: string[] = [];
  const write = async (name: string, png: Uint8Array) => {
    await writeFileAtomic(`${dir}/${name}`, png);
    written.push(name);
  };
  const n = Math.min(10, test.count);
  const labels = Array.from(test.labels.subarray(0, n));
  const originals = test.images.slice(0, n * 784);
  const recon = tf.tidy(() => reconstruct(vae, tf.tensor2d(originals, [n, 784])));
  const captions = labels.map(String);
  const tag = `[${labels.join(",")}]`;
  await write(`original_${tag}.png`, await imageGrid(originals, { columns: n, scale: 3, captions }));
  await write(
    `reconstructed_${tag}.png`,
    await imageGrid(recon.dataSync(), { columns: n, scale: 3, captions }),
  );
  recon.dispose();
  const samples = sampleVae(vae, 100, { seed });
  await write("samples.png", await imageGrid(samples.dataSync(), { columns: 10 }));
  samples.dispose();
  if (vae.config.latent === 2) {
    const manifold = latentManifold(vae, 20);
    await write("manifold.png", await imageGrid(manifold.dataSync(), { columns: 20, padding: 0, scale: 1 }));
    manifold.dispose();
  }
  return written;
}

async function train(args: string[]): Promise<number> {
  const flags = parseFlags(args, TRAIN_FLAGS, {
    command: "train:vae",
    description: "Train a variational autoencoder on MNIST-format digits.",
  });
  // Decide everything before any folder is created or any work starts.
  const { outDir, resumed: resumeMeta, config, options, seed, data: dataSource, backend } = await planRun<
    VaeConfig,
    RunOptions
  >(flags, {
    package: VAE_PACKAGE,
    label: "vae",
    embedded: EMBEDDED_MNIST,
    config: { ...DEFAULT_VAE_CONFIG, hidden: flags.hidden, latent: flags.latent },
    options: { epochs: flags.epochs, batchSize: flags["batch-size"], lr: flags.lr },
    length: { flag: "epochs", value: flags.epochs },
  });
  const data = await loadImages(dataSource);
  const trainSet = data.train!, testSet = data.test!;
  const backendName = await startBackend(backend, "vae");

  await Deno.mkdir(outDir, { recursive: true });
  const source = data.source;
  await writeFileAtomic(
    `${outDir}/config.json`,
    JSON.stringify(
      { package: VAE_PACKAGE, config, options, seed, data: source, backend: backendName },
      null,
      2,
    ) +
      "\n",
  );
  let vae: Vae;
  let resumeState: LoopState | undefined;
  const optimizer = adam(options.lr);
  if (resumeMeta) {
    const loaded = await loadVae(outDir);
    vae = loaded.vae;
    await restoreOptimizer(optimizer, loaded.optimizerState);
    tf.dispose(loaded.optimizerState.map((w) => w.tensor));
    resumeState = resumeMeta.loop as LoopState;
  } else {
    vae = createVae(config, { seed });
  }
  const progress = new Progress("vae");
  progress.note(
    `${resumeMeta ? `resuming at step ${resumeState!.step}` : "training"} on ${trainSet.count} images ` +
      `(${source}), H=${config.hidden} Z=${config.latent}, ${options.epochs} epochs, backend ${backendName}, ` +
      `writing to ${outDir}`,
  );
  const log = await MetricsLog.open(`${outDir}/metrics.jsonl`, resumeState?.step);
  const interrupt = interruptSignal();
  let lastMetrics: Record<string, number> = {};
  const result = await trainVae(vae, trainSet, {
    epochs: options.epochs,
    batchSize: options.batchSize,
    optimizer,
    seed,
    resume: resumeState,
    signal: interrupt.signal,
    onEvent: progress.event,
    onLog: (record) => log.append(record),
    evaluate: () => {
      const e = evaluateVae(vae, testSet, { seed });
      lastMetrics = { testNegElbo: e.negElbo, testReconstruction: e.reconstruction, testKl: e.kl };
      return lastMetrics;
    },
    checkpoint: async (state) => {
      await saveVae(outDir, vae, {
        step: state.step,
        seed,
        backend: backendName,
        data: source,
        metrics: lastMetrics,
        optimizer,
        extra: { options, loop: state },
      });
    },
  }).finally(() => {
    interrupt.dispose();
    progress.done();
  });
  if (result.interrupted) {
    progress.note(`stopped at step ${result.steps}; continue with: deno task train:vae --resume ${outDir}`);
    disposeVae(vae);
    optimizer.dispose();
    return 130;
  }
  const pictures = await writePictures(outDir, vae, testSet, seed);
  await writeFileAtomic(
    `${outDir}/loss.png`,
    await lossPlot(log.records(), {
      title: "VAE negative ELBO (nats per image)",
      keys: ["loss", "testNegElbo"],
      kinds: ["train", "eval"],
    }),
  );
  const test = evaluateVae(vae, testSet, { seed });
  disposeVae(vae);
  optimizer.dispose();
  progress.note(
    `wrote ${outDir}/: checkpoint/, config.json, metrics.jsonl, loss.png, ${pictures.join(", ")}`,
  );
  const summary: Record<string, unknown> = {
    out: outDir,
    epochs: result.epochs,
    steps: result.steps,
    trainNegElbo: result.losses.loss,
    testNegElbo: test.negElbo,
    seconds: Math.round(result.seconds * 10) / 10,
  };
  if (resumeMeta) summary.resumedFromStep = resumeState!.step;
  await printSummary(summary, flags.json);
  return 0;
}

async function evaluate(args: string[]): Promise<number> {
  const flags = parseFlags(args, EVAL_FLAGS, {
    command: "eval:vae",
    description: "Negative ELBO per image of a trained VAE on a test set.",
  });
  const dir = requireFlag(flags.checkpoint, "checkpoint");
  const meta = await readCheckpointMeta(dir, { package: VAE_PACKAGE });
  const data = await loadImages(flags.data ?? meta.data, { train: false });
  await startBackend(flags.given.has("backend") ? flags.backend : meta.backend, "vae");
  const { vae, optimizerState } = await loadVae(dir);
  tf.dispose(optimizerState.map((w) => w.tensor));
  const result = evaluateVae(vae, data.test!, { seed: flags.given.has("seed") ? flags.seed : meta.seed });
  disposeVae(vae);
  await printSummary({ checkpoint: dir, data: data.source, ...result }, flags.json);
  return 0;
}

async function sample(args: string[]): Promise<number> {
  const flags = parseFlags(args, SAMPLE_FLAGS, {
    command: "sample:vae",
    description: "Decode images drawn from the prior of a trained VAE into one PNG grid.",
  });
  const dir = requireFlag(flags.checkpoint, "checkpoint");
  const out = requireFlag(flags.out, "out");
  if (!out.toLowerCase().endsWith(".png")) throw new UserError(`--out must name a .png file, got "${out}"`);
  await checkOutFile(out);
  const meta = await readCheckpointMeta(dir, { package: VAE_PACKAGE });
  await startBackend(flags.given.has("backend") ? flags.backend : meta.backend, "vae");
  const { vae, optimizerState } = await loadVae(dir);
  tf.dispose(optimizerState.map((w) => w.tensor));
  const images = sampleVae(vae, flags.count, { seed: flags.seed });
  const png = await imageGrid(images.dataSync(), { columns: Math.ceil(Math.sqrt(flags.count)) });
  images.dispose();
  disposeVae(vae);
  await writeFileAtomic(out, png);
  await printSummary({ out, count: flags.count, seed: flags.seed }, flags.json);
  return 0;
}

if (import.meta.main) runCommands({ train, eval: evaluate, sample });
