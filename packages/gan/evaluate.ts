/**
 * The GAN's evaluation: the paper's Parzen-window log-likelihood of the test
 * images under generated samples, and the discriminator's mean output on
 * real and generated images (dropout off).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageSet } from "@simple-nets/core";
import { discriminatorLogits, type Gan, generate } from "./model.ts";
import { type ParzenEstimate, parzenEstimate, type ParzenEstimateOptions } from "./parzen.ts";

/** Options of {@linkcode evaluateGan}. */
export interface EvaluateGanOptions extends ParzenEstimateOptions {
  /** Generated samples that become the kernel centres.
   * @default {10000} */
  samples?: number;
  /** Seed of the samples' noise.
   * @default {1} */
  seed?: number;
  /** Score only the first N test images (all when absent). */
  testLimit?: number;
}

/** What {@linkcode evaluateGan} returns. */
export interface GanEvaluation extends ParzenEstimate {
  /** Mean D(x) over the scored test images, dropout off. */
  dReal: number;
  /** Mean D(G(z)) over the generated samples, dropout off. */
  dFake: number;
}

/**
 * Mean D over images with pixels in [0, 1] (scaled to [−1, 1] for D), dropout off.
 *
 * @param images `[n, imageSize]` (caller owns).
 * @returns The mean of sigmoid(logit), NaN for no images.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createGan, meanDiscriminator } from "@simple-nets/gan";
 * const d = meanDiscriminator(createGan(), tf.zeros([2, 784]));
 * console.assert(d > 0.4 && d < 0.6);
 * ```
 */
export function meanDiscriminator(gan: Gan, images: tf.Tensor2D, batchSize = 1000): number {
  const n = images.shape[0];
  let sum = 0;
  for (let at = 0; at < n; at += batchSize) {
    const rows = Math.min(batchSize, n - at);
    const s = tf.tidy(() => {
      const x = tf.sub(tf.mul(tf.slice(images, [at, 0], [rows, images.shape[1]]), 2), 1) as tf.Tensor2D;
      return tf.sum(tf.sigmoid(discriminatorLogits(gan, x)));
    });
    sum += s.dataSync()[0];
    s.dispose();
  }
  return sum / n;
}

/**
 * Scores a GAN as the paper does: `samples` generated images in [0, 1] are
 * the centres of a Gaussian Parzen window; σ is chosen on `validation`
 * (images held out of training) and the test images are scored.
 *
 * @param gan The trained GAN.
 * @param data `validation` (chooses σ) and `test` (scored), pixels in [0, 1].
 * @returns The Parzen estimate plus mean D on the test images and on the samples.
 * @throws {RangeError} for a bad `samples` or `testLimit`.
 *
 * @example
 * ```ts
 * import { tinyMnist } from "@simple-nets/core/testing";
 * import { createGan, evaluateGan } from "@simple-nets/gan";
 * const gan = createGan({ generatorSizes: [16], discriminatorSizes: [16] });
 * const result = evaluateGan(gan, { validation: tinyMnist(20), test: tinyMnist(30, 20) }, { samples: 100 });
 * console.assert(result.testImages === 30 && Number.isFinite(result.logLikelihood));
 * ```
 */
export function evaluateGan(
  gan: Gan,
  data: { validation: ImageSet; test: ImageSet },
  options: EvaluateGanOptions = {},
): GanEvaluation {
  const { samples = 10000, seed = 1, testLimit } = options;
  if (!Number.isInteger(samples) || samples < 1) {
    throw new RangeError(`Cannot evaluate with ${samples} samples: expected a whole number >= 1`);
  }
  if (testLimit !== undefined && (!Number.isInteger(testLimit) || testLimit < 1)) {
    throw new RangeError(`Cannot score ${testLimit} test images: expected a whole number >= 1`);
  }
  const size = gan.config.imageSize;
  for (const [name, set] of Object.entries(data)) {
    if (set.rows * set.cols !== size || set.count < 1) {
      throw new TypeError(
        `Cannot evaluate on ${set.count} ${name} images of ${set.rows}×${set.cols}: expected >= 1 image of ${size} pixels`,
      );
    }
  }
  const testCount = Math.min(testLimit ?? data.test.count, data.test.count);
  const centres = generate(gan, samples, { seed });
  const validation = tf.tensor2d(data.validation.images, [data.validation.count, size]);
  const test = tf.tensor2d(data.test.images.subarray(0, testCount * size), [testCount, size]);
  try {
    const estimate = parzenEstimate(centres, { validation, test }, options);
    return { ...estimate, dReal: meanDiscriminator(gan, test), dFake: meanDiscriminator(gan, centres) };
  } finally {
    tf.dispose([centres, validation, test]);
  }
}
