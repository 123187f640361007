/**
 * A generative adversarial network (Goodfellow et al. 2014) with a maxout
 * discriminator (Goodfellow et al. 2013), trained on MNIST-family digits,
 * and the paper's Parzen-window log-likelihood evaluation.
 *
 * @example Train briefly, generate, evaluate
 * ```ts
 * import { loadEmbeddedMnist } from "@simple-nets/core";
 * import { createGan, disposeGan, evaluateGan, generate, splitValidation, trainGan } from "@simple-nets/gan";
 *
 * const { train: all, test } = loadEmbeddedMnist();
 * const { train, validation } = splitValidation(all!, 1000);
 * const gan = createGan({ generatorSizes: [64], discriminatorSizes: [64] }, { seed: 1 });
 * await trainGan(gan, { ...train, count: 256, images: train.images.subarray(0, 256 * 784) }, { epochs: 1 });
 * const images = generate(gan, 16, { seed: 2 }); // [16, 784], pixels in [0, 1]
 * const score = evaluateGan(gan, { validation, test: test! }, { samples: 500, testLimit: 100 });
 * console.log(score.logLikelihood, score.sigma);
 * images.dispose();
 * disposeGan(gan);
 * ```
 *
 * @module
 */
export * from "./maxout.ts";
export * from "./model.ts";
export * from "./loss.ts";
export * from "./train.ts";
export * from "./parzen.ts";
export * from "./evaluate.ts";
export * from "./io.ts";
