import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadEmbeddedText, type NamedTensor, Rng } from "@simple-nets/core";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { clipGradients } from "./loss.ts";
import { createCharLM } from "./model.ts";
import { createOptimizer, makeBatch, trainCharLM } from "./train.ts";
import { splitText } from "./vocab.ts";

Deno.test("a tiny corpus is learned to near-zero loss by every cell", async () => {
  const text = "abcabcabcabc".repeat(10);
  for (const cell of ["rnn", "lstm", "gru"] as const) {
    const model = createCharLM(text, { cell, hidden: 16, dropout: 0, seed: 2 });
    const result = await trainCharLM(model, text, {
      steps: 80,
      batchSize: 8,
      seqLen: 8,
      lr: 2e-2,
      valText: text,
    });
    assert.ok(result.trainLoss < 0.35, `${cell}: training loss ${result.trainLoss}`);
    // Validation carries the state, so after the first character everything is predictable.
    assert.ok(result.valBitsPerChar! < 0.05, `${cell}: ${result.valBitsPerChar} bits per character`);
    model.dispose();
  }
});

const moby = loadEmbeddedText().text.slice(0, 20000);

Deno.test("a few steps on real text lower the loss", async () => {
  const model = createCharLM(moby, { hidden: 32, dropout: 0 });
  const losses: number[] = [];
  await trainCharLM(model, moby, {
    steps: 40,
    batchSize: 16,
    logEvery: 1,
    lr: 1e-2,
    onEvent: (e) => e.type === "step" && losses.push(e.losses.loss),
  });
  const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(first > Math.log(20) && last < first - 0.8, `loss went from ${first} to ${last}`);
  model.dispose();
});

Deno.test("the same seed gives the same losses and weights; another seed does not", async () => {
  const run = async (seed: number) => {
    const model = createCharLM(moby, { cell: "gru", hidden: 8, dropout: 0.5, seed });
    const result = await trainCharLM(model, moby, { steps: 4, batchSize: 4, seqLen: 10, seed });
    const w = model.params["out/w"].dataSync().slice();
    model.dispose();
    return { loss: result.trainLoss, w };
  };
  const a = await run(5), b = await run(5), c = await run(6);
  assert.equal(a.loss, b.loss);
  assert.deepEqual(a.w, b.w);
  assert.notEqual(a.loss, c.loss);
});

Deno.test("a resumed run ends where an uninterrupted run ends", async () => {
  const options = { steps: 6, batchSize: 4, seqLen: 10, seed: 3 };
  const whole = createCharLM(moby, { hidden: 8, seed: 3 });
  await trainCharLM(whole, moby, options);

  const part = createCharLM(moby, { hidden: 8, seed: 3 });
  const optimizer = createOptimizer(2e-3);
  const controller = new AbortController();
  let saved: { state: unknown; weights: NamedTensor[] } | undefined;
  const first = await trainCharLM(part, moby, {
    ...options,
    optimizer,
    onEvent: (e) => e.type === "step" && e.step === 3 && controller.abort(),
    logEvery: 1,
    signal: controller.signal,
    checkpoint: async (state, opt) => {
      saved = {
        state,
        weights: (await opt.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() })),
      };
    },
  });
  assert.equal(first.interrupted, true);
  assert.equal(first.steps, 3);
  const restored = createOptimizer(2e-3);
  await restored.setWeights(saved!.weights);
  await trainCharLM(part, moby, { ...options, optimizer: restored, resume: saved!.state as never });
  assert.deepEqual(part.params["layer0/wh"].dataSync(), whole.params["layer0/wh"].dataSync());
  whole.dispose();
  part.dispose();
  optimizer.dispose();
  restored.dispose();
});

Deno.test("a training step leaks no tensors", async () => {
  const model = createCharLM(moby, { cell: "lstm", layers: 2, hidden: 8 });
  const optimizer = createOptimizer(1e-3);
  let seed = 0;
  await assertNoLeaks(() =>
    trainCharLM(model, moby, { steps: 1, batchSize: 2, seqLen: 5, seed: seed++, optimizer })
  );
  model.dispose();
  optimizer.dispose();
});

Deno.test("makeBatch() takes windows and next characters from random starts", () => {
  const ids = Int32Array.from({ length: 50 }, (_, i) => i);
  const { inputs, targets } = makeBatch(ids, new Rng(1), 3, 4);
  for (let b = 0; b < 3; b++) {
    const start = inputs[b];
    for (let t = 0; t < 4; t++) {
      assert.equal(inputs[t * 3 + b], start + t);
      assert.equal(targets[t * 3 + b], start + t + 1);
    }
    assert.ok(start + 4 < 50);
  }
});

Deno.test("clipGradients() clips by value and by global norm", () => {
  const grads = { a: tf.tensor1d([3, -0.5]), b: tf.tensor1d([-4]) };
  assert.deepEqual([...clipGradients(grads, 1, "value").a.dataSync()], [1, -0.5]);
  const byNorm = clipGradients(grads, 1, "norm");
  const norm = Math.hypot(3, 0.5, 4);
  assert.ok(Math.abs(byNorm.b.dataSync()[0] + 4 / norm) < 1e-5);
  assert.deepEqual([...clipGradients(grads, 10, "norm").a.dataSync()], [3, -0.5]);
  assert.deepEqual([...clipGradients(grads, 0, "value").b.dataSync()], [-4]);
  assert.throws(() => clipGradients(grads, -1, "value"), /clip -1/);
  assert.throws(() => clipGradients(grads, 1, "max" as "value"), /Clip mode "max"/);
});

Deno.test("trainCharLM() trains with the global-norm clip and with clipping off", async () => {
  // clipGradients({}, …) checks the settings up front: it must not fail on the empty map in norm mode.
  assert.deepEqual(clipGradients({}, 1, "norm"), {});
  for (const [clip, clipMode] of [[5, "norm"], [0, "value"]] as const) {
    const model = createCharLM(moby, { hidden: 8, seed: 4 });
    const result = await trainCharLM(model, moby, { steps: 3, batchSize: 4, seqLen: 10, clip, clipMode });
    assert.ok(Number.isFinite(result.trainLoss), `${clipMode} ${clip}: loss ${result.trainLoss}`);
    model.dispose();
  }
});

Deno.test("trainCharLM() rejects a short text, unknown characters and bad options", async () => {
  const model = createCharLM("abcdef", { hidden: 4 });
  await assert.rejects(
    trainCharLM(model, "abc", { seqLen: 5 }),
    /has 3 characters: expected more than the sequence length 5/,
  );
  await assert.rejects(
    trainCharLM(model, "abcxyz".repeat(10)),
    /30 character\(s\) outside the model's vocabulary/,
  );
  await assert.rejects(trainCharLM(model, "abcdef".repeat(10), { steps: -1 }), /Steps -1/);
  await assert.rejects(trainCharLM(model, "abcdef".repeat(10), { lr: 0 }), /Learning rate 0/);
  model.dispose();
});

Deno.test("splitText() on the embedded novel leaves a validation tenth", () => {
  const { train, val } = splitText(moby);
  assert.equal([...train].length, 18000);
  assert.equal([...val].length, 2000);
});
