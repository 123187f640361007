import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@simple-nets/core";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { CELL_TYPES, cellStep, recurrentPieces, runSequence, zeroState } from "./cells.ts";
import { createCharLM } from "./model.ts";
import { sequenceLoss } from "./loss.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

Deno.test("cellStep() computes each cell's gate math as the reference writes it", () => {
  // One unit (H = 1), batch 1: every gate is a scalar, so the formulas can be checked by hand.
  const h0 = 0.3, c0 = -0.2, wh = [0.5, -0.4, 0.7, 0.2];
  const xw = [0.1, 0.6, -0.3, 0.8];
  const run = (cell: "rnn" | "lstm" | "gru", gates: number) => {
    const state = cell === "lstm" ? [tf.tensor2d([[h0]]), tf.tensor2d([[c0]])] : [tf.tensor2d([[h0]])];
    const w = tf.tensor2d([wh.slice(0, gates)]);
    const out = cellStep(cell, tf.tensor2d([xw.slice(0, gates)]), recurrentPieces(cell, w), state);
    return out.map((t) => t.dataSync()[0]);
  };
  const [rnn] = run("rnn", 1);
  assert.ok(Math.abs(rnn - Math.tanh(xw[0] + wh[0] * h0)) < 1e-6);

  const a = xw.map((x, k) => x + wh[k] * h0);
  const c = sigmoid(a[1]) * c0 + sigmoid(a[0]) * Math.tanh(a[3]);
  const [lstmH, lstmC] = run("lstm", 4);
  assert.ok(Math.abs(lstmC - c) < 1e-6);
  assert.ok(Math.abs(lstmH - sigmoid(a[2]) * Math.tanh(c)) < 1e-6);

  const u = sigmoid(xw[0] + wh[0] * h0), r = sigmoid(xw[1] + wh[1] * h0);
  const candidate = Math.tanh(xw[2] + wh[2] * (r * h0));
  const [gru] = run("gru", 3);
  assert.ok(Math.abs(gru - ((1 - u) * h0 + u * candidate)) < 1e-6);
});

for (const cell of CELL_TYPES) {
  Deno.test(`the ${cell} model's gradients match finite differences`, () => {
    const model = createCharLM("abcd", { cell, hidden: 5, layers: 2, dropout: 0, seed: 3 });
    const x = tf.tensor2d([[0, 1], [2, 3], [1, 1], [3, 0]], [4, 2], "int32");
    const y = tf.tensor2d([[1, 2], [3, 0], [1, 0], [0, 2]], [4, 2], "int32");
    const loss = () => sequenceLoss(model, x, y);
    const { grads } = tf.variableGrads(loss, Object.values(model.params));
    const rng = new Rng(11);
    const eps = 1e-2;
    for (const [name, v] of Object.entries(model.params)) {
      // Directional derivative along a random direction: one number that involves every weight.
      const d = tf.tensor(rng.fillUniform(new Float32Array(v.size), -1, 1), v.shape);
      const analytic = tf.sum(tf.mul(grads[v.name], d)).dataSync()[0];
      const original = v.clone();
      v.assign(tf.add(original, tf.mul(d, eps)));
      const plus = loss().dataSync()[0];
      v.assign(tf.sub(original, tf.mul(d, eps)));
      const minus = loss().dataSync()[0];
      v.assign(original);
      const numeric = (plus - minus) / (2 * eps);
      assert.ok(
        Math.abs(analytic - numeric) <= 2e-3 + 2e-2 * Math.abs(numeric),
        `${cell} ${name}: analytic ${analytic}, numeric ${numeric}`,
      );
    }
    model.dispose();
  });
}

Deno.test("runSequence() carries the state: two halves give what the whole sequence gives", () => {
  for (const cell of CELL_TYPES) {
    const G = { rnn: 1, lstm: 4, gru: 3 }[cell];
    const rng = new Rng(2);
    const xw = Array.from(
      { length: 6 },
      () => tf.tensor2d(rng.fillUniform(new Float32Array(2 * 3 * G), -1, 1), [2, 3 * G]),
    );
    const wh = tf.tensor2d(rng.fillUniform(new Float32Array(3 * 3 * G), -1, 1), [3, 3 * G]);
    const whole = runSequence(cell, xw, wh, zeroState(cell, 2, 3));
    const first = runSequence(cell, xw.slice(0, 3), wh, zeroState(cell, 2, 3));
    const second = runSequence(cell, xw.slice(3), wh, first.state);
    for (let t = 0; t < 3; t++) {
      const diff = tf.max(tf.abs(tf.sub(whole.outputs[t + 3], second.outputs[t]))).dataSync()[0];
      assert.ok(diff < 1e-6, `${cell} step ${t + 3}: ${diff}`);
    }
  }
});

Deno.test("runSequence() rejects mismatched shapes and an empty sequence", () => {
  const wh = tf.zeros([4, 16]) as tf.Tensor2D;
  assert.throws(() => runSequence("lstm", [], wh, zeroState("lstm", 1, 4)), /over 0 steps/);
  assert.throws(
    () => runSequence("gru", [tf.zeros([1, 16]) as tf.Tensor2D], wh, zeroState("gru", 1, 4)),
    /xw has width 16/,
  );
  assert.throws(
    () => runSequence("lstm", [tf.zeros([1, 16]) as tf.Tensor2D], wh, zeroState("rnn", 1, 4)),
    /state has shapes/,
  );
});

Deno.test("runSequence() leaves no tensors behind but its outputs and state", async () => {
  const xw = [tf.zeros([2, 12]), tf.zeros([2, 12])] as tf.Tensor2D[];
  const wh = tf.zeros([4, 12]) as tf.Tensor2D;
  const start = zeroState("gru", 2, 4);
  await assertNoLeaks(() => {
    const out = runSequence("gru", xw, wh, start);
    tf.dispose([...out.outputs, ...out.state]);
  });
  const lstmStart = zeroState("lstm", 2, 4), lstmWh = tf.zeros([4, 16]) as tf.Tensor2D;
  await assertNoLeaks(() => {
    const inputs = [tf.zeros([2, 16]), tf.ones([2, 16])] as tf.Tensor2D[];
    const out = runSequence("lstm", inputs, lstmWh, lstmStart);
    tf.dispose([...inputs, ...out.outputs, ...out.state]);
  }, { warmup: 1 });
});
