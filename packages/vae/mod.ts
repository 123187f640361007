/**
 * A vanilla variational autoencoder (Kingma & Welling, 2013) for MNIST-like
 * images: encoder 784 → H (ReLU) → μ, log σ² ∈ R^Z; decoder Z → H (ReLU) →
 * 784 (sigmoid). The loss per image is the binary cross-entropy summed over
 * pixels plus the KL divergence to N(0, I) summed over latents — the
 * negative evidence lower bound (ELBO) — averaged over the batch.
 *
 * @example Train on the embedded digits and look at the result
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { loadEmbeddedMnist } from "@simple-nets/core";
 * import { createVae, disposeVae, evaluateVae, sampleVae, trainVae } from "@simple-nets/vae";
 *
 * const { train, test } = loadEmbeddedMnist();
 * const vae = createVae({ hidden: 200, latent: 2 }, { seed: 1 });
 * await trainVae(vae, train!, { epochs: 1, seed: 1 });
 * console.log(evaluateVae(vae, test!).negElbo); // nats per image
 * const samples = sampleVae(vae, 16, { seed: 2 }); // [16, 784], yours to dispose
 * samples.dispose();
 * disposeVae(vae);
 * ```
 *
 * @module
 */
export * from "./model.ts";
export * from "./loss.ts";
export * from "./train.ts";
export * from "./generate.ts";
export * from "./io.ts";
