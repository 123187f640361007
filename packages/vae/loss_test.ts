import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { bernoulliNll, createVae, disposeVae, gaussianKl, negativeElbo } from "./mod.ts";

Deno.test("gaussianKl() matches the closed form of KL(N(mu, s^2) || N(0, 1))", () => {
  const mu = [0.5, -1.2], logVar = [Math.log(0.3), Math.log(2)];
  const kl = gaussianKl(tf.tensor2d([mu]), tf.tensor2d([logVar]));
  let expected = 0;
  for (let i = 0; i < 2; i++) {
    const v = Math.exp(logVar[i]);
    expected += 0.5 * (v + mu[i] ** 2 - 1 - Math.log(v));
  }
  assert.ok(Math.abs(kl.dataSync()[0] - expected) < 1e-5);
  kl.dispose();
});

Deno.test("bernoulliNll() equals the BCE of sigmoid(logits) and stays finite for huge logits", () => {
  const logits = [-3, -0.5, 0, 0.7, 4], x = [0, 0.2, 0.5, 1, 0.9];
  const nll = bernoulliNll(tf.tensor2d([logits]), tf.tensor2d([x]));
  let expected = 0;
  for (let i = 0; i < 5; i++) {
    const p = 1 / (1 + Math.exp(-logits[i]));
    expected -= x[i] * Math.log(p) + (1 - x[i]) * Math.log(1 - p);
  }
  assert.ok(Math.abs(nll.dataSync()[0] - expected) < 1e-4);
  const big = bernoulliNll(tf.tensor2d([[500, -500]]), tf.tensor2d([[0, 1]]));
  assert.ok(Math.abs(big.dataSync()[0] - 1000) < 1e-3);
  tf.dispose([nll, big]);
});

Deno.test("the gradient of the negative ELBO matches finite differences", () => {
  const vae = createVae({ inputSize: 6, hidden: 5, latent: 2 }, { seed: 3 });
  const x = tf.tensor2d([[0, 0.3, 1, 0.5, 0.9, 0.1], [1, 0, 0.2, 0.4, 0.6, 0.8]]);
  const eps = tf.tensor2d([[0.3, -1.1], [0.7, 0.2]]);
  const loss = () =>
    tf.tidy(() => {
      const { reconstruction, kl } = negativeElbo(vae, x, eps);
      return tf.mean(tf.add(reconstruction, kl)) as tf.Scalar;
    });
  const names = ["enc/w", "logvar/b", "out/w"];
  const { grads } = tf.variableGrads(loss, names.map((n) => vae.params[n]));
  for (const name of names) {
    const v = vae.params[name];
    const analytic = grads[v.name].dataSync();
    const base = v.dataSync().slice();
    for (const i of [0, Math.floor(base.length / 2), base.length - 1]) {
      const h = 1e-2;
      const at = (delta: number) => {
        const copy = base.slice();
        copy[i] += delta;
        v.assign(tf.tensor(copy, v.shape));
        const l = loss();
        const value = l.dataSync()[0];
        l.dispose();
        return value;
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(base, v.shape));
      assert.ok(
        Math.abs(numeric - analytic[i]) < 2e-2 * Math.max(1, Math.abs(numeric)),
        `${name}[${i}]: numeric ${numeric}, analytic ${analytic[i]}`,
      );
    }
  }
  tf.dispose([x, eps, ...Object.values(grads)]);
  disposeVae(vae);
});

Deno.test("negativeElbo() rejects noise of the wrong shape", () => {
  const vae = createVae({ hidden: 4, latent: 3 });
  assert.throws(
    () => negativeElbo(vae, tf.zeros([2, 784]), tf.zeros([2, 2])),
    /Noise has shape \[2,2\], expected \[2, 3\]/,
  );
  assert.throws(() => negativeElbo(vae, tf.zeros([2, 10]), tf.zeros([2, 3])), /Images have shape \[2,10\]/);
  disposeVae(vae);
});
