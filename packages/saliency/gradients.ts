/**
 * Gradient saliency maps: the vanilla gradient (Simonyan et al. 2013) and
 * SmoothGrad (Smilkov et al. 2017), for any model given as a
 * {@linkcode ModelLike}. Maps are taken with respect to the model's input
 * as given (for our CNN: the normalised image), and have its shape.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@simple-nets/core";
import { type LogitsFn, logitsFn, type ModelLike } from "./classifier.ts";

/**
 * What the gradient is taken of: `"loss"`, the cross-entropy of the true
 * label (as the original project did), or `"logit"`, the true label's
 * score before the softmax. The loss gradient is exactly zero when the
 * model gives the true label probability 1 in float32; the logit
 * gradient stays informative.
 */
export type SaliencyTarget = "loss" | "logit";

/** Options of {@linkcode vanillaGradient}. */
export interface VanillaGradientOptions {
  /** Differentiate the cross-entropy loss or the true label's logit.
   * @default {"loss"} */
  of?: SaliencyTarget;
  /** Return magnitudes (absolute values) instead of signed gradients.
   * @default {false} */
  abs?: boolean;
  /** Images per forward/backward pass; larger is faster but needs more memory.
   * @default {500} */
  batchSize?: number;
}

/** Options of {@linkcode smoothGrad}. */
export interface SmoothGradOptions extends VanillaGradientOptions {
  /** Noisy copies per image.
   * @default {50} */
  samples?: number;
  /** Noise standard deviation as a fraction of each image's range (max − min).
   * @default {0.15} */
  noise?: number;
  /** Average squared gradients instead of gradients (SmoothGrad-Squared).
   * @default {false} */
  squared?: boolean;
  /** Seed of the noise. Image `i` of a call gets its own stream, so the same
   * seed gives the same noise to every model (as the sanity check needs).
   * @default {1} */
  seed?: number;
}

function checkInputs(images: tf.Tensor, labels: ArrayLike<number>): Int32Array {
  if (images.rank !== 4) {
    throw new TypeError(`images has shape [${images.shape}], expected [batch, height, width, channels]`);
  }
  if (labels.length !== images.shape[0]) {
    throw new RangeError(`labels has ${labels.length} entries, expected one per image (${images.shape[0]})`);
  }
  const out = new Int32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0) {
      throw new RangeError(`labels[${i}] is ${y}, expected a class index >= 0`);
    }
    out[i] = y;
  }
  return out;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} is ${value}, expected a whole number >= 1`);
  }
  return value;
}

/**
 * The gradient of the target (loss or logit) with respect to `x`, one
 * image per row: the target is summed over the batch, so each image gets
 * its own gradient. Runs inside the caller's tidy.
 */
function targetGradient(
  predict: LogitsFn,
  x: tf.Tensor4D,
  labels: Int32Array,
  of: SaliencyTarget,
): tf.Tensor4D {
  const y = tf.tensor1d(labels, "int32");
  const target = (t: tf.Tensor): tf.Scalar => {
    const input = t as tf.Tensor4D;
    const logits = predict(input);
    if (logits.rank !== 2 || logits.shape[0] !== input.shape[0]) {
      throw new TypeError(
        `the model returned shape [${logits.shape}], expected logits [${input.shape[0]}, classes]`,
      );
    }
    const classes = logits.shape[1];
    const top = labels.reduce((a, b) => Math.max(a, b), 0);
    if (top >= classes) {
      throw new RangeError(`label ${top} is out of range for a model with ${classes} classes`);
    }
    const picked = tf.mul(tf.oneHot(y, classes), of === "loss" ? tf.logSoftmax(logits) : logits);
    return (of === "loss" ? tf.neg(tf.sum(picked)) : tf.sum(picked)) as tf.Scalar;
  };
  return tf.grad(target)(x) as tf.Tensor4D;
}

/**
 * Vanilla-gradient saliency maps: ∂L/∂x of the cross-entropy loss for the
 * true label (or ∂z_y/∂x of its logit with `of: "logit"`), per image.
 *
 * @param model Logits function or {@linkcode Classifier}, in inference mode.
 * @param images Model inputs `[batch, height, width, channels]`.
 * @param labels The true class index of each image.
 * @returns Maps of the shape of `images`; the caller owns them.
 *
 * @example The gradient of a linear model is its weight row
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { vanillaGradient } from "@simple-nets/saliency";
 * const w = tf.randomNormal([4, 3], 0, 1, "float32", 1);
 * const model = (x: tf.Tensor4D) => x.reshape([x.shape[0], 4]).matMul(w) as tf.Tensor2D;
 * const maps = vanillaGradient(model, tf.zeros([1, 2, 2, 1]), [2], { of: "logit" });
 * console.assert(maps.shape.join() === "1,2,2,1");
 * ```
 */
export function vanillaGradient(
  model: ModelLike,
  images: tf.Tensor4D,
  labels: ArrayLike<number>,
  options: VanillaGradientOptions = {},
): tf.Tensor4D {
  const { of = "loss", abs = false, batchSize = 500 } = options;
  const predict = logitsFn(model);
  const y = checkInputs(images, labels);
  positiveInt("batchSize", batchSize);
  return tf.tidy(() => {
    const parts: tf.Tensor4D[] = [];
    for (let from = 0; from < y.length; from += batchSize) {
      const to = Math.min(from + batchSize, y.length);
      parts.push(tf.tidy(() => {
        const x = to - from === y.length ? images : images.slice(from, to - from);
        const g = targetGradient(predict, x, y.subarray(from, to), of);
        return abs ? tf.abs(g) : g;
      }));
    }
    return parts.length === 1 ? parts[0] : tf.concat(parts);
  });
}

/**
 * SmoothGrad saliency maps: the mean vanilla gradient over `samples` noisy
 * copies `x + ε`, ε ~ N(0, (noise · (max x − min x))²) per image. All
 * images' noisy copies go through the network together, `batchSize` rows
 * at a time.
 *
 * @param model Logits function or {@linkcode Classifier}, in inference mode.
 * @param images Model inputs `[batch, height, width, channels]`.
 * @param labels The true class index of each image.
 * @returns Maps of the shape of `images`; the caller owns them.
 *
 * @example Same seed, same maps
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { smoothGrad } from "@simple-nets/saliency";
 * const model = (x: tf.Tensor4D) => tf.square(x).reshape([x.shape[0], 4]) as tf.Tensor2D;
 * const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
 * const a = smoothGrad(model, x, [3], { samples: 8, seed: 3, of: "logit" });
 * const b = smoothGrad(model, x, [3], { samples: 8, seed: 3, of: "logit" });
 * console.assert(a.arraySync().toString() === b.arraySync().toString());
 * ```
 */
export function smoothGrad(
  model: ModelLike,
  images: tf.Tensor4D,
  labels: ArrayLike<number>,
  options: SmoothGradOptions = {},
): tf.Tensor4D {
  const { of = "loss", abs = false, batchSize = 500, samples = 50, noise = 0.15, squared = false, seed = 1 } =
    options;
  const predict = logitsFn(model);
  const y = checkInputs(images, labels);
  positiveInt("batchSize", batchSize);
  positiveInt("samples", samples);
  if (!(noise >= 0) || !Number.isFinite(noise)) {
    throw new RangeError(`noise is ${noise}, expected a number >= 0`);
  }
  const [count, ...shape] = images.shape;
  const size = shape[0] * shape[1] * shape[2];
  // The noise of image i, sample k is the k-th block of stream i: independent of batching.
  const noiseOf = (image: number, first: number, n: number): Float32Array => {
    const rng = Rng.stream(seed, "smoothgrad", image);
    const out = new Float32Array(n * size);
    if (first > 0) rng.fillNormal(new Float32Array(first * size));
    return rng.fillNormal(out);
  };
  return tf.tidy(() => {
    const range = tf.sub(tf.max(images, [1, 2, 3]), tf.min(images, [1, 2, 3])).mul(noise);
    // Whole images per pass when the samples fit, else sample chunks of one image.
    const perPass = Math.max(1, Math.floor(batchSize / samples));
    const sampleChunk = Math.min(samples, batchSize);
    const maps: tf.Tensor[] = [];
    for (let from = 0; from < count; from += perPass) {
      const to = Math.min(from + perPass, count);
      const m = to - from;
      let sum: tf.Tensor | undefined;
      for (let k = 0; k < samples; k += sampleChunk) {
        const n = Math.min(sampleChunk, samples - k);
        const eps = new Float32Array(m * n * size);
        for (let i = 0; i < m; i++) eps.set(noiseOf(from + i, k, n), i * n * size);
        const rows = new Int32Array(m * n);
        for (let i = 0; i < m; i++) rows.fill(y[from + i], i * n, (i + 1) * n);
        const part = tf.tidy(() => {
          const x = images.slice(from, m).expandDims(1); // [m, 1, ...shape]
          const scale = range.slice(from, m).reshape([m, 1, 1, 1, 1]);
          const noisy = tf.add(x, tf.tensor(eps, [m, n, ...shape]).mul(scale)).reshape([m * n, ...shape]);
          let g: tf.Tensor = targetGradient(predict, noisy as tf.Tensor4D, rows, of);
          if (squared) g = tf.square(g);
          return g.reshape([m, n, ...shape]).sum(1);
        });
        const before = sum;
        sum = sum ? tf.add(sum, part) : part;
        if (before) tf.dispose([before, part]);
      }
      maps.push(sum!.div(samples));
    }
    const mean = (maps.length === 1 ? maps[0] : tf.concat(maps)) as tf.Tensor4D;
    return abs ? tf.abs(mean) : mean;
  });
}
