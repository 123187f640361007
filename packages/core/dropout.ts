/**
 * Inverted dropout whose masks come from a seeded {@linkcode Rng}.
 *
 * `tf.dropout` draws its mask with TF.js's `randomUniform`, a JavaScript
 * loop over seedrandom's alea: 10.5 ms for one 1600×512 mask (charlm's
 * default batch), as long as the rest of a GRU's forward pass. The same
 * mask from core's sfc32 generator takes a fraction of that, and comes
 * from the run's own stream of randomness.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "./rng.ts";

/** Settings of {@linkcode dropout}. */
export interface DropoutOptions {
  /**
   * The mask's shape, broadcast against `x` (e.g. `[batch, 1, 1, channels]`
   * drops whole feature maps, as PyTorch's `Dropout2d`).
   *
   * @default {x.shape}
   */
  noiseShape?: number[];
}

/**
 * Zeroes each element of `x` (or each block of `noiseShape`) with
 * probability `rate` and scales the rest by 1 / (1 − rate), as
 * `tf.dropout` does. Differentiable with respect to `x`.
 *
 * @param x The activations.
 * @param rate The probability of dropping, in [0, 1).
 * @param rng Source of the mask (advanced by one draw per mask element).
 * @returns A new tensor of `x`'s shape; the caller owns it.
 * @throws {RangeError} when `rate` is outside [0, 1).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { dropout, Rng } from "@simple-nets/core";
 * const y = dropout(tf.ones([2, 4]), 0.5, new Rng(1));
 * console.assert(y.dataSync().every((v) => v === 0 || v === 2));
 * y.dispose();
 * ```
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, rng: Rng, options: DropoutOptions = {}): T {
  if (!(rate >= 0 && rate < 1)) {
    throw new RangeError(`Dropout rate ${rate} is invalid: expected a rate in [0, 1)`);
  }
  if (rate === 0) return x.clone();
  const shape = options.noiseShape ?? x.shape;
  const mask = new Float32Array(tf.util.sizeFromShape(shape));
  const bits = rng.fillUint32(new Uint32Array(mask.buffer)); // the mask's own memory, overwritten in place
  const threshold = rate * 4294967296, values = new Float32Array([0, 1 / (1 - rate)]);
  // the comparison picks the value by index, without a branch: a ternary mispredicts on random bits, and
  // `scale * (comparison | 0)` ran 4× slower than this lookup (charlm's 1600×512 mask: 6.1 → 1.6 ms with the draws)
  for (let i = 0; i < mask.length; i++) mask[i] = values[+(bits[i] >= threshold)];
  return tf.tidy(() => tf.mul(x, tf.tensor(mask, shape)));
}
