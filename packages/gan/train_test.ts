import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  type LoopState,
  type NamedTensor,
  NonFiniteLossError,
  restoreOptimizer,
  Rng,
} from "@simple-nets/core";
import { assertNoLeaks, tinyMnist } from "@simple-nets/core/testing";
import { createGan, disposeGan, type Gan } from "./model.ts";
import { createGanOptimizers, ganStep, splitValidation, trainGan } from "./train.ts";

const small = { generatorSizes: [32], discriminatorSizes: [32], pieces: 2 };
const data = tinyMnist(256);
const weights = (gan: Gan) =>
  [...Object.values(gan.generator), ...Object.values(gan.discriminator)].map((v) => Array.from(v.dataSync()));

Deno.test("trainGan() teaches the discriminator to tell real digits from early samples", async () => {
  const gan = createGan(small, { seed: 1 });
  const steps: Record<string, number>[] = [];
  const epochs: Record<string, number>[] = [];
  await trainGan(gan, data, {
    epochs: 3,
    batchSize: 32,
    learningRate: 1e-3,
    logEvery: 1,
    onEvent: (e) => {
      if (e.type === "step") steps.push(e.losses);
      if (e.type === "epoch") epochs.push(e.metrics);
    },
  });
  disposeGan(gan);
  // D starts at 1/2 for every input: D loss 2 log 2, G loss log 2.
  assert.ok(Math.abs(steps[0].dLoss - 2 * Math.LN2) < 1e-3, `first D loss ${steps[0].dLoss}`);
  assert.ok(Math.abs(steps[0].gLoss - Math.LN2) < 1e-3, `first G loss ${steps[0].gLoss}`);
  const last = epochs[epochs.length - 1];
  assert.ok(last.dLoss < 2 * Math.LN2 - 0.1, `last epoch's D loss ${last.dLoss}`);
  assert.ok(last.dReal - last.dFake > 0.1, `D(x) ${last.dReal} vs D(G(z)) ${last.dFake}`);
});

Deno.test("trainGan() gives the same losses and weights for the same seed", async () => {
  const run = async (seed: number) => {
    const gan = createGan(small, { seed: 1 });
    const result = await trainGan(gan, tinyMnist(64), { epochs: 1, batchSize: 16, seed });
    const w = weights(gan);
    disposeGan(gan);
    return { losses: result.losses, w };
  };
  const a = await run(3), b = await run(3), c = await run(4);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.losses, c.losses);
});

Deno.test("trainGan() with dSteps 2 takes two D updates per G update, each on its own slice", async () => {
  const gan = createGan(small, { seed: 1 });
  const seen: number[] = [];
  const result = await trainGan(gan, tinyMnist(64), {
    epochs: 1,
    batchSize: 16,
    dSteps: 2,
    onEvent: (e) => e.type === "step" && seen.push(e.step),
  });
  const optimizers = createGanOptimizers();
  // 64 images in loop batches of 2 × 16: two loop steps, each with two D updates and one G update.
  assert.equal(result.steps, 2);
  const real = tf.zeros([64, 784]) as tf.Tensor2D;
  ganStep(gan, real, optimizers, { batchSize: 16, dSteps: 2 })({
    step: 0,
    epoch: 0,
    indices: new Int32Array(32).map((_, i) => i),
    rng: new Rng(1),
  });
  const iterations = async (o: tf.Optimizer) => (await o.getWeights())[0].tensor.dataSync()[0];
  assert.equal(await iterations(optimizers.discriminator), 2);
  assert.equal(await iterations(optimizers.generator), 1);
  tf.dispose(real);
  optimizers.generator.dispose();
  optimizers.discriminator.dispose();
  disposeGan(gan);
});

Deno.test("trainGan() stops with NonFiniteLossError on a NaN loss, before checkpointing that step", async () => {
  const gan = createGan(small, { seed: 1 });
  const checkpoints: number[] = [];
  let calls = 0;
  await assert.rejects(
    trainGan(gan, tinyMnist(64), {
      epochs: 2,
      batchSize: 16,
      checkpointEvery: 1,
      checkpoint: (state) => {
        checkpoints.push(state.step);
        // Poison the discriminator after the second good checkpoint.
        if (++calls === 2) gan.discriminator["out/bias"].assign(tf.tensor1d([NaN]));
      },
    }),
    (e: Error) => e instanceof NonFiniteLossError && /"dLoss" is NaN at step 3/.test(e.message),
  );
  assert.deepEqual(checkpoints, [1, 2]);
  disposeGan(gan);
});

Deno.test("trainGan() resumed from a saved state ends where an uninterrupted run ends", async () => {
  const images = tinyMnist(64);
  const options = { epochs: 2, batchSize: 16, seed: 5 };
  const straight = createGan(small, { seed: 1 });
  const full = await trainGan(straight, images, options);

  // Stop after 3 steps, keeping copies of everything a checkpoint holds.
  const first = createGan(small, { seed: 1 });
  const controller = new AbortController();
  const optimizers = createGanOptimizers();
  let saved:
    | { state: LoopState; g: tf.Tensor[]; d: tf.Tensor[]; og: NamedTensor[]; od: NamedTensor[] }
    | undefined;
  await trainGan(first, images, {
    ...options,
    optimizers,
    signal: controller.signal,
    onEvent: (e) => e.type === "step" && e.step === 3 && controller.abort(),
    logEvery: 1,
    checkpoint: async (state) => {
      if (saved) return;
      const copy = async (o: tf.Optimizer) =>
        (await o.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
      saved = {
        state,
        g: Object.values(first.generator).map((v) => v.clone()),
        d: Object.values(first.discriminator).map((v) => v.clone()),
        og: await copy(optimizers.generator),
        od: await copy(optimizers.discriminator),
      };
    },
  });
  assert.equal(saved!.state.step, 3);

  const resumed = createGan(small, { seed: 99 });
  Object.values(resumed.generator).forEach((v, i) => v.assign(saved!.g[i]));
  Object.values(resumed.discriminator).forEach((v, i) => v.assign(saved!.d[i]));
  const restored = createGanOptimizers();
  await restoreOptimizer(restored.generator, saved!.og);
  await restoreOptimizer(restored.discriminator, saved!.od);
  const rest = await trainGan(resumed, images, { ...options, optimizers: restored, resume: saved!.state });
  assert.equal(rest.steps, full.steps);
  assert.deepEqual(rest.losses, full.losses);
  assert.deepEqual(weights(resumed), weights(straight));
  [straight, first, resumed].forEach(disposeGan);
});

Deno.test("a GAN step leaks no tensors", async () => {
  const gan = createGan(small, { seed: 1 });
  const optimizers = createGanOptimizers();
  const real = tf.zeros([32, 784]) as tf.Tensor2D;
  const step = ganStep(gan, real, optimizers, { batchSize: 16 });
  let s = 0;
  await assertNoLeaks(() =>
    step({ step: s, epoch: 0, indices: Int32Array.of(0, 1, 2, 3, 4), rng: new Rng(s++) })
  );
  tf.dispose(real);
  optimizers.generator.dispose();
  optimizers.discriminator.dispose();
  disposeGan(gan);
});

Deno.test("splitValidation() holds out the last images and rejects impossible counts", () => {
  const { train, validation } = splitValidation(data, 56);
  assert.equal(train.count, 200);
  assert.equal(validation.count, 56);
  assert.deepEqual(validation.images.subarray(0, 784), data.images.subarray(200 * 784, 201 * 784));
  assert.deepEqual(Array.from(validation.labels), Array.from(data.labels.subarray(200)));
  assert.throws(
    () => splitValidation(data, 256),
    /hold out 256 of 256 training images: expected a whole number in 1..255/,
  );
  assert.throws(() => splitValidation(data, 0), RangeError);
});
