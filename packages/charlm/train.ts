/**
 * Training on a string with core's loop: random windows of the text, each
 * from a zero state, Adam, gradient clipping, optional periodic
 * validation in bits per character and samples.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  adam,
  type LoopState,
  type Metrics,
  type Rng,
  type TrainEvent,
  trainLoop,
  type TrainLoopResult,
} from "@simple-nets/core";
import { evaluateBitsPerChar } from "./evaluate.ts";
import { clipGradients, type ClipMode, sequenceLoss } from "./loss.ts";
import type { CharLM } from "./model.ts";
import { sampleText } from "./sample.ts";

/** Run-time settings of {@linkcode trainCharLM}. */
export interface TrainCharLMOptions {
  /** Optimiser steps (in all, counting those before a resume).
   * @default {1000} */
  steps?: number;
  /** Windows per batch.
   * @default {64} */
  batchSize?: number;
  /** Characters per window (steps of backpropagation through time).
   * @default {25} */
  seqLen?: number;
  /** Adam's learning rate.
   * @default {2e-3} */
  lr?: number;
  /** Gradient clip threshold; 0 turns clipping off.
   * @default {1} */
  clip?: number;
  /** Clip each element (`value`, the original) or the global norm.
   * @default {"value"} */
  clipMode?: ClipMode;
  /** Seed of the windows and dropout masks.
   * @default {1} */
  seed?: number;
  /** Validation text for periodic and final bits per character.
   * @default {undefined} (no validation) */
  valText?: string;
  /** Validate (and sample, see `onSample`) every N steps, and always at the end.
   * @default {0} (only at the end) */
  evalEvery?: number;
  /** Periodic validations score only the first N characters of `valText` (for speed); the final one scores all.
   * @default {20000} */
  evalChars?: number;
  /** Characters sampled at each validation for `onSample`.
   * @default {200} */
  sampleLength?: number;
  /** Receives a sample at each validation. */
  onSample?: (step: number, text: string) => void | Promise<void>;
  /** The optimizer (e.g. restored from a checkpoint); a new Adam when absent. */
  optimizer?: tf.Optimizer;
  /** Loop state of an earlier run to continue from. */
  resume?: LoopState;
  /** Emit a step event every N steps.
   * @default {10} */
  logEvery?: number;
  /** Checkpoint every N steps (besides the end and an abort).
   * @default {0} */
  checkpointEvery?: number;
  /** Writes a checkpoint of the model, the optimizer and the loop state. */
  checkpoint?: (state: LoopState, optimizer: tf.Optimizer) => void | Promise<void>;
  /** Receives progress events. */
  onEvent?: (event: TrainEvent) => void;
  /** Receives one record per log step and evaluation (for `metrics.jsonl`). */
  onLog?: (record: Record<string, number | string>) => void | Promise<void>;
  /** Stops after the current step (a checkpoint is written first). */
  signal?: AbortSignal;
}

/** What {@linkcode trainCharLM} returns. */
export interface TrainCharLMResult {
  /** Steps done in all. */
  steps: number;
  /** Mean training loss (nats per character, dropout on) over the last 100 steps. */
  trainLoss: number;
  /** Bits per character over the whole `valText` after the last step (absent without `valText` or when interrupted). */
  valBitsPerChar?: number;
  /** True when `signal` stopped training early. */
  interrupted: boolean;
  /** Wall-clock seconds of this call. */
  seconds: number;
  /** The loop's own result (state for resuming, last metrics). */
  loop: TrainLoopResult;
}

/** Adam as the reference uses it (PyTorch's ε = 1e-8). @returns An optimizer the caller owns. */
export function createOptimizer(lr: number): tf.Optimizer {
  if (!(lr > 0) || !Number.isFinite(lr)) {
    throw new RangeError(`Learning rate ${lr} is invalid: expected a number > 0`);
  }
  return adam(lr, 0.9, 0.999, 1e-8);
}

/**
 * Fills a time-major batch of windows drawn at random start positions.
 *
 * @returns Inputs and targets, `[T · batch]` in time-major order (`t · batch + b`).
 */
export function makeBatch(
  ids: Int32Array,
  rng: { int(n: number): number },
  batchSize: number,
  seqLen: number,
): { inputs: Int32Array; targets: Int32Array } {
  const inputs = new Int32Array(seqLen * batchSize), targets = new Int32Array(seqLen * batchSize);
  for (let b = 0; b < batchSize; b++) {
    const start = rng.int(ids.length - seqLen);
    for (let t = 0; t < seqLen; t++) {
      inputs[t * batchSize + b] = ids[start + t];
      targets[t * batchSize + b] = ids[start + t + 1];
    }
  }
  return { inputs, targets };
}

/** Settings of {@linkcode createTrainStep}. */
export interface TrainStepOptions {
  /** The optimizer the step updates the weights with (the caller owns it). */
  optimizer: tf.Optimizer;
  /** Windows per batch.
   * @default {64} */
  batchSize?: number;
  /** Characters per window.
   * @default {25} */
  seqLen?: number;
  /** Gradient clip threshold; 0 turns clipping off.
   * @default {1} */
  clip?: number;
  /** Clip each element or the global norm.
   * @default {"value"} */
  clipMode?: ClipMode;
}

/**
 * One synchronous training step, as core's `trainLoop` (or a benchmark)
 * calls it: draws a batch of windows from the step's generator, then one
 * Adam update on the clipped gradients of the mean cross-entropy.
 *
 * @param model The model to update.
 * @param ids The training text as character ids (e.g. `model.vocab.encode(text).ids`).
 * @returns The step function; it returns `{ loss }` in nats per character (dropout on).
 *
 * @example Three steps by hand
 * ```ts
 * import { Rng } from "@simple-nets/core";
 * import { createCharLM, createOptimizer, createTrainStep } from "@simple-nets/charlm";
 * const text = "hello world ".repeat(10);
 * const model = createCharLM(text, { hidden: 8 });
 * const optimizer = createOptimizer(1e-2);
 * const step = createTrainStep(model, model.vocab.encode(text).ids, { optimizer, batchSize: 4, seqLen: 8 });
 * for (let s = 0; s < 3; s++) console.log(step({ rng: Rng.stream(1, "step", s) }).loss);
 * optimizer.dispose();
 * model.dispose();
 * ```
 */
export function createTrainStep(
  model: CharLM,
  ids: Int32Array,
  options: TrainStepOptions,
): (context: { rng: Rng }) => Metrics {
  const { optimizer, batchSize = 64, seqLen = 25, clip = 1, clipMode = "value" } = options;
  checkWhole("Batch size", batchSize, 1);
  checkWhole("Sequence length", seqLen, 1);
  clipGradients({}, clip, clipMode);
  if (ids.length <= seqLen) {
    throw new RangeError(
      `The training text has ${ids.length} characters: expected more than the sequence length ${seqLen}`,
    );
  }
  const variables = Object.values(model.params);
  return ({ rng }) => {
    const { inputs, targets } = makeBatch(ids, rng, batchSize, seqLen);
    const dropoutSeed = rng.seed();
    const loss = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [seqLen, batchSize], "int32");
      const y = tf.tensor2d(targets, [seqLen, batchSize], "int32");
      const { value, grads } = tf.variableGrads(() => sequenceLoss(model, x, y, dropoutSeed), variables);
      optimizer.applyGradients(clipGradients(grads, clip, clipMode));
      return value;
    });
    const value = loss.dataSync()[0];
    loss.dispose();
    return { loss: value };
  };
}

function checkWhole(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} ${value} is invalid: expected a whole number >= ${min}`);
  }
}

/**
 * Trains a model on a text: random windows of `seqLen` characters, mean
 * cross-entropy, Adam, gradient clipping. The model's weights are updated
 * in place.
 *
 * @param model The model to train (its vocabulary must cover `text`).
 * @param text The training text.
 * @throws {RangeError} for a text that is too short, a character outside
 *   the vocabulary, or a bad option.
 *
 * @example
 * ```ts
 * import { createCharLM, trainCharLM } from "@simple-nets/charlm";
 * const text = "abc".repeat(50);
 * const model = createCharLM(text, { hidden: 16, dropout: 0 });
 * const result = await trainCharLM(model, text, { steps: 20, batchSize: 8, seqLen: 6, lr: 1e-2 });
 * console.assert(result.trainLoss < 1.1);
 * model.dispose();
 * ```
 */
export async function trainCharLM(
  model: CharLM,
  text: string,
  options: TrainCharLMOptions = {},
): Promise<TrainCharLMResult> {
  const started = performance.now();
  const steps = options.steps ?? 1000, batchSize = options.batchSize ?? 64, seqLen = options.seqLen ?? 25;
  const seed = options.seed ?? 1, clip = options.clip ?? 1, clipMode = options.clipMode ?? "value";
  const evalEvery = options.evalEvery ?? 0, evalChars = options.evalChars ?? 20000;
  checkWhole("Steps", steps, 0);
  checkWhole("Batch size", batchSize, 1);
  checkWhole("Sequence length", seqLen, 1);
  checkWhole("Evaluation interval", evalEvery, 0);
  checkWhole("Evaluation characters", evalChars, 2);
  clipGradients({}, clip, clipMode);
  const encoded = model.vocab.encode(text);
  if (encoded.unknown > 0) {
    throw new RangeError(
      `The training text has ${encoded.unknown} character(s) outside the model's vocabulary, e.g. ` +
        JSON.stringify(encoded.unknownExamples[0]),
    );
  }
  if (encoded.ids.length <= seqLen) {
    throw new RangeError(
      `The training text has ${encoded.ids.length} characters: expected more than the sequence length ${seqLen}`,
    );
  }
  const optimizer = options.optimizer ?? createOptimizer(options.lr ?? 2e-3);
  const step = createTrainStep(model, encoded.ids, { batchSize, seqLen, clip, clipMode, optimizer });

  let finalEval: number | undefined;
  const evaluate = options.valText === undefined ? undefined : async ({ step }: { step: number }) => {
    const full = step >= steps;
    const result = await evaluateBitsPerChar(model, options.valText!, {
      limit: full ? Infinity : evalChars,
      window: Math.max(seqLen, 250),
      signal: options.signal,
    });
    if (full && !options.signal?.aborted) finalEval = result.bitsPerChar;
    if (options.onSample) {
      await options.onSample(
        step,
        sampleText(model, { length: options.sampleLength ?? 200, seed: seed + step }),
      );
    }
    return { valBitsPerChar: result.bitsPerChar, valChars: result.chars };
  };

  try {
    const loop = await trainLoop(step, {
      seed,
      steps,
      resume: options.resume,
      logEvery: options.logEvery ?? 10,
      evalEvery,
      checkpointEvery: options.checkpointEvery ?? 0,
      evaluate,
      checkpoint: options.checkpoint ? (state) => options.checkpoint!(state, optimizer) : undefined,
      onEvent: options.onEvent,
      onLog: options.onLog,
      signal: options.signal,
    });
    return {
      steps: loop.steps,
      trainLoss: loop.recentLosses.loss ?? NaN,
      valBitsPerChar: loop.interrupted ? undefined : finalEval,
      interrupted: loop.interrupted,
      seconds: (performance.now() - started) / 1000,
      loop,
    };
  } finally {
    if (!options.optimizer) optimizer.dispose();
  }
}
