/**
 * The VAE's architecture and forward passes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { disposeParams, makeParams, type Params, Rng, uniformTensor } from "@simple-nets/core";

/** The architecture of a VAE; saved in checkpoints, it rebuilds the model. */
export interface VaeConfig {
  /** Pixels per image (28 × 28 for MNIST). */
  inputSize: number;
  /** Units of the encoder's and the decoder's hidden layer. */
  hidden: number;
  /** Dimensions of the latent code z. */
  latent: number;
}

/** The original's VAE: 784 → 500 → 2 → 500 → 784. */
export const DEFAULT_VAE_CONFIG: Readonly<VaeConfig> = {
  // MNIST images, flattened.
  inputSize: 784,
  // As the original notebook (pytorch/examples uses 400).
  hidden: 500,
  // Two dimensions, so the latent plane can be drawn (manifold.png).
  latent: 2,
};

/** A VAE: its config and its weights (named variables the VAE owns). */
export interface Vae {
  /** The architecture. */
  readonly config: Readonly<VaeConfig>;
  /** Weights by name: `enc/w`, `enc/b`, `mu/w`, `mu/b`, `logvar/w`, `logvar/b`, `dec/w`, `dec/b`, `out/w`, `out/b`. */
  readonly params: Params;
}

/** Run-time settings of {@linkcode createVae}. */
export interface CreateVaeOptions {
  /** Seed of the initial weights.
   * @default {1} */
  seed?: number;
}

function checkConfig(config: VaeConfig): void {
  for (const key of ["inputSize", "hidden", "latent"] as const) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`VAE config ${key} is ${v}: expected a whole number >= 1`);
    }
  }
}

/**
 * Creates a VAE with PyTorch's default initialisation (weights and biases
 * U(±1/√fan_in)), drawn from the seed.
 *
 * @returns A VAE whose variables the caller owns (free with {@linkcode disposeVae}).
 *
 * @example
 * ```ts
 * import { createVae, disposeVae } from "@simple-nets/vae";
 * const vae = createVae({ hidden: 64, latent: 2 }, { seed: 1 });
 * console.assert(vae.config.inputSize === 784);
 * disposeVae(vae);
 * ```
 */
export function createVae(config: Partial<VaeConfig> = {}, options: CreateVaeOptions = {}): Vae {
  const full: VaeConfig = { ...DEFAULT_VAE_CONFIG, ...config };
  checkConfig(full);
  const { inputSize: d, hidden: h, latent: z } = full;
  const rng = Rng.stream(options.seed ?? 1, "init");
  const linear = (name: string, fanIn: number, fanOut: number) => {
    const limit = 1 / Math.sqrt(fanIn);
    return {
      [`${name}/w`]: uniformTensor(rng, [fanIn, fanOut], limit),
      [`${name}/b`]: uniformTensor(rng, [fanOut], limit),
    };
  };
  const params = makeParams({
    ...linear("enc", d, h),
    ...linear("mu", h, z),
    ...linear("logvar", h, z),
    ...linear("dec", z, h),
    ...linear("out", h, d),
  }, "vae");
  return { config: Object.freeze(full), params };
}

/** Frees a VAE's variables. */
export function disposeVae(vae: Vae): void {
  disposeParams(vae.params);
}

/**
 * Encodes images into the parameters of q(z|x).
 *
 * @param x Images, `[batch, inputSize]`, pixels in [0, 1].
 * @returns `mu` and `logVar`, each `[batch, latent]`; the caller owns both.
 */
export function encode(vae: Vae, x: tf.Tensor2D): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
  checkInput(vae, x);
  return tf.tidy(() => {
    const p = vae.params;
    const h = tf.relu(tf.add(tf.matMul(x, p["enc/w"]), p["enc/b"]));
    const mu = tf.add(tf.matMul(h, p["mu/w"]), p["mu/b"]) as tf.Tensor2D;
    const logVar = tf.add(tf.matMul(h, p["logvar/w"]), p["logvar/b"]) as tf.Tensor2D;
    return { mu, logVar };
  });
}

/**
 * Decodes latent codes into pixel logits (apply a sigmoid for pixel means).
 *
 * @param z Latent codes, `[batch, latent]`.
 * @returns Logits `[batch, inputSize]`; the caller owns them.
 */
export function decodeLogits(vae: Vae, z: tf.Tensor2D): tf.Tensor2D {
  if (z.rank !== 2 || z.shape[1] !== vae.config.latent) {
    throw new TypeError(`Latent codes have shape [${z.shape}], expected [batch, ${vae.config.latent}]`);
  }
  return tf.tidy(() => {
    const p = vae.params;
    const h = tf.relu(tf.add(tf.matMul(z, p["dec/w"]), p["dec/b"]));
    return tf.add(tf.matMul(h, p["out/w"]), p["out/b"]) as tf.Tensor2D;
  });
}

/**
 * Decodes latent codes into images (pixel means in [0, 1]).
 *
 * @returns Images `[batch, inputSize]`; the caller owns them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createVae, decode, disposeVae } from "@simple-nets/vae";
 * const vae = createVae({ hidden: 32 });
 * const images = tf.tidy(() => decode(vae, tf.zeros([3, 2])));
 * console.assert(images.shape[0] === 3 && images.shape[1] === 784);
 * images.dispose();
 * disposeVae(vae);
 * ```
 */
export function decode(vae: Vae, z: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sigmoid(decodeLogits(vae, z)));
}

/** Throws a TypeError unless `x` is `[batch, inputSize]`. */
export function checkInput(vae: Vae, x: tf.Tensor): void {
  if (x.rank !== 2 || x.shape[1] !== vae.config.inputSize) {
    throw new TypeError(`Images have shape [${x.shape}], expected [batch, ${vae.config.inputSize}]`);
  }
}
