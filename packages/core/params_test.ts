import assert, { deepEqual as assertEquals } from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CheckpointError } from "./checkpoint.ts";
import {
  assignParams,
  countParams,
  disposeParams,
  makeParams,
  normalTensor,
  paramShapes,
  paramsMap,
  restoreOptimizer,
  uniformTensor,
} from "./params.ts";
import { Rng } from "./rng.ts";

await tf.setBackend("cpu");

Deno.test("makeParams keeps logical names as keys, gives unique variable names and disposes the initial tensors", () => {
  const before = tf.memory().numTensors;
  const init = () => ({ "enc/kernel": tf.ones([2, 3]), "enc/bias": tf.zeros([3]) });
  const first = init();
  const a = makeParams(first, "vae");
  const b = makeParams(init(), "vae"); // TF.js would refuse a second variable of the same name
  assertEquals(Object.keys(a), ["enc/kernel", "enc/bias"]);
  const names = [...Object.values(a), ...Object.values(b)].map((v) => v.name);
  assert.equal(new Set(names).size, 4, names.join(", "));
  assert(names.every((n) => n.startsWith("vae_")));
  assert(Object.values(first).every((t) => t.isDisposed));
  assert(Object.values(a).every((v) => v.trainable));
  assertEquals(Array.from(a["enc/kernel"].dataSync()), [1, 1, 1, 1, 1, 1]);
  assertEquals(paramShapes(a), { "enc/kernel": [2, 3], "enc/bias": [3] });
  assert.equal(countParams(a), 9);
  assertEquals(Object.keys(paramsMap(a)), ["enc/kernel", "enc/bias"]);
  assert.equal(paramsMap(a)["enc/bias"], a["enc/bias"]);
  assert.equal(tf.memory().numTensors, before + 4);
  disposeParams(a);
  disposeParams(b);
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("uniformTensor and normalTensor draw from the given generator", () => {
  const u = uniformTensor(new Rng(1), [50, 40], 0.1);
  assertEquals(u.shape, [50, 40]);
  const values = u.dataSync();
  assert(values.every((v) => v >= -0.1 && v < 0.1));
  assertEquals(Array.from(uniformTensor(new Rng(1), [50, 40], 0.1).dataSync()), Array.from(values));
  const n = normalTensor(new Rng(2), [10_000], 1, 0.5);
  const mean = tf.tidy(() => n.mean().dataSync()[0]);
  const std = tf.tidy(() => n.sub(mean).square().mean().sqrt().dataSync()[0]);
  assert(Math.abs(mean - 1) < 0.02 && Math.abs(std - 0.5) < 0.02, `mean ${mean}, std ${std}`);
  tf.dispose([u, n]);
});

Deno.test("assignParams assigns matching weights and refuses missing, extra or misshapen ones", () => {
  const params = makeParams({ w: tf.zeros([2, 2]), b: tf.zeros([2]) }, "lin");
  const w = tf.tensor2d([[1, 2], [3, 4]]), b = tf.tensor1d([5, 6]);
  assignParams(params, { w, b }, "run/checkpoint");
  assertEquals(Array.from(params.w.dataSync()), [1, 2, 3, 4]);
  assertEquals(Array.from(params.b.dataSync()), [5, 6]);
  const wrong = tf.zeros([2, 3]);
  const cases: [tf.NamedTensorMap, string][] = [
    [{ w }, 'Cannot use checkpoint run/checkpoint: weight "b" is missing'],
    [{ w, b, extra: b }, 'Cannot use checkpoint run/checkpoint: unexpected weight "extra"'],
    [{ w: wrong, b }, 'Cannot use checkpoint run/checkpoint: weight "w" has shape [2,3], expected [2,2]'],
  ];
  for (const [weights, message] of cases) {
    assert.throws(() => assignParams(params, weights, "run/checkpoint"), new CheckpointError(message));
  }
  // Nothing was assigned by the refused calls.
  assertEquals(Array.from(params.w.dataSync()), [1, 2, 3, 4]);
  tf.dispose([w, b, wrong]);
  disposeParams(params);
});

/** A variable and an Adam optimizer that has taken `steps` steps on it. */
function trained(steps: number) {
  const params = makeParams({ w: tf.tensor1d([1, -2, 3]) }, "opt");
  const optimizer = tf.train.adam(0.1);
  for (let i = 0; i < steps; i++) {
    optimizer.minimize(() => tf.tidy(() => params.w.square().sum() as tf.Scalar));
  }
  return { params, optimizer };
}

Deno.test("restoreOptimizer copies the state, leaves the given tensors to the caller and no stray tensors", async () => {
  const source = trained(3);
  const saved = await source.optimizer.getWeights();
  const before = tf.memory().numTensors;
  const fresh = tf.train.adam(0.1); // two tensors: its beta accumulators
  await restoreOptimizer(fresh, saved);
  // The two moments of the one variable, nothing else.
  assert.equal(tf.memory().numTensors, before + 2 + 2);
  assert(saved.every((w) => !w.tensor.isDisposed));
  const restored = await fresh.getWeights();
  assertEquals(restored.map((w) => w.name), saved.map((w) => w.name));
  assertEquals(
    restored.map((w) => Array.from(w.tensor.dataSync())),
    saved.map((w) => Array.from(w.tensor.dataSync())),
  );
  tf.dispose(restored[0].tensor);
  fresh.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose(saved[0].tensor);
  source.optimizer.dispose();
  disposeParams(source.params);
});

Deno.test("restoreOptimizer into an optimizer that already has state leaves no stray tensors", async () => {
  const source = trained(3);
  const saved = await source.optimizer.getWeights();
  const target = trained(2);
  const before = tf.memory().numTensors;
  await restoreOptimizer(target.optimizer, saved);
  assert.equal(tf.memory().numTensors, before);
  // The restored optimizer continues exactly like the source.
  target.params.w.assign(source.params.w);
  for (const { params, optimizer } of [source, target]) {
    optimizer.minimize(() => tf.tidy(() => params.w.square().sum() as tf.Scalar));
  }
  assertEquals(Array.from(target.params.w.dataSync()), Array.from(source.params.w.dataSync()));
  tf.dispose(saved[0].tensor);
  for (const { params, optimizer } of [source, target]) {
    optimizer.dispose();
    disposeParams(params);
  }
});
