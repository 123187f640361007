/**
 * What every simple-nets model needs and nothing model-specific: seeded
 * randomness, datasets (MNIST-family IDX files, the embedded digits, text
 * corpora), the shared training loop, checkpoint folders, named weights.
 *
 * Pictures are in `@simple-nets/core/images` and `/plot`, backend choice
 * in `/backend`, command-line helpers in `/cli`, test helpers in
 * `/testing`, and the optional native kernels in `/native`.
 *
 * @example Train a linear model on embedded digits with the shared loop
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadEmbeddedMnist, makeParams, Rng, trainLoop, uniformTensor } from "@simple-nets/core";
 *
 * const { train } = loadEmbeddedMnist();
 * const rng = new Rng(1);
 * const p = makeParams({ w: uniformTensor(rng, [784, 10], 0.03), b: tf.zeros([10]) }, "linear");
 * const optimizer = tf.train.adam(1e-3);
 * const result = await trainLoop((ctx) => {
 *   const loss = optimizer.minimize(() => tf.tidy(() => {
 *     const idx = tf.tensor1d(ctx.indices!, "int32");
 *     const x = tf.gather(tf.tensor2d(train!.images, [train!.count, 784]), idx);
 *     const y = tf.oneHot(tf.gather(tf.tensor1d(train!.labels, "int32"), idx), 10);
 *     return tf.losses.softmaxCrossEntropy(y, x.matMul(p.w).add(p.b)) as tf.Scalar;
 *   }), true)!;
 *   const value = loss.dataSync()[0];
 *   loss.dispose();
 *   return { loss: value };
 * }, { seed: 1, epochs: 1, examples: 512, batchSize: 128 });
 * console.log(result.losses.loss);
 * ```
 *
 * @module
 */
export * from "./rng.ts";
export * from "./data/mod.ts";
export * from "./train.ts";
export * from "./checkpoint.ts";
export * from "./params.ts";
export * from "./adam.ts";
export * from "./dropout.ts";
