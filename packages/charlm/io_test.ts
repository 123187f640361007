import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { saveCheckpoint } from "@simple-nets/core";
import { loadCharLM, saveCharLM } from "./io.ts";
import { createCharLM } from "./model.ts";
import { sampleText } from "./sample.ts";
import { createOptimizer, trainCharLM } from "./train.ts";

const text = "Ναι — yes, 是的, oui!\n".repeat(8);

Deno.test("a save/load round trip gives identical outputs, vocabulary and config", async () => {
  const dir = await Deno.makeTempDir();
  const model = createCharLM(text, { cell: "gru", layers: 2, hidden: 8, dropout: 0.2 });
  const optimizer = createOptimizer(1e-2);
  await trainCharLM(model, text, { steps: 3, batchSize: 2, seqLen: 6, optimizer });
  await saveCharLM(model, dir, { step: 3, seed: 9, data: "test", optimizer });
  const { model: loaded, meta, optimizer: state } = await loadCharLM(dir);
  assert.deepEqual(loaded.config, model.config);
  assert.deepEqual(loaded.vocab.chars, model.vocab.chars);
  assert.equal(meta.step, 3);
  assert.equal(meta.package, "@simple-nets/charlm");
  assert.equal(state!.length, 1 + 2 * Object.keys(model.params).length);
  for (const name of Object.keys(model.params)) {
    assert.deepEqual(loaded.params[name].dataSync(), model.params[name].dataSync(), name);
  }
  assert.equal(sampleText(loaded, { length: 30, seed: 1 }), sampleText(model, { length: 30, seed: 1 }));
  tf.dispose(state!.map((w) => w.tensor));
  for (const m of [model, loaded]) m.dispose();
  optimizer.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCharLM() refuses another package's checkpoint and a missing one", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(dir, {
    meta: {
      package: "@simple-nets/vae",
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
  await assert.rejects(loadCharLM(dir), /written by @simple-nets\/vae, expected @simple-nets\/charlm/);
  await assert.rejects(loadCharLM(`${dir}/nope`), /Cannot find a checkpoint/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCharLM() reports a checkpoint whose vocabulary does not fit its weights", async () => {
  const dir = await Deno.makeTempDir();
  const model = createCharLM("abc", { hidden: 4 });
  await saveCharLM(model, dir);
  const metaPath = `${dir}/checkpoint/meta.json`;
  const meta = JSON.parse(await Deno.readTextFile(metaPath));
  meta.vocab = ["a", "b", "c", "d"];
  await Deno.writeTextFile(metaPath, JSON.stringify(meta));
  await assert.rejects(loadCharLM(dir), /weight "layer0\/wx" has shape \[3,16\], expected \[4,16\]/);
  meta.vocab = ["b", "a"];
  await Deno.writeTextFile(metaPath, JSON.stringify(meta));
  await assert.rejects(loadCharLM(dir), /out of order .* in meta.json/);
  model.dispose();
  assert.equal(tf.memory().numTensors, 0);
  await Deno.remove(dir, { recursive: true });
});
