/**
 * The shared training loop. It knows nothing about any model: a package
 * gives it one synchronous step (which returns named scalar losses) and
 * optionally an evaluation; the loop owns step counting, seeded shuffling,
 * progress events, periodic evaluation, checkpoints, resume and abort.
 *
 * Randomness is derived from the seed, never carried: the order of epoch
 * `e` is `Rng.stream(seed, "shuffle", e)` and step `s` gets
 * `Rng.stream(seed, "step", s)`. A run resumed at step `s` therefore sees
 * exactly the batches and noise an uninterrupted run sees.
 *
 * @module
 */
import { Rng } from "./rng.ts";

/** Named scalar values, e.g. `{ loss: 1.23 }`. */
export type Metrics = Record<string, number>;

/** What one training step is given. */
export interface StepContext {
  /** The global step being run, counting from 0. */
  step: number;
  /** The epoch it belongs to, counting from 0. */
  epoch: number;
  /** In epoch mode: the example indices of this batch (a shuffled slice). */
  indices?: Int32Array;
  /** A generator for this step only, derived from the seed and the step. */
  rng: Rng;
}

/** Progress reported by {@linkcode trainLoop}. */
export type TrainEvent =
  | {
    type: "step";
    step: number;
    totalSteps: number;
    epoch: number;
    losses: Metrics;
    stepsPerSecond: number;
    secondsLeft: number;
  }
  | { type: "eval"; step: number; epoch: number; metrics: Metrics }
  | { type: "epoch"; step: number; epoch: number; metrics: Metrics }
  | { type: "checkpoint"; step: number; epoch: number };

/** The loop's own state, saved in checkpoints and given back to resume. */
export interface LoopState {
  /** Steps done so far. */
  step: number;
  /** Sums of each loss over the current epoch, weighted by batch size. */
  epochSums: Metrics;
  /** Examples (or steps in step mode) summed in `epochSums`. */
  epochCount: number;
  /** The last {@linkcode RECENT_WINDOW} step losses, oldest first. */
  recent: Metrics[];
  /** The last evaluation's metrics. */
  lastEval: Metrics;
}

/** How many recent step losses the loop keeps (for "mean of the last 100 steps"). */
export const RECENT_WINDOW = 100;

/** Run-time settings of {@linkcode trainLoop}. */
export interface TrainLoopOptions {
  /** The seed every batch order and step generator derives from. */
  seed: number;
  /** Train for this many epochs over `examples` items (epoch mode). */
  epochs?: number;
  /** Train for this many steps (step mode; ignored when `epochs` is set). */
  steps?: number;
  /** Number of training examples (epoch mode). */
  examples?: number;
  /** Batch size (epoch mode); the last, smaller batch of an epoch is kept.
   * @default {128} */
  batchSize?: number;
  /** State of an earlier run to continue from. */
  resume?: LoopState;
  /** Emit a `step` event (and a metrics line) every N steps.
   * @default {10} */
  logEvery?: number;
  /** Evaluate every N steps; in epoch mode also at the end of every epoch.
   * @default {0} (only at epoch ends and at the end) */
  evalEvery?: number;
  /** Checkpoint every N steps; in epoch mode also at the end of every epoch.
   * @default {0} (epoch ends, the end, and on abort) */
  checkpointEvery?: number;
  /** Evaluation, run between steps; its metrics go to events and the log. */
  evaluate?: (state: { step: number; epoch: number }) => Metrics | Promise<Metrics>;
  /** Writes a checkpoint of the model and the given loop state. */
  checkpoint?: (state: LoopState) => void | Promise<void>;
  /** Receives progress events. */
  onEvent?: (event: TrainEvent) => void;
  /** Receives one record per log step, eval and epoch (for `metrics.jsonl`). */
  onLog?: (record: Record<string, number | string>) => void | Promise<void>;
  /** Stops the loop after the current step; a checkpoint is written first. */
  signal?: AbortSignal;
}

/** What {@linkcode trainLoop} returns. */
export interface TrainLoopResult {
  /** Steps done in all (including those before a resume). */
  steps: number;
  /** Epochs completed (epoch mode), or `steps / stepsPerEpoch` rounded down. */
  epochs: number;
  /** True when the signal stopped the loop early. */
  interrupted: boolean;
  /** Mean of each loss over the last completed epoch (epoch mode) or the last 100 steps. */
  losses: Metrics;
  /** Mean of each loss over the last 100 steps. */
  recentLosses: Metrics;
  /** The last evaluation's metrics. */
  evaluation: Metrics;
  /** The loop's final state. */
  state: LoopState;
  /** Wall-clock seconds spent in this call. */
  seconds: number;
}

function meanOf(records: Metrics[]): Metrics {
  const out: Metrics = {};
  for (const r of records) for (const k in r) out[k] = (out[k] ?? 0) + r[k] / records.length;
  return out;
}

/** Steps per epoch for `examples` items in batches of `batchSize` (last partial batch kept). */
export function stepsPerEpoch(examples: number, batchSize: number): number {
  return Math.ceil(examples / batchSize);
}

/**
 * Yields to the event loop (so that a Ctrl-C handler runs) at most every
 * 50 ms: chained `setTimeout(0)` calls are clamped to about 4 ms each,
 * which would slow a 10 ms step by a third.
 */
function makeYielder(): () => Promise<void> {
  let last = performance.now();
  return async () => {
    const now = performance.now();
    if (now - last < 50) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    last = performance.now();
  };
}

/**
 * Runs a training loop around a synchronous step function.
 *
 * @param step One training step; returns named scalar losses. It must clean
 *   up its own tensors (run its work in `tf.tidy`).
 * @param options Length of training, seed, callbacks.
 * @returns Summary of the run; `interrupted` is true when `signal` aborted it.
 *
 * @example Epoch mode over 10 examples
 * ```ts
 * import { trainLoop } from "@simple-nets/core";
 * const seen: number[] = [];
 * const result = await trainLoop((ctx) => {
 *   seen.push(...ctx.indices!);
 *   return { loss: 1 / (ctx.step + 1) };
 * }, { seed: 1, epochs: 2, examples: 10, batchSize: 4 });
 * console.assert(result.steps === 6 && seen.length === 20);
 * ```
 */
export async function trainLoop(
  step: (context: StepContext) => Metrics,
  options: TrainLoopOptions,
): Promise<TrainLoopResult> {
  const started = performance.now();
  const { seed, epochs, examples, batchSize = 128, logEvery = 10 } = options;
  const epochMode = epochs !== undefined;
  if (epochMode && !(examples && examples > 0)) {
    throw new RangeError(`Cannot train for epochs over ${examples} examples: expected at least 1`);
  }
  if (!(batchSize >= 1)) throw new RangeError(`Batch size ${batchSize} is invalid: expected >= 1`);
  const perEpoch = epochMode ? stepsPerEpoch(examples!, batchSize) : Infinity;
  const totalSteps = epochMode ? perEpoch * epochs! : options.steps ?? 0;
  if (!Number.isInteger(totalSteps) || totalSteps < 0) {
    throw new RangeError(`Cannot train for ${totalSteps} steps: expected a whole number >= 0`);
  }
  const state: LoopState = options.resume
    ? structuredClone(options.resume)
    : { step: 0, epochSums: {}, epochCount: 0, recent: [], lastEval: {} };
  let lastEpochMeans: Metrics = {};
  let order: Int32Array | undefined;
  let orderEpoch = -1;
  let window: Metrics[] = [];
  let windowSteps = 0;
  let windowStart = performance.now();
  const firstStep = state.step;
  if (firstStep > 0) {
    // A resumed run's first log line averages the same steps as an uninterrupted run's would.
    const lastLog = Math.max(
      logEvery > 0 ? firstStep - (firstStep % logEvery) : 0,
      epochMode ? firstStep - (firstStep % perEpoch) : 0,
    );
    window = state.recent.slice(Math.max(0, state.recent.length - (firstStep - lastLog)));
  }

  const evaluate = async (epoch: number) => {
    if (!options.evaluate) return;
    state.lastEval = await options.evaluate({ step: state.step, epoch });
    options.onEvent?.({ type: "eval", step: state.step, epoch, metrics: state.lastEval });
    await options.onLog?.({ step: state.step, epoch, kind: "eval", ...state.lastEval });
  };
  let checkpointedAt = -1;
  const checkpoint = async (epoch: number) => {
    if (!options.checkpoint || checkpointedAt === state.step) return;
    checkpointedAt = state.step;
    await options.checkpoint(structuredClone(state));
    options.onEvent?.({ type: "checkpoint", step: state.step, epoch });
  };

  const yieldToEventLoop = makeYielder();
  let interrupted = false;
  while (state.step < totalSteps) {
    if (options.signal?.aborted) {
      interrupted = true;
      break;
    }
    const s = state.step;
    const epoch = epochMode ? Math.floor(s / perEpoch) : 0;
    let indices: Int32Array | undefined;
    if (epochMode) {
      if (orderEpoch !== epoch) {
        order = Rng.stream(seed, "shuffle", epoch).permutation(examples!);
        orderEpoch = epoch;
      }
      const at = (s % perEpoch) * batchSize;
      indices = order!.subarray(at, Math.min(at + batchSize, examples!));
    }
    const losses = step({ step: s, epoch, indices, rng: Rng.stream(seed, "step", s) });
    for (const k in losses) {
      if (!Number.isFinite(losses[k])) {
        throw new NonFiniteLossError(k, losses[k], s);
      }
    }
    state.step = s + 1;
    const weight = indices ? indices.length : 1;
    for (const k in losses) state.epochSums[k] = (state.epochSums[k] ?? 0) + losses[k] * weight;
    state.epochCount += weight;
    state.recent.push(losses);
    if (state.recent.length > RECENT_WINDOW) state.recent.shift();
    window.push(losses);
    windowSteps++;

    const epochDone = epochMode && state.step % perEpoch === 0;
    const last = state.step === totalSteps;
    if (state.step % logEvery === 0 || last || epochDone) {
      const now = performance.now();
      const rate = windowSteps / Math.max((now - windowStart) / 1000, 1e-9);
      const means = meanOf(window);
      options.onEvent?.({
        type: "step",
        step: state.step,
        totalSteps,
        epoch,
        losses: means,
        stepsPerSecond: rate,
        secondsLeft: (totalSteps - state.step) / Math.max(rate, 1e-9),
      });
      await options.onLog?.({ step: state.step, epoch, kind: "train", ...means });
      window = [];
      windowSteps = 0;
      windowStart = now;
    }
    if (epochDone) {
      lastEpochMeans = {};
      for (const k in state.epochSums) lastEpochMeans[k] = state.epochSums[k] / state.epochCount;
      state.epochSums = {};
      state.epochCount = 0;
      options.onEvent?.({ type: "epoch", step: state.step, epoch, metrics: lastEpochMeans });
      await options.onLog?.({ step: state.step, epoch, kind: "epoch", ...lastEpochMeans });
    }
    const evalNow = epochDone || last ||
      (options.evalEvery !== undefined && options.evalEvery > 0 && state.step % options.evalEvery === 0);
    if (evalNow) await evaluate(epoch);
    const checkpointNow = epochDone || last ||
      (options.checkpointEvery !== undefined && options.checkpointEvery > 0 &&
        state.step % options.checkpointEvery === 0);
    if (checkpointNow) await checkpoint(epoch);
    await yieldToEventLoop();
  }
  if (interrupted && state.step > firstStep) {
    await checkpoint(epochMode ? Math.floor((state.step - 1) / perEpoch) : 0);
  }
  const recentLosses = meanOf(state.recent);
  return {
    steps: state.step,
    epochs: epochMode ? Math.floor(state.step / perEpoch) : 0,
    interrupted,
    losses: epochMode && Object.keys(lastEpochMeans).length ? lastEpochMeans : recentLosses,
    recentLosses,
    evaluation: state.lastEval,
    state,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Thrown by {@linkcode trainLoop} when a step returns NaN or an infinite loss. */
export class NonFiniteLossError extends Error {
  /** Creates the error for loss `name` at `step`. */
  constructor(name: string, value: number, step: number) {
    super(`Training diverged: loss "${name}" is ${value} at step ${step + 1}; the last checkpoint is kept`);
    this.name = "NonFiniteLossError";
  }
}
