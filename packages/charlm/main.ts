/**
 * The character model's command line: `deno task train:charlm`,
 * `eval:charlm`, `sample:charlm`.
 *
 * ```sh
 * deno task train:charlm --cell lstm --hidden 512 --steps 2000
 * deno task sample:charlm --checkpoint runs/charlm-20261203-120000 --prime "Call me " --length 400
 * deno task eval:charlm --checkpoint runs/charlm-20261203-120000 --data other.txt --json
 * ```
 *
 * @module
 */
import "@simple-nets/core/native";
import * as tf from "@tensorflow/tfjs";
import {
  EMBEDDED_TEXT,
  loadEmbeddedText,
  type LoopState,
  readCheckpointMeta,
  readTextFile,
  restoreOptimizer,
  type TextCorpus,
} from "@simple-nets/core";
import { BACKEND_NAMES } from "@simple-nets/core/backend";
import {
  type FlagSpecs,
  formatNumber,
  interruptSignal,
  MetricsLog,
  parseFlags,
  planRun,
  printSummary,
  Progress,
  requireFlag,
  runCommands,
  sameJson,
  startBackend,
  UserError,
  writeFileAtomic,
} from "@simple-nets/core/cli";
import { lossPlot } from "@simple-nets/core/plot";
import { bigramBitsPerChar } from "./bigram.ts";
import { CELL_TYPES } from "./cells.ts";
import { evaluateBitsPerChar } from "./evaluate.ts";
import { loadCharLM, PACKAGE_NAME, saveCharLM } from "./io.ts";
import {
  type CharLM,
  type CharLMConfig,
  createCharLM,
  DEFAULT_CHARLM_CONFIG,
  type InitScheme,
} from "./model.ts";
import { defaultPrime, sampleChars } from "./sample.ts";
import { createOptimizer, trainCharLM } from "./train.ts";
import { splitText, Vocabulary } from "./vocab.ts";

const COMMON = {
  seed: { type: "int", default: 1, help: "seed of every random choice" },
  backend: { type: "string", choices: BACKEND_NAMES, default: "auto", help: "TF.js backend" },
  json: { type: "boolean", default: false, help: "print the summary as one JSON line on stdout" },
} as const satisfies FlagSpecs;

const TRAIN_FLAGS = {
  data: { type: "string", placeholder: "FILE", help: "UTF-8 text file (default: the embedded Moby Dick)" },
  out: { type: "string", placeholder: "DIR", help: "run folder (default: runs/charlm-<timestamp>)" },
  cell: { type: "string", choices: CELL_TYPES, default: DEFAULT_CHARLM_CONFIG.cell, help: "recurrent cell" },
  layers: {
    type: "int",
    min: 1,
    max: 16,
    default: DEFAULT_CHARLM_CONFIG.layers,
    help: "stacked recurrent layers",
  },
  hidden: { type: "int", min: 1, default: DEFAULT_CHARLM_CONFIG.hidden, help: "hidden units per layer" },
  dropout: {
    type: "number",
    min: 0,
    max: 0.99,
    default: DEFAULT_CHARLM_CONFIG.dropout,
    help: "dropout between layers and before the output (training only)",
  },
  init: {
    type: "string",
    choices: ["torch", "original"],
    default: "torch",
    help: "weights U(±1/√H) (torch) or the original's U(±0.01)",
  },
  "seq-len": { type: "int", min: 1, default: 25, help: "characters per training window" },
  steps: { type: "int", min: 1, default: 1000, help: "optimiser steps" },
  "batch-size": { type: "int", min: 1, default: 64, help: "windows per step" },
  lr: { type: "number", min: 0, exclusiveMin: true, default: 2e-3, help: "Adam learning rate" },
  clip: { type: "number", min: 0, default: 1, help: "gradient clip threshold (0 = off)" },
  "clip-mode": {
    type: "string",
    choices: ["value", "norm"],
    default: "value",
    help: "clip each gradient element (value, the original) or the global norm",
  },
  "eval-every": {
    type: "int",
    min: 0,
    default: 250,
    help: "validate and sample every N steps (0 = only at the end)",
  },
  "eval-chars": {
    type: "int",
    min: 2,
    default: 20000,
    help: "characters scored by the periodic validations (the final one scores the whole split)",
  },
  "sample-length": { type: "int", min: 0, default: 200, help: "characters per sample in samples.txt" },
  "checkpoint-every": {
    type: "int",
    min: 0,
    default: 250,
    help: "checkpoint every N steps (0 = only at the end)",
  },
  resume: { type: "string", placeholder: "DIR", help: "continue the run in this run folder" },
  ...COMMON,
} as const satisfies FlagSpecs;

const EVAL_FLAGS = {
  checkpoint: { type: "string", placeholder: "DIR", help: "run folder of a trained model (required)" },
  data: {
    type: "string",
    placeholder: "FILE",
    help: "UTF-8 text file scored as a whole (default: the validation split of the checkpoint's own text)",
  },
  backend: { type: "string", choices: BACKEND_NAMES, help: "TF.js backend (default: the checkpoint's)" },
  json: COMMON.json,
} as const satisfies FlagSpecs;

const SAMPLE_FLAGS = {
  checkpoint: { type: "string", placeholder: "DIR", help: "run folder of a trained model (required)" },
  length: { type: "int", min: 0, default: 500, help: "characters to generate after the prime" },
  temperature: {
    type: "number",
    min: 0,
    exclusiveMin: true,
    default: 1,
    help: "softmax temperature: below 1 safer, above 1 wilder",
  },
  prime: { type: "string", help: "text to start from, printed first (default: a newline)" },
  "top-k": { type: "int", min: 0, default: 0, help: "draw among the K likeliest characters only (0 = all)" },
  argmax: { type: "boolean", default: false, help: "always take the likeliest character" },
  seed: COMMON.seed,
  backend: { type: "string", choices: BACKEND_NAMES, help: "TF.js backend (default: the checkpoint's)" },
} as const satisfies FlagSpecs;

/** The run settings a run is resumed with, kept in `meta.json` and `config.json`. */
interface RunOptions {
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  clip: number;
  clipMode: "value" | "norm";
  init: InitScheme;
  evalEvery: number;
  evalChars: number;
  sampleLength: number;
  checkpointEvery: number;
}

async function readCorpus(source: string | undefined): Promise<TextCorpus> {
  return source === undefined || source === EMBEDDED_TEXT ? loadEmbeddedText() : await readTextFile(source);
}

/** Splits a corpus and checks both parts are long enough for the window length. */
function splitCorpus(corpus: TextCorpus, seqLen: number): { train: string; val: string; vocab: Vocabulary } {
  const { train, val } = splitText(corpus.text);
  const n = [...corpus.text].length;
  const trainChars = [...train].length, valChars = [...val].length;
  if (trainChars <= seqLen + 1 || valChars < 2) {
    let needed = n;
    while (Math.floor((9 * needed) / 10) <= seqLen + 1 || needed - Math.floor((9 * needed) / 10) < 2) {
      needed++;
    }
    throw new UserError(
      `text ${corpus.source} has ${n} characters, expected at least ${needed} ` +
        `(the first 90% must be longer than --seq-len ${seqLen} + 1, the last 10% at least 2)`,
    );
  }
  return { train, val, vocab: Vocabulary.fromText(corpus.text) };
}

/** The pictures of a run, in one place: the loss curve. */
async function writePictures(dir: string, records: Record<string, number | string>[]): Promise<string[]> {
  await writeFileAtomic(
    `${dir}/loss.png`,
    await lossPlot(records, {
      title: "charlm: train nats/char, val bits/char",
      keys: ["loss", "valBitsPerChar"],
      kinds: ["train", "eval"],
    }),
  );
  return ["loss.png"];
}

/** A sample on one progress line: newlines shown as ⏎, at most 100 characters. */
function oneLine(text: string): string {
  const chars = [...text.replaceAll("\n", "⏎")];
  return chars.length > 100 ? chars.slice(0, 100).join("") + "…" : chars.join("");
}

async function train(args: string[]): Promise<number> {
  const flags = parseFlags(args, TRAIN_FLAGS, {
    command: "train:charlm",
    description: "Train a character-level language model (RNN, LSTM or GRU) on a UTF-8 text.",
  });
  // Decide everything before any folder is created or any work starts.
  const newConfig: CharLMConfig = {
    cell: flags.cell,
    layers: flags.layers,
    hidden: flags.hidden,
    dropout: flags.dropout,
  };
  const newOptions: RunOptions = {
    steps: flags.steps,
    batchSize: flags["batch-size"],
    seqLen: flags["seq-len"],
    lr: flags.lr,
    clip: flags.clip,
    clipMode: flags["clip-mode"],
    init: flags.init,
    evalEvery: flags["eval-every"],
    evalChars: flags["eval-chars"],
    sampleLength: flags["sample-length"],
    checkpointEvery: flags["checkpoint-every"],
  };
  const { outDir, resumed: resumeMeta, config, options, seed, data: dataSource, backend } = await planRun(
    flags,
    {
      package: PACKAGE_NAME,
      label: "charlm",
      embedded: EMBEDDED_TEXT,
      config: newConfig,
      options: newOptions,
      length: { flag: "steps", value: flags.steps },
    },
  );
  if (resumeMeta && options.steps < resumeMeta.step) {
    throw new UserError(`--steps ${options.steps} is below the ${resumeMeta.step} steps already done`);
  }
  const corpus = await readCorpus(dataSource);
  const { train: trainText, val: valText, vocab } = splitCorpus(corpus, options.seqLen);
  if (resumeMeta && !sameJson(resumeMeta.vocab, vocab.chars)) {
    throw new UserError(`text ${corpus.source} has changed since the run started: its characters differ`);
  }
  const backendName = await startBackend(backend, "charlm");

  await Deno.mkdir(outDir, { recursive: true });
  await writeFileAtomic(
    `${outDir}/config.json`,
    JSON.stringify(
      { package: PACKAGE_NAME, config, options, seed, data: corpus.source, backend: backendName },
      null,
      2,
    ) + "\n",
  );
  let model: CharLM;
  let resumeState: LoopState | undefined;
  const optimizer = createOptimizer(options.lr);
  if (resumeMeta) {
    const loaded = await loadCharLM(outDir);
    model = loaded.model;
    if (loaded.optimizer) {
      await restoreOptimizer(optimizer, loaded.optimizer);
      tf.dispose(loaded.optimizer.map((w) => w.tensor));
    }
    resumeState = resumeMeta.loop as LoopState;
  } else {
    model = createCharLM(vocab, { ...config, seed, init: options.init });
  }
  const progress = new Progress("charlm");
  progress.note(
    `${resumeMeta ? `resuming at step ${resumeState!.step}` : "training"} a ${config.layers}-layer ` +
      `${config.cell.toUpperCase()} (H=${config.hidden}) on ${[...trainText].length} characters of ` +
      `${corpus.source} (${vocab.size} distinct), ${options.steps} steps, backend ${backendName}, ` +
      `writing to ${outDir}`,
  );
  progress.note(
    `baselines on the validation split: uniform ${formatNumber(Math.log2(vocab.size))} bits/char, ` +
      `bigram ${formatNumber(bigramBitsPerChar(trainText, valText, { vocab }))} bits/char`,
  );
  const valChars = [...valText].length;
  const log = await MetricsLog.open(`${outDir}/metrics.jsonl`, resumeState?.step);
  const samplesPath = `${outDir}/samples.txt`;
  if (!resumeMeta) await Deno.writeTextFile(samplesPath, "");
  const interrupt = interruptSignal();
  let lastMetrics: Record<string, number> = {};
  const result = await trainCharLM(model, trainText, {
    steps: options.steps,
    batchSize: options.batchSize,
    seqLen: options.seqLen,
    clip: options.clip,
    clipMode: options.clipMode,
    seed,
    valText,
    evalEvery: options.evalEvery,
    evalChars: options.evalChars,
    sampleLength: options.sampleLength,
    optimizer,
    resume: resumeState,
    checkpointEvery: options.checkpointEvery,
    signal: interrupt.signal,
    onEvent: (event) => {
      if (event.type === "eval") lastMetrics = event.metrics;
      progress.event(event);
      if (event.type === "step" && event.step === options.steps) {
        progress.note(`scoring the whole validation split (${valChars} characters, one step each)…`);
      }
    },
    onLog: (record) => log.append(record),
    onSample: async (step, text) => {
      if (options.sampleLength === 0) return;
      progress.note(`sample: ${oneLine(text)}`);
      await Deno.writeTextFile(samplesPath, `----- step ${step} -----\n${text}\n\n`, { append: true });
    },
    checkpoint: async (state, opt) => {
      await saveCharLM(model, outDir, {
        step: state.step,
        seed,
        backend: backendName,
        data: corpus.source,
        metrics: lastMetrics,
        optimizer: opt,
        extra: { options, loop: state },
      });
    },
  }).finally(() => {
    interrupt.dispose();
    progress.done();
  });
  model.dispose();
  optimizer.dispose();
  if (result.interrupted) {
    progress.note(
      `stopped at step ${result.steps}; continue with: deno task train:charlm --resume ${outDir}`,
    );
    return 130;
  }
  const pictures = await writePictures(outDir, log.records());
  progress.note(
    `wrote ${outDir}/: checkpoint/, config.json, metrics.jsonl, samples.txt, ${pictures.join(", ")}`,
  );
  const summary: Record<string, unknown> = {
    out: outDir,
    steps: result.steps,
    trainLoss: result.trainLoss,
    valBitsPerChar: result.valBitsPerChar,
    seconds: Math.round(result.seconds * 10) / 10,
  };
  if (resumeMeta) summary.resumedFromStep = resumeState!.step;
  await printSummary(summary, flags.json);
  return 0;
}

async function evaluate(args: string[]): Promise<number> {
  const flags = parseFlags(args, EVAL_FLAGS, {
    command: "eval:charlm",
    description: "Bits per character of a text under a trained model, in one pass with the state carried.",
  });
  const dir = requireFlag(flags.checkpoint, "checkpoint");
  const meta = await readCheckpointMeta(dir, { package: PACKAGE_NAME });
  let text: string, source: string;
  if (flags.data !== undefined) {
    const corpus = await readTextFile(flags.data);
    text = corpus.text;
    source = corpus.source;
  } else {
    const corpus = await readCorpus(meta.data);
    text = splitText(corpus.text).val;
    source = `${corpus.source} (validation split)`;
  }
  await startBackend(flags.backend ?? meta.backend, "charlm");
  const { model, optimizer } = await loadCharLM(dir);
  if (optimizer) tf.dispose(optimizer.map((w) => w.tensor));
  const progress = new Progress("charlm");
  const interrupt = interruptSignal();
  let lastNote = performance.now();
  try {
    const result = await evaluateBitsPerChar(model, text, {
      signal: interrupt.signal,
      onProgress: (done, total) => {
        if (performance.now() - lastNote > 10_000) {
          lastNote = performance.now();
          progress.note(`scored ${done}/${total} characters`);
        }
      },
    }).catch((e) => {
      if (e instanceof RangeError) throw new UserError(`text ${source}: ${e.message}`);
      throw e;
    });
    if (interrupt.signal.aborted) return 130;
    if (result.unknownChars > 0) {
      progress.note(
        `left out ${result.unknownChars} characters outside the vocabulary, e.g. ` +
          result.unknownExamples.slice(0, 5).map((c) => JSON.stringify(c)).join(" "),
      );
    }
    await printSummary(
      {
        checkpoint: dir,
        data: source,
        bitsPerChar: result.bitsPerChar,
        chars: result.chars,
        unknownChars: result.unknownChars,
      },
      flags.json,
    );
    return 0;
  } finally {
    interrupt.dispose();
    model.dispose();
  }
}

async function sample(args: string[]): Promise<number> {
  const flags = parseFlags(args, SAMPLE_FLAGS, {
    command: "sample:charlm",
    description: "Stream text from a trained model to stdout: the prime, then the generated characters.",
  });
  const dir = requireFlag(flags.checkpoint, "checkpoint");
  const meta = await readCheckpointMeta(dir, { package: PACKAGE_NAME });
  await startBackend(flags.backend ?? meta.backend, "charlm");
  const { model, optimizer } = await loadCharLM(dir);
  if (optimizer) tf.dispose(optimizer.map((w) => w.tensor));
  try {
    let chars;
    try {
      chars = sampleChars(model, {
        length: flags.length,
        temperature: flags.temperature,
        prime: flags.prime,
        topK: flags["top-k"],
        argmax: flags.argmax,
        seed: flags.seed,
      });
    } catch (e) {
      throw new UserError(`--prime: ${(e as Error).message}`);
    }
    const encoder = new TextEncoder();
    // False once the reader has gone (`| head -c 100`): then sampling stops quietly, as Unix tools do.
    const write = (text: string): boolean => {
      const bytes = encoder.encode(text);
      let written = 0;
      try {
        while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
      } catch (e) {
        if (e instanceof Deno.errors.BrokenPipe) return false;
        throw e;
      }
      return true;
    };
    if (!write(flags.prime ?? defaultPrime(model))) return 0;
    for (const c of chars) if (!write(c)) return 0;
    // Only the text goes to stdout; a terminal gets a final newline so the prompt starts on its own line.
    if (Deno.stdout.isTerminal()) write("\n");
    return 0;
  } finally {
    model.dispose();
  }
}

if (import.meta.main) runCommands({ train, eval: evaluate, sample });
