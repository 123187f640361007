/**
 * The GAN's two networks as named weights: a generator from noise to
 * images in [−1, 1], and a discriminator (maxout or fully connected) that
 * outputs the logit of D(x).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  disposeParams,
  dropout as coreDropout,
  makeParams,
  type Params,
  Rng,
  uniformTensor,
} from "@simple-nets/core";
import { maxout } from "./maxout.ts";

/** The discriminator kinds: maxout units, or ReLU units. */
export type DiscriminatorKind = "maxout" | "fc";

/** Architecture of a GAN: what rebuilds it, saved in checkpoints. */
export interface GanConfig {
  /** Noise dimensions of z ~ N(0, I). */
  noise: number;
  /** Pixels per image (the generator's output and the discriminator's input). */
  imageSize: number;
  /** Hidden layer sizes of the generator (ReLU), before the tanh output layer. */
  generatorSizes: number[];
  /** `maxout` or `fc` (ReLU) hidden units in the discriminator. */
  discriminator: DiscriminatorKind;
  /** Hidden layer sizes of the discriminator, before the one-logit output layer. */
  discriminatorSizes: number[];
  /** Linear pieces per maxout unit (ignored by `fc`). */
  pieces: number;
  /** Dropout rate after every discriminator hidden layer, training only. */
  dropout: number;
  /** Generator weights start uniform in ±this; biases at 0. */
  generatorInit: number;
  /** Discriminator weights start uniform in ±this; biases at 0. */
  discriminatorInit: number;
}

/** The GAN of Goodfellow et al. 2014 on MNIST, as in the PyTorch reference. */
export const DEFAULT_GAN_CONFIG: Readonly<GanConfig> = Object.freeze({
  noise: 100, // z ∈ R^100, as the paper's MNIST model
  imageSize: 784, // 28 × 28 digits
  generatorSizes: [256, 512, 1024], // doubling widths up to the image, a common small MNIST generator
  discriminator: "maxout", // the paper's MNIST discriminator
  discriminatorSizes: [512, 256, 128], // maxout widths of the reference
  pieces: 5, // pieces per maxout unit, as in the paper's maxout networks
  dropout: 0.3, // regularises D, which otherwise overpowers G on 8,000 images
  generatorInit: 0.05, // U(±0.05), as the original pylearn2 model
  discriminatorInit: 0.005, // U(±0.005): D starts near D(x) = 1/2 for every input
});

/** Discriminator widths of the fully connected option (`discriminator: "fc"`). */
export const FC_DISCRIMINATOR_SIZES: readonly number[] = Object.freeze([1024, 512, 256]);

/** A GAN: its config and the two networks' weights. Dispose it with {@linkcode disposeGan}. */
export interface Gan {
  /** The architecture. */
  config: GanConfig;
  /** Generator weights: `dense<i>/kernel`, `dense<i>/bias`, …, `out/kernel`, `out/bias`. */
  generator: Params;
  /** Discriminator weights: `maxout<i>/…` or `dense<i>/…`, then `out/kernel`, `out/bias`. */
  discriminator: Params;
}

/** Options of {@linkcode createGan}. */
export interface CreateGanOptions {
  /** Seed of the initial weights.
   * @default {1} */
  seed?: number;
}

function positiveInt(name: string, value: unknown): void {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new RangeError(`GAN config ${name} is ${value}: expected a whole number >= 1`);
  }
}

/**
 * Checks a config and fills missing fields from {@linkcode DEFAULT_GAN_CONFIG}
 * (with the `fc` widths when `discriminator` is `fc` and no widths are given).
 *
 * @returns A complete, checked config.
 * @throws {RangeError} naming the first field with an impossible value.
 *
 * @example
 * ```ts
 * import { ganConfig } from "@simple-nets/gan";
 * console.assert(ganConfig({ discriminator: "fc" }).discriminatorSizes.join() === "1024,512,256");
 * ```
 */
export function ganConfig(config: Partial<GanConfig> = {}): GanConfig {
  const kind = config.discriminator ?? DEFAULT_GAN_CONFIG.discriminator;
  const full: GanConfig = {
    ...DEFAULT_GAN_CONFIG,
    generatorSizes: [...DEFAULT_GAN_CONFIG.generatorSizes],
    discriminatorSizes: [...(kind === "fc" ? FC_DISCRIMINATOR_SIZES : DEFAULT_GAN_CONFIG.discriminatorSizes)],
    ...config,
  };
  if (full.discriminator !== "maxout" && full.discriminator !== "fc") {
    throw new RangeError(`GAN config discriminator is "${full.discriminator}": expected "maxout" or "fc"`);
  }
  positiveInt("noise", full.noise);
  positiveInt("imageSize", full.imageSize);
  positiveInt("pieces", full.pieces);
  for (const key of ["generatorSizes", "discriminatorSizes"] as const) {
    if (!Array.isArray(full[key]) || full[key].length === 0) {
      throw new RangeError(`GAN config ${key} is ${JSON.stringify(full[key])}: expected a non-empty list`);
    }
    full[key].forEach((n, i) => positiveInt(`${key}[${i}]`, n));
  }
  if (!(full.dropout >= 0 && full.dropout < 1)) {
    throw new RangeError(`GAN config dropout is ${full.dropout}: expected a rate in [0, 1)`);
  }
  for (const key of ["generatorInit", "discriminatorInit"] as const) {
    if (!(full[key] >= 0 && Number.isFinite(full[key]))) {
      throw new RangeError(`GAN config ${key} is ${full[key]}: expected a finite number >= 0`);
    }
  }
  return full;
}

/** The weight shapes of the generator, by name. */
export function generatorShapes(config: GanConfig): Record<string, number[]> {
  const sizes = [config.noise, ...config.generatorSizes];
  const shapes: Record<string, number[]> = {};
  for (let i = 0; i + 1 < sizes.length; i++) {
    shapes[`dense${i}/kernel`] = [sizes[i], sizes[i + 1]];
    shapes[`dense${i}/bias`] = [sizes[i + 1]];
  }
  shapes["out/kernel"] = [sizes[sizes.length - 1], config.imageSize];
  shapes["out/bias"] = [config.imageSize];
  return shapes;
}

/** The weight shapes of the discriminator, by name. */
export function discriminatorShapes(config: GanConfig): Record<string, number[]> {
  const sizes = [config.imageSize, ...config.discriminatorSizes];
  const width = config.discriminator === "maxout" ? config.pieces : 1;
  const layer = config.discriminator === "maxout" ? "maxout" : "dense";
  const shapes: Record<string, number[]> = {};
  for (let i = 0; i + 1 < sizes.length; i++) {
    shapes[`${layer}${i}/kernel`] = [sizes[i], sizes[i + 1] * width];
    shapes[`${layer}${i}/bias`] = [sizes[i + 1] * width];
  }
  shapes["out/kernel"] = [sizes[sizes.length - 1], 1];
  shapes["out/bias"] = [1];
  return shapes;
}

function initParams(shapes: Record<string, number[]>, rng: Rng, limit: number, scope: string): Params {
  const initial: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    initial[name] = name.endsWith("/bias") ? tf.zeros(shape) : uniformTensor(rng, shape, limit);
  }
  return makeParams(initial, scope);
}

/**
 * Creates a GAN with seeded initial weights: generator weights U(±generatorInit),
 * discriminator weights U(±discriminatorInit), biases 0.
 *
 * @param config Architecture; missing fields come from {@linkcode DEFAULT_GAN_CONFIG}.
 * @returns A GAN whose variables the caller owns (dispose with {@linkcode disposeGan}).
 * @throws {RangeError} for an impossible config.
 *
 * @example
 * ```ts
 * import { createGan, disposeGan } from "@simple-nets/gan";
 * const gan = createGan({ discriminator: "fc" }, { seed: 3 });
 * console.assert(gan.discriminator["dense0/kernel"].shape.join() === "784,1024");
 * disposeGan(gan);
 * ```
 */
export function createGan(config: Partial<GanConfig> = {}, options: CreateGanOptions = {}): Gan {
  const full = ganConfig(config);
  const seed = options.seed ?? 1;
  return {
    config: full,
    generator: initParams(
      generatorShapes(full),
      Rng.stream(seed, "init-generator"),
      full.generatorInit,
      "generator",
    ),
    discriminator: initParams(
      discriminatorShapes(full),
      Rng.stream(seed, "init-discriminator"),
      full.discriminatorInit,
      "discriminator",
    ),
  };
}

/** Disposes both networks' variables. */
export function disposeGan(gan: Gan): void {
  disposeParams(gan.generator);
  disposeParams(gan.discriminator);
}

/**
 * Runs the generator: noise `[batch, noise]` → images `[batch, imageSize]` in [−1, 1] (tanh).
 *
 * @returns A new tensor the caller owns.
 * @throws {TypeError} when `z` is not `[batch, config.noise]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createGan, generatorForward } from "@simple-nets/gan";
 * const gan = createGan();
 * const x = generatorForward(gan, tf.randomNormal([2, 100], 0, 1, "float32", 1) as tf.Tensor2D);
 * console.assert(x.shape.join() === "2,784");
 * ```
 */
export function generatorForward(gan: Gan, z: tf.Tensor2D): tf.Tensor2D {
  const { config, generator: p } = gan;
  if (z.rank !== 2 || z.shape[1] !== config.noise) {
    throw new TypeError(
      `Cannot run the generator on noise of shape [${z.shape}]: expected [batch, ${config.noise}]`,
    );
  }
  return tf.tidy(() => {
    let h: tf.Tensor2D = z;
    for (let i = 0; i < config.generatorSizes.length; i++) {
      h = tf.relu(tf.add(tf.matMul(h, p[`dense${i}/kernel`]), p[`dense${i}/bias`]));
    }
    return tf.tanh(tf.add(tf.matMul(h, p["out/kernel"]), p["out/bias"]));
  });
}

/** Options of {@linkcode discriminatorLogits}. */
export interface DiscriminatorOptions {
  /** Training mode: dropout is applied, with masks drawn from `rng`.
   * @default {false} */
  training?: boolean;
  /** Generator of the dropout masks' seeds; required when `training` and dropout > 0. */
  rng?: Rng;
}

/**
 * Runs the discriminator: images `[batch, imageSize]` in [−1, 1] → logits of D(x) `[batch, 1]`.
 * Dropout is active only with `training: true`.
 *
 * @returns A new tensor the caller owns.
 * @throws {TypeError} when `x` is not `[batch, config.imageSize]`, or training with dropout lacks `rng`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createGan, discriminatorLogits } from "@simple-nets/gan";
 * const gan = createGan();
 * const logits = discriminatorLogits(gan, tf.zeros([3, 784]));
 * console.assert(logits.shape.join() === "3,1");
 * ```
 */
export function discriminatorLogits(
  gan: Gan,
  x: tf.Tensor2D,
  options: DiscriminatorOptions = {},
): tf.Tensor2D {
  const { config, discriminator: p } = gan;
  if (x.rank !== 2 || x.shape[1] !== config.imageSize) {
    throw new TypeError(
      `Cannot run the discriminator on images of shape [${x.shape}]: expected [batch, ${config.imageSize}]`,
    );
  }
  const dropout = options.training ? config.dropout : 0;
  if (dropout > 0 && !options.rng) {
    throw new TypeError("Cannot run the discriminator in training mode without an rng for the dropout masks");
  }
  return tf.tidy(() => {
    let h: tf.Tensor2D = x;
    for (let i = 0; i < config.discriminatorSizes.length; i++) {
      h = config.discriminator === "maxout"
        ? maxout(h, p[`maxout${i}/kernel`] as tf.Tensor2D, p[`maxout${i}/bias`] as tf.Tensor1D, config.pieces)
        : tf.relu(tf.add(tf.matMul(h, p[`dense${i}/kernel`]), p[`dense${i}/bias`]));
      if (dropout > 0) h = coreDropout(h, dropout, options.rng!);
    }
    return tf.add(tf.matMul(h, p["out/kernel"]), p["out/bias"]);
  });
}

/** Options of {@linkcode generate}. */
export interface GenerateOptions {
  /** Seed of the noise.
   * @default {1} */
  seed?: number;
  /** Images generated per generator call (bounds memory).
   * @default {1000} */
  batchSize?: number;
}

/**
 * Draws noise z ~ N(0, I) from a seeded generator.
 *
 * @returns A new tensor `[count, dims]` the caller owns.
 */
export function noise(rng: Rng, count: number, dims: number): tf.Tensor2D {
  return tf.tensor2d(rng.fillNormal(new Float32Array(count * dims)), [count, dims]);
}

/**
 * Generates `count` images with pixels in [0, 1] (the generator's tanh output mapped by (x + 1) / 2).
 *
 * @returns A new tensor `[count, imageSize]` the caller owns.
 * @throws {RangeError} when `count` is not a whole number ≥ 0.
 *
 * @example
 * ```ts
 * import { createGan, disposeGan, generate } from "@simple-nets/gan";
 * const gan = createGan();
 * const images = generate(gan, 4, { seed: 7 });
 * console.assert(images.shape.join() === "4,784");
 * images.dispose();
 * disposeGan(gan);
 * ```
 */
export function generate(gan: Gan, count: number, options: GenerateOptions = {}): tf.Tensor2D {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`Cannot generate ${count} images: expected a whole number >= 0`);
  }
  const { seed = 1, batchSize = 1000 } = options;
  const rng = Rng.stream(seed, "generate");
  const parts: tf.Tensor2D[] = [];
  for (let at = 0; at < count; at += batchSize) {
    const n = Math.min(batchSize, count - at);
    parts.push(tf.tidy(() => {
      const z = noise(rng, n, gan.config.noise);
      return tf.div(tf.add(generatorForward(gan, z), 1), 2) as tf.Tensor2D;
    }));
  }
  if (parts.length === 1) return parts[0];
  const all = parts.length ? tf.concat(parts) : tf.zeros([0, gan.config.imageSize]) as tf.Tensor2D;
  tf.dispose(parts);
  return all;
}
