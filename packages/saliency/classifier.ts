/**
 * What the saliency functions need from a model, so that they work on any
 * TF.js classifier: a function from images to logits, and, for the
 * randomisation sanity check, a way to list, read and replace the weights
 * of its layers.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/**
 * A classifier as a function: a batch of images `[batch, height, width,
 * channels]` to logits `[batch, classes]` (scores before the softmax), in
 * inference mode. It must be differentiable with `tf.grad`.
 */
export type LogitsFn = (x: tf.Tensor4D) => tf.Tensor2D;

/**
 * A classifier whose layers can be randomised: a {@linkcode LogitsFn} plus
 * access to the weights of each named layer. Our `Cnn` implements it;
 * {@linkcode fromLayersModel} adapts a `tf.LayersModel`.
 */
export interface Classifier {
  /** Logits for a batch, inference mode (see {@linkcode LogitsFn}). */
  predict: LogitsFn;
  /** Names of the layers that have weights, from the input to the output. */
  readonly layers: readonly string[];
  /** The current weights of a layer. The model keeps owning them. */
  getWeights(layer: string): tf.Tensor[];
  /** Replaces a layer's weights by (copies of) values of the same shapes. */
  setWeights(layer: string, values: tf.Tensor[]): void;
}

/** Anything the saliency functions accept as a model. */
export type ModelLike = LogitsFn | Classifier;

/**
 * The logits function of a model given as a function or a {@linkcode Classifier}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { logitsFn } from "@simple-nets/saliency";
 * const f = logitsFn((x: tf.Tensor4D) => x.reshape([x.shape[0], -1]) as tf.Tensor2D);
 * console.assert(typeof f === "function");
 * ```
 */
export function logitsFn(model: ModelLike): LogitsFn {
  if (typeof model === "function") return model;
  if (model && typeof model.predict === "function") return (x) => model.predict(x);
  throw new TypeError("model is neither a logits function nor an object with a predict(x) method");
}

/**
 * Adapts a `tf.LayersModel` whose output is logits (no final softmax) to
 * a {@linkcode Classifier}. Its layers are the model's layers that have
 * weights, by their names. A model that ends in a softmax gives
 * probabilities, whose "loss" gradients are then wrong: build it with a
 * linear last layer, or copy its weights into one that has.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { fromLayersModel } from "@simple-nets/saliency";
 * const model = tf.sequential({ layers: [
 *   tf.layers.flatten({ inputShape: [28, 28, 1] }),
 *   tf.layers.dense({ units: 10, name: "logits" }),
 * ] });
 * const classifier = fromLayersModel(model);
 * console.assert(classifier.layers.join() === "logits");
 * model.dispose();
 * ```
 */
export function fromLayersModel(model: tf.LayersModel): Classifier {
  const byName = new Map(model.layers.filter((l) => l.weights.length > 0).map((l) => [l.name, l]));
  const layer = (name: string) => {
    const found = byName.get(name);
    if (!found) {
      throw new RangeError(
        `The model has no layer "${name}" with weights, expected one of ${[...byName.keys()].join(", ")}`,
      );
    }
    return found;
  };
  return {
    predict: (x) => model.apply(x, { training: false }) as tf.Tensor2D,
    layers: [...byName.keys()],
    getWeights: (name) => layer(name).getWeights(),
    setWeights: (name, values) => layer(name).setWeights(values),
  };
}
