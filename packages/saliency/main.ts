/**
 * The saliency command line: `deno task train:saliency`, `explain:saliency`,
 * `sanity:saliency`.
 *
 * ```sh
 * deno task train:saliency --digits 0,1 --out runs/cnn01
 * deno task explain:saliency --checkpoint runs/cnn01 --count 8
 * deno task sanity:saliency --checkpoint runs/cnn01 --images 100 --json
 * ```
 *
 * @module
 */
import { dirname } from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  adam,
  type CheckpointMeta,
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
  checkFolderPath,
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
import { panel, type PanelCell } from "@simple-nets/core/images";
import { linePlot, type LineSeries, lossPlot } from "@simple-nets/core/plot";
import {
  type Cnn,
  type CnnConfig,
  createCnn,
  DEFAULT_CNN_CONFIG,
  imagesToTensor,
  selectDigits,
} from "./model.ts";
import { evaluateCnn, trainCnn } from "./train.ts";
import { smoothGrad, vanillaGradient } from "./gradients.ts";
import { type SaliencyMethod, sanityCheck, type SanityResult, type SanityStep } from "./sanity.ts";
import { loadCnn, SALIENCY_PACKAGE, saveCnn } from "./io.ts";

/** Epochs of the default run: as `cnn_saliency.py`, about 98% test accuracy on the embedded digits. */
const DEFAULT_EPOCHS = 10;

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
  out: { type: "string", placeholder: "DIR", help: "run folder (default: runs/saliency-<timestamp>)" },
  digits: {
    type: "ints",
    default: DEFAULT_CNN_CONFIG.digits,
    help: "labels to train and test on, e.g. 0,1 for the original's 0/1 model",
  },
  epochs: { type: "int", min: 1, default: DEFAULT_EPOCHS, help: "passes over the training images" },
  "batch-size": { type: "int", min: 1, default: 128, help: "images per step" },
  lr: { type: "number", min: 0, exclusiveMin: true, default: 1e-3, help: "Adam learning rate" },
  dropout: {
    type: "number",
    min: 0,
    max: 0.99,
    default: DEFAULT_CNN_CONFIG.dropout,
    help: "spatial dropout rate",
  },
  filters: { type: "ints", default: DEFAULT_CNN_CONFIG.filters, help: "filters of the two convolutions" },
  "train-limit": {
    type: "int",
    min: 1,
    placeholder: "N",
    help: "train on the first N images of the chosen digits",
  },
  resume: { type: "string", placeholder: "DIR", help: "continue the run in this run folder" },
  ...COMMON,
} as const satisfies FlagSpecs;

const MAP_FLAGS = {
  checkpoint: { type: "string", placeholder: "DIR", help: "run folder of a trained CNN (required)" },
  data: {
    type: "string",
    placeholder: "DIR",
    help: "folder with the t10k IDX pair (default: the checkpoint's own data)",
  },
  samples: { type: "int", min: 1, default: 50, help: "SmoothGrad noisy copies per image" },
  noise: {
    type: "number",
    min: 0,
    default: 0.15,
    help: "SmoothGrad noise std, a fraction of max − min of the image",
  },
  squared: { type: "boolean", default: false, help: "SmoothGrad averages squared gradients" },
  ...COMMON,
} as const satisfies FlagSpecs;

const EXPLAIN_FLAGS = {
  ...MAP_FLAGS,
  count: { type: "int", min: 1, max: 1000, default: 8, help: "first N test images of the model's digits" },
  out: {
    type: "string",
    placeholder: "DIR",
    help: "folder for the PNG files (default: <checkpoint>/explain)",
  },
  of: {
    type: "string",
    choices: ["loss", "logit"],
    default: "loss",
    help: "gradient of the loss or the true logit",
  },
  abs: { type: "boolean", default: false, help: "draw magnitudes instead of signed gradients" },
} as const satisfies FlagSpecs;

const SANITY_FLAGS = {
  ...MAP_FLAGS,
  images: {
    type: "int",
    min: 1,
    max: 10000,
    default: 100,
    help: "first N test images of the model's digits",
  },
  out: { type: "string", placeholder: "DIR", help: "folder for the results (default: <checkpoint>/sanity)" },
  of: {
    type: "string",
    choices: ["loss", "logit"],
    default: "logit",
    help: "gradient of the loss or the true logit (logit: randomised models zero the loss gradient)",
  },
  scale: {
    type: "number",
    min: 0,
    exclusiveMin: true,
    default: 1,
    help: "randomised weights are U(−scale, scale)",
  },
  "panel-images": { type: "int", min: 0, max: 20, default: 4, help: "images shown in sanity_maps.png" },
} as const satisfies FlagSpecs;

/** The settings a run is resumed with, kept in `meta.json`. */
interface RunOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  trainLimit: number | null;
}

function checkDigits(digits: number[]): number[] {
  if (digits.length < 2 || new Set(digits).size !== digits.length || !digits.every((d) => d >= 0 && d <= 9)) {
    throw new UserError(`--digits is ${digits.join(",")}, expected two or more distinct digits 0..9`);
  }
  return digits;
}

function checkFilters(filters: number[]): [number, number] {
  if (filters.length !== 2 || !filters.every((f) => f >= 1 && f <= 1024)) {
    throw new UserError(
      `--filters is ${filters.join(",")}, expected two whole numbers 1..1024 such as 16,32`,
    );
  }
  return [filters[0], filters[1]];
}

function limit(set: ImageSet, count: number | null): ImageSet {
  if (count === null || count >= set.count) return set;
  return { ...set, images: set.images.slice(0, count * 784), labels: set.labels.slice(0, count), count };
}

async function train(args: string[]): Promise<number> {
  const flags = parseFlags(args, TRAIN_FLAGS, {
    command: "train:saliency",
    description: "Train the shallow CNN of the saliency experiments on MNIST-format digits.",
  });
  // Decide everything before any folder is created or any work starts.
  const { outDir, resumed: resumeMeta, config, options, seed, data: dataSource, backend } = await planRun<
    CnnConfig,
    RunOptions
  >(flags, {
    package: SALIENCY_PACKAGE,
    label: "saliency",
    embedded: EMBEDDED_MNIST,
    config: {
      ...DEFAULT_CNN_CONFIG,
      digits: checkDigits(flags.digits),
      filters: checkFilters(flags.filters),
      dropout: flags.dropout,
    },
    options: {
      epochs: flags.epochs,
      batchSize: flags["batch-size"],
      lr: flags.lr,
      trainLimit: flags["train-limit"] ?? null,
    },
    length: { flag: "epochs", value: flags.epochs },
  });
  const data = await loadImages(dataSource);
  const trainSet = limit(selectDigits(data.train!, config.digits), options.trainLimit);
  const testSet = selectDigits(data.test!, config.digits);
  if (trainSet.count === 0 || testSet.count === 0) {
    throw new UserError(
      `${data.source} has ${trainSet.count} training and ${testSet.count} test images of digits ` +
        `${config.digits.join(",")}, expected some of each`,
    );
  }
  const backendName = await startBackend(backend, "saliency");

  await Deno.mkdir(outDir, { recursive: true });
  const source = data.source;
  await writeFileAtomic(
    `${outDir}/config.json`,
    JSON.stringify(
      { package: SALIENCY_PACKAGE, config, options, seed, data: source, backend: backendName },
      null,
      2,
    ) +
      "\n",
  );
  let cnn: Cnn;
  let resumeState: LoopState | undefined;
  const optimizer = adam(options.lr, 0.9, 0.999, 1e-8);
  if (resumeMeta) {
    const loaded = await loadCnn(outDir);
    cnn = loaded.cnn;
    await restoreOptimizer(optimizer, loaded.optimizerState);
    tf.dispose(loaded.optimizerState.map((w) => w.tensor));
    resumeState = resumeMeta.loop as LoopState;
  } else {
    cnn = createCnn(config, { seed });
  }
  const progress = new Progress("saliency");
  progress.note(
    `${
      resumeMeta ? `resuming at step ${resumeState!.step}` : "training"
    } on ${trainSet.count} images of digits ` +
      `${
        config.digits.join(",")
      } (${source}), ${options.epochs} epochs, backend ${backendName}, writing to ${outDir}`,
  );
  const log = await MetricsLog.open(`${outDir}/metrics.jsonl`, resumeState?.step);
  const interrupt = interruptSignal();
  const result = await trainCnn(cnn, trainSet, {
    epochs: options.epochs,
    batchSize: options.batchSize,
    optimizer,
    seed,
    test: testSet,
    resume: resumeState,
    signal: interrupt.signal,
    onEvent: progress.event,
    onLog: (record) => log.append(record),
    checkpoint: async (state) => {
      await saveCnn(outDir, cnn, {
        step: state.step,
        seed,
        backend: backendName,
        data: source,
        metrics: state.lastEval,
        optimizer,
        extra: { options, loop: state },
      });
    },
  }).finally(() => {
    interrupt.dispose();
    progress.done();
  });
  if (result.interrupted) {
    progress.note(
      `stopped at step ${result.steps}; continue with: deno task train:saliency --resume ${outDir}`,
    );
    cnn.dispose();
    optimizer.dispose();
    return 130;
  }
  await writeFileAtomic(
    `${outDir}/loss.png`,
    await lossPlot(log.records(), {
      title: `CNN cross-entropy, digits ${config.digits.join(",")}`,
      keys: ["loss", "testLoss"],
      kinds: ["train", "eval"],
    }),
  );
  const test = evaluateCnn(cnn, testSet);
  cnn.dispose();
  optimizer.dispose();
  progress.note(
    `test accuracy ${(100 * test.accuracy).toFixed(2)}%; wrote ${outDir}/: checkpoint/, config.json, ` +
      `metrics.jsonl, loss.png`,
  );
  const newSteps = result.steps - (resumeState?.step ?? 0);
  const summary: Record<string, unknown> = {
    out: outDir,
    epochs: result.epochs,
    steps: result.steps,
    digits: config.digits,
    trainLoss: result.trainLoss,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    trainImages: trainSet.count,
    testImages: testSet.count,
    backend: backendName,
    seconds: Math.round(result.seconds * 10) / 10,
    msPerStep: newSteps > 0 ? Math.round((1000 * result.seconds) / newSteps) : null,
  };
  if (resumeMeta) summary.resumedFromStep = resumeState!.step;
  await printSummary(summary, flags.json);
  return 0;
}

/** Loads a checkpoint's model and the first `count` test images of its digits, checking everything first. */
async function prepareMaps(
  flags: { checkpoint?: string; data?: string; backend: string; given: Set<string> },
  count: number,
  countFlag: string,
  outName: string,
  out: string | undefined,
): Promise<
  { cnn: Cnn; meta: CheckpointMeta; images: ImageSet; out: string; source: string; backend: string }
> {
  const dir = requireFlag(flags.checkpoint, "checkpoint");
  await checkFolderPath(dir, "checkpoint");
  const meta = await readCheckpointMeta(dir, { package: SALIENCY_PACKAGE });
  const config = meta.config as unknown as CnnConfig;
  const data = await loadImages(flags.data ?? meta.data, { train: false });
  const test = selectDigits(data.test!, config.digits);
  if (test.count < count) {
    throw new UserError(
      `--${countFlag} is ${count}, but ${data.source} has only ${test.count} test images of digits ` +
        `${config.digits.join(",")}`,
    );
  }
  // Beside the checkpoint in its run folder, never inside the checkpoint folder (a save replaces that).
  const runDir = await Deno.stat(`${dir}/meta.json`).then(() => dirname(dir), () => dir);
  const outDir = out ?? `${runDir}/${outName}`;
  await checkFolderPath(outDir, "out", { create: true });
  const backend = await startBackend(flags.given.has("backend") ? flags.backend : meta.backend, "saliency");
  const { cnn, optimizerState } = await loadCnn(dir);
  tf.dispose(optimizerState.map((w) => w.tensor));
  return { cnn, meta, images: limit(test, count), out: outDir, source: data.source, backend };
}

const isZero = (values: Float32Array, from: number, to: number) => {
  for (let i = from; i < to; i++) if (values[i] !== 0) return false;
  return true;
};

async function explain(args: string[]): Promise<number> {
  const flags = parseFlags(args, EXPLAIN_FLAGS, {
    command: "explain:saliency",
    description: "Draw vanilla-gradient and SmoothGrad maps of test images for a trained CNN, as PNG panels.",
  });
  const started = performance.now();
  const { cnn, images, out, source, backend } = await prepareMaps(
    flags,
    flags.count,
    "count",
    "explain",
    flags.out,
  );
  const of = flags.of as "loss" | "logit";
  const labels = images.labels;
  const x = imagesToTensor(images.images, cnn.config);
  const predicted = tf.tidy(() => tf.argMax(cnn.predict(x), 1).dataSync() as Int32Array);
  const vanilla = vanillaGradient(cnn, x, labels, { of, abs: flags.abs });
  const smooth = smoothGrad(cnn, x, labels, {
    of,
    abs: flags.abs,
    samples: flags.samples,
    noise: flags.noise,
    squared: flags.squared,
    seed: flags.seed,
  });
  const [v, s] = [vanilla.dataSync() as Float32Array, smooth.dataSync() as Float32Array];
  tf.dispose([x, vanilla, smooth]);
  cnn.dispose();
  const digits = cnn.config.digits;
  const size = 784;
  const zero = { vanilla: 0, smoothgrad: 0 };
  const rows: PanelCell[][] = [];
  for (let i = 0; i < images.count; i++) {
    const at = (data: Float32Array) => data.subarray(i * size, (i + 1) * size);
    if (isZero(v, i * size, (i + 1) * size)) zero.vanilla++;
    if (isZero(s, i * size, (i + 1) * size)) zero.smoothgrad++;
    rows.push([
      { kind: "grey", data: at(images.images), height: 28, width: 28 },
      { kind: "diverging", data: at(v), height: 28, width: 28 },
      { kind: "diverging", data: at(s), height: 28, width: 28 },
    ]);
  }
  const what = of === "loss" ? "dL/dx" : "dz_y/dx";
  // Magnitudes (--abs) and squared SmoothGrad have no sign: say what red means there.
  const title = flags.abs
    ? `|${what}|: magnitudes, white 0, red largest`
    : `${what}: red raises, blue lowers the ${of === "loss" ? "loss" : "true logit"}` +
      (flags.squared ? "; SmoothGrad^2 >= 0" : "");
  const png = await panel(rows, {
    title,
    columnTitles: ["image", "gradient", flags.squared ? "SmoothGrad^2" : "SmoothGrad"],
    rowLabels: Array.from(labels, (y, i) => `pred ${digits[predicted[i]]} / true ${digits[y]}`),
  });
  await Deno.mkdir(out, { recursive: true });
  const file = `explain_${of}${flags.abs ? "_abs" : ""}${flags.squared ? "_squared" : ""}.png`;
  await writeFileAtomic(`${out}/${file}`, png);
  if (zero.vanilla > 0) {
    console.error(
      `saliency: ${zero.vanilla} of ${images.count} gradient maps are exactly zero (the model gives the true ` +
        `label probability 1 in float32); --of logit gives informative maps`,
    );
  }
  await printSummary({
    out,
    files: [file],
    data: source,
    backend,
    of,
    images: images.count,
    labels: Array.from(labels, (y) => digits[y]),
    predicted: Array.from(predicted, (p) => digits[p]),
    zeroMaps: zero,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  }, flags.json);
  return 0;
}

const STEP_TITLES: Record<string, string> = { output: "output", conv2: "conv2", conv1: "conv1" };
const METHOD_NAMES: Record<SaliencyMethod, string> = { vanilla: "gradient", smoothgrad: "SmoothGrad" };
const METHOD_COLORS: Record<SaliencyMethod, readonly [number, number, number]> = {
  vanilla: [31, 119, 180],
  smoothgrad: [255, 127, 14],
};

async function sanityPictures(
  out: string,
  result: SanityResult,
  images: ImageSet,
  shown: number,
  squared: boolean,
): Promise<string[]> {
  const methods: SaliencyMethod[] = ["vanilla", "smoothgrad"];
  const files: string[] = [];
  const steps: SanityStep[] = [result.original, ...result.cascading];
  const names = [
    "trained",
    ...result.cascading.map((s, i) => (i === 0 ? "" : "+") + STEP_TITLES[s.layers[i]]),
  ];
  if (shown > 0) {
    const rows: PanelCell[][] = [];
    const labels: string[] = [];
    for (let i = 0; i < shown; i++) {
      for (const method of methods) {
        rows.push([
          { kind: "grey", data: images.images.subarray(i * 784, (i + 1) * 784), height: 28, width: 28 },
          ...steps.map((s): PanelCell => ({
            kind: "diverging",
            data: s.maps![method]!.subarray(i * 784, (i + 1) * 784),
            height: 28,
            width: 28,
          })),
        ]);
        labels.push(`#${i} ${METHOD_NAMES[method]}${method === "smoothgrad" && squared ? "^2" : ""}`);
      }
    }
    await writeFileAtomic(
      `${out}/sanity_maps.png`,
      await panel(rows, {
        title: `maps (d${result.of === "loss" ? "L" : "z_y"}/dx) as layers are randomised from the top`,
        columnTitles: ["image", ...names],
        rowLabels: labels,
        scale: 3,
      }),
    );
    files.push("sanity_maps.png");
  }
  const series: LineSeries[] = [];
  for (const method of methods) {
    for (const key of ["spearman", "spearmanAbs"] as const) {
      series.push({
        name: `${METHOD_NAMES[method]}${method === "smoothgrad" && squared ? "^2" : ""}${
          key === "spearmanAbs" ? " |map|" : ""
        }`,
        x: steps.map((_, i) => i),
        y: steps.map((s) => s[method]?.[key] ?? NaN),
        dashed: key === "spearmanAbs",
        color: METHOD_COLORS[method],
      });
    }
  }
  await writeFileAtomic(
    `${out}/sanity_correlations.png`,
    await linePlot(series, {
      title: `Spearman correlation with trained maps, ${result.images} images`,
      xLabel: "layers randomised (cascading, from the top)",
      xTickLabels: names,
      yRange: [-0.2, 1.05],
    }),
  );
  files.push("sanity_correlations.png");
  return files;
}

async function sanity(args: string[]): Promise<number> {
  const flags = parseFlags(args, SANITY_FLAGS, {
    command: "sanity:saliency",
    description:
      "Model-randomisation sanity check (Adebayo et al. 2018) of the gradient and SmoothGrad maps.",
  });
  const started = performance.now();
  const shown = Math.min(flags["panel-images"], flags.images);
  const { cnn, images, out, source, backend } = await prepareMaps(
    flags,
    flags.images,
    "images",
    "sanity",
    flags.out,
  );
  const x = imagesToTensor(images.images, cnn.config);
  const progress = new Progress("saliency");
  progress.note(`sanity check on ${images.count} images, gradient of the ${flags.of}, backend ${backend}`);
  let result: SanityResult;
  try {
    result = sanityCheck(cnn, x, images.labels, {
      of: flags.of as "loss" | "logit",
      samples: flags.samples,
      noise: flags.noise,
      squared: flags.squared,
      seed: flags.seed,
      scale: flags.scale,
      keepMaps: shown,
      onProgress: (done, total) => progress.note(`maps of model ${done}/${total} done`),
    });
  } finally {
    x.dispose();
    cnn.dispose();
  }
  const strip = (s: SanityStep) => ({ layers: s.layers, vanilla: s.vanilla, smoothgrad: s.smoothgrad });
  const report = {
    of: result.of,
    images: result.images,
    original: strip(result.original),
    cascading: result.cascading.map(strip),
    independent: result.independent.map(strip),
  };
  await Deno.mkdir(out, { recursive: true });
  await writeFileAtomic(`${out}/sanity.json`, JSON.stringify(report, null, 1) + "\n");
  const files = ["sanity.json", ...await sanityPictures(out, result, images, shown, flags.squared)];
  const unusable = result.cascading.concat(result.independent).some((s) =>
    (s.vanilla?.images ?? images.count) < images.count
  );
  if (unusable && flags.of === "loss") {
    console.error(
      "saliency: some maps are exactly zero (a randomised model gives the true label probability 1 in float32) " +
        "and were skipped; see `images` per step, or use --of logit",
    );
  }
  await printSummary({
    out,
    files,
    data: source,
    backend,
    ...report,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  }, flags.json);
  return 0;
}

if (import.meta.main) runCommands({ train, explain, sanity });
