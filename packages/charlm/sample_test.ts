import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@simple-nets/core";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { createCharLM, disposeState } from "./model.ts";
import { defaultPrime, pickNext, sampleChars, sampleText } from "./sample.ts";

const text = "It was the best of times, it was the worst of times.\n";

Deno.test("sampleText() is deterministic for a fixed seed and differs for another", () => {
  const model = createCharLM(text, { hidden: 16, seed: 2 });
  const a = sampleText(model, { length: 60, seed: 7 });
  assert.equal([...a].length, 60);
  assert.equal(sampleText(model, { length: 60, seed: 7 }), a);
  assert.notEqual(sampleText(model, { length: 60, seed: 8 }), a);
  assert.ok(model.vocab.covers(a));
  model.dispose();
});

Deno.test("sampling carries the state: each character is what recomputing the whole prefix gives", () => {
  const model = createCharLM(text, { cell: "gru", layers: 2, hidden: 12, seed: 3 });
  const prime = "It w";
  const generated = sampleText(model, { length: 12, prime, argmax: true });
  // Recompute from scratch: feed prime + generated[0..i) and take the argmax of the last logits.
  let prefix = prime;
  for (const expected of generated) {
    const ids = model.vocab.encode(prefix).ids;
    const { logits, state } = model.forward(tf.tensor2d(ids, [1, ids.length], "int32"));
    const last = tf.squeeze(tf.slice(logits, [0, ids.length - 1, 0], [1, 1, -1]));
    assert.equal(model.vocab.chars[tf.argMax(last).dataSync()[0]], expected);
    disposeState(state);
    prefix += expected;
  }
  model.dispose();
});

Deno.test("pickNext() honours argmax, temperature and top-k", () => {
  const logits = [0, 3, 1, 2.9];
  assert.equal(pickNext(logits, new Rng(1), { argmax: true }), 1);
  const counts = [0, 0, 0, 0];
  const rng = new Rng(2);
  for (let i = 0; i < 2000; i++) counts[pickNext(logits, rng, { topK: 2 })]++;
  assert.equal(counts[0] + counts[2], 0);
  assert.ok(counts[1] > 800 && counts[3] > 800);
  // A tiny temperature is nearly greedy; a large one nearly uniform.
  const cold = [0, 0, 0, 0], hot = [0, 0, 0, 0];
  for (let i = 0; i < 2000; i++) {
    cold[pickNext(logits, rng, { temperature: 0.01 })]++;
    hot[pickNext(logits, rng, { temperature: 100 })]++;
  }
  assert.equal(cold[1], 2000);
  assert.ok(hot.every((c) => c > 400), `${hot}`);
});

Deno.test("a prime character outside the vocabulary is an error naming it", () => {
  const model = createCharLM(text, { hidden: 4 });
  assert.throws(
    () => sampleChars(model, { prime: "It was Ω" }),
    /character "Ω" \(U\+03A9\) is not in the model's vocabulary/,
  );
  assert.throws(() => sampleChars(model, { temperature: 0 }), /Temperature 0/);
  assert.throws(() => sampleChars(model, { topK: -1 }), /Top-k -1/);
  assert.throws(() => sampleChars(model, { prime: "" }), /prime is empty/);
  assert.equal(defaultPrime(model), "\n");
  model.dispose();
});

Deno.test("sampling leaks no tensors, also when stopped early", async () => {
  const model = createCharLM(text, { cell: "lstm", hidden: 8 });
  await assertNoLeaks(() => sampleText(model, { length: 5, prime: "It" }));
  await assertNoLeaks(() => {
    for (const c of sampleChars(model, { length: 50 })) if (c) break;
  });
  model.dispose();
});
