/**
 * Saliency maps for image classifiers, and the test of whether they mean
 * anything: a shallow CNN for MNIST-format digits, vanilla-gradient and
 * SmoothGrad maps for any TF.js classifier, Spearman rank correlation with
 * average ranks, and the model-parameter randomisation sanity check of
 * Adebayo et al. (2018).
 *
 * @example Train a 0/1 model briefly, explain two digits, run the sanity check
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadEmbeddedMnist } from "@simple-nets/core";
 * import { useBackend } from "@simple-nets/core/backend";
 * import { createCnn, imagesToTensor, sanityCheck, selectDigits, smoothGrad, trainCnn } from "@simple-nets/saliency";
 *
 * await useBackend("auto"); // wasm when it starts: convolution gradients are slow on the pure-JS cpu backend
 * const { train, test } = loadEmbeddedMnist();
 * const cnn = createCnn({ digits: [0, 1] }, { seed: 1 });
 * await trainCnn(cnn, selectDigits(train!, [0, 1]), { epochs: 1, batchSize: 64 });
 * const few = selectDigits(test!, [0, 1]);
 * const x = imagesToTensor(few.images.subarray(0, 2 * 784), cnn.config);
 * const maps = smoothGrad(cnn, x, few.labels.subarray(0, 2), { samples: 4, of: "logit" }); // [2, 28, 28, 1]
 * const check = sanityCheck(cnn, x, few.labels.subarray(0, 2), { methods: ["vanilla"] });
 * console.log(check.cascading[0].vanilla?.spearman); // far below 1: the maps depend on the weights
 * tf.dispose([x, maps]);
 * cnn.dispose();
 * ```
 *
 * @module
 */
export * from "./classifier.ts";
export * from "./model.ts";
export * from "./gradients.ts";
export * from "./spearman.ts";
export * from "./sanity.ts";
export * from "./train.ts";
