import * as tf from "@tensorflow/tfjs";
import { loadEmbeddedMnist } from "@simple-nets/core";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { assertEquals, assertOk, assertThrows } from "./testdata/assert.ts";
import { createCnn, selectDigits } from "./model.ts";
import { evaluateCnn, trainCnn } from "./train.ts";

// A tiny 0/1 model (2 and 4 filters): the cpu backend's filter gradient is slow.
const { train, test } = loadEmbeddedMnist();
const zeroOne = selectDigits(train!, [0, 1]);
const small = {
  ...zeroOne,
  images: zeroOne.images.slice(0, 64 * 784),
  labels: zeroOne.labels.slice(0, 64),
  count: 64,
};
const testSet = selectDigits(test!, [0, 1]);
const config = { digits: [0, 1], filters: [2, 4] as [number, number] };

Deno.test("trainCnn() lowers the loss and raises test accuracy on real digits", async () => {
  const cnn = createCnn(config, { seed: 1 });
  const before = evaluateCnn(cnn, testSet);
  const losses: number[] = [];
  // 4 epochs at 3e-3: above 96% on the 0/1 test digits for each of seeds 1-8 (2 epochs at 1e-3
  // reached 80% for one seed in eight)
  const result = await trainCnn(cnn, small, {
    epochs: 4,
    batchSize: 16,
    lr: 3e-3,
    test: testSet,
    logEvery: 1,
    onEvent: (e) => e.type === "step" && losses.push(e.losses.loss),
  });
  assertEquals(result.steps, 16);
  assertOk(
    losses.slice(-2).reduce((a, b) => a + b) < losses.slice(0, 2).reduce((a, b) => a + b),
    `losses ${losses}`,
  );
  assertOk(
    result.evaluation.testAccuracy > Math.max(0.9, before.accuracy),
    `accuracy ${result.evaluation.testAccuracy}`,
  );
  assertOk(result.evaluation.testLoss < before.loss);
  cnn.dispose();
});

Deno.test("trainCnn() gives the same losses and weights for the same seed", async () => {
  const run = async (seed: number) => {
    const cnn = createCnn(config, { seed: 1 });
    const losses: number[] = [];
    await trainCnn(cnn, { ...small, count: 32 }, {
      epochs: 1,
      batchSize: 16,
      seed,
      logEvery: 1,
      onEvent: (e) => e.type === "step" && losses.push(e.losses.loss),
    });
    const weights = Array.from(cnn.params["output/kernel"].dataSync());
    cnn.dispose();
    return { losses, weights };
  };
  const [a, b, c] = [await run(3), await run(3), await run(4)];
  assertEquals(a, b);
  assertOk(a.losses.some((l, i) => l !== c.losses[i]), "another seed shuffles and drops out differently");
});

Deno.test("trainCnn() leaks no tensors across runs", async () => {
  const cnn = createCnn(config, { seed: 1 });
  const one = { ...small, count: 8 };
  await assertNoLeaks(() => trainCnn(cnn, one, { epochs: 1, batchSize: 8 }), { warmup: 1, repeats: 2 });
  cnn.dispose();
});

Deno.test("evaluateCnn() counts correct predictions", () => {
  const cnn = createCnn(config, { seed: 1 });
  // Make class 1 win everywhere: zero kernel, bias (0, 1).
  cnn.setWeights("output", [tf.zeros([196, 2]), tf.tensor1d([0, 1])]);
  const e = evaluateCnn(cnn, testSet, { batchSize: 100 });
  const ones = Array.from(testSet.labels).filter((y) => y === 1).length;
  assertEquals(e.accuracy, ones / testSet.count);
  assertEquals(e.predictions.every((p) => p === 1), true);
  cnn.dispose();
});

Deno.test("trainCnn() and evaluateCnn() reject labels that are not class indices", async () => {
  const cnn = createCnn(config);
  assertThrows(() => evaluateCnn(cnn, test!), RangeError, "is not a class index 0..1");
  await trainCnn(cnn, train!, { epochs: 1 }).then(
    () => assertOk(false, "expected an error"),
    (e) => assertOk(e instanceof RangeError && e.message.includes("the training set label"), e.message),
  );
  cnn.dispose();
});
