import assert, { deepEqual as assertEquals } from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { loadEmbeddedMnist } from "./data/mnist.ts";
import { assertNoLeaks, FASHION_MNIST_DIR, hasFashionMnist, tinyMnist } from "./testing.ts";

await tf.setBackend("cpu");

Deno.test("assertNoLeaks passes a tidy function and names the leak of a leaking one", async () => {
  await assertNoLeaks(() => tf.tidy(() => tf.ones([2]).add(1)).dispose());
  const kept: tf.Tensor[] = [];
  const base = tf.memory().numTensors;
  // One warm-up call, then two counted calls; each leaks the result and its `ones` input.
  const leaking = assertNoLeaks(() => kept.push(tf.ones([2]).add(1)), { warmup: 1, repeats: 2 });
  await assert.rejects(
    leaking,
    new Error(`Tensor leak: 4 tensors more after 2 calls (${base + 2} → ${base + 6})`),
  );
  tf.dispose(kept);
});

Deno.test("assertNoLeaks ignores what the warm-up creates once, such as lazily made optimizer state", async () => {
  const v = tf.variable(tf.ones([3]));
  const optimizer = tf.train.adam(0.1);
  let calls = 0;
  await assertNoLeaks(async () => {
    calls++;
    optimizer.minimize(() => v.square().sum() as tf.Scalar);
    await Promise.resolve();
  });
  assert.equal(calls, 5);
  optimizer.dispose();
  v.dispose();
});

Deno.test("tinyMnist copies the first embedded training digits", () => {
  const train = loadEmbeddedMnist().train!;
  const tiny = tinyMnist(3, 2);
  assertEquals([tiny.count, tiny.rows, tiny.cols, tiny.images.length], [3, 28, 28, 3 * 784]);
  assertEquals(tiny.labels, train.labels.slice(2, 5));
  assertEquals(tiny.images, train.images.slice(2 * 784, 5 * 784));
  tiny.images[0] = 0.5;
  assert.notEqual(train.images[2 * 784], 0.5);
});

Deno.test("hasFashionMnist says whether Debian's files are where FASHION_MNIST_DIR says", async () => {
  const present = await Deno.stat(`${FASHION_MNIST_DIR}/train-images-idx3-ubyte.gz`).then(
    () => true,
    () => false,
  );
  assert.equal(hasFashionMnist(), present);
});
