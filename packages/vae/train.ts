/**
 * Training and evaluating a VAE on images in [0, 1].
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  adam,
  type ImageSet,
  type LoopState,
  type Metrics,
  Rng,
  type StepContext,
  type TrainEvent,
  trainLoop,
  type TrainLoopResult,
} from "@simple-nets/core";
import { negativeElbo } from "./loss.ts";
import type { Vae } from "./model.ts";

/** Run-time settings of {@linkcode trainVae}. */
export interface TrainVaeOptions {
  /** Passes over the training images.
   * @default {10} */
  epochs?: number;
  /** Images per step; the last, smaller batch of an epoch is kept.
   * @default {128} */
  batchSize?: number;
  /** Adam's learning rate (ignored when `optimizer` is given).
   * @default {1e-3} */
  learningRate?: number;
  /** The optimizer; pass your own to save and restore its state.
   * @default {adam(learningRate)} */
  optimizer?: tf.Optimizer;
  /** Seed of the batch order and the reparameterisation noise.
   * @default {1} */
  seed?: number;
  /** Loop state of a checkpoint to continue from. */
  resume?: LoopState;
  /** Evaluation after every epoch (e.g. the test negative ELBO). */
  evaluate?: () => Metrics | Promise<Metrics>;
  /** Writes a checkpoint; called after every epoch, at the end and on abort. */
  checkpoint?: (state: LoopState) => void | Promise<void>;
  /** Progress events. */
  onEvent?: (event: TrainEvent) => void;
  /** One record per log step, epoch and evaluation (for `metrics.jsonl`). */
  onLog?: (record: Record<string, number | string>) => void | Promise<void>;
  /** Emit a progress event every N steps.
   * @default {10} */
  logEvery?: number;
  /** Stops training after the current step (a checkpoint is written first). */
  signal?: AbortSignal;
}

/** Copies the rows `indices` of a `[count, size]` array into one new array. */
export function gatherRows(data: Float32Array, indices: ArrayLike<number>, size: number): Float32Array {
  const out = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const at = indices[i] * size;
    out.set(data.subarray(at, at + size), i * size);
  }
  return out;
}

function checkImages(vae: Vae, images: ImageSet): void {
  if (images.rows * images.cols !== vae.config.inputSize) {
    throw new TypeError(
      `Images are ${images.rows}×${images.cols}, expected ${vae.config.inputSize} pixels per image`,
    );
  }
  if (images.images.length !== images.count * vae.config.inputSize) {
    throw new TypeError(
      `Image data has ${images.images.length} values, expected ${images.count} × ${vae.config.inputSize}`,
    );
  }
}

/**
 * One training step of a VAE, as {@linkcode trainVae} gives it to core's
 * `trainLoop`: the batch `ctx.indices` of `images`, reparameterisation
 * noise from `ctx.rng`, one optimizer update on the batch-mean negative
 * ELBO. Exported so that benchmarks and custom loops run exactly the
 * training code.
 *
 * @returns A synchronous step function returning `loss`, `reconstruction` and `kl` (nats per image).
 */
export function vaeStep(vae: Vae, images: ImageSet, optimizer: tf.Optimizer): (ctx: StepContext) => Metrics {
  checkImages(vae, images);
  const variables = Object.values(vae.params);
  const { inputSize, latent } = vae.config;
  return (ctx) => {
    if (!ctx.indices) throw new RangeError("A VAE step needs the batch's example indices (epoch mode)");
    const n = ctx.indices.length;
    const batch = gatherRows(images.images, ctx.indices, inputSize);
    const eps = ctx.rng.fillNormal(new Float32Array(n * latent));
    let parts: tf.Tensor | undefined;
    tf.tidy(() => {
      optimizer.minimize(
        () => {
          const x = tf.tensor2d(batch, [n, inputSize]);
          const { reconstruction, kl } = negativeElbo(vae, x, tf.tensor2d(eps, [n, latent]));
          const r = tf.mean(reconstruction), k = tf.mean(kl);
          parts = tf.keep(tf.stack([r, k]));
          return tf.add(r, k) as tf.Scalar;
        },
        false,
        variables,
      );
    });
    const [r, k] = parts!.dataSync();
    parts!.dispose();
    return { loss: r + k, reconstruction: r, kl: k };
  };
}

/**
 * Trains a VAE with Adam on the mean over the batch of the per-image
 * negative ELBO (BCE summed over pixels + KL summed over latents).
 * Step losses: `loss` (negative ELBO), `reconstruction`, `kl`, nats per image.
 *
 * @param images Training images, pixels in [0, 1].
 * @returns The loop's result; `losses.loss` is the mean negative ELBO of the last epoch.
 *
 * @example
 * ```ts
 * import { loadEmbeddedMnist } from "@simple-nets/core";
 * import { createVae, disposeVae, trainVae } from "@simple-nets/vae";
 * const { train } = loadEmbeddedMnist();
 * const vae = createVae({ hidden: 64 });
 * const result = await trainVae(vae, { ...train!, count: 256, images: train!.images.subarray(0, 256 * 784) }, { epochs: 1 });
 * console.log(result.losses.loss);
 * disposeVae(vae);
 * ```
 */
export async function trainVae(
  vae: Vae,
  images: ImageSet,
  options: TrainVaeOptions = {},
): Promise<TrainLoopResult> {
  checkImages(vae, images);
  const { batchSize = 128, learningRate = 1e-3, seed = 1 } = options;
  const optimizer = options.optimizer ?? adam(learningRate);
  try {
    return await trainLoop(vaeStep(vae, images, optimizer), {
      seed,
      epochs: options.epochs ?? 10,
      examples: images.count,
      batchSize,
      resume: options.resume,
      logEvery: options.logEvery,
      evaluate: options.evaluate,
      checkpoint: options.checkpoint,
      onEvent: options.onEvent,
      onLog: options.onLog,
      signal: options.signal,
    });
  } finally {
    if (!options.optimizer) optimizer.dispose();
  }
}

/** Settings of {@linkcode evaluateVae}. */
export interface EvaluateVaeOptions {
  /** Seed of the one z ~ q(z|x) sample per image.
   * @default {1} */
  seed?: number;
  /** Images per forward pass.
   * @default {1000} */
  batchSize?: number;
}

/** Test-set means per image, in nats. */
export interface VaeEvaluation {
  /** Negative ELBO with one z ~ q(z|x) sample per image (as pytorch/examples). */
  negElbo: number;
  /** Its reconstruction term. */
  reconstruction: number;
  /** Its KL term (the same for both estimates). */
  kl: number;
  /** Negative ELBO with z = μ (deterministic). */
  negElboMean: number;
  /** Reconstruction term with z = μ. */
  reconstructionMean: number;
  /** Images evaluated. */
  images: number;
}

/**
 * Evaluates the negative ELBO per image over a set of images.
 *
 * @example
 * ```ts
 * import { loadEmbeddedMnist } from "@simple-nets/core";
 * import { createVae, disposeVae, evaluateVae } from "@simple-nets/vae";
 * const vae = createVae({ hidden: 32 });
 * const result = evaluateVae(vae, loadEmbeddedMnist().test!);
 * console.assert(result.images === 1000 && result.negElbo > 0);
 * disposeVae(vae);
 * ```
 */
export function evaluateVae(vae: Vae, images: ImageSet, options: EvaluateVaeOptions = {}): VaeEvaluation {
  checkImages(vae, images);
  const { seed = 1, batchSize = 1000 } = options;
  const { inputSize, latent } = vae.config;
  const rng = Rng.stream(seed, "evaluate");
  const sums = new Float64Array(3);
  for (let start = 0; start < images.count; start += batchSize) {
    const n = Math.min(batchSize, images.count - start);
    const eps = rng.fillNormal(new Float32Array(n * latent));
    const values = tf.tidy(() => {
      const x = tf.tensor2d(images.images.subarray(start * inputSize, (start + n) * inputSize), [
        n,
        inputSize,
      ]);
      const sampled = negativeElbo(vae, x, tf.tensor2d(eps, [n, latent]));
      const atMean = negativeElbo(vae, x, tf.zeros([n, latent]));
      return tf.stack([tf.sum(sampled.reconstruction), tf.sum(sampled.kl), tf.sum(atMean.reconstruction)]);
    });
    const v = values.dataSync();
    values.dispose();
    for (let i = 0; i < 3; i++) sums[i] += v[i];
  }
  const count = Math.max(images.count, 1);
  const [reconstruction, kl, reconstructionMean] = Array.from(sums, (s) => s / count);
  return {
    negElbo: reconstruction + kl,
    reconstruction,
    kl,
    negElboMean: reconstructionMean + kl,
    reconstructionMean,
    images: images.count,
  };
}
