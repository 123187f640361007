import * as tf from "@tensorflow/tfjs";
import { Rng } from "@simple-nets/core";
import { assertNoLeaks, tinyMnist } from "@simple-nets/core/testing";
import { assertAlmostEquals, assertEquals, assertOk, assertThrows } from "./testdata/assert.ts";
import { cnnShapes, createCnn, DEFAULT_CNN_CONFIG, imagesToTensor, selectDigits } from "./model.ts";

Deno.test("createCnn() builds the issue's network: shapes, logits and PyTorch's U(±1/√fan_in) init", () => {
  const cnn = createCnn({}, { seed: 1 });
  assertEquals(cnn.classes, 10);
  assertEquals(cnnShapes(cnn.config), {
    "conv1/kernel": [5, 5, 1, 16],
    "conv1/bias": [16],
    "conv2/kernel": [5, 5, 16, 32],
    "conv2/bias": [32],
    "output/kernel": [1568, 10],
    "output/bias": [10],
  });
  for (const [name, fanIn] of [["conv1", 25], ["conv2", 400], ["output", 1568]] as const) {
    for (const part of ["kernel", "bias"]) {
      const values = Array.from(cnn.params[`${name}/${part}`].dataSync());
      const bound = 1 / Math.sqrt(fanIn);
      const max = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assertOk(max <= bound && max > 0.9 * bound, `${name}/${part}: max |w| ${max}, bound ${bound}`);
    }
  }
  const logits = tf.tidy(() => cnn.predict(tf.zeros([3, 28, 28, 1])));
  assertEquals(logits.shape, [3, 10]);
  tf.dispose(logits);
  cnn.dispose();
});

Deno.test("createCnn() is deterministic for a seed and differs between seeds", () => {
  const [a, b, c] = [createCnn({}, { seed: 4 }), createCnn({}, { seed: 4 }), createCnn({}, { seed: 5 })];
  const w = (m: typeof a) => Array.from(m.params["conv2/kernel"].dataSync());
  assertEquals(w(a), w(b));
  assertOk(w(a).some((v, i) => v !== w(c)[i]));
  [a, b, c].forEach((m) => m.dispose());
});

Deno.test("Cnn.forward() applies seeded dropout in training mode only", () => {
  const cnn = createCnn({ digits: [0, 1], dropout: 0.5 }, { seed: 1 });
  const x = imagesToTensor(tinyMnist(4).images);
  const run = (training: boolean, seed: number) =>
    tf.tidy(() => Array.from(cnn.forward(x, { training, rng: new Rng(seed) }).dataSync()));
  assertEquals(run(true, 1), run(true, 1));
  assertOk(run(true, 1).some((v, i) => v !== run(true, 2)[i]));
  assertEquals(run(false, 1), run(false, 2));
  assertEquals(run(false, 1), tf.tidy(() => Array.from(cnn.predict(x).dataSync())));
  assertThrows(() => cnn.forward(x, { training: true }), TypeError, "needs options.rng");
  x.dispose();
  cnn.dispose();
});

Deno.test("Cnn.forward() leaks no tensors", async () => {
  const cnn = createCnn({ digits: [0, 1], filters: [2, 4] });
  const x = imagesToTensor(tinyMnist(2).images);
  await assertNoLeaks(() => {
    cnn.forward(x, { training: true, rng: new Rng(1) }).dispose();
    cnn.predict(x).dispose();
  });
  x.dispose();
  cnn.dispose();
});

Deno.test("Cnn weights of a layer can be read and replaced, with shapes checked", () => {
  const cnn = createCnn({ digits: [0, 1] });
  const [kernel] = cnn.getWeights("output");
  assertEquals(kernel.shape, [1568, 2]);
  cnn.setWeights("output", [tf.zeros([1568, 2]), tf.ones([2])]);
  assertEquals(Array.from(cnn.params["output/bias"].dataSync()), [1, 1]);
  assertThrows(() => cnn.getWeights("conv3"), RangeError, 'Cnn has no layer "conv3"');
  assertThrows(
    () => cnn.setWeights("output", [tf.zeros([2, 2]), tf.ones([2])]),
    TypeError,
    "expected [1568,2]",
  );
  assertThrows(() => cnn.setWeights("output", [tf.ones([2])]), TypeError, "expected 2 (kernel, bias)");
  cnn.dispose();
});

Deno.test("createCnn() and forward() reject bad configs and inputs", () => {
  assertThrows(() => createCnn({ digits: [3] }), RangeError, "CnnConfig.digits is [3]");
  assertThrows(() => createCnn({ digits: [1, 1] }), RangeError, "distinct");
  assertThrows(() => createCnn({ filters: [16, 0] }), RangeError, "CnnConfig.filters is [16,0]");
  assertThrows(() => createCnn({ kernelSize: 4 }), RangeError, "CnnConfig.kernelSize is 4");
  assertThrows(() => createCnn({ dropout: 1 }), RangeError, "CnnConfig.dropout is 1");
  const cnn = createCnn();
  assertThrows(() => cnn.predict(tf.zeros([1, 28, 28, 3]) as tf.Tensor4D), TypeError, "shape [1,28,28,3]");
  cnn.dispose();
});

Deno.test("selectDigits() keeps the chosen labels, in order, renumbered to class indices", () => {
  const set = tinyMnist(50);
  const picked = selectDigits(set, [7, 1]);
  const expected = Array.from(set.labels).filter((y) => y === 7 || y === 1);
  assertEquals(Array.from(picked.labels), expected.map((y) => (y === 7 ? 0 : 1)));
  const first = Array.from(set.labels).findIndex((y) => y === 7 || y === 1);
  assertEquals(picked.images.subarray(0, 784), set.images.subarray(first * 784, (first + 1) * 784));
});

Deno.test("imagesToTensor() normalises with MNIST's mean and std", () => {
  const x = imagesToTensor(new Float32Array(784).fill(1));
  assertAlmostEquals(x.dataSync()[0], (1 - 0.1307) / 0.3081, 1e-6);
  assertEquals(x.shape, [1, 28, 28, 1]);
  x.dispose();
  assertEquals(DEFAULT_CNN_CONFIG.mean, 0.1307);
  assertThrows(() => imagesToTensor(new Float32Array(100)), TypeError, "got 100 pixels");
});
