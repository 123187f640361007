import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { createCharLM, DEFAULT_CHARLM_CONFIG, disposeState, weightShapes } from "./model.ts";

Deno.test("createCharLM() makes named weights of the expected shapes", () => {
  const model = createCharLM("abcde", { cell: "gru", layers: 2, hidden: 6 });
  assert.deepEqual(model.config, {
    cell: "gru",
    layers: 2,
    hidden: 6,
    dropout: DEFAULT_CHARLM_CONFIG.dropout,
  });
  const shapes = Object.fromEntries(Object.entries(model.params).map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes, {
    "layer0/wx": [5, 18],
    "layer0/b": [18],
    "layer0/wh": [6, 18],
    "layer1/wx": [6, 18],
    "layer1/b": [18],
    "layer1/wh": [6, 18],
    "out/w": [6, 5],
    "out/b": [5],
  });
  assert.deepEqual(weightShapes(model.config, 5), shapes);
  model.dispose();
});

Deno.test("the LSTM forget bias starts at 1, the GRU reset bias at -1, other biases at 0", () => {
  const lstm = createCharLM("ab", { cell: "lstm", hidden: 3 });
  assert.deepEqual([...lstm.params["layer0/b"].dataSync()], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...lstm.params["out/b"].dataSync()], [0, 0]);
  const gru = createCharLM("ab", { cell: "gru", hidden: 2 });
  assert.deepEqual([...gru.params["layer0/b"].dataSync()], [0, 0, -1, -1, 0, 0]);
  const rnn = createCharLM("ab", { cell: "rnn", hidden: 2 });
  assert.deepEqual([...rnn.params["layer0/b"].dataSync()], [0, 0]);
  for (const m of [lstm, gru, rnn]) m.dispose();
});

Deno.test("weights are U(±1/√H) by default and U(±0.01) with init original, and seeded", () => {
  const torch = createCharLM("abc", { hidden: 64, seed: 4 });
  const maxAbs = (t: tf.Tensor) => Math.max(...Array.from(t.dataSync(), Math.abs));
  const max = maxAbs(torch.params["layer0/wh"]);
  assert.ok(max <= 1 / 8 && max > 0.12, `max |w| = ${max}`);
  const original = createCharLM("abc", { hidden: 64, seed: 4, init: "original" });
  const maxOriginal = maxAbs(original.params["layer0/wh"]);
  assert.ok(maxOriginal <= 0.01 && maxOriginal > 0.009);
  const again = createCharLM("abc", { hidden: 64, seed: 4 });
  assert.deepEqual(again.params["out/w"].dataSync(), torch.params["out/w"].dataSync());
  const other = createCharLM("abc", { hidden: 64, seed: 5 });
  assert.notDeepEqual(other.params["out/w"].dataSync(), torch.params["out/w"].dataSync());
  for (const m of [torch, original, again, other]) m.dispose();
});

Deno.test("createCharLM() rejects an impossible architecture naming the field", () => {
  assert.throws(() => createCharLM("ab", { cell: "tree" as "rnn" }), /Cell "tree" is unknown/);
  assert.throws(() => createCharLM("ab", { layers: 0 }), /Layers 0/);
  assert.throws(() => createCharLM("ab", { hidden: 2.5 }), /Hidden size 2.5/);
  assert.throws(() => createCharLM("ab", { dropout: 1 }), /Dropout 1/);
  assert.throws(() => createCharLM("ab", { init: "xavier" as "torch" }), /Initialisation "xavier"/);
});

Deno.test("forward() gives [batch, T, V] logits, carries state, and leaks nothing", async () => {
  const model = createCharLM("abcd", { cell: "lstm", layers: 2, hidden: 8, dropout: 0.3 });
  const ids = tf.tensor2d([[0, 1, 2, 3], [3, 2, 1, 0]], [2, 4], "int32");
  const whole = model.forward(ids);
  assert.deepEqual(whole.logits.shape, [2, 4, 4]);
  // The same sequence in two halves, the state carried, gives the same logits.
  const a = model.forward(tf.slice(ids, [0, 0], [2, 2]) as tf.Tensor2D);
  const b = model.forward(tf.slice(ids, [0, 2], [2, 2]) as tf.Tensor2D, { state: a.state });
  const diff = tf.max(tf.abs(tf.sub(tf.concat([a.logits, b.logits], 1), whole.logits))).dataSync()[0];
  assert.ok(diff < 1e-5, `max difference ${diff}`);
  // Dropout changes the logits only when a seed asks for it, the same way for the same seed.
  const d1 = model.forward(ids, { dropoutSeed: 7 }), d2 = model.forward(ids, { dropoutSeed: 7 });
  assert.deepEqual(d1.logits.dataSync(), d2.logits.dataSync());
  assert.notDeepEqual(d1.logits.dataSync(), whole.logits.dataSync());
  for (const r of [whole, a, b, d1, d2]) {
    r.logits.dispose();
    disposeState(r.state);
  }
  await assertNoLeaks(() => {
    const r = model.forward(ids, { dropoutSeed: 1 });
    r.logits.dispose();
    disposeState(r.state);
  });
  model.dispose();
});
