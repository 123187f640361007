/**
 * Datasets: MNIST-family IDX folders, the embedded MNIST digits, text corpora.
 *
 * @module
 */
export * from "./types.ts";
export * from "./idx.ts";
export * from "./mnist.ts";
export * from "./text.ts";
export * from "./load.ts";
