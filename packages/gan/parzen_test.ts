import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { assertNoLeaks, tinyMnist } from "@simple-nets/core/testing";
import { meanAndStdErr, PARZEN_SIGMAS, parzenEstimate, parzenLogLikelihoods } from "./parzen.ts";

/** The definition, in float64, one pair at a time. */
function reference(x: Float32Array, centres: Float32Array, d: number, sigma: number): number[] {
  const n = x.length / d, m = centres.length / d;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const terms: number[] = [];
    for (let j = 0; j < m; j++) {
      let d2 = 0;
      for (let k = 0; k < d; k++) d2 += (x[i * d + k] - centres[j * d + k]) ** 2;
      terms.push(-d2 / (2 * sigma * sigma));
    }
    const max = Math.max(...terms);
    const lse = max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
    out.push(lse - Math.log(m) - d * Math.log(sigma * Math.sqrt(2 * Math.PI)));
  }
  return out;
}

const digits = tinyMnist(260);
const centres = digits.images.subarray(0, 200 * 784);
const images = digits.images.subarray(200 * 784);

Deno.test("PARZEN_SIGMAS is logspace(−1, 0, 10)", () => {
  assert.equal(PARZEN_SIGMAS.length, 10);
  assert.ok(Math.abs(PARZEN_SIGMAS[0] - 0.1) < 1e-15 && Math.abs(PARZEN_SIGMAS[9] - 1) < 1e-15);
  assert.ok(Math.abs(PARZEN_SIGMAS[4] - 0.2782559402207124) < 1e-12);
});

Deno.test("parzenLogLikelihoods() on real digits matches a float64 pair-by-pair computation for every σ", () => {
  const x = tf.tensor2d(images, [60, 784]), c = tf.tensor2d(centres, [200, 784]);
  const ours = parzenLogLikelihoods(x, c, PARZEN_SIGMAS, { batchSize: 17 });
  tf.dispose([x, c]);
  for (const [k, sigma] of PARZEN_SIGMAS.entries()) {
    const exact = reference(images, centres, 784, sigma);
    // Float32 distances: at σ = 0.1 an error of 1e-4 in ‖x − c‖² is 5e-3 nats.
    const worst = Math.max(...exact.map((e, i) => Math.abs(e - ours[k][i])));
    assert.ok(worst < 0.02, `σ ${sigma}: worst per-image error ${worst} nats`);
    assert.ok(
      Math.abs(meanAndStdErr(exact).mean - meanAndStdErr(ours[k]).mean) < 2e-3,
      `σ ${sigma}: mean differs`,
    );
  }
});

Deno.test("parzenLogLikelihoods() stays finite where exp(−‖x − c‖²/2σ²) underflows", () => {
  const x = tf.fill([2, 784], 1) as tf.Tensor2D, c = tf.zeros([3, 784]) as tf.Tensor2D;
  // ‖x − c‖² = 784: at σ = 0.01 every kernel is exp(−3.9e6) = 0 in any float format.
  const [ll] = parzenLogLikelihoods(x, c, [0.01]);
  tf.dispose([x, c]);
  const expected = -784 / (2 * 1e-4) - Math.log(3) - 784 * Math.log(0.01 * Math.sqrt(2 * Math.PI));
  for (const v of ll) {
    assert.ok(Number.isFinite(v) && Math.abs(v - expected) / Math.abs(expected) < 1e-6, `${v}`);
  }
});

Deno.test("parzenLogLikelihoods() gives the same values whatever the batch size", () => {
  const x = tf.tensor2d(images, [60, 784]), c = tf.tensor2d(centres, [200, 784]);
  const a = parzenLogLikelihoods(x, c, [0.2], { batchSize: 60 })[0];
  const b = parzenLogLikelihoods(x, c, [0.2], { batchSize: 7 })[0];
  tf.dispose([x, c]);
  assert.deepEqual(Array.from(a), Array.from(b));
});

Deno.test("parzenEstimate() picks the σ with the best held-out mean and scores the test images with it", () => {
  const c = tf.tensor2d(centres, [200, 784]);
  const validation = tf.tensor2d(images.subarray(0, 30 * 784), [30, 784]);
  const test = tf.tensor2d(images.subarray(30 * 784), [30, 784]);
  const result = parzenEstimate(c, { validation, test });
  const bySigma = PARZEN_SIGMAS.map((s) =>
    meanAndStdErr(reference(images.subarray(0, 30 * 784), centres, 784, s)).mean
  );
  const best = bySigma.indexOf(Math.max(...bySigma));
  assert.equal(result.sigma, PARZEN_SIGMAS[best]);
  const exact = reference(images.subarray(30 * 784), centres, 784, result.sigma);
  const { mean, stdErr } = meanAndStdErr(exact);
  assert.ok(Math.abs(result.logLikelihood - mean) < 2e-3, `${result.logLikelihood} vs ${mean}`);
  assert.ok(Math.abs(result.stdErr - stdErr) < 1e-3);
  assert.equal(result.testImages, 30);
  assert.equal(result.centres, 200);
  tf.dispose([c, validation, test]);
});

Deno.test("meanAndStdErr() uses the population standard deviation over √n", () => {
  const { mean, stdErr } = meanAndStdErr([1, 2, 3, 4]);
  assert.equal(mean, 2.5);
  assert.ok(Math.abs(stdErr - Math.sqrt(1.25) / 2) < 1e-15);
});

Deno.test("parzenLogLikelihoods() rejects bad shapes and σ and leaks no tensors", async () => {
  const x = tf.zeros([2, 3]) as tf.Tensor2D, c = tf.zeros([4, 3]) as tf.Tensor2D;
  assert.throws(() => parzenLogLikelihoods(x, tf.zeros([4, 2]) as tf.Tensor2D, [1]), TypeError);
  assert.throws(() => parzenLogLikelihoods(x, c, [0]), /σ 0 is invalid/);
  assert.throws(() => parzenLogLikelihoods(x, c, [1], { batchSize: 0 }), RangeError);
  await assertNoLeaks(() => parzenLogLikelihoods(x, c, PARZEN_SIGMAS, { batchSize: 1 }));
  tf.dispose([x, c]);
});
