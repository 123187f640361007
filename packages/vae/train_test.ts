import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadEmbeddedMnist } from "@simple-nets/core";
import { assertNoLeaks, tinyMnist } from "@simple-nets/core/testing";
import {
  createVae,
  disposeVae,
  evaluateVae,
  latentManifold,
  reconstruct,
  sampleVae,
  trainVae,
} from "./mod.ts";

const data = tinyMnist(512);

Deno.test("trainVae() lowers the negative ELBO on real digits", async () => {
  const vae = createVae({ hidden: 64, latent: 2 }, { seed: 1 });
  const losses: number[] = [];
  await trainVae(vae, data, {
    epochs: 3,
    batchSize: 64,
    logEvery: 1,
    onEvent: (e) => e.type === "step" && losses.push(e.losses.loss),
  });
  const first = losses.slice(0, 4).reduce((a, b) => a + b) / 4;
  const last = losses.slice(-4).reduce((a, b) => a + b) / 4;
  assert.ok(last < first - 100, `loss went from ${first} to ${last}`);
  disposeVae(vae);
});

Deno.test("trainVae() with the same seed gives the same losses and weights", async () => {
  const run = async (seed: number) => {
    const vae = createVae({ hidden: 16 }, { seed });
    const result = await trainVae(vae, data, { epochs: 1, batchSize: 128, seed });
    const w = vae.params["out/w"].dataSync().slice();
    disposeVae(vae);
    return { loss: result.losses.loss, w };
  };
  const a = await run(5), b = await run(5), c = await run(6);
  assert.equal(a.loss, b.loss);
  assert.deepEqual(a.w, b.w);
  assert.notEqual(a.loss, c.loss);
});

Deno.test("training, evaluation and generation leak no tensors", async () => {
  const vae = createVae({ hidden: 16 }, { seed: 1 });
  await assertNoLeaks(async () => {
    await trainVae(vae, data, { epochs: 1, batchSize: 256 });
    evaluateVae(vae, data, { batchSize: 200 });
    tf.dispose([sampleVae(vae, 3), latentManifold(vae, 3)]);
    tf.tidy(() => reconstruct(vae, tf.zeros([2, 784]))).dispose();
  });
  disposeVae(vae);
});

Deno.test("evaluateVae() reports per-image means whose parts add up", () => {
  const vae = createVae({ hidden: 16 }, { seed: 1 });
  const test = loadEmbeddedMnist().test!;
  const e = evaluateVae(vae, test, { batchSize: 300 });
  assert.equal(e.images, 1000);
  assert.ok(Math.abs(e.negElbo - (e.reconstruction + e.kl)) < 1e-6);
  assert.ok(Math.abs(e.negElboMean - (e.reconstructionMean + e.kl)) < 1e-6);
  // batching does not change the result
  const f = evaluateVae(vae, test, { batchSize: 1000 });
  assert.ok(Math.abs(e.negElboMean - f.negElboMean) < 1e-3);
  disposeVae(vae);
});

Deno.test("sampleVae() is deterministic for a fixed seed and differs across seeds", () => {
  const vae = createVae({ hidden: 16 }, { seed: 1 });
  const [a, b, c] = [
    sampleVae(vae, 4, { seed: 9 }),
    sampleVae(vae, 4, { seed: 9 }),
    sampleVae(vae, 4, { seed: 10 }),
  ];
  assert.deepEqual(a.dataSync(), b.dataSync());
  assert.notDeepEqual(a.dataSync(), c.dataSync());
  assert.deepEqual(a.shape, [4, 784]);
  tf.dispose([a, b, c]);
  assert.throws(() => sampleVae(vae, 0), RangeError);
  disposeVae(vae);
});

Deno.test("trainVae() rejects images of the wrong size", async () => {
  const vae = createVae({ hidden: 8 });
  await assert.rejects(
    () =>
      trainVae(vae, { images: new Float32Array(10), labels: new Uint8Array(1), count: 1, rows: 2, cols: 5 }),
    /Images are 2×5, expected 784 pixels per image/,
  );
  disposeVae(vae);
});
