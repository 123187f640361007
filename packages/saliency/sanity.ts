/**
 * The model-parameter randomisation test of "Sanity checks for saliency
 * maps" (Adebayo et al. 2018): re-draw the weights of a model's layers,
 * from the top down (cascading) and one at a time (independent), and
 * measure how much the saliency maps change. A method whose maps barely
 * change when the weights they should explain are destroyed fails.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@simple-nets/core";
import type { Classifier } from "./classifier.ts";
import { type SaliencyTarget, smoothGrad, vanillaGradient } from "./gradients.ts";
import { compareMaps, type MapComparison } from "./spearman.ts";

/** Options of {@linkcode randomizeLayers}. */
export interface RandomizeLayersOptions {
  /** Seed of the new weights. Layer `name` always gets the same draw for a
   * seed, so a cascade re-randomising a layer gives it the same weights.
   * @default {1} */
  seed?: number;
  /** New weights and biases are drawn U(−scale, scale).
   * @default {1} */
  scale?: number;
}

/** Undoes a {@linkcode randomizeLayers} call. */
export interface RandomizedLayers {
  /** The layers that were randomised. */
  readonly layers: readonly string[];
  /** Puts the original weights back and frees the saved copies; later calls do nothing. */
  restore(): void;
}

/**
 * Replaces the weights (all of them: kernels and biases) of the named
 * layers with seeded draws from U(−scale, scale), in place. Call
 * `restore()` on the result to put the original weights back.
 *
 * @param model A classifier whose layers can be read and replaced.
 * @param layers Names among `model.layers`.
 *
 * @example
 * ```ts
 * import { createCnn, randomizeLayers } from "@simple-nets/saliency";
 * const cnn = createCnn({ digits: [0, 1] });
 * const before = cnn.params["output/bias"].dataSync().slice();
 * const randomized = randomizeLayers(cnn, ["output"], { seed: 3 });
 * randomized.restore();
 * console.assert(cnn.params["output/bias"].dataSync().join() === before.join());
 * cnn.dispose();
 * ```
 */
export function randomizeLayers(
  model: Classifier,
  layers: readonly string[],
  options: RandomizeLayersOptions = {},
): RandomizedLayers {
  const { seed = 1, scale = 1 } = options;
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new RangeError(`scale is ${scale}, expected a number > 0`);
  }
  for (const name of layers) {
    if (!model.layers.includes(name)) {
      throw new RangeError(`The model has no layer "${name}", expected one of ${model.layers.join(", ")}`);
    }
  }
  const saved: [string, tf.Tensor[]][] = [];
  try {
    for (const name of layers) {
      const current = model.getWeights(name);
      saved.push([name, current.map((w) => w.clone())]);
      const rng = Rng.stream(seed, `randomize/${name}`);
      const fresh = current.map((w) =>
        tf.tensor(rng.fillUniform(new Float32Array(w.size), -scale, scale), w.shape)
      );
      try {
        model.setWeights(name, fresh);
      } finally {
        tf.dispose(fresh);
      }
    }
  } catch (e) {
    restore(model, saved);
    throw e;
  }
  let done = false;
  return {
    layers: [...layers],
    restore() {
      if (done) return;
      done = true;
      restore(model, saved);
    },
  };
}

function restore(model: Classifier, saved: [string, tf.Tensor[]][]): void {
  for (const [name, weights] of saved.reverse()) {
    model.setWeights(name, weights);
    tf.dispose(weights);
  }
}

/** A saliency method the sanity check can run. */
export type SaliencyMethod = "vanilla" | "smoothgrad";

/** Options of {@linkcode sanityCheck}. */
export interface SanityCheckOptions {
  /** Layers to randomise, from the top (output) down.
   * @default {the model's layers, last first} */
  layers?: readonly string[];
  /** Methods to test.
   * @default {["vanilla", "smoothgrad"]} */
  methods?: readonly SaliencyMethod[];
  /** Gradient of the loss or of the true label's logit. The default is the
   * logit: a randomised model is often so confident that the loss gradient
   * is exactly zero and its map cannot be ranked.
   * @default {"logit"} */
  of?: SaliencyTarget;
  /** SmoothGrad noisy copies per image.
   * @default {50} */
  samples?: number;
  /** SmoothGrad noise, a fraction of each image's range.
   * @default {0.15} */
  noise?: number;
  /** SmoothGrad-Squared instead of SmoothGrad.
   * @default {false} */
  squared?: boolean;
  /** Seed of the SmoothGrad noise (shared by every model) and of the new weights.
   * @default {1} */
  seed?: number;
  /** Randomised weights are drawn U(−scale, scale).
   * @default {1} */
  scale?: number;
  /** Rows per forward/backward pass.
   * @default {500} */
  batchSize?: number;
  /** Keep the maps of the first N images of every step in the result (for pictures).
   * @default {0} */
  keepMaps?: number;
  /** Called after each model's maps are done (1 + 2 × layers calls in all). */
  onProgress?: (done: number, total: number) => void;
}

/** One randomisation step's result. */
export interface SanityStep {
  /** The layers randomised in this step. */
  layers: string[];
  /** Vanilla gradient: how the randomised model's maps correlate with the original's. */
  vanilla?: MapComparison;
  /** SmoothGrad: how the randomised model's maps correlate with the original's. */
  smoothgrad?: MapComparison;
  /** With `keepMaps`: the maps of the first images, by method (`keepMaps × pixels` values). */
  maps?: Partial<Record<SaliencyMethod, Float32Array>>;
}

/** What {@linkcode sanityCheck} returns: plain numbers and arrays. */
export interface SanityResult {
  /** What the gradients were taken of. */
  of: SaliencyTarget;
  /** Images the maps were computed for. */
  images: number;
  /** The trained model's maps compared with themselves: correlation 1 where a map can be ranked. */
  original: SanityStep;
  /** Cumulative randomisation from the top: the first step has only `layers[0]` randomised. */
  cascading: SanityStep[];
  /** One layer at a time, the others trained. */
  independent: SanityStep[];
}

/**
 * Runs the model-parameter randomisation test: maps of the trained model,
 * then of the model with layers randomised cumulatively from the top
 * (cascading) and one at a time (independent), each compared with the
 * trained model's maps by Spearman rank correlation per image. The model
 * is restored before this returns (also on error).
 *
 * @param model A classifier whose layers can be read and replaced.
 * @param images Model inputs `[count, height, width, channels]`; not disposed.
 * @param labels The true class index of each image.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { createCnn, sanityCheck } from "@simple-nets/saliency";
 * const cnn = createCnn({ digits: [0, 1] });
 * const x = tf.randomNormal([2, 28, 28, 1], 0, 1, "float32", 1) as tf.Tensor4D;
 * const result = sanityCheck(cnn, x, [0, 1], { methods: ["vanilla"] });
 * console.assert(result.original.vanilla!.spearman === 1);
 * console.assert(result.cascading.length === 3);
 * x.dispose();
 * cnn.dispose();
 * ```
 */
export function sanityCheck(
  model: Classifier,
  images: tf.Tensor4D,
  labels: ArrayLike<number>,
  options: SanityCheckOptions = {},
): SanityResult {
  const {
    layers = [...model.layers].reverse(),
    methods = ["vanilla", "smoothgrad"],
    of = "logit",
    seed = 1,
    scale = 1,
    keepMaps = 0,
    onProgress,
  } = options;
  if (layers.length === 0) throw new RangeError("sanityCheck needs at least one layer to randomise");
  if (methods.length === 0) throw new RangeError("sanityCheck needs at least one method");
  for (const m of methods) {
    if (m !== "vanilla" && m !== "smoothgrad") {
      throw new RangeError(`sanityCheck method "${m}" is unknown, expected "vanilla" or "smoothgrad"`);
    }
  }
  const count = images.shape[0];
  const size = images.size / count;
  const keep = Math.min(Math.max(0, Math.floor(keepMaps)), count);
  const gradientOptions = { of, batchSize: options.batchSize };
  const smoothOptions = {
    ...gradientOptions,
    samples: options.samples,
    noise: options.noise,
    squared: options.squared,
    seed,
  };
  const total = 1 + 2 * layers.length;
  let done = 0;
  const mapsOf = (): Record<string, Float32Array> => {
    const out: Record<string, Float32Array> = {};
    for (const method of methods) {
      const maps = method === "vanilla"
        ? vanillaGradient(model, images, labels, gradientOptions)
        : smoothGrad(model, images, labels, smoothOptions);
      out[method] = maps.dataSync() as Float32Array;
      maps.dispose();
    }
    onProgress?.(++done, total);
    return out;
  };
  const original = mapsOf();
  const step = (randomized: readonly string[]): SanityStep => {
    const handle = randomizeLayers(model, randomized, { seed, scale });
    try {
      const maps = mapsOf();
      const result: SanityStep = { layers: [...randomized] };
      for (const method of methods) result[method] = compareMaps(original[method], maps[method], count);
      if (keep) result.maps = keptMaps(maps, keep * size);
      return result;
    } finally {
      handle.restore();
    }
  };
  const self: SanityStep = { layers: [] };
  for (const method of methods) self[method] = compareMaps(original[method], original[method], count);
  if (keep) self.maps = keptMaps(original, keep * size);
  const cascading = layers.map((_, i) => step(layers.slice(0, i + 1)));
  const independent = layers.map((name) => step([name]));
  return { of, images: count, original: self, cascading, independent };
}

function keptMaps(
  maps: Record<string, Float32Array>,
  length: number,
): Partial<Record<SaliencyMethod, Float32Array>> {
  return Object.fromEntries(Object.entries(maps).map(([k, v]) => [k, v.slice(0, length)]));
}
