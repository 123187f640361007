import * as tf from "@tensorflow/tfjs";
import { assertNoLeaks, tinyMnist } from "@simple-nets/core/testing";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "./testdata/assert.ts";
import { smoothGrad, vanillaGradient } from "./gradients.ts";
import { createCnn, imagesToTensor } from "./model.ts";

// A linear model z = flatten(x)·W + b has closed-form input gradients:
// ∂z_y/∂x = W[:, y] and ∂CE/∂x = W·(softmax(z) − onehot(y)).
const W = tf.tensor2d([[1, -2, 0.5], [0.3, 0.1, -1], [2, 0, 1], [-1, 1, 0.2]]);
const linear = (x: tf.Tensor4D) => tf.matMul(x.reshape([x.shape[0], 4]), W) as tf.Tensor2D;
const X = tf.tensor4d([0.1, -0.3, 0.2, 0.5, 1, 0, -1, 0.4], [2, 2, 2, 1]);

Deno.test("vanillaGradient() of a linear model is its weight column (logit) or W·(p − y) (loss)", () => {
  const logit = vanillaGradient(linear, X, [2, 0], { of: "logit" });
  assertEquals(Array.from(logit.dataSync()), [0.5, -1, 1, 0.2, 1, 0.3, 2, -1].map(Math.fround));
  const loss = vanillaGradient(linear, X, [2, 0]);
  const expected = tf.tidy(() => {
    const p = tf.softmax(linear(X));
    return tf.matMul(p.sub(tf.oneHot(tf.tensor1d([2, 0], "int32"), 3)), W.transpose()).dataSync();
  });
  const got = loss.dataSync();
  expected.forEach((v, i) => assertAlmostEquals(got[i], v, 1e-6));
  tf.dispose([logit, loss]);
});

Deno.test("vanillaGradient() of the CNN matches central finite differences of its loss and logit", () => {
  const cnn = createCnn({}, { seed: 3 });
  // Continuous random inputs: digits have flat backgrounds where max-pooling ties and is not differentiable.
  const x = tf.randomNormal([2, 28, 28, 1], 0, 1, "float32", 5) as tf.Tensor4D;
  const labels = [3, 7];
  for (const  of of["loss", "logit"] as const) {
    const grad = vanillaGradient(cnn, x, labels, { of });
    const target = (input: tf.Tensor4D) =>
      tf.tidy(() => {
        const picked = tf.mul(
          tf.oneHot(tf.tensor1d(labels, "int32"), 10),
          of === "loss" ? tf.logSoftmax(cnn.predict(input)) : cnn.predict(input),
        );
        return (of === "loss" ? -1 : 1) * tf.sum(picked).dataSync()[0];
      });
    // Directional derivatives along the gradient itself and along a random direction, against g·d.
    const random = tf.randomNormal(x.shape, 0, 1, "float32", 6);
    for (const direction of [grad, random]) {
      const d = tf.tidy(() => direction.div(tf.norm(direction)));
      const expected = tf.tidy(() => tf.sum(tf.mul(grad, d)).dataSync()[0]);
      const eps = 1e-2;
      const numeric = (target(tf.tidy(() => x.add(d.mul(eps)))) - target(tf.tidy(() => x.sub(d.mul(eps))))) /
        (2 * eps);
      const scale = tf.tidy(() => tf.norm(grad).dataSync()[0]);
      assertAlmostEquals(
        numeric,
        expected,
        0.01 * scale,
        `${of}, along ${direction === grad ? "the gradient" : "a random direction"}`,
      );
      d.dispose();
    }
    tf.dispose([grad, random]);
  }
  x.dispose();
  cnn.dispose();
});

Deno.test("vanillaGradient() gives the same maps in any batch size, and abs gives magnitudes", () => {
  const a = vanillaGradient(linear, X, [1, 2]);
  const b = vanillaGradient(linear, X, [1, 2], { batchSize: 1 });
  const c = vanillaGradient(linear, X, [1, 2], { abs: true });
  assertEquals(Array.from(a.dataSync()), Array.from(b.dataSync()));
  assertEquals(Array.from(c.dataSync()), Array.from(a.dataSync(), Math.abs));
  tf.dispose([a, b, c]);
});

Deno.test("smoothGrad() with zero noise equals the vanilla gradient", () => {
  const v = vanillaGradient(linear, X, [0, 1]);
  const s = smoothGrad(linear, X, [0, 1], { samples: 3, noise: 0 });
  const vs = v.dataSync(), ss = s.dataSync();
  vs.forEach((value, i) => assertAlmostEquals(ss[i], value, 1e-6));
  tf.dispose([v, s]);
});

Deno.test("smoothGrad() is the mean gradient over noisy copies: squared maps are >= the squared mean", () => {
  const f = (x: tf.Tensor4D) => tf.square(x).reshape([x.shape[0], 4]) as tf.Tensor2D; // ∂z_j/∂x_j = 2x_j
  const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
  const mean = smoothGrad(f, x, [3], { samples: 400, noise: 0.1, of: "logit" }).dataSync();
  // Only pixel 3 moves the logit; the mean of 2(x + ε) is 2x up to the noise's mean (std 0.3 / √400).
  assertEquals(Array.from(mean.slice(0, 3)), [0, 0, 0]);
  assertAlmostEquals(mean[3], 6, 0.1);
  const squared = smoothGrad(f, x, [3], { samples: 400, noise: 0.1, of: "logit", squared: true }).dataSync();
  assertOk(squared[3] >= mean[3] ** 2 - 1e-4);
  x.dispose();
});

Deno.test("smoothGrad() maps do not depend on batching, and the seed decides the noise", () => {
  const cnn = createCnn({ digits: [0, 1] }, { seed: 2 });
  const x = imagesToTensor(tinyMnist(3).images, cnn.config);
  const options = { samples: 6, of: "logit" as const };
  const whole = smoothGrad(cnn, x, [0, 1, 1], options);
  const rows4 = smoothGrad(cnn, x, [0, 1, 1], { ...options, batchSize: 4 }); // sample chunks of one image
  const rows12 = smoothGrad(cnn, x, [0, 1, 1], { ...options, batchSize: 12 }); // two images per pass
  const other = smoothGrad(cnn, x, [0, 1, 1], { ...options, seed: 2 });
  const w = whole.dataSync();
  for (const t of [rows4, rows12]) t.dataSync().forEach((v, i) => assertAlmostEquals(v, w[i], 1e-5));
  assertOk(other.dataSync().some((v, i) => Math.abs(v - w[i]) > 1e-4), "another seed gives other noise");
  tf.dispose([x, whole, rows4, rows12, other]);
  cnn.dispose();
});

Deno.test("vanillaGradient() and smoothGrad() leak no tensors", async () => {
  await assertNoLeaks(() => {
    vanillaGradient(linear, X, [0, 1], { batchSize: 1 }).dispose();
    smoothGrad(linear, X, [0, 1], { samples: 3, batchSize: 2 }).dispose();
  });
});

Deno.test("saliency functions reject bad inputs with clear errors", () => {
  assertThrows(
    () => vanillaGradient(linear, X, [0]),
    RangeError,
    "labels has 1 entries, expected one per image (2)",
  );
  assertThrows(
    () => vanillaGradient(linear, X, [0, 3]),
    RangeError,
    "label 3 is out of range for a model with 3 classes",
  );
  assertThrows(() => vanillaGradient(linear, X, [0, -1]), RangeError, "labels[1] is -1");
  assertThrows(
    () => vanillaGradient(linear, X.reshape([2, 4]) as never, [0, 1]),
    TypeError,
    "expected [batch",
  );
  assertThrows(() => smoothGrad(linear, X, [0, 1], { samples: 0 }), RangeError, "samples is 0");
  assertThrows(() => smoothGrad(linear, X, [0, 1], { noise: -1 }), RangeError, "noise is -1");
  assertThrows(() => vanillaGradient({} as never, X, [0, 1]), TypeError, "neither a logits function");
  const flat = (x: tf.Tensor4D) => x.reshape([-1]) as unknown as tf.Tensor2D;
  assertThrows(() => vanillaGradient(flat, X, [0, 1]), TypeError, "expected logits [2, classes]");
});
