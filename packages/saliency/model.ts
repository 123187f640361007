/**
 * The shallow CNN classifier of the saliency experiments: two 5×5
 * convolutions with spatial dropout, max-pooling and ReLU, then one linear
 * layer. It implements {@linkcode Classifier}, so every saliency function
 * of this package works on it as on any other model.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { dropout, type ImageSet, makeParams, type Params, Rng, uniformTensor } from "@simple-nets/core";
import type { Classifier } from "./classifier.ts";

/** Architecture of the CNN: what rebuilds it, saved in checkpoints. */
export interface CnnConfig {
  /** The digits (dataset labels) the model tells apart; class `i` is label `digits[i]`. */
  digits: number[];
  /** Filters of the first and second convolution. */
  filters: [number, number];
  /** Side of the square convolution kernels (same padding). */
  kernelSize: number;
  /** Spatial dropout rate after each convolution (training only). */
  dropout: number;
  /** Pixel mean subtracted before the network (pixels in [0, 1]). */
  mean: number;
  /** Pixel standard deviation divided by before the network. */
  std: number;
}

/** The default CNN: the original project's network, as `cnn_saliency.py` builds it. */
export const DEFAULT_CNN_CONFIG: Readonly<CnnConfig> = {
  digits: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], // all ten; [0, 1] gives the original's 0/1 model
  filters: [16, 32], // small enough to train in minutes on a CPU, ~98% on 9,000 digits
  kernelSize: 5, // 5×5 with same padding keeps 28×28 → 14×14 → 7×7 after the two pools
  dropout: 0.3, // Dropout2d rate of the original (whole channels dropped)
  mean: 0.1307, // MNIST training-set pixel mean
  std: 0.3081, // MNIST training-set pixel standard deviation
};

/** Names of the CNN's layers, from the input to the output. */
export const CNN_LAYERS: readonly string[] = ["conv1", "conv2", "output"];

/** Side of the (square) input images. */
const SIDE = 28;

/** Run-time options of {@linkcode Cnn.forward}. */
export interface ForwardOptions {
  /** Training mode: spatial dropout on.
   * @default {false} */
  training?: boolean;
  /** Where the dropout masks come from (required when `training`). */
  rng?: Rng;
}

/** Options of {@linkcode createCnn}. */
export interface CreateCnnOptions {
  /** Seed of the initial weights.
   * @default {1} */
  seed?: number;
}

function checkConfig(config: CnnConfig): void {
  const { digits, filters, kernelSize, dropout, std } = config;
  if (!Array.isArray(digits) || digits.length < 2 || new Set(digits).size !== digits.length) {
    throw new RangeError(`CnnConfig.digits is [${digits}], expected two or more distinct labels`);
  }
  if (!digits.every((d) => Number.isInteger(d) && d >= 0 && d <= 255)) {
    throw new RangeError(`CnnConfig.digits is [${digits}], expected whole numbers 0..255`);
  }
  if (
    !Array.isArray(filters) || filters.length !== 2 || !filters.every((f) => Number.isInteger(f) && f >= 1)
  ) {
    throw new RangeError(`CnnConfig.filters is [${filters}], expected two whole numbers >= 1`);
  }
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0) {
    throw new RangeError(`CnnConfig.kernelSize is ${kernelSize}, expected an odd whole number >= 1`);
  }
  if (!(dropout >= 0 && dropout < 1)) {
    throw new RangeError(`CnnConfig.dropout is ${dropout}, expected a rate in [0, 1)`);
  }
  if (!(std > 0)) throw new RangeError(`CnnConfig.std is ${std}, expected a number > 0`);
}

/**
 * The shallow CNN. Inputs are normalised images `[batch, 28, 28, 1]`
 * (see {@linkcode imagesToTensor}); outputs are logits `[batch, classes]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createCnn } from "@simple-nets/saliency";
 * const cnn = createCnn({ digits: [0, 1] }, { seed: 1 });
 * const logits = tf.tidy(() => cnn.predict(tf.zeros([2, 28, 28, 1])));
 * console.assert(logits.shape[1] === 2);
 * logits.dispose();
 * cnn.dispose();
 * ```
 */
export class Cnn implements Classifier {
  /** The architecture. */
  readonly config: CnnConfig;
  /** Weights by name: `conv1/kernel`, `conv1/bias`, `conv2/…`, `output/…`. */
  readonly params: Params;
  /** Layer names, from the input to the output. */
  readonly layers: readonly string[] = CNN_LAYERS;

  /** Wraps existing variables (see {@linkcode createCnn} for new weights). */
  constructor(config: CnnConfig, params: Params) {
    checkConfig(config);
    this.config = config;
    this.params = params;
  }

  /** The number of classes. */
  get classes(): number {
    return this.config.digits.length;
  }

  /**
   * Runs the network.
   *
   * @param x Normalised images `[batch, 28, 28, 1]`.
   * @returns Logits `[batch, classes]`; the caller owns them.
   */
  forward(x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
    const { training = false, rng } = options;
    if (x.rank !== 4 || x.shape[1] !== SIDE || x.shape[2] !== SIDE || x.shape[3] !== 1) {
      throw new TypeError(`Cnn input has shape [${x.shape}], expected [batch, ${SIDE}, ${SIDE}, 1]`);
    }
    if (training && this.config.dropout > 0 && !rng) {
      throw new TypeError("Cnn.forward in training mode needs options.rng for the dropout masks");
    }
    const p = this.params;
    return tf.tidy(() => {
      const block = (input: tf.Tensor4D, layer: string) => {
        let h = tf.conv2d(input, p[`${layer}/kernel`] as tf.Tensor4D, 1, "same").add(
          p[`${layer}/bias`],
        ) as tf.Tensor4D;
        if (training && this.config.dropout > 0) {
          const [b, , , c] = h.shape;
          h = dropout(h, this.config.dropout, rng!, { noiseShape: [b, 1, 1, c] });
        }
        return tf.relu(tf.maxPool(h, 2, 2, "valid"));
      };
      const h = block(block(x, "conv1"), "conv2");
      return tf.matMul(h.reshape([h.shape[0], -1]), p["output/kernel"] as tf.Tensor2D).add(p["output/bias"]);
    });
  }

  /**
   * Logits in inference mode (no dropout), as {@linkcode Classifier} asks.
   *
   * @returns Logits `[batch, classes]`; the caller owns them.
   */
  predict(x: tf.Tensor4D): tf.Tensor2D {
    return this.forward(x);
  }

  /** The kernel and bias variables of a layer (the model keeps owning them). */
  getWeights(layer: string): tf.Tensor[] {
    this.#checkLayer(layer);
    return [this.params[`${layer}/kernel`], this.params[`${layer}/bias`]];
  }

  /** Assigns new values (copied) to a layer's kernel and bias. */
  setWeights(layer: string, values: tf.Tensor[]): void {
    const current = this.getWeights(layer);
    if (values.length !== 2) {
      throw new TypeError(
        `Cnn.setWeights("${layer}") got ${values.length} tensors, expected 2 (kernel, bias)`,
      );
    }
    values.forEach((v, i) => {
      if (!tf.util.arraysEqual(v.shape, current[i].shape)) {
        throw new TypeError(
          `Cnn.setWeights("${layer}") weight ${i} has shape [${v.shape}], expected [${current[i].shape}]`,
        );
      }
    });
    values.forEach((v, i) => (current[i] as tf.Variable).assign(v));
  }

  /** Disposes the weights. */
  dispose(): void {
    tf.dispose(Object.values(this.params));
  }

  #checkLayer(layer: string): void {
    if (!this.layers.includes(layer)) {
      throw new RangeError(`Cnn has no layer "${layer}", expected one of ${this.layers.join(", ")}`);
    }
  }
}

/**
 * Shapes of the CNN's weights by name.
 *
 * @example
 * ```ts
 * import { cnnShapes, DEFAULT_CNN_CONFIG } from "@simple-nets/saliency";
 * console.assert(cnnShapes(DEFAULT_CNN_CONFIG)["output/kernel"][0] === 1568);
 * ```
 */
export function cnnShapes(config: CnnConfig): Record<string, number[]> {
  const [f1, f2] = config.filters;
  const k = config.kernelSize;
  const flat = (SIDE / 4) * (SIDE / 4) * f2;
  return {
    "conv1/kernel": [k, k, 1, f1],
    "conv1/bias": [f1],
    "conv2/kernel": [k, k, f1, f2],
    "conv2/bias": [f2],
    "output/kernel": [flat, config.digits.length],
    "output/bias": [config.digits.length],
  };
}

/**
 * Creates a CNN with PyTorch's default initialisation: every weight and
 * bias U(±1/√fan_in), drawn from a seeded generator.
 *
 * @param config Architecture; missing fields come from {@linkcode DEFAULT_CNN_CONFIG}.
 * @returns A model whose variables the caller owns (`dispose()` them).
 *
 * @example
 * ```ts
 * import { createCnn } from "@simple-nets/saliency";
 * const cnn = createCnn({}, { seed: 7 });
 * console.assert(cnn.classes === 10);
 * cnn.dispose();
 * ```
 */
export function createCnn(config: Partial<CnnConfig> = {}, options: CreateCnnOptions = {}): Cnn {
  const full: CnnConfig = {
    ...DEFAULT_CNN_CONFIG,
    ...config,
    digits: [...(config.digits ?? DEFAULT_CNN_CONFIG.digits)],
    filters: [...(config.filters ?? DEFAULT_CNN_CONFIG.filters)] as [number, number],
  };
  checkConfig(full);
  const rng = Rng.stream(options.seed ?? 1, "cnn-init");
  const initial: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(cnnShapes(full))) {
    const layer = name.split("/")[0];
    const kernel = cnnShapes(full)[`${layer}/kernel`];
    const fanIn = kernel.slice(0, -1).reduce((a, b) => a * b, 1);
    initial[name] = uniformTensor(rng, shape, 1 / Math.sqrt(fanIn));
  }
  return new Cnn(full, makeParams(initial, "cnn"));
}

/**
 * Keeps the images whose label is one of `digits`, renumbering labels to
 * class indices (`digits[i]` becomes `i`). The pixels are copied.
 *
 * @example
 * ```ts
 * import { selectDigits } from "@simple-nets/saliency";
 * const set = { images: new Float32Array(3 * 784), labels: new Uint8Array([1, 5, 0]), count: 3, rows: 28, cols: 28 };
 * console.assert(selectDigits(set, [0, 1]).labels.join() === "1,0");
 * ```
 */
export function selectDigits(set: ImageSet, digits: readonly number[]): ImageSet {
  const classOf = new Map(digits.map((d, i) => [d, i]));
  const keep: number[] = [];
  for (let i = 0; i < set.count; i++) if (classOf.has(set.labels[i])) keep.push(i);
  const size = set.rows * set.cols;
  const images = new Float32Array(keep.length * size);
  const labels = new Uint8Array(keep.length);
  keep.forEach((from, to) => {
    images.set(set.images.subarray(from * size, (from + 1) * size), to * size);
    labels[to] = classOf.get(set.labels[from])!;
  });
  return { images, labels, count: keep.length, rows: set.rows, cols: set.cols };
}

/**
 * Normalises images (pixels in [0, 1]) into the network's input:
 * `(x − mean) / std`, shaped `[count, 28, 28, 1]`.
 *
 * @param images `count × 784` pixels (an `ImageSet`'s `images`).
 * @param config Supplies `mean` and `std`.
 * @returns A tensor the caller owns.
 *
 * @example
 * ```ts
 * import { DEFAULT_CNN_CONFIG, imagesToTensor } from "@simple-nets/saliency";
 * const x = imagesToTensor(new Float32Array(784), DEFAULT_CNN_CONFIG);
 * console.assert(x.shape.join() === "1,28,28,1");
 * x.dispose();
 * ```
 */
export function imagesToTensor(
  images: Float32Array,
  config: Pick<CnnConfig, "mean" | "std"> = DEFAULT_CNN_CONFIG,
): tf.Tensor4D {
  const size = SIDE * SIDE;
  if (images.length === 0 || images.length % size !== 0) {
    throw new TypeError(
      `imagesToTensor got ${images.length} pixels, expected a positive multiple of ${size}`,
    );
  }
  const out = new Float32Array(images.length);
  for (let i = 0; i < out.length; i++) out[i] = (images[i] - config.mean) / config.std;
  return tf.tensor4d(out, [images.length / size, SIDE, SIDE, 1]);
}
