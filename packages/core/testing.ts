/**
 * Test helpers shared by every package: a tensor-leak check and small
 * fixtures.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { loadEmbeddedMnist } from "./data/mnist.ts";
import type { ImageSet } from "./data/types.ts";

/**
 * Runs `fn` `warmup` times, then `repeats` more times, and throws when
 * `tf.memory().numTensors` grew after the warm-up: proof that a step
 * cleans up after itself.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { assertNoLeaks } from "@simple-nets/core/testing";
 * await assertNoLeaks(() => tf.tidy(() => tf.ones([2]).add(1)).dispose());
 * ```
 */
export async function assertNoLeaks(
  fn: () => unknown | Promise<unknown>,
  options: { warmup?: number; repeats?: number } = {},
): Promise<void> {
  const { warmup = 2, repeats = 3 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const before = tf.memory().numTensors;
  for (let i = 0; i < repeats; i++) await fn();
  const after = tf.memory().numTensors;
  if (after !== before) {
    throw new Error(
      `Tensor leak: ${after - before} tensors more after ${repeats} calls (${before} → ${after})`,
    );
  }
}

/**
 * The first `count` embedded training digits (a copy), for quick tests on real data.
 */
export function tinyMnist(count: number, from = 0): ImageSet {
  const train = loadEmbeddedMnist().train!;
  return {
    images: train.images.slice(from * 784, (from + count) * 784),
    labels: train.labels.slice(from, from + count),
    count,
    rows: 28,
    cols: 28,
  };
}

/** Where Debian's `dataset-fashion-mnist` puts the Fashion-MNIST IDX files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** True when Debian's Fashion-MNIST is installed (tests that need it skip otherwise). */
export function hasFashionMnist(): boolean {
  try {
    return Deno.statSync(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`).isFile;
  } catch {
    return false;
  }
}
