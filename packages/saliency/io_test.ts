import * as tf from "@tensorflow/tfjs";
import { CheckpointError, readCheckpointMeta } from "@simple-nets/core";
import { tinyMnist } from "@simple-nets/core/testing";
import { assertEquals, assertOk } from "./testdata/assert.ts";
import { createCnn, imagesToTensor } from "./model.ts";
import { loadCnn, SALIENCY_PACKAGE, saveCnn } from "./io.ts";

Deno.test("saveCnn() then loadCnn() gives a model with identical outputs and config", async () => {
  const dir = await Deno.makeTempDir();
  const cnn = createCnn({ digits: [3, 8], filters: [4, 6] }, { seed: 9 });
  const optimizer = tf.train.adam(1e-3);
  await saveCnn(dir, cnn, {
    step: 12,
    seed: 9,
    backend: "cpu",
    data: "embedded:mnist",
    optimizer,
    extra: { options: { epochs: 2 } },
  });
  const meta = await readCheckpointMeta(dir);
  assertEquals([meta.package, meta.step, meta.seed, meta.backend], [SALIENCY_PACKAGE, 12, 9, "cpu"]);
  assertEquals(meta.options, { epochs: 2 });
  const { cnn: loaded, optimizerState } = await loadCnn(dir);
  assertEquals(loaded.config, cnn.config);
  const x = imagesToTensor(tinyMnist(3).images);
  const out = (m: typeof cnn) => tf.tidy(() => Array.from(m.predict(x).dataSync()));
  assertEquals(out(loaded), out(cnn));
  tf.dispose(optimizerState.map((w) => w.tensor));
  tf.dispose(x);
  [cnn, loaded].forEach((m) => m.dispose());
  optimizer.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCnn() refuses a missing or corrupt checkpoint with an error naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await loadCnn(dir).then(
    () => assertOk(false, "expected an error"),
    (e) => assertOk(e instanceof CheckpointError && e.message.includes(dir), e.message),
  );
  const cnn = createCnn({ digits: [0, 1] });
  await saveCnn(dir, cnn);
  cnn.dispose();
  const bin = `${dir}/checkpoint/cnn/weights.bin`;
  const bytes = await Deno.readFile(bin);
  bytes[100] ^= 0xff;
  await Deno.writeFile(bin, bytes);
  await loadCnn(dir).then(
    () => assertOk(false, "expected an error"),
    (e) => assertOk(e instanceof CheckpointError && e.message.includes("weights.bin"), e.message),
  );
  await Deno.remove(dir, { recursive: true });
});
