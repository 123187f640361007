import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "@simple-nets/core/backend";
import { getFusedSequence, getFusedStep, registerFusedSequence } from "@simple-nets/core/fused";
import { enableNativeBlas } from "@simple-nets/core/native";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { createStepper } from "./_stepper.ts";
import { CELL_TYPES } from "./cells.ts";
import { createCharLM } from "./model.ts";
import { sampleText } from "./sample.ts";

await useBackend("wasm");
const native = enableNativeBlas();
const kernels = getFusedStep();
const ignore = !native.enabled || !kernels;
if (ignore) console.error(`_stepper_test: skipped, native BLAS unavailable: ${native.reason}`);

const text = "the quick brown fox jumps over the lazy dog, then the dog naps.";

for (const cell of CELL_TYPES) {
  Deno.test({
    name: `the array stepper gives the logits of the plain TF.js forward pass (${cell}, 2 layers)`,
    ignore,
    fn: () => {
      const model = createCharLM(text, { cell, layers: 2, hidden: 24, dropout: 0.3, seed: 4 });
      for (const [name, p] of Object.entries(model.params)) { // biases start at 0 or ±1: make them matter
        if (name.endsWith("/b")) {
          tf.tidy(() => p.assign(tf.randomUniform(p.shape, -0.5, 0.5, "float32", name.length)));
        }
      }
      const ids = model.vocab.encode("the lazy fox").ids;
      const fused = getFusedSequence();
      registerFusedSequence(undefined); // the reference is the per-step TF.js loop of cells.ts
      const reference = createStepper(model, null), fast = createStepper(model, kernels);
      try {
        // a prime of several characters, then one character at a time, the state carried throughout
        const chunks = [ids.subarray(0, 5), ...Array.from(ids.subarray(5), (id) => Int32Array.of(id))];
        for (const chunk of chunks) {
          const want = reference.feed(chunk), got = fast.feed(chunk);
          assert.equal(got.length, model.vocab.size);
          for (let i = 0; i < want.length; i++) {
            assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `logit ${i}: ${got[i]} against ${want[i]}`);
          }
        }
      } finally {
        registerFusedSequence(fused);
        reference.dispose();
        fast.dispose();
        model.dispose();
      }
    },
  });
}

Deno.test({
  name: "sampling on the array stepper is seeded and leaks no tensors",
  ignore,
  fn: async () => {
    const model = createCharLM(text, { cell: "lstm", hidden: 16, seed: 1 });
    const a = sampleText(model, { length: 40, prime: "the", seed: 3 });
    assert.equal(sampleText(model, { length: 40, prime: "the", seed: 3 }), a);
    assert.notEqual(sampleText(model, { length: 40, prime: "the", seed: 4 }), a);
    await assertNoLeaks(() => void sampleText(model, { length: 10, seed: 2 }));
    const stepper = createStepper(model, kernels);
    assert.throws(() => stepper.feed(Int32Array.of(model.vocab.size)), /outside the vocabulary/);
    model.dispose();
    tf.disposeVariables();
  },
});
