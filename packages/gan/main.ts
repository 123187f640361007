/**
 * The GAN's command line: `deno task train:gan`, `eval:gan`, `sample:gan`.
 *
 * ```sh
 * deno task train:gan --epochs 30
 * deno task eval:gan --checkpoint runs/gan-20261203-120000 --json
 * deno task sample:gan --checkpoint runs/gan-20261203-120000 --count 64 --out digits.png
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  EMBEDDED_MNIST,
  type ImageSet,
  loadImages,
  type LoopState,
  NonFiniteLossError,
  readCheckpointMeta,
  restoreOptimizer,
} from "@simple-nets/core";
import "@simple-nets/core/native"; // OpenBLAS matrix products for the wasm backend, when the library is there
import { BACKEND_NAMES } from "@simple-nets/core/backend";
import {
  checkOutFile,
  type FlagSpecs,
  type FlagValues,
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
import {
  createGan,
  DEFAULT_GAN_CONFIG,
  disposeGan,
  type Gan,
  type GanConfig,
  ganConfig,
  generate,
} from "./model.ts";
import { createGanOptimizers, splitValidation, trainGan } from "./train.ts";
import { evaluateGan, meanDiscriminator } from "./evaluate.ts";
import { disposeOptimizerState, GAN_PACKAGE, loadGan, saveGan } from "./io.ts";

/**
 * Epochs of the default run: the reference's default (gan.py). This GAN learns slowly on 8,000 images: after
 * 30 epochs both this port and gan.py still draw collapsed blobs (see the README).
 */
const DEFAULT_EPOCHS = 100;
/** Images in the fixed-noise grids written after every epoch and at the end. */
const GRID_IMAGES = 100;
/** Generated images the end-of-epoch evaluation averages D(G(z)) over (the grid's are the first 100). */
const EVAL_SAMPLES = 1000;

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
  out: { type: "string", placeholder: "DIR", help: "run folder (default: runs/gan-<timestamp>)" },
  epochs: { type: "int", min: 1, default: DEFAULT_EPOCHS, help: "passes over the training images" },
  "batch-size": { type: "int", min: 1, default: 128, help: "real images per discriminator step" },
  lr: { type: "number", min: 0, exclusiveMin: true, default: 1e-4, help: "Adam learning rate of G and D" },
  "d-steps": { type: "int", min: 1, default: 1, help: "discriminator steps per generator step" },
  discriminator: {
    type: "string",
    choices: ["maxout", "fc"],
    default: DEFAULT_GAN_CONFIG.discriminator,
    help: "discriminator units",
  },
  pieces: { type: "int", min: 1, default: DEFAULT_GAN_CONFIG.pieces, help: "pieces per maxout unit" },
  dropout: {
    type: "number",
    min: 0,
    max: 0.99,
    default: DEFAULT_GAN_CONFIG.dropout,
    help: "discriminator dropout rate (training only)",
  },
  noise: { type: "int", min: 1, default: DEFAULT_GAN_CONFIG.noise, help: "noise dimensions of z" },
  "generator-sizes": {
    type: "ints",
    min: 1,
    default: [...DEFAULT_GAN_CONFIG.generatorSizes],
    help: "generator hidden widths",
  },
  "discriminator-sizes": {
    type: "ints",
    min: 1,
    placeholder: "N,N",
    help: "discriminator hidden widths (default: 512,256,128 for maxout, 1024,512,256 for fc)",
  },
  val: {
    type: "int",
    min: 1,
    default: 1000,
    help: "last N training images held out of training (they choose the Parzen σ)",
  },
  "checkpoint-every": {
    type: "int",
    min: 0,
    default: 0,
    help: "also checkpoint every N steps (0: after every epoch only)",
  },
  resume: { type: "string", placeholder: "DIR", help: "continue the run in this run folder" },
  ...COMMON,
} as const satisfies FlagSpecs;

const EVAL_FLAGS = {
  checkpoint: { type: "string", placeholder: "DIR", help: "run folder of a trained GAN (required)" },
  data: {
    type: "string",
    placeholder: "DIR",
    help:
      "IDX folder with the train pair (for the held-out images) and the t10k pair (default: the checkpoint's data)",
  },
  "test-limit": { type: "int", min: 1, help: "score only the first N test images (default: all)" },
  samples: {
    type: "int",
    min: 1,
    default: 10000,
    help: "generated samples that are the Parzen kernel centres",
  },
  "batch-size": { type: "int", min: 1, default: 500, help: "images scored per matrix product" },
  seed: { type: "int", help: "seed of the samples' noise (default: the run's seed)" },
  backend: { type: "string", choices: BACKEND_NAMES, help: "TF.js backend (default: the checkpoint's)" },
  json: COMMON.json,
} as const satisfies FlagSpecs;

const SAMPLE_FLAGS = {
  checkpoint: { type: "string", placeholder: "DIR", help: "run folder of a trained GAN (required)" },
  count: { type: "int", min: 1, max: 10000, default: 64, help: "images to generate" },
  out: { type: "string", placeholder: "FILE.png", help: "PNG file to write (required)" },
  seed: COMMON.seed,
  backend: { type: "string", choices: BACKEND_NAMES, help: "TF.js backend (default: the checkpoint's)" },
  json: COMMON.json,
} as const satisfies FlagSpecs;

/** The settings a run is resumed with, kept in `meta.json`. */
interface RunOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  dSteps: number;
  val: number;
  checkpointEvery: number;
}

/** Splits off the held-out images, turning an impossible `--val` into a user error. */
function heldOut(train: ImageSet, val: number): { train: ImageSet; validation: ImageSet } {
  if (val >= train.count) {
    throw new UserError(`--val must be below the ${train.count} training images, got ${val}`);
  }
  return splitValidation(train, val);
}

/** A grid of generated images (pixels in [0, 1]) as PNG bytes: every picture goes through here. */
async function samplesPng(images: Float32Array, count: number, title?: string): Promise<Uint8Array> {
  return await imageGrid(images.subarray(0, count * 784), {
    count,
    columns: Math.ceil(Math.sqrt(count)),
    title,
  });
}

/**
 * Removes what a new run wrote before its first checkpoint (its --out was empty or absent when it started),
 * and the folder itself when the run created it.
 */
async function discardRun(outDir: string, keepFolder: boolean): Promise<void> {
  for (const name of ["config.json", "metrics.jsonl", "progress"]) {
    await Deno.remove(`${outDir}/${name}`, { recursive: true }).catch(() => {});
  }
  if (!keepFolder) await Deno.remove(outDir).catch(() => {});
}

function configFromFlags(flags: FlagValues<typeof TRAIN_FLAGS>): GanConfig {
  try {
    return ganConfig({
      discriminator: flags.discriminator,
      pieces: flags.pieces,
      dropout: flags.dropout,
      noise: flags.noise,
      generatorSizes: flags["generator-sizes"],
      ...(flags["discriminator-sizes"] ? { discriminatorSizes: flags["discriminator-sizes"] } : {}),
    });
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

async function train(args: string[]): Promise<number> {
  const flags = parseFlags(args, TRAIN_FLAGS, {
    command: "train:gan",
    description: "Train a GAN with a maxout (or fully connected) discriminator on MNIST-format digits.",
  });
  // Decide everything before any folder is created or any work starts.
  const { outDir, resumed: resumeMeta, config, options, seed, data: dataSource, backend } = await planRun<
    GanConfig,
    RunOptions
  >(flags, {
    package: GAN_PACKAGE,
    label: "gan",
    embedded: EMBEDDED_MNIST,
    config: configFromFlags(flags),
    options: {
      epochs: flags.epochs,
      batchSize: flags["batch-size"],
      lr: flags.lr,
      dSteps: flags["d-steps"],
      val: flags.val,
      checkpointEvery: flags["checkpoint-every"],
    },
    length: { flag: "epochs", value: flags.epochs },
  });
  const data = await loadImages(dataSource, { test: false });
  const { train: trainSet, validation } = heldOut(data.train!, options.val);
  const perEpoch = Math.ceil(trainSet.count / (options.batchSize * options.dSteps));
  const doneSteps = (resumeMeta?.loop as LoopState | undefined)?.step ?? 0;
  if (resumeMeta && options.epochs * perEpoch < doneSteps) {
    throw new UserError(
      `--epochs ${options.epochs} (${options.epochs * perEpoch} steps) is below the ${doneSteps} steps ` +
        `(${Math.round(doneSteps / perEpoch * 100) / 100} epochs) already done in ${outDir}`,
    );
  }
  const backendName = await startBackend(backend, "gan");

  const outExisted = await Deno.stat(outDir).then(() => true, () => false);
  await Deno.mkdir(`${outDir}/progress`, { recursive: true });
  const source = data.source;
  await writeFileAtomic(
    `${outDir}/config.json`,
    JSON.stringify(
      { package: GAN_PACKAGE, config, options, seed, data: source, backend: backendName },
      null,
      2,
    ) +
      "\n",
  );
  let gan: Gan;
  let resumeState: LoopState | undefined;
  const optimizers = createGanOptimizers(options.lr);
  if (resumeMeta) {
    const loaded = await loadGan(outDir);
    gan = loaded.gan;
    await restoreOptimizer(optimizers.generator, loaded.optimizerState.generator);
    await restoreOptimizer(optimizers.discriminator, loaded.optimizerState.discriminator);
    disposeOptimizerState(loaded.optimizerState);
    resumeState = resumeMeta.loop as LoopState;
  } else {
    gan = createGan(config, { seed });
  }
  const progress = new Progress("gan");
  progress.note(
    `${resumeMeta ? `resuming at step ${resumeState!.step}` : "training"} on ${trainSet.count} images ` +
      `(${source}, ${validation.count} held out), ${config.discriminator} discriminator, ${options.epochs} epochs, ` +
      `backend ${backendName}, writing to ${outDir}`,
  );
  const log = await MetricsLog.open(`${outDir}/metrics.jsonl`, resumeState?.step);
  const interrupt = interruptSignal();
  const validationTensor = tf.tensor2d(validation.images, [validation.count, config.imageSize]);
  let lastEval: Record<string, number> = {};
  let lastLosses: Record<string, number> = {};
  let grid: Float32Array = new Float32Array(0);
  /** Samples the fixed noise: keeps the first GRID_IMAGES as this moment's picture and returns mean D. */
  const snapshot = (): Record<string, number> => {
    const samples = generate(gan, EVAL_SAMPLES, { seed });
    grid = samples.dataSync().slice(0, GRID_IMAGES * config.imageSize) as Float32Array;
    lastEval = { dReal: meanDiscriminator(gan, validationTensor), dFake: meanDiscriminator(gan, samples) };
    samples.dispose();
    return lastEval;
  };
  let checkpointed = resumeMeta !== undefined;
  const result = await trainGan(gan, trainSet, {
    epochs: options.epochs,
    batchSize: options.batchSize,
    dSteps: options.dSteps,
    optimizers,
    seed,
    resume: resumeState,
    checkpointEvery: options.checkpointEvery,
    signal: interrupt.signal,
    onEvent: (event) => {
      if (event.type === "epoch") lastLosses = event.metrics;
      progress.event(event);
    },
    onLog: (record) => log.append(record),
    evaluate: async ({ step }) => {
      // The same noise every time: the first GRID_IMAGES are the picture of this epoch.
      snapshot();
      if (step % perEpoch === 0) {
        const epoch = String(step / perEpoch).padStart(3, "0");
        await writeFileAtomic(
          `${outDir}/progress/epoch-${epoch}.png`,
          await samplesPng(grid, GRID_IMAGES, `epoch ${step / perEpoch}`),
        );
      }
      return lastEval;
    },
    checkpoint: async (state) => {
      await saveGan(outDir, gan, {
        step: state.step,
        seed,
        backend: backendName,
        data: source,
        metrics: {
          ...lastLosses,
          ...Object.fromEntries(Object.entries(lastEval).map(([k, v]) => [`eval_${k}`, v])),
        },
        optimizers,
        extra: { options, loop: state },
      });
      checkpointed = true;
    },
  }).catch(async (e) => {
    if (!(e instanceof NonFiniteLossError) || checkpointed) throw e;
    // Nothing to keep: without a checkpoint the folder can be neither resumed nor reused as --out.
    await discardRun(outDir, outExisted);
    throw new UserError(
      `${e.message.split(";")[0]}, before the first checkpoint: nothing was kept in ${outDir} ` +
        `(try a lower --lr)`,
    );
  }).finally(() => {
    interrupt.dispose();
    progress.done();
  });
  // Resuming a run that had already reached its last epoch trains no step: take the final picture now.
  if (!result.interrupted && grid.length === 0) snapshot();
  validationTensor.dispose();
  optimizers.generator.dispose();
  optimizers.discriminator.dispose();
  if (result.interrupted && !checkpointed) {
    await discardRun(outDir, outExisted);
    progress.note(`stopped before the first step; nothing was kept in ${outDir}`);
    disposeGan(gan);
    return 130;
  }
  if (result.interrupted) {
    progress.note(`stopped at step ${result.steps}; continue with: deno task train:gan --resume ${outDir}`);
    disposeGan(gan);
    return 130;
  }
  await writeFileAtomic(`${outDir}/samples.png`, await samplesPng(grid, GRID_IMAGES));
  await writeFileAtomic(
    `${outDir}/loss.png`,
    await lossPlot(log.records(), {
      kinds: ["train"],
      keys: ["dLoss", "gLoss", "dReal", "dFake"],
      title: "GAN losses and mean D (training batches)",
    }),
  );
  disposeGan(gan);
  progress.note(
    `wrote ${outDir}/: checkpoint/, config.json, metrics.jsonl, loss.png, samples.png, progress/epoch-*.png; ` +
      `score it with: deno task eval:gan --checkpoint ${outDir}`,
  );
  // With no step run (a finished run resumed) the loop has no epoch means: the checkpoint kept the last ones.
  const losses = result.steps > doneSteps
    ? result.losses
    : { ...result.losses, ...(resumeMeta?.metrics as Record<string, number> | undefined) };
  const summary: Record<string, unknown> = {
    out: outDir,
    epochs: result.epochs,
    steps: result.steps,
    dReal: lastEval.dReal,
    dFake: lastEval.dFake,
    dLoss: losses.dLoss,
    gLoss: losses.gLoss,
    seconds: Math.round(result.seconds * 10) / 10,
  };
  if (resumeMeta) summary.resumedFromStep = resumeState!.step;
  await printSummary(summary, flags.json);
  return 0;
}

async function evaluate(args: string[]): Promise<number> {
  const flags = parseFlags(args, EVAL_FLAGS, {
    command: "eval:gan",
    description:
      "Parzen-window log-likelihood of the test images under samples of a trained GAN (as the paper).",
  });
  const started = performance.now();
  const dir = requireFlag(flags.checkpoint, "checkpoint");
  const meta = await readCheckpointMeta(dir, { package: GAN_PACKAGE });
  const val = (meta.options as RunOptions | undefined)?.val ?? 1000;
  const data = await loadImages(flags.data ?? meta.data);
  const { validation } = heldOut(data.train!, val);
  await startBackend(flags.backend ?? meta.backend, "gan");
  const { gan, optimizerState } = await loadGan(dir);
  disposeOptimizerState(optimizerState);
  const result = evaluateGan(gan, { validation, test: data.test! }, {
    samples: flags.samples,
    seed: flags.seed ?? meta.seed,
    testLimit: flags["test-limit"],
    batchSize: flags["batch-size"],
  });
  disposeGan(gan);
  console.error(
    "gan: parzen σ on held-out images: " +
      result.validationBySigma.map((v) => `${v.sigma.toFixed(4)}: ${v.logLikelihood.toFixed(2)}`).join(", ") +
      ` -> σ ${result.sigma.toFixed(4)}`,
  );
  await printSummary({
    checkpoint: dir,
    data: data.source,
    parzenLogLikelihood: result.logLikelihood,
    parzenStdErr: result.stdErr,
    sigma: result.sigma,
    parzenValLogLikelihood: result.validationLogLikelihood,
    samples: result.centres,
    testImages: result.testImages,
    valImages: validation.count,
    dReal: result.dReal,
    dFake: result.dFake,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  }, flags.json);
  return 0;
}

async function sample(args: string[]): Promise<number> {
  const flags = parseFlags(args, SAMPLE_FLAGS, {
    command: "sample:gan",
    description: "Generate digits with a trained GAN into one PNG grid.",
  });
  const dir = requireFlag(flags.checkpoint, "checkpoint");
  const out = requireFlag(flags.out, "out");
  if (!out.toLowerCase().endsWith(".png")) throw new UserError(`--out must name a .png file, got "${out}"`);
  await checkOutFile(out);
  const meta = await readCheckpointMeta(dir, { package: GAN_PACKAGE });
  await startBackend(flags.backend ?? meta.backend, "gan");
  const { gan, optimizerState } = await loadGan(dir);
  disposeOptimizerState(optimizerState);
  const images = generate(gan, flags.count, { seed: flags.seed });
  const png = await samplesPng(images.dataSync() as Float32Array, flags.count);
  images.dispose();
  disposeGan(gan);
  await writeFileAtomic(out, png);
  await printSummary({ out, count: flags.count, seed: flags.seed }, flags.json);
  return 0;
}

if (import.meta.main) runCommands({ train, eval: evaluate, sample });
