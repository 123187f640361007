import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CheckpointError, saveCheckpoint } from "@simple-nets/core";
import { tinyMnist } from "@simple-nets/core/testing";
import { createVae, disposeVae, loadVae, reconstruct, saveVae, trainVae } from "./mod.ts";

Deno.test("saveVae() then loadVae() gives identical outputs and optimizer state", async () => {
  const dir = await Deno.makeTempDir();
  const vae = createVae({ hidden: 16, latent: 3 }, { seed: 2 });
  const optimizer = tf.train.adam(1e-3);
  await trainVae(vae, tinyMnist(256), { epochs: 1, optimizer });
  await saveVae(dir, vae, { step: 2, seed: 2, optimizer, data: "embedded:mnist" });
  const loaded = await loadVae(dir);
  assert.deepEqual(loaded.vae.config, vae.config);
  assert.equal(loaded.meta.step, 2);
  const x = tf.tensor2d(tinyMnist(4).images, [4, 784]);
  const a = reconstruct(vae, x), b = reconstruct(loaded.vae, x);
  assert.deepEqual(a.dataSync(), b.dataSync());
  const saved = await optimizer.getWeights();
  assert.equal(loaded.optimizerState.length, saved.length);
  for (let i = 1; i < saved.length; i++) {
    assert.deepEqual(loaded.optimizerState[i].tensor.dataSync(), saved[i].tensor.dataSync());
  }
  tf.dispose([x, a, b, saved[0].tensor, ...loaded.optimizerState.map((w) => w.tensor)]);
  disposeVae(vae);
  disposeVae(loaded.vae);
  optimizer.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadVae() refuses a checkpoint of another package, naming it", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(dir, {
    meta: {
      package: "@simple-nets/gan",
      version: "0.1.0",
      config: {},
      step: 0,
      seed: 1,
      backend: "cpu",
      data: "x",
      metrics: {},
    },
    networks: {},
    optimizers: {},
  });
  await assert.rejects(
    () => loadVae(dir),
    (e) => e instanceof CheckpointError && /written by @simple-nets\/gan/.test(e.message),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadVae() refuses weights that do not fit the config", async () => {
  const dir = await Deno.makeTempDir();
  const vae = createVae({ hidden: 8 });
  await saveVae(dir, vae);
  const metaPath = `${dir}/checkpoint/meta.json`;
  const meta = JSON.parse(await Deno.readTextFile(metaPath));
  meta.config.hidden = 9;
  await Deno.writeTextFile(metaPath, JSON.stringify(meta));
  await assert.rejects(() => loadVae(dir), /weight "enc\/w" has shape \[784,8\], expected \[784,9\]/);
  disposeVae(vae);
  await Deno.remove(dir, { recursive: true });
});
