/**
 * GAN losses on logits. With ℓ the logit of D, −log D = softplus(−ℓ) and
 * −log(1 − D) = softplus(ℓ); TF.js's softplus is stable for any ℓ, so the
 * losses stay finite and their gradients non-zero where a sigmoid would
 * round to 0 or 1.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * The discriminator's loss: mean −log D(x) over real logits plus mean
 * −log(1 − D(G(z))) over fake logits.
 *
 * @param realLogits Logits of D on real images, any shape.
 * @param fakeLogits Logits of D on generated images, any shape.
 * @returns A new scalar the caller owns.
 *
 * @example At D = 1/2 everywhere the loss is 2 log 2
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { discriminatorLoss } from "@simple-nets/gan";
 * const loss = discriminatorLoss(tf.zeros([4, 1]), tf.zeros([4, 1]));
 * console.assert(Math.abs(loss.dataSync()[0] - 2 * Math.LN2) < 1e-6);
 * ```
 */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))));
}

/**
 * The generator's non-saturating loss: mean −log D(G(z)).
 *
 * @param fakeLogits Logits of D on generated images, any shape.
 * @returns A new scalar the caller owns.
 *
 * @example A confident discriminator gives a large but finite loss
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { generatorLoss } from "@simple-nets/gan";
 * console.assert(generatorLoss(tf.tensor1d([-200])).dataSync()[0] === 200);
 * ```
 */
export function generatorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(fakeLogits))));
}
