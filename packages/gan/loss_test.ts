import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { discriminatorLoss, generatorLoss } from "./loss.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

Deno.test("discriminatorLoss() is mean −log D(x) plus mean −log(1 − D(G(z)))", () => {
  const real = [0.5, -1, 2], fake = [-0.3, 1.5];
  const expected = real.reduce((s, l) => s - Math.log(sigmoid(l)), 0) / 3 +
    fake.reduce((s, l) => s - Math.log(1 - sigmoid(l)), 0) / 2;
  const loss = tf.tidy(() => discriminatorLoss(tf.tensor1d(real), tf.tensor1d(fake)).dataSync()[0]);
  assert.ok(Math.abs(loss - expected) < 1e-5, `${loss} vs ${expected}`);
});

Deno.test("generatorLoss() is the non-saturating mean −log D(G(z))", () => {
  const fake = [-2, 0, 3];
  const expected = fake.reduce((s, l) => s - Math.log(sigmoid(l)), 0) / 3;
  const loss = tf.tidy(() => generatorLoss(tf.tensor1d(fake)).dataSync()[0]);
  assert.ok(Math.abs(loss - expected) < 1e-5, `${loss} vs ${expected}`);
});

Deno.test("GAN losses stay finite with useful gradients when D saturates", () => {
  const [d, g, gradD, gradG] = tf.tidy(() => {
    const real = tf.tensor1d([-500, 500]), fake = tf.tensor1d([500, -500]);
    const gd = tf.grads((r: tf.Tensor, f: tf.Tensor) => discriminatorLoss(r, f))([real, fake]);
    const gg = tf.grad((f: tf.Tensor) => generatorLoss(f))(fake);
    return [
      discriminatorLoss(real, fake).dataSync()[0],
      generatorLoss(fake).dataSync()[0],
      [...gd[0].dataSync(), ...gd[1].dataSync()],
      [...gg.dataSync()],
    ];
  }) as [number, number, number[], number[]];
  // A sigmoid would round to exactly 0 or 1 here and give log(0) = −∞.
  assert.equal(d, (500 + 0 + 500 + 0) / 2);
  assert.equal(g, (0 + 500) / 2);
  // d/dℓ softplus(−ℓ)/n = −σ(−ℓ)/n: −1/2 at ℓ = −500, 0 at 500; d/dℓ softplus(ℓ)/n = σ(ℓ)/n.
  assert.deepEqual(gradD.map((v) => Math.round(v * 1e6) / 1e6 + 0), [-0.5, 0, 0.5, 0]);
  assert.deepEqual(gradG.map((v) => Math.round(v * 1e6) / 1e6 + 0), [0, -0.5]);
});
