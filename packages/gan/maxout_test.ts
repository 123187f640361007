import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { Maxout, maxout } from "./maxout.ts";

// Two inputs, two units of three pieces (unit-major columns 0-2 and 3-5).
const K = [[1, 0, -1, 2, 0.5, 0.5], [0, 1, 1, -1, 0.25, -0.5]];
const B = [0, 0.5, 0, 0, 0, 2];
const X = [[1, 2], [-1, 0]];
// By hand: x·K + b is [1, 2.5, 1 | 0, 1, 1.5] for the first row and [-1, 0.5, 1 | -2, -0.5, 1.5]
// for the second, so the maxima are pieces 1 and 2 of row one, pieces 2 and 2 of row two.
const Y = [[2.5, 1.5], [1, 1.5]];
// L = Σ_rows 2·y0 + 3·y1. Only the winning columns get gradient:
// dL/dK[:, 1] = 2·x1, dL/dK[:, 2] = 2·x2, dL/dK[:, 5] = 3·x1 + 3·x2.
const DK = [[0, 2, -2, 0, 0, 0], [0, 4, 0, 0, 0, 6]];
const DB = [0, 2, 2, 0, 0, 6];
// dL/dx = 2·K[:, winner of unit 0] + 3·K[:, winner of unit 1].
const DX = [[1.5, 0.5], [-0.5, 0.5]];

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function close(actual: number[][] | number[], expected: number[][] | number[], tol = 1e-6): void {
  const a = actual.flat(), e = expected.flat();
  assert.deepEqual(a.length, e.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - e[i]) <= tol, `value ${i}: ${v}, expected ${e[i]}`));
}

Deno.test("maxout() matches a hand computation of its output", () => {
  const y = tf.tidy(() => maxout(tf.tensor2d(X), tf.tensor2d(K), tf.tensor1d(B), 3).arraySync());
  close(y, Y);
});

Deno.test("maxout() gradients match a hand computation for input, kernel and bias", () => {
  const [dx, dk, db] = tf.tidy(() => {
    const weights = tf.tensor2d([[2, 3], [2, 3]]);
    const f = (x: tf.Tensor, k: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(maxout(x as tf.Tensor2D, k as tf.Tensor2D, b as tf.Tensor1D, 3), weights));
    return tf.grads(f)([tf.tensor2d(X), tf.tensor2d(K), tf.tensor1d(B)]).map((g) => g.arraySync());
  });
  close(dx as number[][], DX);
  close(dk as number[][], DK);
  close(db as number[], DB);
});

Deno.test("maxout() gradients agree with finite differences on random inputs", () => {
  tf.tidy(() => {
    const x = tf.randomNormal([3, 4], 0, 1, "float32", 1) as tf.Tensor2D;
    const k = tf.randomNormal([4, 6], 0, 1, "float32", 2) as tf.Tensor2D;
    const b = tf.randomNormal([6], 0, 1, "float32", 3) as tf.Tensor1D;
    const w = tf.randomNormal([3, 3], 0, 1, "float32", 4);
    const loss = (kk: tf.Tensor) => tf.sum(tf.mul(maxout(x, kk as tf.Tensor2D, b, 2), w));
    const analytic = tf.grad(loss)(k).dataSync();
    const base = k.dataSync();
    const eps = 1e-2;
    for (let i = 0; i < base.length; i++) {
      const plus = base.slice(), minus = base.slice();
      plus[i] += eps;
      minus[i] -= eps;
      const numeric =
        (loss(tf.tensor2d(plus, [4, 6])).dataSync()[0] - loss(tf.tensor2d(minus, [4, 6])).dataSync()[0]) /
        (2 * eps);
      assert.ok(
        Math.abs(numeric - analytic[i]) < 1e-2,
        `kernel[${i}]: numeric ${numeric}, analytic ${analytic[i]}`,
      );
    }
  });
});

Deno.test("maxout() with one piece is a linear layer", () => {
  const [y, linear] = tf.tidy(() => {
    const x = tf.tensor2d(X), k = tf.tensor2d(K), b = tf.tensor1d(B);
    return [maxout(x, k, b, 1).arraySync(), tf.add(tf.matMul(x, k), b).arraySync() as number[][]];
  });
  close(y, linear);
});

Deno.test("maxout() rejects bad pieces and mismatched shapes with clear errors", () => {
  tf.tidy(() => {
    const x = tf.tensor2d(X), k = tf.tensor2d(K), b = tf.tensor1d(B);
    assert.throws(() => maxout(x, k, b, 4), {
      name: "RangeError",
      message: new RegExp(escape("6 columns: expected a multiple of 4")),
    });
    assert.throws(() => maxout(x, k, b, 0), { name: "RangeError", message: new RegExp(escape("0 pieces")) });
    assert.throws(() => maxout(tf.zeros([2, 3]) as tf.Tensor2D, k, b, 3), {
      name: "TypeError",
      message: new RegExp(escape("expected input [batch, 2]")),
    });
    assert.throws(() => maxout(x, k, tf.zeros([5]) as tf.Tensor1D, 3), {
      name: "TypeError",
      message: new RegExp(escape("bias [6]")),
    });
  });
});

Deno.test("maxout() leaks no tensors", async () => {
  const x = tf.tensor2d(X), k = tf.tensor2d(K), b = tf.tensor1d(B);
  await assertNoLeaks(() => maxout(x, k, b, 3).dispose());
  tf.dispose([x, k, b]);
});

Deno.test("Maxout layer computes the hand-computed values with given weights", () => {
  const layer = new Maxout({ units: 2, pieces: 3, inputShape: [2] });
  const model = tf.sequential({ layers: [layer] });
  model.setWeights([tf.tensor2d(K), tf.tensor1d(B)]);
  const y = model.predict(tf.tensor2d(X)) as tf.Tensor;
  close(y.arraySync() as number[][], Y);
  assert.deepEqual(layer.computeOutputShape([null, 2]), [null, 2]);
  model.dispose();
});

Deno.test("Maxout layer saves and loads back in a TF.js Layers model with the same outputs", async () => {
  const model = tf.sequential({
    layers: [
      new Maxout({ units: 4, pieces: 3, inputShape: [5], seed: 7, initLimit: 0.5, name: "mx" }),
      tf.layers.dense({ units: 2 }),
    ],
  });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler((artifacts) => {
    saved = artifacts;
    return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } });
  }));
  const topology = JSON.stringify(saved!.modelTopology);
  assert.ok(topology.includes('"class_name":"Maxout"') && topology.includes('"pieces":3'), topology);
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  const x = tf.randomNormal([3, 5], 0, 1, "float32", 3);
  close(
    (loaded.predict(x) as tf.Tensor).arraySync() as number[][],
    (model.predict(x) as tf.Tensor).arraySync() as number[][],
    0,
  );
  const config = loaded.layers[0].getConfig();
  assert.deepEqual([config.units, config.pieces, config.initLimit, config.seed], [4, 3, 0.5, 7]);
  tf.dispose([x]);
  model.dispose();
  loaded.dispose();
});

Deno.test("Maxout layer starts with seeded U(±initLimit) kernels and zero biases", () => {
  const make = () => {
    const model = tf.sequential({ layers: [new Maxout({ units: 3, pieces: 2, inputShape: [4], seed: 5 })] });
    const [k, b] = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    return { k, b };
  };
  const a = make(), again = make();
  assert.deepEqual(a.k, again.k);
  assert.ok(a.k.every((v) => Math.abs(v) <= 0.005) && a.k.some((v) => v !== 0));
  assert.deepEqual(a.b, [0, 0, 0, 0, 0, 0]);
});

Deno.test("Maxout layer rejects impossible settings", () => {
  assert.throws(() => new Maxout({ units: 0 }), {
    name: "RangeError",
    message: new RegExp(escape("units 0")),
  });
  assert.throws(() => new Maxout({ units: 2, pieces: 1.5 }), {
    name: "RangeError",
    message: new RegExp(escape("pieces 1.5")),
  });
  assert.throws(() => new Maxout({ units: 2, initLimit: -1 }), {
    name: "RangeError",
    message: new RegExp(escape("initLimit -1")),
  });
});

Deno.test("maxout() gives a tie's gradient to every tied piece, as tf.max does", () => {
  const [mine, tfMax] = tf.tidy(() => {
    const x = tf.tensor2d([[1, 2]]);
    const k = tf.tensor2d([[1, 1, 0], [0, 0, 1]]); // x·k + b = [1, 1, 1]: all three pieces tie
    const b = tf.tensor1d([0, 0, -1]);
    const f = (kk: tf.Tensor) => tf.sum(maxout(x, kk as tf.Tensor2D, b, 3));
    const g = (kk: tf.Tensor) => tf.sum(tf.max(tf.reshape(tf.add(tf.matMul(x, kk), b), [1, 1, 3]), 2));
    return [tf.grad(f)(k).arraySync(), tf.grad(g)(k).arraySync()];
  });
  assert.deepEqual(mine, [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(mine, tfMax);
});
