/**
 * Maxout units (Goodfellow et al. 2013): a linear layer with `units × pieces`
 * outputs, then the maximum over each unit's pieces. Unit `j` owns the
 * linear outputs `j·pieces … j·pieces + pieces − 1` (unit-major), as in the
 * PyTorch reference `Linear(n_in → units·pieces).view(-1, units, pieces).max(2)`.
 *
 * Two ways to use it: {@linkcode maxout}, a pure function of an input and
 * weights (what the GAN's hand-written discriminator uses), and
 * {@linkcode Maxout}, a TF.js Layers layer that can go into
 * `tf.sequential()` and is registered for serialisation, so a model using it
 * saves with `model.save()` and loads back with `tf.loadLayersModel()`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Applies maxout: `max_p (x · kernel + bias)[:, j·pieces + p]` for every unit `j`.
 *
 * @param x Inputs `[batch, nIn]`.
 * @param kernel Weights `[nIn, units·pieces]`, unit-major columns.
 * @param bias Biases `[units·pieces]`.
 * @param pieces Linear pieces per unit (≥ 1).
 * @returns A new tensor `[batch, units]` the caller owns.
 * @throws {RangeError} when `pieces` is not a whole number ≥ 1 or does not divide the kernel's columns.
 * @throws {TypeError} when the shapes do not fit together.
 *
 * @example Two units of two pieces each
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { maxout } from "@simple-nets/gan";
 * const x = tf.tensor2d([[1, 2]]);
 * const kernel = tf.tensor2d([[1, -1, 0, 2], [0, 1, 1, -1]]);
 * const y = maxout(x, kernel, tf.zeros([4]), 2); // units: max(1, 1), max(2, 0)
 * console.assert(y.arraySync()[0].join() === "1,2");
 * ```
 */
export function maxout(x: tf.Tensor2D, kernel: tf.Tensor2D, bias: tf.Tensor1D, pieces: number): tf.Tensor2D {
  if (!Number.isInteger(pieces) || pieces < 1) {
    throw new RangeError(`Cannot apply maxout with ${pieces} pieces: expected a whole number >= 1`);
  }
  if (x.rank !== 2 || kernel.rank !== 2 || bias.rank !== 1) {
    throw new TypeError(
      `Cannot apply maxout to input [${x.shape}], kernel [${kernel.shape}], bias [${bias.shape}]: ` +
        `expected ranks 2, 2 and 1`,
    );
  }
  const [nIn, columns] = kernel.shape;
  if (x.shape[1] !== nIn || bias.shape[0] !== columns) {
    throw new TypeError(
      `Cannot apply maxout to input [${x.shape}] with kernel [${kernel.shape}] and bias [${bias.shape}]: ` +
        `expected input [batch, ${nIn}] and bias [${columns}]`,
    );
  }
  if (columns % pieces !== 0) {
    throw new RangeError(
      `Cannot apply maxout with ${pieces} pieces to a kernel of ${columns} columns: expected a multiple of ${pieces}`,
    );
  }
  return tf.tidy(() => {
    const linear = tf.add(tf.matMul(x, kernel), bias) as tf.Tensor2D;
    return pieces === 1 ? linear : maxOverPieces(pieces)(linear);
  });
}

const maxOverPiecesCache = new Map<number, (linear: tf.Tensor2D) => tf.Tensor2D>();

/**
 * `[batch, units·pieces]` → `[batch, units]`, the max over each unit's
 * pieces. The gradient goes to the winning piece (to every tied piece, as
 * TF.js's own max does). It is written by hand because the gradient of
 * `tf.max` compares through a broadcasting `Equal`, which the wasm backend
 * runs 10-20× slower than the broadcasting subtraction used here.
 */
function maxOverPieces(pieces: number): (linear: tf.Tensor2D) => tf.Tensor2D {
  let fn = maxOverPiecesCache.get(pieces);
  if (!fn) {
    fn = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [linear, save] = args as [tf.Tensor, tf.GradSaveFunc];
      const [batch, columns] = linear.shape;
      const grouped = tf.reshape(linear, [batch, columns / pieces, pieces]);
      const value = tf.max(grouped, 2);
      save([grouped, value]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, [g, y]: tf.Tensor[]) =>
          tf.tidy(() => {
            // 1 where the piece equals its unit's max (the gap y − piece is 0), else 0.
            const winner = tf.sub(1, tf.step(tf.sub(tf.expandDims(y, 2), g)));
            return tf.reshape(tf.mul(winner, tf.expandDims(dy, 2)), [batch, columns]);
          }),
      };
    }) as unknown as (linear: tf.Tensor2D) => tf.Tensor2D;
    maxOverPiecesCache.set(pieces, fn);
  }
  return fn;
}

/** Settings of a {@linkcode Maxout} layer (plain numbers, so they serialise as they are). */
export interface MaxoutArgs {
  /** Output units. */
  units: number;
  /** Linear pieces per unit.
   * @default {5} */
  pieces?: number;
  /** Kernel weights start uniform in [−initLimit, initLimit]; biases start at 0.
   * @default {0.005} (the GAN paper's discriminator) */
  initLimit?: number;
  /** Seed of the kernel initialiser (TF.js's seeded uniform); absent: unseeded. */
  seed?: number;
  /** Input size; only for the first layer of a `tf.sequential()` model. */
  inputShape?: number[];
  /** Layer name. */
  name?: string;
  /** Whether the weights are trained.
   * @default {true} */
  trainable?: boolean;
}

/**
 * A maxout layer for TF.js Layers models. Its config is plain numbers and it
 * is registered with `tf.serialization.registerClass`, so models containing
 * it save and load like any other (`model.save(...)`,
 * `tf.loadLayersModel(...)`) once this module has been imported.
 *
 * Weights: `kernel` `[nIn, units·pieces]` (unit-major columns) and `bias`
 * `[units·pieces]`, the layout {@linkcode maxout} takes.
 *
 * @example In a sequential model
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { Maxout } from "@simple-nets/gan";
 * const model = tf.sequential({
 *   layers: [new Maxout({ inputShape: [784], units: 240, pieces: 5, seed: 1 }), tf.layers.dense({ units: 10 })],
 * });
 * const y = model.predict(tf.zeros([2, 784])) as tf.Tensor;
 * console.assert(y.shape.join() === "2,10");
 * ```
 */
export class Maxout extends tf.layers.Layer {
  /** The name this class is registered under for serialisation. */
  static className = "Maxout";
  /** Output units. */
  readonly units: number;
  /** Linear pieces per unit. */
  readonly pieces: number;
  /** Half-width of the uniform kernel initialiser. */
  readonly initLimit: number;
  /** Seed of the kernel initialiser, if any. */
  readonly seed: number | undefined;
  #kernel?: tf.LayerVariable;
  #bias?: tf.LayerVariable;

  /**
   * Creates the layer (weights are made when it first sees an input shape).
   *
   * @throws {RangeError} when `units` or `pieces` is not a whole number ≥ 1, or `initLimit` is negative.
   */
  constructor(args: MaxoutArgs) {
    super({ name: args.name, inputShape: args.inputShape, trainable: args.trainable });
    const { units, pieces = 5, initLimit = 0.005, seed } = args;
    for (const [name, value] of [["units", units], ["pieces", pieces]] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(
          `Cannot create a Maxout layer with ${name} ${value}: expected a whole number >= 1`,
        );
      }
    }
    if (!(initLimit >= 0)) {
      throw new RangeError(
        `Cannot create a Maxout layer with initLimit ${initLimit}: expected a number >= 0`,
      );
    }
    this.units = units;
    this.pieces = pieces;
    this.initLimit = initLimit;
    this.seed = seed;
  }

  /** Creates the kernel and bias for inputs of shape `[batch, nIn]`. */
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const nIn = shape[shape.length - 1];
    if (shape.length !== 2 || nIn === null) {
      throw new TypeError(
        `Cannot build a Maxout layer for input shape [${shape}]: expected [batch, features]`,
      );
    }
    const columns = this.units * this.pieces;
    this.#kernel = this.addWeight(
      "kernel",
      [nIn, columns],
      "float32",
      tf.initializers.randomUniform({ minval: -this.initLimit, maxval: this.initLimit, seed: this.seed }),
    );
    this.#bias = this.addWeight("bias", [columns], "float32", tf.initializers.zeros());
    this.built = true;
  }

  /** `[batch, nIn]` → `[batch, units]`. */
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.units];
  }

  /** Applies {@linkcode maxout} with the layer's weights; the caller owns the result. */
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
    return maxout(x, this.#kernel!.read() as tf.Tensor2D, this.#bias!.read() as tf.Tensor1D, this.pieces);
  }

  /** The serialisable config: `units`, `pieces`, `initLimit`, `seed` and the base layer's fields. */
  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      ...super.getConfig(),
      units: this.units,
      pieces: this.pieces,
      initLimit: this.initLimit,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }

  /** Rebuilds a layer from {@linkcode Maxout.getConfig}'s output (used by `tf.loadLayersModel`). */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const inputShape = config.batchInputShape as number[] | undefined;
    return new cls({
      units: config.units,
      pieces: config.pieces,
      initLimit: config.initLimit,
      seed: config.seed ?? undefined,
      name: config.name,
      trainable: config.trainable,
      inputShape: inputShape ? inputShape.slice(1) : undefined,
    });
  }
}

tf.serialization.registerClass(Maxout);
