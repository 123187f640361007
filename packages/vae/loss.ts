/**
 * The negative evidence lower bound (ELBO) of a VAE, in nats per image.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { checkInput, decodeLogits, encode, type Vae } from "./model.ts";

/**
 * Binary cross-entropy of targets `x` in [0, 1] under Bernoulli logits,
 * summed over pixels: Σ max(l, 0) − l·x + log(1 + e^(−|l|)). Stable for
 * any logit, and equal to the BCE of `sigmoid(l)`.
 *
 * @returns Per-image sums `[batch]`; the caller owns them.
 */
export function bernoulliNll(logits: tf.Tensor2D, x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() =>
    tf.sum(
      tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))),
      1,
    ) as tf.Tensor1D
  );
}

/**
 * KL(N(μ, σ²) ‖ N(0, I)) summed over latents: −½ Σ (1 + log σ² − μ² − σ²).
 *
 * @returns Per-image values `[batch]`; the caller owns them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { gaussianKl } from "@simple-nets/vae";
 * const kl = gaussianKl(tf.zeros([1, 2]), tf.zeros([1, 2])); // q = prior
 * console.assert(kl.dataSync()[0] === 0);
 * ```
 */
export function gaussianKl(mu: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() =>
    tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logVar), tf.square(mu)), tf.exp(logVar)), 1)) as tf.Tensor1D
  );
}

/** Per-image parts of the negative ELBO. */
export interface ElboParts {
  /** Reconstruction term −log p(x|z), `[batch]`. */
  reconstruction: tf.Tensor1D;
  /** KL(q(z|x) ‖ p(z)), `[batch]`. */
  kl: tf.Tensor1D;
}

/**
 * The two terms of the negative ELBO for a batch, with z = μ + σ·ε
 * (reparameterisation); `eps` = 0 gives z = μ.
 *
 * @param x Images `[batch, inputSize]` in [0, 1].
 * @param eps Standard normal noise `[batch, latent]`.
 * @returns Both per-image terms; the caller owns them.
 */
export function negativeElbo(vae: Vae, x: tf.Tensor2D, eps: tf.Tensor2D): ElboParts {
  checkInput(vae, x);
  if (eps.rank !== 2 || eps.shape[0] !== x.shape[0] || eps.shape[1] !== vae.config.latent) {
    throw new TypeError(`Noise has shape [${eps.shape}], expected [${x.shape[0]}, ${vae.config.latent}]`);
  }
  return tf.tidy(() => {
    const { mu, logVar } = encode(vae, x);
    const z = tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), eps)) as tf.Tensor2D;
    return { reconstruction: bernoulliNll(decodeLogits(vae, z), x), kl: gaussianKl(mu, logVar) };
  });
}
