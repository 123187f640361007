import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { evaluateBitsPerChar } from "./evaluate.ts";
import { crossEntropy } from "./loss.ts";
import { createCharLM, disposeState } from "./model.ts";

const text = "the cat sat on the mat; the rat ate the hat.";

Deno.test("evaluateBitsPerChar() equals one forward pass over the whole text, whatever the window", async () => {
  const model = createCharLM(text, { cell: "lstm", layers: 2, hidden: 12, seed: 4 });
  const ids = model.vocab.encode(text).ids;
  const n = ids.length;
  const { logits, state } = model.forward(tf.tensor2d(ids.subarray(0, n - 1), [1, n - 1], "int32"));
  const nats = crossEntropy(
    tf.reshape(logits, [n - 1, -1]) as tf.Tensor2D,
    tf.tensor1d(ids.subarray(1), "int32"),
    "mean",
  )
    .dataSync()[0];
  disposeState(state);
  for (const window of [1, 5, 7, 250]) {
    const result = await evaluateBitsPerChar(model, text, { window });
    assert.ok(
      Math.abs(result.bitsPerChar - nats / Math.LN2) < 1e-5,
      `window ${window}: ${result.bitsPerChar}`,
    );
    assert.equal(result.chars, n);
    assert.equal(result.predicted, n - 1);
    assert.equal(result.unknownChars, 0);
  }
  model.dispose();
});

Deno.test("evaluateBitsPerChar() counts unknown characters and scores the rest", async () => {
  const model = createCharLM("abc", { hidden: 4 });
  const plain = await evaluateBitsPerChar(model, "abcabc");
  const mixed = await evaluateBitsPerChar(model, "ab€c😀abc");
  assert.equal(mixed.unknownChars, 2);
  assert.deepEqual(mixed.unknownExamples, ["€", "😀"]);
  assert.equal(mixed.chars, 6);
  assert.ok(Math.abs(mixed.bitsPerChar - plain.bitsPerChar) < 1e-6);
  await assert.rejects(
    evaluateBitsPerChar(model, "a€€"),
    /1 known character\(s\): expected at least 2 \(2 were outside/,
  );
  const limited = await evaluateBitsPerChar(model, "abcabcabc", { limit: 4 });
  assert.equal(limited.predicted, 3);
  model.dispose();
});

Deno.test("an untrained model scores about log2(V) bits per character", async () => {
  const model = createCharLM("abcdefgh", { hidden: 8, init: "original" });
  const { bitsPerChar } = await evaluateBitsPerChar(model, "hgfedcbaabcdefgh");
  assert.ok(Math.abs(bitsPerChar - 3) < 0.01, `${bitsPerChar}`);
  model.dispose();
});

Deno.test("evaluateBitsPerChar() leaks no tensors", async () => {
  const model = createCharLM(text, { cell: "gru", hidden: 6 });
  await assertNoLeaks(() => evaluateBitsPerChar(model, text, { window: 9 }));
  model.dispose();
});
