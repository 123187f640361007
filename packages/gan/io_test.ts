import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { CheckpointError, restoreOptimizer, Rng } from "@simple-nets/core";
import { createGan, discriminatorLogits, disposeGan, generate } from "./model.ts";
import { createGanOptimizers, ganStep } from "./train.ts";
import { disposeOptimizerState, GAN_PACKAGE, loadGan, saveGan } from "./io.ts";

const small = { generatorSizes: [16], discriminatorSizes: [8], pieces: 3 };

Deno.test("saveGan() and loadGan() round-trip both networks, the optimizers and the metadata", async () => {
  const dir = await Deno.makeTempDir();
  const gan = createGan(small, { seed: 2 });
  const optimizers = createGanOptimizers();
  const real = tf.randomUniform([8, 784], -1, 1, "float32", 1) as tf.Tensor2D;
  ganStep(gan, real, optimizers, { batchSize: 8 })({
    step: 0,
    epoch: 0,
    indices: Int32Array.of(0, 1, 2, 3, 4, 5, 6, 7),
    rng: new Rng(1),
  });
  await saveGan(dir, gan, {
    step: 1,
    seed: 2,
    backend: "cpu",
    data: "embedded:mnist",
    optimizers,
    extra: { val: 3 },
  });
  const { gan: loaded, meta, optimizerState } = await loadGan(dir);
  assert.equal(meta.package, GAN_PACKAGE);
  assert.equal(meta.step, 1);
  assert.equal(meta.val, 3);
  assert.deepEqual(loaded.config, gan.config);
  const a = generate(gan, 3, { seed: 9 }), b = generate(loaded, 3, { seed: 9 });
  assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
  const da = discriminatorLogits(gan, real), db = discriminatorLogits(loaded, real);
  assert.deepEqual(Array.from(da.dataSync()), Array.from(db.dataSync()));
  // One more step from the restored state equals one more step of the original.
  const restored = createGanOptimizers();
  await restoreOptimizer(restored.generator, optimizerState.generator);
  await restoreOptimizer(restored.discriminator, optimizerState.discriminator);
  disposeOptimizerState(optimizerState);
  const ctx = { step: 1, epoch: 0, indices: Int32Array.of(3, 1, 4), rng: new Rng(5) };
  const next = ganStep(gan, real, optimizers, { batchSize: 8 })({ ...ctx, rng: new Rng(5) });
  const again = ganStep(loaded, real, restored, { batchSize: 8 })(ctx);
  assert.deepEqual(again, next);
  tf.dispose([a, b, da, db, real]);
  for (const o of [optimizers, restored]) Object.values(o).forEach((x) => x.dispose());
  disposeGan(gan);
  disposeGan(loaded);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadGan() fails clearly on a corrupt file or another package's checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const gan = createGan(small, { seed: 2 });
  await saveGan(dir, gan);
  disposeGan(gan);
  const bin = `${dir}/checkpoint/generator/weights.bin`;
  const bytes = await Deno.readFile(bin);
  bytes[10] ^= 0xff;
  await Deno.writeFile(bin, bytes);
  await assert.rejects(
    loadGan(dir),
    (e: Error) => e instanceof CheckpointError && /checksum/.test(e.message),
  );
  const metaPath = `${dir}/checkpoint/meta.json`;
  const meta = JSON.parse(await Deno.readTextFile(metaPath));
  await Deno.writeTextFile(metaPath, JSON.stringify({ ...meta, package: "@simple-nets/vae" }));
  await assert.rejects(loadGan(dir), /written by @simple-nets\/vae, expected @simple-nets\/gan/);
  await Deno.remove(dir, { recursive: true });
});
