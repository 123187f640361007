import * as tf from "@tensorflow/tfjs";
import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { enableNativeBlas } from "./native.ts";
import { useBackend } from "./backend.ts";
import { Rng } from "./rng.ts";
import { clearPatchCache, PATCH_CACHE_SIZE } from "./_patch_cache.ts";

const info = await useBackend("wasm");
const native = enableNativeBlas();
const skip = native.enabled ? "" : ` (skipped: native BLAS unavailable: ${native.reason})`;

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

function randomArrays(shapes: number[][], seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return shapes.map((shape) =>
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => rng.next() * 2 - 1)
  );
}

async function evaluate(backend: string, fn: Fn, shapes: number[][], data: Float32Array[], grads: boolean) {
  await tf.setBackend(backend);
  const xs = shapes.map((s, i) => tf.tensor(data[i], s));
  const y = tf.tidy(() => fn(...xs));
  const outs = [y];
  if (grads) {
    const dy = tf.tensor(randomArrays([y.shape], 99)[0], y.shape);
    outs.push(...tf.grads(fn)(xs, dy));
    dy.dispose();
  }
  const arrays = outs.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
  tf.dispose([...xs, ...outs]);
  return arrays;
}

/** Compares `fn` and its gradients on wasm with native BLAS against the plain cpu kernels; checks for leaks. */
async function compareWithCpu(name: string, fn: Fn, shapes: number[][], grads = true): Promise<void> {
  const data = randomArrays(shapes, shapes.flat().reduce((a, b) => a * 31 + b, 7));
  const expected = await evaluate("cpu", fn, shapes, data, grads);
  await tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  const actual = await evaluate("wasm", fn, shapes, data, grads);
  assertEquals(tf.memory().numTensors, before, `${name}: tensors leaked`);
  actual.forEach((a, i) => {
    assertEquals(a.shape, expected[i].shape, `${name} output ${i}: shape`);
    let scale = 1;
    for (const v of expected[i].values) scale = Math.max(scale, Math.abs(v));
    a.values.forEach((v, j) => {
      const want = expected[i].values[j];
      assert(Math.abs(v - want) <= 2e-4 * scale, `${name} output ${i}[${j}]: native ${v}, cpu ${want}`);
    });
  });
}

/** The losses of `curve` on wasm (the native path) follow those on cpu step by step, and fall. */
async function assertFollowsCpu(curve: (backend: string) => Promise<number[]>): Promise<void> {
  const cpu = await curve("cpu");
  const fast = await curve("wasm");
  fast.forEach((loss, i) =>
    assert(Math.abs(loss - cpu[i]) <= 1e-4 * Math.abs(cpu[i]), `step ${i}: ${loss} vs ${cpu[i]}`)
  );
  assert(fast.at(-1)! < fast[0], `loss went from ${fast[0]} to ${fast.at(-1)}`);
}

Deno.test("useBackend('wasm') turned native BLAS on, or said why not", () => {
  assertEquals(info.name, "wasm");
  if (native.enabled) assertEquals(info.notes, []);
  else assert(info.notes.some((note) => note.startsWith("native BLAS unavailable: ")), info.notes.join("; "));
});

const matMulCases: [number[], number[], boolean, boolean][] = [
  [[5, 7], [7, 3], false, false],
  [[7, 5], [7, 3], true, false],
  [[5, 7], [3, 7], false, true],
  [[7, 5], [3, 7], true, true],
  [[64, 300], [300, 129], false, false],
  [[300, 64], [129, 300], true, true],
  [[4, 5, 7], [4, 7, 3], false, false],
  [[4, 7, 5], [4, 3, 7], true, true],
  [[4, 5, 7], [7, 3], false, false],
  [[2, 3, 7, 5], [3, 7], true, true],
  [[5, 7], [4, 7, 3], false, false],
  [[1, 7], [7, 1], false, false],
  // one row: sgemv instead of sgemm, with every transpose
  [[1, 70], [70, 33], false, false],
  [[70, 1], [70, 33], true, false],
  [[1, 70], [33, 70], false, true],
  [[70, 1], [33, 70], true, true],
];

for (const [aShape, bShape, tA, tB] of matMulCases) {
  Deno.test({
    name: `native matMul matches cpu for ${aShape}×${bShape}, transposeA=${tA}, transposeB=${tB}${skip}`,
    ignore: !native.enabled,
    fn: async () => {
      const broadcast = aShape.length !== bShape.length; // tfjs 4.22 has no gradient for these
      await compareWithCpu("matMul", (a, b) => tf.matMul(a, b, tA, tB), [aShape, bShape], !broadcast);
    },
  });
}

for (const activation of ["linear", "relu", "relu6", "sigmoid", "elu", "leakyrelu"] as const) {
  Deno.test({
    name: `native fused.matMul matches cpu with bias and ${activation}${skip}`,
    ignore: !native.enabled,
    fn: async () => {
      const grads = activation === "linear" || activation === "relu"; // tfjs has gradients for these only
      const fused = (transposeA: boolean, transposeB: boolean): Fn => (a, b, bias) =>
        tf.fused.matMul({ a, b, bias, activation, transposeA, transposeB, leakyreluAlpha: 0.1 });
      await compareWithCpu("fused.matMul", fused(false, false), [[6, 5], [5, 4], [4]], grads);
      await compareWithCpu("fused.matMul", fused(true, true), [[3, 5, 6], [3, 4, 5], [4]], grads);
    },
  });
}

const convCases: [
  number[],
  number[],
  number | [number, number],
  "same" | "valid" | tf.backend_util.ExplicitPadding,
][] = [
  [[2, 9, 9, 3], [3, 3, 3, 4], 1, "same"],
  [[2, 9, 8, 3], [3, 3, 3, 4], 2, "same"],
  [[2, 10, 9, 2], [3, 2, 2, 5], [2, 3], "valid"],
  [[3, 12, 12, 1], [5, 5, 1, 4], 1, "same"],
  [[2, 6, 6, 12], [5, 5, 12, 3], 1, "same"],
  [[2, 5, 5, 3], [1, 1, 3, 4], 1, "valid"],
  [[2, 7, 7, 3], [3, 3, 3, 2], 2, [[0, 0], [1, 2], [2, 0], [0, 0]]],
  // stride 1 with uneven padding (the input gradient runs as a convolution of its own)
  [[2, 7, 6, 3], [3, 4, 3, 2], 1, [[0, 0], [2, 0], [0, 3], [0, 0]]],
  // rows of 5·16 floats: im2col copies them in one call
  [[1, 6, 7, 16], [5, 5, 16, 3], 1, "same"],
  // the saliency CNN's layers: oneDNN's blocked filter layouts (16 and 32 channels)
  [[3, 28, 28, 1], [5, 5, 1, 16], 1, "same"],
  [[3, 14, 14, 16], [5, 5, 16, 32], 1, "same"],
  [[2, 9, 9, 17], [3, 3, 17, 33], 2, "same"],
];

const skipDnnl = native.dnnl ? "" : ` (skipped: oneDNN unavailable: ${native.dnnlReason})`;

for (const [xShape, fShape, strides, pad] of convCases) {
  const conv: Fn = (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad);
  const geometry = `${xShape} * ${fShape}, strides ${strides}, pad ${JSON.stringify(pad)}`;
  Deno.test({
    name: `native conv2d (im2col + sgemm) and its gradients match cpu for ${geometry}${skip}`,
    ignore: !native.enabled,
    fn: async () => {
      enableNativeBlas({ dnnl: false });
      try {
        await compareWithCpu("conv2d", conv, [xShape, fShape]);
      } finally {
        enableNativeBlas();
      }
    },
  });
  Deno.test({
    name: `oneDNN conv2d and its gradients match cpu for ${geometry}${skipDnnl}`,
    ignore: !native.dnnl,
    fn: async () => {
      await compareWithCpu("conv2d", conv, [xShape, fShape]);
    },
  });
}

Deno.test({
  name: `a few Adam steps of a small CNN with oneDNN follow the cpu loss curve${skipDnnl}`,
  ignore: !native.dnnl,
  fn: async () => {
    const curve = async (backend: string) => {
      await tf.setBackend(backend);
      const [x, k1, k2, w] = randomArrays([[8, 12, 12, 1], [3, 3, 1, 16], [3, 3, 16, 32], [288, 1]], 9).map(
        (d, i) => {
          const shapes = [[8, 12, 12, 1], [3, 3, 1, 16], [3, 3, 16, 32], [288, 1]];
          const t = tf.tensor(i === 0 ? d : d.map((v) => v * 0.1), shapes[i]);
          return i === 0 ? t : tf.variable(t);
        },
      ) as [tf.Tensor4D, tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R4>, tf.Variable<tf.Rank.R2>];
      const y = tf.mean(x, [1, 2]);
      const opt = tf.train.adam(0.003);
      const losses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const loss = opt.minimize(() => {
          const h1 = tf.maxPool(tf.relu(tf.conv2d(x, k1, 1, "same")), 2, 2, "valid");
          const h2 = tf.maxPool(tf.relu(tf.conv2d(h1, k2, 1, "same")), 2, 2, "valid");
          return tf.losses.meanSquaredError(y, tf.matMul(h2.reshape([8, 288]), w));
        }, true)!;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      tf.dispose([x, k1, k2, w, y]);
      opt.dispose();
      return losses;
    };
    await assertFollowsCpu(curve);
  },
});

Deno.test({
  name: `enableNativeBlas({ dnnl: false }) turns oneDNN off and a later call back on${skipDnnl}`,
  ignore: !native.dnnl,
  fn: () => {
    const off = enableNativeBlas({ dnnl: false });
    try {
      assertEquals([off.enabled, off.dnnl], [true, undefined]);
      assert(off.dnnlReason?.includes("dnnl: false"), off.dnnlReason);
    } finally {
      assertEquals(enableNativeBlas().dnnl, native.dnnl);
    }
  },
});

Deno.test({
  name: `a oneDNN library that is not there leaves convolutions to sgemm and says why${skip}`,
  ignore: !native.enabled,
  fn: () => {
    try {
      const result = enableNativeBlas({ dnnl: "/nonexistent/libdnnl.so.2" });
      assertEquals([result.enabled, result.dnnl], [true, undefined]);
      assert(result.dnnlReason?.includes("/nonexistent/libdnnl.so.2"), result.dnnlReason);
    } finally {
      enableNativeBlas();
    }
  },
});

Deno.test({
  name: `the forward convolution's patch matrices serve the filter gradient and are freed${skip}`,
  ignore: !native.enabled,
  fn: async () => {
    enableNativeBlas({ dnnl: false }); // oneDNN needs no patch matrices
    try {
      await patchCacheCheck();
    } finally {
      enableNativeBlas();
    }
  },
});

async function patchCacheCheck(): Promise<void> {
  {
    await tf.setBackend("wasm");
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const filter = tf.tensor4d(randomArrays([[3, 3, 2, 4]], 5)[0], [3, 3, 2, 4]);
    const filterGrad = (x: tf.Tensor4D) =>
      tf.tidy(() =>
        tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, 1, "same"))))(filter)
      );
    clearPatchCache(); // what earlier tests left
    const base = backend.numDataIds();
    // fresh inputs, each disposed before the next is made (so the heap hands their memory on): every
    // gradient must come from its own input's patches, never a stale matrix of the same geometry
    for (let seed = 0; seed < 2 * PATCH_CACHE_SIZE + 1; seed++) {
      const data = randomArrays([[2, 5, 5, 2]], 100 + seed)[0];
      await tf.setBackend("cpu");
      const [xc, fc] = [tf.tensor4d(data, [2, 5, 5, 2]), tf.tensor4d(filter.dataSync(), filter.shape)];
      const want = tf.tidy(() =>
        tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xc, f as tf.Tensor4D, 1, "same"))))(fc)
      );
      const expected = want.dataSync() as Float32Array;
      tf.dispose([xc, fc, want]);
      await tf.setBackend("wasm");
      const x = tf.tensor4d(data, [2, 5, 5, 2]);
      const got = filterGrad(x);
      const values = got.dataSync();
      for (let i = 0; i < values.length; i++) {
        assert(
          Math.abs(values[i] - expected[i]) < 1e-4 * (1 + Math.abs(expected[i])),
          `input ${seed}, dW[${i}]`,
        );
      }
      tf.dispose([x, got]);
      assert(backend.numDataIds() <= base + PATCH_CACHE_SIZE, `${backend.numDataIds() - base} extra buffers`);
    }
    clearPatchCache();
    assertEquals(backend.numDataIds(), base, "clearPatchCache() frees every matrix");
    filter.dispose();
  }
}

Deno.test({
  name: `a few Adam steps with native BLAS follow the cpu loss curve${skip}`,
  ignore: !native.enabled,
  fn: async () => {
    const curve = async (backend: string) => {
      await tf.setBackend(backend);
      const [x, w1, w2] = randomArrays([[32, 20], [20, 16], [16, 1]], 5).map((d, i) =>
        i === 0 ? tf.tensor(d, [32, 20]) : tf.variable(tf.tensor(d, i === 1 ? [20, 16] : [16, 1]))
      );
      const y = tf.sum(x, 1, true);
      const opt = tf.train.adam(0.01);
      const losses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const loss = opt.minimize(
          () => tf.losses.meanSquaredError(y, tf.matMul(tf.relu(tf.matMul(x, w1)), w2)),
          true,
        )!;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      tf.dispose([x, w1, w2, y]);
      opt.dispose();
      return losses;
    };
    await assertFollowsCpu(curve);
  },
});

/** Runs `code` as a script in a fresh process, with `--allow-ffi` or without it; returns its last stdout line. */
async function runScript(code: string, ffi: boolean): Promise<string> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const permissions = ffi ? ["--allow-all"] : ["--allow-read", "--allow-env", "--no-prompt"];
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...permissions, "--node-modules-dir=manual", "--config", config, file],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("without --allow-ffi, useBackend('auto') picks wasm and notes one line instead of crashing", async () => {
  const native = new URL("./native.ts", import.meta.url).href;
  const backend = new URL("./backend.ts", import.meta.url).href;
  const out = await runScript(
    `import "${native}"; import { useBackend } from "${backend}";` +
      `const info = await useBackend("auto"); console.log(JSON.stringify(info));`,
    false,
  );
  const result = JSON.parse(out);
  assertEquals(result.name, "wasm");
  assertEquals(result.notes, ["native BLAS unavailable: needs --allow-ffi"]);
});

Deno.test("a missing library gives enabled: false and a reason naming it", async () => {
  const native = new URL("./native.ts", import.meta.url).href;
  const out = await runScript(
    `import "@tensorflow/tfjs-backend-wasm"; import { enableNativeBlas } from "${native}";` +
      `console.log(JSON.stringify(enableNativeBlas({ library: "/nonexistent/libnoblas.so" })));`,
    true,
  );
  const result = JSON.parse(out);
  assertEquals(result.enabled, false);
  assert(result.reason.includes("/nonexistent/libnoblas.so"), result.reason);
});

Deno.test("enableNativeBlas rejects a thread count below 1 with a RangeError", () => {
  assert.throws(() => enableNativeBlas({ threads: 0 }), RangeError);
});
