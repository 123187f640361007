import * as tf from "@tensorflow/tfjs";
import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { adam, FusedAdam } from "./adam.ts";
import { useBackend } from "./backend.ts";
import { Rng } from "./rng.ts";
import { assertNoLeaks } from "./testing.ts";

await useBackend("wasm");

/** A least-squares problem with two weights of different shapes, so that Adam's steps differ per element. */
function problem(seed: number) {
  const rng = new Rng(seed);
  const data = (n: number) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  const x = tf.tensor2d(data(32 * 6), [32, 6]), y = tf.tensor2d(data(32 * 3), [32, 3]);
  const w = tf.variable(tf.tensor2d(data(18), [6, 3]), true, `adam_test_w${seed}`);
  const b = tf.variable(tf.tensor1d(data(3)), true, `adam_test_b${seed}`);
  const loss = () => tf.mean(tf.square(tf.sub(tf.add(tf.matMul(x, w), b), y))) as tf.Scalar;
  return { w, b, loss, dispose: () => tf.dispose([x, y, w, b]) };
}

/** The weights after `steps` steps of the optimizer from `make`, on `backend`. */
async function train(backend: string, make: () => tf.Optimizer, steps: number) {
  await tf.setBackend(backend);
  const p = problem(1);
  const optimizer = make();
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(optimizer.minimize(p.loss, true)!.dataSync()[0]);
  const weights = [p.w.dataSync().slice(), p.b.dataSync().slice()];
  const state = (await optimizer.getWeights()).map((w) => w.tensor.dataSync().slice());
  optimizer.dispose();
  p.dispose();
  return { losses, weights, state };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 1e-6): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert(
      err <= tol * Math.max(1, Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]}, expected ${expected[i]}`,
    );
  }
}

for (const backend of ["wasm", "cpu"]) {
  Deno.test(`adam() follows tf.train.adam step for step on ${backend} (weights, moments, losses)`, async () => {
    for (const epsilon of [1e-8, undefined]) {
      const fused = await train(backend, () => adam(0.05, 0.9, 0.999, epsilon), 40);
      const plain = await train(backend, () => tf.train.adam(0.05, 0.9, 0.999, epsilon), 40);
      assert(
        fused.losses[39] < fused.losses[0] / 2,
        `the loss fell: ${fused.losses[0]} → ${fused.losses[39]}`,
      );
      assertClose(fused.losses, plain.losses, "losses", 1e-5);
      fused.weights.forEach((w, i) => assertClose(w, plain.weights[i], `weight ${i}`, 1e-5));
      assertEquals(fused.state.length, plain.state.length);
      fused.state.forEach((s, i) => assertClose(s, plain.state[i], `state ${i}`, 1e-5));
    }
  });
}

Deno.test("FusedAdam restores tf.train.adam's state and continues as it would", async () => {
  await tf.setBackend("wasm");
  const run = async (second: () => tf.Optimizer) => {
    const p = problem(2);
    const first = tf.train.adam(0.05);
    for (let s = 0; s < 5; s++) first.minimize(p.loss);
    const saved = await first.getWeights();
    const next = second();
    await next.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
    first.dispose();
    for (let s = 0; s < 5; s++) next.minimize(p.loss);
    const w = p.w.dataSync().slice();
    next.dispose();
    p.dispose();
    return w;
  };
  assertClose(await run(() => adam(0.05)), await run(() => tf.train.adam(0.05)), "weights after resuming");
});

Deno.test("FusedAdam steps leak no tensors", async () => {
  await tf.setBackend("wasm");
  const p = problem(3);
  const optimizer = adam(0.01);
  assert(optimizer instanceof FusedAdam && optimizer instanceof tf.AdamOptimizer);
  await assertNoLeaks(() => optimizer.minimize(p.loss));
  optimizer.dispose();
  p.dispose();
});
