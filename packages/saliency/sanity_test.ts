import * as tf from "@tensorflow/tfjs";
import { loadEmbeddedMnist } from "@simple-nets/core";
import { assertNoLeaks } from "@simple-nets/core/testing";
import { assertEquals, assertOk, assertThrows } from "./testdata/assert.ts";
import { fromLayersModel } from "./classifier.ts";
import { vanillaGradient } from "./gradients.ts";
import { type Cnn, createCnn, imagesToTensor, selectDigits } from "./model.ts";
import { randomizeLayers, sanityCheck } from "./sanity.ts";
import { trainCnn } from "./train.ts";

const { train, test } = loadEmbeddedMnist();
const testSet = selectDigits(test!, [0, 1]);

/** A small 0/1 model (2 and 4 filters) trained for 8 steps: ~95% test accuracy. */
async function trainedSmallModel(): Promise<Cnn> {
  const zeroOne = selectDigits(train!, [0, 1]);
  const cnn = createCnn({ digits: [0, 1], filters: [2, 4] }, { seed: 1 });
  await trainCnn(cnn, { ...zeroOne, count: 128 }, { epochs: 1, batchSize: 16 });
  return cnn;
}

const snapshot = (cnn: Cnn) =>
  Object.fromEntries(Object.entries(cnn.params).map(([k, v]) => [k, Array.from(v.dataSync())]));

Deno.test("sanityCheck() on a trained model: maps match themselves, and randomising the output destroys them", async () => {
  const cnn = await trainedSmallModel();
  const before = snapshot(cnn);
  const n = 6;
  const x = imagesToTensor(testSet.images.subarray(0, n * 784), cnn.config);
  const labels = testSet.labels.subarray(0, n);
  const result = sanityCheck(cnn, x, labels, { samples: 4, keepMaps: 2 });
  assertEquals(result.of, "logit");
  for (const method of ["vanilla", "smoothgrad"] as const) {
    assertEquals(result.original[method]!.spearman, 1);
    assertEquals(result.original[method]!.images, n);
    const top = result.cascading[0][method]!;
    assertOk(top.spearman! < 0.5, `${method}: ${top.spearman} after randomising the output layer`);
    assertEquals(top.images, n);
  }
  assertEquals(result.cascading.map((s) => s.layers), [["output"], ["output", "conv2"], [
    "output",
    "conv2",
    "conv1",
  ]]);
  assertEquals(result.independent.map((s) => s.layers), [["output"], ["conv2"], ["conv1"]]);
  // Each layer gets one draw per seed, so the first steps of both orders are the same model.
  assertEquals(result.cascading[0].vanilla, result.independent[0].vanilla);
  assertEquals(result.cascading[2].maps!.vanilla!.length, 2 * 784);
  assertEquals(snapshot(cnn), before, "the model is restored");
  x.dispose();
  cnn.dispose();
});

Deno.test("randomizeLayers() draws seeded U(±scale) weights and restore() puts the originals back", () => {
  const cnn = createCnn({ digits: [0, 1], filters: [2, 4] }, { seed: 1 });
  const before = snapshot(cnn);
  const a = randomizeLayers(cnn, ["conv2", "output"], { seed: 5, scale: 0.5 });
  const drawn = snapshot(cnn);
  assertEquals(drawn["conv1/kernel"], before["conv1/kernel"]);
  assertOk(
    drawn["conv2/kernel"].every((v) => Math.abs(v) <= 0.5) &&
      drawn["conv2/kernel"].some((v) => Math.abs(v) > 0.4),
  );
  a.restore();
  a.restore(); // a second call does nothing
  assertEquals(snapshot(cnn), before);
  const b = randomizeLayers(cnn, ["output"], { seed: 5, scale: 0.5 });
  assertEquals(
    snapshot(cnn)["output/kernel"],
    drawn["output/kernel"],
    "a layer's draw depends only on the seed",
  );
  b.restore();
  assertThrows(() => randomizeLayers(cnn, ["conv9"]), RangeError, 'no layer "conv9"');
  assertThrows(() => randomizeLayers(cnn, ["output"], { scale: 0 }), RangeError, "scale is 0");
  assertEquals(snapshot(cnn), before);
  cnn.dispose();
});

Deno.test("sanityCheck() counts maps that are exactly zero when a confident model saturates the loss", () => {
  // A dense model with huge weights: the true class gets probability 1 in float32, so ∂loss/∂x = 0.
  // Seeded initialisers: with Math.random's draws, an image whose hidden units are all dead under ReLU
  // now and then had a zero logit gradient too.
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1], name: "flat" }),
      tf.layers.dense({ units: 8, activation: "relu", name: "hidden", kernelInitializer: init(1) }),
      tf.layers.dense({ units: 2, name: "logits", kernelInitializer: init(2) }),
    ],
  });
  const classifier = fromLayersModel(model);
  assertEquals(classifier.layers, ["hidden", "logits"]);
  const x = imagesToTensor(testSet.images.subarray(0, 4 * 784));
  const logits = tf.tidy(() => classifier.predict(x).argMax(1).dataSync());
  const labels = Array.from(logits); // the model's own predictions: it is "right" on every image
  classifier.setWeights("logits", classifier.getWeights("logits").map((w) => tf.mul(w, 1e4)));
  const loss = vanillaGradient(classifier, x, labels);
  assertEquals(loss.dataSync().every((v) => v === 0), true);
  loss.dispose();
  const onLoss = sanityCheck(classifier, x, labels, { of: "loss", methods: ["vanilla"] });
  assertEquals(onLoss.original.vanilla!.images, 0);
  assertEquals(onLoss.original.vanilla!.spearman, null);
  const onLogit = sanityCheck(classifier, x, labels, { methods: ["vanilla"] });
  assertEquals(onLogit.original.vanilla!.images, 4);
  assertEquals(onLogit.cascading[0].layers, ["logits"]);
  assertEquals(onLogit.cascading.length, 2);
  x.dispose();
  model.dispose();
});

Deno.test("sanityCheck() leaks no tensors and restores the model after an error", async () => {
  const cnn = createCnn({ digits: [0, 1], filters: [2, 4] }, { seed: 1 });
  const x = imagesToTensor(testSet.images.subarray(0, 2 * 784));
  await assertNoLeaks(() => sanityCheck(cnn, x, [0, 1], { samples: 2, layers: ["output"] }), {
    warmup: 1,
    repeats: 1,
  });
  const before = snapshot(cnn);
  let calls = 0;
  const failing = {
    ...cnn,
    layers: cnn.layers,
    predict: (input: tf.Tensor4D) => {
      if (++calls > 1) throw new Error("boom");
      return cnn.predict(input);
    },
    getWeights: (l: string) => cnn.getWeights(l),
    setWeights: (l: string, v: tf.Tensor[]) => cnn.setWeights(l, v),
  };
  assertThrows(() => sanityCheck(failing, x, [0, 1], { methods: ["vanilla"] }), Error, "boom");
  assertEquals(snapshot(cnn), before);
  assertThrows(() => sanityCheck(cnn, x, [0, 1], { methods: [] }), RangeError, "at least one method");
  assertThrows(() => sanityCheck(cnn, x, [0, 1], { layers: [] }), RangeError, "at least one layer");
  x.dispose();
  cnn.dispose();
});
