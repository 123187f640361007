import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@simple-nets/core";
import { assertNoLeaks } from "@simple-nets/core/testing";
import {
  createGan,
  DEFAULT_GAN_CONFIG,
  discriminatorLogits,
  disposeGan,
  type Gan,
  ganConfig,
  generate,
  generatorForward,
} from "./model.ts";

const small = { generatorSizes: [16, 32], discriminatorSizes: [24, 8], pieces: 3 };
const values = (gan: Gan, net: "generator" | "discriminator") =>
  Object.fromEntries(Object.entries(gan[net]).map(([k, v]) => [k, Array.from(v.dataSync())]));

Deno.test("createGan() builds the paper's networks with the reference's shapes", () => {
  const gan = createGan();
  const shapes = (p: Gan["generator"]) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.shape]));
  assert.deepEqual(shapes(gan.generator), {
    "dense0/kernel": [100, 256],
    "dense0/bias": [256],
    "dense1/kernel": [256, 512],
    "dense1/bias": [512],
    "dense2/kernel": [512, 1024],
    "dense2/bias": [1024],
    "out/kernel": [1024, 784],
    "out/bias": [784],
  });
  assert.deepEqual(shapes(gan.discriminator), {
    "maxout0/kernel": [784, 2560],
    "maxout0/bias": [2560],
    "maxout1/kernel": [512, 1280],
    "maxout1/bias": [1280],
    "maxout2/kernel": [256, 640],
    "maxout2/bias": [640],
    "out/kernel": [128, 1],
    "out/bias": [1],
  });
  disposeGan(gan);
  const fc = createGan({ discriminator: "fc" });
  assert.deepEqual(fc.discriminator["dense0/kernel"].shape, [784, 1024]);
  assert.deepEqual(fc.discriminator["out/kernel"].shape, [256, 1]);
  disposeGan(fc);
});

Deno.test("createGan() draws U(±0.05) generator and U(±0.005) discriminator weights, zero biases, from the seed", () => {
  const a = createGan(small, { seed: 4 }),
    b = createGan(small, { seed: 4 }),
    c = createGan(small, { seed: 5 });
  for (const [net, limit] of [["generator", 0.05], ["discriminator", 0.005]] as const) {
    const va = values(a, net);
    assert.deepEqual(va, values(b, net));
    assert.notDeepEqual(va, values(c, net));
    for (const [name, v] of Object.entries(va)) {
      if (name.endsWith("/bias")) assert.ok(v.every((x) => x === 0), name);
      else {assert.ok(
          v.every((x) => Math.abs(x) <= limit) &&
            (v.length < 100 || Math.max(...v.map(Math.abs)) > limit * 0.9),
          name,
        );}
    }
  }
  [a, b, c].forEach(disposeGan);
});

Deno.test("ganConfig() fills defaults and rejects impossible values, naming the field", () => {
  assert.deepEqual(ganConfig(), { ...DEFAULT_GAN_CONFIG });
  assert.throws(() => ganConfig({ pieces: 0 }), /pieces is 0/);
  assert.throws(() => ganConfig({ dropout: 1 }), /dropout is 1/);
  assert.throws(() => ganConfig({ generatorSizes: [] }), /generatorSizes/);
  assert.throws(() => ganConfig({ discriminatorSizes: [8, 2.5] }), /discriminatorSizes\[1\] is 2.5/);
  assert.throws(() => ganConfig({ discriminator: "conv" as "fc" }), /discriminator is "conv"/);
});

Deno.test("generatorForward() maps noise to [−1, 1] images and checks the noise shape", () => {
  const gan = createGan(small, { seed: 1 });
  tf.tidy(() => {
    const x = generatorForward(gan, tf.randomNormal([5, 100], 0, 3, "float32", 2) as tf.Tensor2D);
    assert.deepEqual(x.shape, [5, 784]);
    assert.ok(x.max().dataSync()[0] <= 1 && x.min().dataSync()[0] >= -1);
    assert.throws(() => generatorForward(gan, tf.zeros([5, 10]) as tf.Tensor2D), /expected \[batch, 100\]/);
  });
  disposeGan(gan);
});

Deno.test("discriminatorLogits() uses dropout only in training mode, with masks from the rng", () => {
  const gan = createGan({ ...small, discriminatorInit: 0.5 }, { seed: 1 });
  tf.tidy(() => {
    const x = tf.randomUniform([4, 784], -1, 1, "float32", 3) as tf.Tensor2D;
    const evalA = discriminatorLogits(gan, x).arraySync();
    assert.deepEqual(evalA, discriminatorLogits(gan, x, { training: false, rng: new Rng(1) }).arraySync());
    const trainA = discriminatorLogits(gan, x, { training: true, rng: new Rng(9) }).arraySync();
    assert.deepEqual(trainA, discriminatorLogits(gan, x, { training: true, rng: new Rng(9) }).arraySync());
    assert.notDeepEqual(trainA, evalA);
    assert.notDeepEqual(
      trainA,
      discriminatorLogits(gan, x, { training: true, rng: new Rng(10) }).arraySync(),
    );
    assert.throws(() => discriminatorLogits(gan, x, { training: true }), /without an rng/);
    assert.throws(() => discriminatorLogits(gan, tf.zeros([1, 5]) as tf.Tensor2D), /expected \[batch, 784\]/);
  });
  disposeGan(gan);
});

Deno.test("generate() gives the same [0, 1] images for a seed, whatever the batch size", async () => {
  const gan = createGan(small, { seed: 1 });
  const a = generate(gan, 7, { seed: 3 }), b = generate(gan, 7, { seed: 3, batchSize: 3 });
  const c = generate(gan, 7, { seed: 4 });
  assert.deepEqual(a.shape, [7, 784]);
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  assert.notDeepEqual(Array.from(a.dataSync()), Array.from(c.dataSync()));
  assert.ok(a.min().dataSync()[0] >= 0 && a.max().dataSync()[0] <= 1);
  tf.dispose([a, b, c]);
  assert.throws(() => generate(gan, -1), RangeError);
  await assertNoLeaks(() => generate(gan, 5, { batchSize: 2 }).dispose());
  disposeGan(gan);
});
