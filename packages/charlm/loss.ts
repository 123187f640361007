/**
 * The training loss and gradient clipping: pure functions of tensors.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { disposeState, forwardTimeMajor } from "./model.ts";
import type { CharLM } from "./model.ts";

/** How gradients are clipped: each element to ±clip (`value`, the original), or the global L2 norm to ≤ clip. */
export type ClipMode = "value" | "norm";

/**
 * Mean cross-entropy in nats over every batch × time prediction, each
 * window from a zero state (the original summed over time; the mean makes
 * the learning rate independent of the window length).
 *
 * @param ids Time-major inputs `[T, batch]` int32.
 * @param targets Time-major next characters `[T, batch]` int32.
 * @param dropoutSeed Applies training dropout with this seed; off when absent.
 * @returns A scalar the caller owns.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createCharLM, sequenceLoss } from "@simple-nets/charlm";
 * const model = createCharLM("ab", { hidden: 4 });
 * const loss = sequenceLoss(model, tf.tensor2d([[0], [1]], [2, 1], "int32"), tf.tensor2d([[1], [0]], [2, 1], "int32"));
 * console.assert(Math.abs(loss.dataSync()[0] - Math.LN2) < 0.5);
 * ```
 */
export function sequenceLoss(
  model: CharLM,
  ids: tf.Tensor2D,
  targets: tf.Tensor2D,
  dropoutSeed?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const { logits, state } = forwardTimeMajor(model, ids, undefined, dropoutSeed);
    disposeState(state);
    return crossEntropy(logits, tf.reshape(targets, [-1]) as tf.Tensor1D, "mean");
  });
}

/**
 * Cross-entropy of logits `[N, V]` against ids `[N]`, in nats: their mean or sum.
 *
 * @returns A scalar the caller owns.
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  reduction: "mean" | "sum",
): tf.Scalar {
  return tf.tidy(() => {
    const picked = tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(targets, logits.shape[1])), 1);
    return tf.neg(reduction === "mean" ? tf.mean(picked) : tf.sum(picked)) as tf.Scalar;
  });
}

/**
 * Clips gradients by value (each element to ±clip) or by their global L2
 * norm (rescaled so that it is at most clip, as `clip_grad_norm_`).
 * A clip of 0 leaves them as they are; no gradients give none (so a call
 * with `{}` only checks the settings).
 *
 * @returns New tensors the caller owns (the given ones are not disposed).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { clipGradients } from "@simple-nets/charlm";
 * const { g } = clipGradients({ g: tf.tensor1d([3, -4]) }, 1, "norm");
 * console.assert(Math.abs(g.dataSync()[0] - 0.6) < 1e-5);
 * ```
 */
export function clipGradients(grads: tf.NamedTensorMap, clip: number, mode: ClipMode): tf.NamedTensorMap {
  if (!(clip >= 0)) throw new RangeError(`Gradient clip ${clip} is invalid: expected a number >= 0`);
  if (mode !== "value" && mode !== "norm") {
    throw new RangeError(`Clip mode "${mode}" is unknown: expected value or norm`);
  }
  return tf.tidy(() => {
    const out: tf.NamedTensorMap = {};
    if (clip === 0) {
      for (const k in grads) out[k] = tf.clone(grads[k]);
    } else if (mode === "value") {
      for (const k in grads) out[k] = tf.clipByValue(grads[k], -clip, clip);
    } else if (Object.keys(grads).length > 0) {
      const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
      const coef = tf.minimum(tf.div(clip, tf.add(norm, 1e-6)), 1);
      for (const k in grads) out[k] = tf.mul(grads[k], coef);
    }
    return out;
  });
}
