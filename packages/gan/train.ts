/**
 * GAN training on core's loop: per batch, `dSteps` discriminator updates on
 * −log D(x) − log(1 − D(G(z))), then one generator update on the
 * non-saturating −log D(G(z)), each with fresh noise; dropout in D is on for
 * both updates.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  adam,
  type ImageSet,
  type LoopState,
  type Metrics,
  type StepContext,
  type TrainEvent,
  trainLoop,
  type TrainLoopResult,
} from "@simple-nets/core";
import { discriminatorLogits, type Gan, generatorForward, noise } from "./model.ts";
import { discriminatorLoss, generatorLoss } from "./loss.ts";

/** The two Adam optimizers of a GAN. */
export interface GanOptimizers {
  /** Updates the generator. */
  generator: tf.Optimizer;
  /** Updates the discriminator. */
  discriminator: tf.Optimizer;
}

/**
 * Creates Adam optimizers for both networks (β1 0.9, β2 0.999, ε 1e-8, as PyTorch's defaults).
 *
 * @param learningRate Adam's step size for both networks.
 * @returns Optimizers the caller owns (`dispose()` each).
 *
 * @example
 * ```ts
 * import { createGanOptimizers } from "@simple-nets/gan";
 * const { generator, discriminator } = createGanOptimizers(1e-4);
 * generator.dispose();
 * discriminator.dispose();
 * ```
 */
export function createGanOptimizers(learningRate = 1e-4): GanOptimizers {
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new RangeError(
      `Cannot create optimizers with learning rate ${learningRate}: expected a number > 0`,
    );
  }
  return {
    generator: adam(learningRate, 0.9, 0.999, 1e-8),
    discriminator: adam(learningRate, 0.9, 0.999, 1e-8),
  };
}

/** The names of the losses a GAN step returns. */
export const GAN_METRICS: readonly string[] = ["dLoss", "gLoss", "dReal", "dFake"];

/**
 * Splits off the last `count` images as the held-out set (for choosing the Parzen σ).
 *
 * @returns Copies: `{ train, validation }`.
 * @throws {RangeError} unless 1 ≤ count < images.count.
 *
 * @example
 * ```ts
 * import { splitValidation } from "@simple-nets/gan";
 * import { tinyMnist } from "@simple-nets/core/testing";
 * const { train, validation } = splitValidation(tinyMnist(10), 3);
 * console.assert(train.count === 7 && validation.count === 3);
 * ```
 */
export function splitValidation(images: ImageSet, count: number): { train: ImageSet; validation: ImageSet } {
  if (!Number.isInteger(count) || count < 1 || count >= images.count) {
    throw new RangeError(
      `Cannot hold out ${count} of ${images.count} training images: expected a whole number in 1..${
        images.count - 1
      }`,
    );
  }
  const size = images.rows * images.cols;
  const cut = images.count - count;
  const part = (from: number, to: number): ImageSet => ({
    images: images.images.slice(from * size, to * size),
    labels: images.labels.slice(from, to),
    count: to - from,
    rows: images.rows,
    cols: images.cols,
  });
  return { train: part(0, cut), validation: part(cut, images.count) };
}

/** Settings of one GAN training step. */
export interface GanStepOptions {
  /** Real images per discriminator update (and noise vectors per generator update).
   * @default {128} */
  batchSize?: number;
  /** Discriminator updates per generator update; each takes its own `batchSize` slice of the step's batch.
   * @default {1} */
  dSteps?: number;
}

/**
 * Makes the synchronous step core's loop runs. The step's batch (`ctx.indices`,
 * `batchSize·dSteps` real images) is cut into `dSteps` slices, one per
 * discriminator update; each update and the generator update draw fresh noise
 * from `ctx.rng`. Returns the named losses `dLoss`, `gLoss` and the means
 * `dReal` = D(x), `dFake` = D(G(z)) seen by the discriminator updates.
 *
 * @param gan The GAN to train (its variables are updated in place).
 * @param real Training images scaled to [−1, 1], `[count, imageSize]`; the caller owns it.
 * @returns The step function (plus `optimizers` and `options`).
 *
 * @example One step by hand
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Rng } from "@simple-nets/core";
 * import { createGan, createGanOptimizers, ganStep } from "@simple-nets/gan";
 * const gan = createGan({ generatorSizes: [8], discriminatorSizes: [8], pieces: 2 });
 * const real = tf.randomUniform([4, 784], -1, 1, "float32", 1) as tf.Tensor2D;
 * const step = ganStep(gan, real, createGanOptimizers(), { batchSize: 4 });
 * const losses = step({ step: 0, epoch: 0, indices: Int32Array.of(0, 1, 2, 3), rng: new Rng(1) });
 * console.assert(Number.isFinite(losses.dLoss) && Number.isFinite(losses.gLoss));
 * ```
 */
export function ganStep(
  gan: Gan,
  real: tf.Tensor2D,
  optimizers: GanOptimizers,
  options: GanStepOptions = {},
): (context: StepContext) => Metrics {
  const { batchSize = 128, dSteps = 1 } = options;
  const dVars = Object.values(gan.discriminator);
  const gVars = Object.values(gan.generator);
  const noiseDims = gan.config.noise;
  return (ctx: StepContext): Metrics => {
    const indices = ctx.indices;
    if (!indices || indices.length === 0) {
      throw new RangeError(`GAN step ${ctx.step} has no batch: expected the loop to run in epoch mode`);
    }
    const rng = ctx.rng;
    const values = tf.tidy(() => {
      const sums: tf.Scalar[] = [];
      let slices = 0;
      for (let at = 0; at < indices.length && slices < dSteps; at += batchSize, slices++) {
        const slice = indices.subarray(at, Math.min(at + batchSize, indices.length));
        const n = slice.length;
        const x = tf.gather(real, tf.tensor1d(slice, "int32"));
        const fake = generatorForward(gan, noise(rng, n, noiseDims));
        let means: tf.Tensor | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const logits = discriminatorLogits(gan, tf.concat([x, fake]), { training: true, rng });
          const realLogits = logits.slice([0, 0], [n, 1]);
          const fakeLogits = logits.slice([n, 0], [n, 1]);
          means = tf.keep(tf.stack([tf.mean(tf.sigmoid(realLogits)), tf.mean(tf.sigmoid(fakeLogits))]));
          return discriminatorLoss(realLogits, fakeLogits);
        }, dVars);
        optimizers.discriminator.applyGradients(grads);
        sums.push(value, ...tf.unstack(means!) as tf.Scalar[]);
        means!.dispose();
      }
      const d = tf.div(tf.addN(sums.filter((_, i) => i % 3 === 0)), slices);
      const dReal = tf.div(tf.addN(sums.filter((_, i) => i % 3 === 1)), slices);
      const dFake = tf.div(tf.addN(sums.filter((_, i) => i % 3 === 2)), slices);
      const n = Math.min(batchSize, indices.length);
      const z = noise(rng, n, noiseDims);
      const g = optimizers.generator.minimize(
        () => generatorLoss(discriminatorLogits(gan, generatorForward(gan, z), { training: true, rng })),
        true,
        gVars,
      )!;
      return tf.stack([d, g, dReal, dFake]);
    });
    const [dLoss, gLoss, dReal, dFake] = values.dataSync();
    values.dispose();
    return { dLoss, gLoss, dReal, dFake };
  };
}

/** Run-time settings of {@linkcode trainGan}. */
export interface TrainGanOptions extends GanStepOptions {
  /** Passes over the training images (by the discriminator).
   * @default {10} */
  epochs?: number;
  /** Adam's step size for both networks (used when `optimizers` is absent).
   * @default {1e-4} */
  learningRate?: number;
  /** Seed of the batch order, noise and dropout.
   * @default {1} */
  seed?: number;
  /** Optimizers to use (e.g. restored from a checkpoint); created and disposed inside when absent. */
  optimizers?: GanOptimizers;
  /** Loop state of an earlier run to continue from. */
  resume?: LoopState;
  /** A progress event (and a metrics record) every N steps.
   * @default {10} */
  logEvery?: number;
  /** Evaluation run at the end of every epoch; its metrics go to events and the log. */
  evaluate?: (state: { step: number; epoch: number }) => Metrics | Promise<Metrics>;
  /** Also checkpoint every N steps (0: only after every epoch, at the end and when interrupted).
   * @default {0} */
  checkpointEvery?: number;
  /** Writes a checkpoint (called after every epoch, at the end and when interrupted). */
  checkpoint?: (state: LoopState) => void | Promise<void>;
  /** Receives progress events. */
  onEvent?: (event: TrainEvent) => void;
  /** Receives the records for `metrics.jsonl`. */
  onLog?: (record: Record<string, number | string>) => void | Promise<void>;
  /** Stops training after the current step (a checkpoint is written first). */
  signal?: AbortSignal;
}

/**
 * Trains a GAN on images with pixels in [0, 1] (scaled to [−1, 1] inside).
 *
 * @param gan The GAN; its variables are updated in place.
 * @param images The training images (without any held-out part).
 * @returns Core's loop result: `losses` holds the last epoch's means of `dLoss`, `gLoss`, `dReal`, `dFake`.
 * @throws {NonFiniteLossError} (from core) when a loss becomes NaN or infinite; no checkpoint is written for that step.
 *
 * @example A short run on 64 digits
 * ```ts
 * import { tinyMnist } from "@simple-nets/core/testing";
 * import { createGan, disposeGan, trainGan } from "@simple-nets/gan";
 * const gan = createGan({ generatorSizes: [32], discriminatorSizes: [32], pieces: 2 });
 * const result = await trainGan(gan, tinyMnist(64), { epochs: 1, batchSize: 32 });
 * console.assert(result.steps === 2 && Number.isFinite(result.losses.dLoss));
 * disposeGan(gan);
 * ```
 */
export async function trainGan(
  gan: Gan,
  images: ImageSet,
  options: TrainGanOptions = {},
): Promise<TrainLoopResult> {
  const { epochs = 10, batchSize = 128, dSteps = 1, learningRate = 1e-4, seed = 1 } = options;
  if (images.rows * images.cols !== gan.config.imageSize) {
    throw new TypeError(
      `Cannot train a GAN for ${gan.config.imageSize}-pixel images on ${images.rows}×${images.cols} images`,
    );
  }
  for (const [name, value] of [["epochs", epochs], ["batchSize", batchSize], ["dSteps", dSteps]] as const) {
    if (!Number.isInteger(value) || value < (name === "epochs" ? 0 : 1)) {
      throw new RangeError(
        `Cannot train a GAN with ${name} ${value}: expected a whole number >= ${name === "epochs" ? 0 : 1}`,
      );
    }
  }
  const optimizers = options.optimizers ?? createGanOptimizers(learningRate);
  const real = tf.tidy(() =>
    tf.sub(tf.mul(tf.tensor2d(images.images, [images.count, gan.config.imageSize]), 2), 1) as tf.Tensor2D
  );
  try {
    return await trainLoop(ganStep(gan, real, optimizers, { batchSize, dSteps }), {
      seed,
      epochs,
      examples: images.count,
      batchSize: batchSize * dSteps,
      resume: options.resume,
      logEvery: options.logEvery,
      evaluate: options.evaluate,
      checkpoint: options.checkpoint,
      checkpointEvery: options.checkpointEvery,
      onEvent: options.onEvent,
      onLog: options.onLog,
      signal: options.signal,
    });
  } finally {
    real.dispose();
    if (!options.optimizers) {
      optimizers.generator.dispose();
      optimizers.discriminator.dispose();
    }
  }
}
