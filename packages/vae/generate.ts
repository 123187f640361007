/**
 * Looking at a VAE: reconstructions, samples from the prior, and the
 * decoded latent plane.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@simple-nets/core";
import { decode, encode, type Vae } from "./model.ts";

/**
 * Reconstructs images through the posterior mean: decode(μ(x)).
 *
 * @param x Images `[batch, inputSize]` in [0, 1].
 * @returns Reconstructions `[batch, inputSize]`; the caller owns them.
 */
export function reconstruct(vae: Vae, x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => decode(vae, encode(vae, x).mu));
}

/** Settings of {@linkcode sampleVae}. */
export interface SampleVaeOptions {
  /** Seed of the latent draws.
   * @default {1} */
  seed?: number;
}

/**
 * Draws `count` images from the model: z ~ N(0, I), then the decoder's pixel means.
 *
 * @returns Images `[count, inputSize]`; the caller owns them.
 *
 * @example
 * ```ts
 * import { createVae, disposeVae, sampleVae } from "@simple-nets/vae";
 * const vae = createVae({ hidden: 32 });
 * const images = sampleVae(vae, 4, { seed: 3 });
 * console.assert(images.shape[0] === 4);
 * images.dispose();
 * disposeVae(vae);
 * ```
 */
export function sampleVae(vae: Vae, count: number, options: SampleVaeOptions = {}): tf.Tensor2D {
  if (!Number.isInteger(count) || count < 1) {
    throw new RangeError(`Sample count is ${count}: expected a whole number >= 1`);
  }
  const z = Rng.stream(options.seed ?? 1, "sample").fillNormal(new Float32Array(count * vae.config.latent));
  return tf.tidy(() => decode(vae, tf.tensor2d(z, [count, vae.config.latent])));
}

/**
 * The inverse of the standard normal CDF (Acklam's rational approximation,
 * relative error below 1.2e-9), used to lay the manifold grid out at
 * equal probability steps as Kingma & Welling's figure does.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`Probability ${p} is outside (0, 1)`);
  const a = [
    -39.69683028665376,
    220.9460984245205,
    -275.9285104469687,
    138.357751867269,
    -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406,
    161.5858368580409,
    -155.6989798598866,
    66.80131188771972,
    -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293,
    -0.3223964580411365,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    const x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < low ? x : -x;
  }
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * Decodes an `n × n` grid over the latent plane of a 2-D VAE, at the
 * normal quantiles of `n` equally spaced probabilities in (0.05, 0.95);
 * rows go from high z₂ (top) to low, columns from low z₁ to high.
 *
 * @returns Images `[n·n, inputSize]` in row-major grid order; the caller owns them.
 * @throws {RangeError} when the VAE's latent space is not 2-D.
 */
export function latentManifold(vae: Vae, n = 20): tf.Tensor2D {
  if (vae.config.latent !== 2) {
    throw new RangeError(`A manifold needs a 2-D latent space, this VAE has ${vae.config.latent}`);
  }
  const values = Array.from({ length: n }, (_, i) => normalQuantile(0.05 + (0.9 * (i + 0.5)) / n));
  const z = new Float32Array(n * n * 2);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      z[(row * n + col) * 2] = values[col];
      z[(row * n + col) * 2 + 1] = values[n - 1 - row];
    }
  }
  return tf.tidy(() => decode(vae, tf.tensor2d(z, [n * n, 2])));
}
