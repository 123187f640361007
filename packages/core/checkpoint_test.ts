import assert, { deepEqual as assertEquals } from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  type Checkpoint,
  CHECKPOINT_DIR,
  CheckpointError,
  type CheckpointMeta,
  checkWeights,
  disposeCheckpoint,
  findCheckpoint,
  loadCheckpoint,
  type NamedTensor,
  readCheckpointMeta,
  saveCheckpoint,
} from "./checkpoint.ts";
import {
  assignParams,
  disposeParams,
  makeParams,
  type Params,
  paramsMap,
  restoreOptimizer,
} from "./params.ts";
import { Rng } from "./rng.ts";
import { assertNoLeaks } from "./testing.ts";

await tf.setBackend("cpu");

const META: CheckpointMeta = {
  package: "@simple-nets/test",
  version: "0.1.0",
  config: { hidden: 3, nested: { list: [1, 2] } },
  step: 12,
  seed: 7,
  backend: "cpu",
  data: "embedded:mnist",
  metrics: { loss: 0.5 },
  loop: { step: 12, recent: [{ loss: 0.5 }] },
};

/** Two small networks (with an int32 weight) and fixed data for a few Adam steps. */
function setup() {
  const rng = new Rng(31);
  const enc = makeParams({
    kernel: tf.tensor2d(rng.fillNormal(new Float32Array(12)), [4, 3]),
    bias: tf.tensor1d(rng.fillNormal(new Float32Array(3))),
  }, "enc");
  const dec = makeParams({ kernel: tf.tensor2d(rng.fillNormal(new Float32Array(6)), [3, 2]) }, "dec");
  const x = tf.tensor2d(rng.fillNormal(new Float32Array(20)), [5, 4]);
  const y = tf.tensor2d(rng.fillNormal(new Float32Array(10)), [5, 2]);
  return { enc, dec, x, y, rng };
}

/** Runs `n` Adam steps on the two networks. */
function train(
  n: number,
  enc: Params,
  dec: Params,
  optimizer: tf.Optimizer,
  x: tf.Tensor,
  y: tf.Tensor,
): void {
  for (let i = 0; i < n; i++) {
    optimizer.minimize(() =>
      tf.tidy(() =>
        tf.losses.meanSquaredError(
          y,
          x.matMul(enc.kernel).add(enc.bias).relu().matMul(dec.kernel),
        ) as tf.Scalar
      )
    );
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

/** Saves a small checkpoint with two networks and an optimizer state. */
async function saveSmall(dir: string, step = 12): Promise<void> {
  const { enc, dec, x, y } = setup();
  const optimizer = tf.train.adam(0.01);
  train(2, enc, dec, optimizer, x, y);
  const opt = await optimizer.getWeights();
  await saveCheckpoint(dir, {
    meta: { ...META, step },
    networks: { enc: paramsMap(enc), dec: { ...paramsMap(dec), count: tf.scalar(step, "int32") } },
    optimizers: { adam: opt },
  });
  tf.dispose([opt[0].tensor, x, y]);
  optimizer.dispose();
  disposeParams(enc);
  disposeParams(dec);
}

async function assertCheckpointError(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert(e instanceof CheckpointError, `expected a CheckpointError, got ${e}`);
    for (const part of parts) assert(e.message.includes(part), `"${e.message}" does not mention "${part}"`);
    return true;
  });
}

const values = (t: tf.Tensor) => ({ dtype: t.dtype, shape: t.shape, data: Array.from(t.dataSync()) });

Deno.test("a saved checkpoint loads back with identical tensors, optimizer state and metadata", async () => {
  await withDir(async (dir) => {
    const { enc, dec, x, y } = setup();
    const optimizer = tf.train.adam(0.01);
    train(3, enc, dec, optimizer, x, y);
    const opt = await optimizer.getWeights();
    const count = tf.scalar(3, "int32");
    const original: Checkpoint = {
      meta: META,
      networks: { enc: paramsMap(enc), dec: { ...paramsMap(dec), count } },
      optimizers: { adam: opt },
    };
    const folder = await saveCheckpoint(dir, original);
    assert.equal(folder, `${dir}/${CHECKPOINT_DIR}`);
    assertEquals(await listDir(folder), ["dec", "enc", "meta.json", "optimizer-adam"]);
    assertEquals(await listDir(`${folder}/enc`), ["model.json", "weights.bin"]);

    const loaded = await loadCheckpoint(dir, { package: "@simple-nets/test" });
    assertEquals(loaded.meta, { ...META, networks: ["enc", "dec"], optimizers: ["adam"] });
    for (const net of ["enc", "dec"]) {
      assertEquals(Object.keys(loaded.networks[net]), Object.keys(original.networks[net]));
      for (const [name, t] of Object.entries(original.networks[net])) {
        assertEquals(values(loaded.networks[net][name]), values(t), `${net}/${name}`);
      }
    }
    assertEquals(loaded.optimizers.adam.map((w) => w.name), opt.map((w) => w.name));
    assertEquals(loaded.optimizers.adam.map((w) => values(w.tensor)), opt.map((w) => values(w.tensor)));
    assertEquals(values(loaded.optimizers.adam[0].tensor), { dtype: "int32", shape: [], data: [3] });
    disposeCheckpoint(loaded);
    tf.dispose([opt[0].tensor, count, x, y]);
    optimizer.dispose();
    disposeParams(enc);
    disposeParams(dec);
  });
});

Deno.test("training continued from a loaded checkpoint matches the original's continued training", async () => {
  await withDir(async (dir) => {
    const a = setup();
    const optA = tf.train.adam(0.01);
    train(3, a.enc, a.dec, optA, a.x, a.y);
    const opt = await optA.getWeights();
    await saveCheckpoint(dir, {
      meta: META,
      networks: { enc: paramsMap(a.enc), dec: paramsMap(a.dec) },
      optimizers: { adam: opt },
    });
    tf.dispose(opt[0].tensor);
    train(4, a.enc, a.dec, optA, a.x, a.y);

    const b = setup();
    const optB = tf.train.adam(0.01);
    const loaded = await loadCheckpoint(dir);
    assignParams(b.enc, loaded.networks.enc, dir);
    assignParams(b.dec, loaded.networks.dec, dir);
    await restoreOptimizer(optB, loaded.optimizers.adam);
    disposeCheckpoint(loaded);
    train(4, b.enc, b.dec, optB, b.x, b.y);

    for (const name of ["kernel", "bias"]) {
      const diff = tf.tidy(() => a.enc[name].sub(b.enc[name]).abs().max().dataSync()[0]);
      assert(diff <= 1e-6, `enc/${name} differs by ${diff}`);
    }
    const diff = tf.tidy(() => a.dec.kernel.sub(b.dec.kernel).abs().max().dataSync()[0]);
    assert(diff <= 1e-6, `dec/kernel differs by ${diff}`);
    // Without the optimizer state the continuation would differ.
    const c = setup();
    const optC = tf.train.adam(0.01);
    const again = await loadCheckpoint(dir);
    assignParams(c.enc, again.networks.enc, dir);
    assignParams(c.dec, again.networks.dec, dir);
    disposeCheckpoint(again);
    train(4, c.enc, c.dec, optC, c.x, c.y);
    const fresh = tf.tidy(() => a.enc.kernel.sub(c.enc.kernel).abs().max().dataSync()[0]);
    assert(fresh > 1e-4, `a fresh optimizer ends only ${fresh} away`);
    for (const s of [a, b, c]) {
      disposeParams(s.enc);
      disposeParams(s.dec);
      tf.dispose([s.x, s.y]);
    }
    for (const o of [optA, optB, optC]) o.dispose();
  });
});

Deno.test("a second save replaces the first and leaves no temporary folders", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, "");
    await saveSmall(dir, 1);
    await saveSmall(dir, 2);
    assertEquals(await listDir(dir), [CHECKPOINT_DIR, "metrics.jsonl"]);
    assert.equal((await readCheckpointMeta(dir)).step, 2);
    const loaded = await loadCheckpoint(dir);
    assertEquals(loaded.networks.dec.count.dataSync()[0], 2);
    disposeCheckpoint(loaded);
  });
});

Deno.test("findCheckpoint recovers the previous checkpoint after a crash between the two renames", async () => {
  await withDir(async (dir) => {
    await saveSmall(dir, 5);
    // A crash after "checkpoint → .checkpoint-old-*" and before ".checkpoint-new-* → checkpoint".
    await Deno.rename(`${dir}/${CHECKPOINT_DIR}`, `${dir}/.checkpoint-old-abc-1`);
    await Deno.mkdir(`${dir}/.checkpoint-new-abc-1/enc`, { recursive: true });
    assert.equal(await findCheckpoint(dir), `${dir}/.checkpoint-old-abc-1`);
    const loaded = await loadCheckpoint(dir);
    assertEquals([loaded.meta.step, loaded.networks.dec.count.dataSync()[0]], [5, 5]);
    disposeCheckpoint(loaded);
    // The next save puts a good checkpoint in place again.
    await saveSmall(dir, 6);
    assert.equal(await findCheckpoint(dir), `${dir}/${CHECKPOINT_DIR}`);
    assert.equal((await readCheckpointMeta(dir)).step, 6);
  });
});

Deno.test("findCheckpoint accepts the checkpoint folder itself and names a folder without one", async () => {
  await withDir(async (dir) => {
    await assertCheckpointError(
      findCheckpoint(dir),
      `Cannot find a checkpoint in ${dir}: no checkpoint/meta.json`,
    );
    await assertCheckpointError(findCheckpoint(`${dir}/nope`), `${dir}/nope: the folder does not exist`);
    await Deno.writeTextFile(`${dir}/file.txt`, "not a run");
    await assertCheckpointError(
      findCheckpoint(`${dir}/file.txt`),
      `${dir}/file.txt: it is a file, expected a run folder`,
    );
    await assertCheckpointError(readCheckpointMeta(`${dir}/file.txt`), "it is a file");
    await Deno.remove(`${dir}/file.txt`);
    await saveSmall(dir);
    assert.equal(await findCheckpoint(`${dir}/${CHECKPOINT_DIR}`), `${dir}/${CHECKPOINT_DIR}`);
    assert.equal((await readCheckpointMeta(`${dir}/${CHECKPOINT_DIR}`)).step, 12);
  });
});

Deno.test("damaged checkpoint files give a CheckpointError naming the file, and leak no tensors", async () => {
  const cases: [string, (folder: string) => Promise<void>, string[]][] = [
    ["truncated weights.bin", async (f) => {
      const bytes = await Deno.readFile(`${f}/dec/weights.bin`);
      await Deno.writeFile(`${f}/dec/weights.bin`, bytes.subarray(0, bytes.length - 4));
    }, ["dec/weights.bin", "truncated"]],
    ["flipped byte", async (f) => {
      const bytes = await Deno.readFile(`${f}/dec/weights.bin`);
      bytes[5] ^= 0x10;
      await Deno.writeFile(`${f}/dec/weights.bin`, bytes);
    }, ["dec/weights.bin", "checksum mismatch"]],
    ["missing weights.bin", (f) => Deno.remove(`${f}/optimizer-adam/weights.bin`), [
      "optimizer-adam/weights.bin",
      "missing",
    ]],
    ["missing model.json", (f) => Deno.remove(`${f}/dec/model.json`), ["dec/model.json", "missing"]],
    ["foreign model.json", (f) => Deno.writeTextFile(`${f}/enc/model.json`, '{"modelTopology": {}}'), [
      "enc/model.json",
      "not a simple-nets weights manifest",
    ]],
    ["invalid JSON meta", (f) => Deno.writeTextFile(`${f}/meta.json`, '{"package": '), [
      "meta.json",
      "not valid JSON",
    ]],
    ["JSON meta that is not an object", (f) => Deno.writeTextFile(`${f}/meta.json`, "42"), [
      "meta.json",
      "not valid JSON",
    ]],
    ["meta missing a field", async (f) => {
      const meta = JSON.parse(await Deno.readTextFile(`${f}/meta.json`));
      delete meta.seed;
      await Deno.writeTextFile(`${f}/meta.json`, JSON.stringify(meta));
    }, ["meta.json", 'field "seed" is missing']],
  ];
  for (const [what, damage, parts] of cases) {
    await withDir(async (dir) => {
      await saveSmall(dir);
      const folder = `${dir}/${CHECKPOINT_DIR}`;
      await damage(folder);
      const before = tf.memory().numTensors;
      await assertCheckpointError(loadCheckpoint(dir), `${folder}/`, ...parts).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
      assert.equal(tf.memory().numTensors, before, `${what}: tensors leaked`);
    });
  }
});

Deno.test("a checkpoint of another package is refused, naming both packages", async () => {
  await withDir(async (dir) => {
    await saveSmall(dir);
    const expected =
      `Cannot use checkpoint ${dir}: it was written by @simple-nets/test, expected @simple-nets/vae`;
    await assertCheckpointError(loadCheckpoint(dir, { package: "@simple-nets/vae" }), expected);
    await assertCheckpointError(readCheckpointMeta(dir, { package: "@simple-nets/vae" }), expected);
  });
});

Deno.test("checkWeights names a missing, an extra and a wrongly shaped weight", () => {
  const weights = { a: tf.zeros([2, 3]), b: tf.zeros([4]) };
  checkWeights("ckpt", weights, { a: [2, 3], b: [4] });
  const cases: [Record<string, number[]>, string][] = [
    [{ a: [2, 3], b: [4], c: [1] }, 'Cannot use checkpoint ckpt: weight "c" is missing'],
    [{ a: [2, 3] }, 'Cannot use checkpoint ckpt: unexpected weight "b"'],
    [{ a: [3, 2], b: [4] }, 'Cannot use checkpoint ckpt: weight "a" has shape [2,3], expected [3,2]'],
    [{ a: [2, 3, 1], b: [4] }, 'Cannot use checkpoint ckpt: weight "a" has shape [2,3], expected [2,3,1]'],
  ];
  for (const [expected, message] of cases) {
    assert.throws(() => checkWeights("ckpt", weights, expected), new CheckpointError(message));
  }
  tf.dispose(Object.values(weights));
});

Deno.test("saving, loading and disposing a checkpoint leaks no tensors", async () => {
  await withDir(async (dir) => {
    const { enc, dec, x, y } = setup();
    const optimizer = tf.train.adam(0.01);
    train(1, enc, dec, optimizer, x, y);
    await assertNoLeaks(async () => {
      const opt = await optimizer.getWeights();
      await saveCheckpoint(dir, { meta: META, networks: { enc: paramsMap(enc) }, optimizers: { adam: opt } });
      tf.dispose(opt[0].tensor);
      disposeCheckpoint(await loadCheckpoint(dir));
    });
    tf.dispose([x, y]);
    optimizer.dispose();
    disposeParams(enc);
    disposeParams(dec);
  });
});

Deno.test("a failed save leaves the previous checkpoint and no temporary folder", async () => {
  await withDir(async (dir) => {
    await saveSmall(dir, 3);
    const disposed = tf.zeros([2]);
    disposed.dispose();
    const broken: NamedTensor[] = [{ name: "gone", tensor: disposed }];
    await assert.rejects(
      saveCheckpoint(dir, { meta: { ...META, step: 4 }, networks: {}, optimizers: { adam: broken } }),
    );
    assertEquals(await listDir(dir), [CHECKPOINT_DIR]);
    assert.equal((await readCheckpointMeta(dir)).step, 3);
  });
});
