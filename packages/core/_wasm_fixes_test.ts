import * as tf from "@tensorflow/tfjs";
import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { useBackend } from "./backend.ts";
import { Rng } from "./rng.ts";

await useBackend("wasm");

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

function randomArrays(shapes: number[][], seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return shapes.map((shape) =>
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => rng.next() * 2 - 1)
  );
}

/** The value of `fn` and its gradients with respect to every input, on `backend`, as plain arrays. */
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

function assertClose(actual: Float32Array, expected: Float32Array, what: string, rtol = 2e-5): void {
  assertEquals(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert(err <= rtol * scale * 10 + 1e-6, `${what}[${i}]: wasm ${actual[i]}, cpu ${expected[i]}`);
  }
}

/** Compares `fn` (and its gradients) on wasm against cpu, and checks that wasm leaked no tensor. */
async function compareWithCpu(name: string, fn: Fn, shapes: number[][], grads = true): Promise<void> {
  const data = randomArrays(shapes, shapes.flat().reduce((a, b) => a * 31 + b, 7));
  const expected = await evaluate("cpu", fn, shapes, data, grads);
  await tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  const actual = await evaluate("wasm", fn, shapes, data, grads);
  assertEquals(tf.memory().numTensors, before, `${name}: tensors leaked`);
  actual.forEach((a, i) => {
    assertEquals(a.shape, expected[i].shape, `${name} output ${i}: shape`);
    assertClose(a.values, expected[i].values, `${name} output ${i}`);
  });
}

// tfjs 4.22 has no gradient for broadcast batch dimensions: those cases check values only
const matMulCases: [number[], number[], boolean, boolean][] = [
  [[5, 7], [7, 3], false, false],
  [[7, 5], [7, 3], true, false],
  [[5, 7], [3, 7], false, true],
  [[7, 5], [3, 7], true, true],
  [[64, 300], [300, 129], false, false],
  [[300, 64], [129, 300], true, true],
  [[128, 97], [128, 33], true, false],
  [[4, 5, 7], [4, 7, 3], false, false],
  [[4, 7, 5], [4, 3, 7], true, true],
  [[4, 5, 7], [7, 3], false, false],
  [[2, 3, 7, 5], [3, 7], true, true],
  [[5, 7], [4, 7, 3], false, false],
  [[5, 7], [4, 3, 7], false, true],
  [[1, 5, 7], [1, 7, 3], false, false],
  [[1, 7], [7, 1], false, false],
];

for (const [aShape, bShape, tA, tB] of matMulCases) {
  Deno.test(`matMul on wasm matches cpu for ${aShape}×${bShape}, transposeA=${tA}, transposeB=${tB}`, async () => {
    const broadcast = aShape.length !== bShape.length;
    await compareWithCpu("matMul", (a, b) => tf.matMul(a, b, tA, tB), [aShape, bShape], !broadcast);
  });
}

Deno.test("matMul on wasm reuses one weight tensor under two shapes correctly", async () => {
  // XNNPACK caches packed weights by tensor id: a reshaped view of the same data must not hit that cache
  await compareWithCpu("reshaped weights", (a, w) => {
    const first = tf.matMul(a, w);
    const second = tf.matMul(tf.reshape(a, [6, 4]).slice([0, 0], [6, 4]), tf.reshape(w, [4, 6]));
    return tf.concat([first.flatten(), second.flatten()]);
  }, [[4, 6], [6, 4]]);
});

const fusedCases: [number[], number[], boolean, boolean, tf.fused.Activation][] = [
  [[5, 7], [7, 3], false, false, "relu"],
  [[7, 5], [7, 3], true, false, "linear"],
  [[5, 7], [3, 7], false, true, "relu"],
  [[7, 5], [3, 7], true, true, "linear"],
  [[4, 5, 7], [4, 7, 3], false, false, "relu"],
  [[4, 7, 5], [4, 7, 3], true, false, "linear"],
];

for (const [aShape, bShape, tA, tB, activation] of fusedCases) {
  Deno.test(`fused.matMul on wasm matches cpu for ${aShape}×${bShape}, ${activation}, transposes ${tA}/${tB}`, async () => {
    const n = tB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
    await compareWithCpu(
      "fused.matMul",
      (a, b, bias) => tf.fused.matMul({ a, b, bias, activation, transposeA: tA, transposeB: tB }),
      [aShape, bShape, [n]],
    );
  });
}

for (const activation of ["sigmoid", "elu", "relu6", "leakyrelu"] as const) {
  Deno.test(`fused.matMul on wasm matches cpu for a batched product with ${activation}`, async () => {
    await compareWithCpu(
      "fused.matMul",
      (a, b, bias) => tf.fused.matMul({ a, b, bias, activation, transposeB: true, leakyreluAlpha: 0.1 }),
      [[3, 6, 5], [3, 4, 5], [4]],
      false,
    );
  });
}

const convCases: [
  number[],
  number[],
  number | [number, number],
  "same" | "valid" | tf.backend_util.ExplicitPadding,
][] = [
  [[2, 9, 9, 3], [3, 3, 3, 4], 1, "same"],
  [[2, 9, 9, 3], [3, 3, 3, 4], 1, "valid"],
  [[2, 9, 8, 3], [3, 3, 3, 4], 2, "same"],
  [[2, 10, 9, 2], [3, 2, 2, 5], [2, 3], "valid"],
  [[3, 12, 12, 1], [5, 5, 1, 4], 1, "same"],
  [[2, 7, 7, 3], [3, 3, 3, 2], 2, [[0, 0], [1, 2], [2, 0], [0, 0]]],
  // stride 1 with uneven padding (the input gradient runs as a convolution of its own)
  [[2, 7, 6, 3], [3, 4, 3, 2], 1, [[0, 0], [2, 0], [0, 3], [0, 0]]],
  // rows of 5·16 floats: im2col copies them in one call
  [[1, 6, 7, 16], [5, 5, 16, 3], 1, "same"],
];

for (const [xShape, fShape, strides, pad] of convCases) {
  Deno.test(`conv2d gradients on wasm match cpu for ${xShape} * ${fShape}, strides ${strides}, pad ${JSON.stringify(pad)}`, async () => {
    await compareWithCpu(
      "conv2d",
      (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, strides, pad),
      [xShape, fShape],
    );
  });
}

Deno.test("Conv2DBackpropFilter on wasm matches cpu for NCHW data", async () => {
  const attrs = { strides: [2, 1], pad: "same", dataFormat: "NCHW", filterShape: [3, 2, 3, 4] };
  await compareWithCpu(
    "Conv2DBackpropFilter",
    (x, dy) => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, attrs) as tf.Tensor,
    [[2, 3, 7, 6], [2, 4, 4, 6]],
    false,
  );
});

Deno.test("a CNN step's gradients on wasm match cpu (conv, maxPool, avgPool, dense)", async () => {
  await compareWithCpu("cnn", (x, f1, f2, w) => {
    const h1 = tf.maxPool(tf.relu(tf.conv2d(x as tf.Tensor4D, f1 as tf.Tensor4D, 1, "same")), 2, 2, "same");
    const h2 = tf.avgPool(tf.conv2d(h1, f2 as tf.Tensor4D, 1, "same"), 2, 2, "valid");
    return tf.matMul(tf.reshape(h2, [x.shape[0], -1]), w);
  }, [[4, 12, 12, 1], [5, 5, 1, 3], [5, 5, 3, 4], [36, 10]]);
});

Deno.test("gather gradients (UnsortedSegmentSum) on wasm match cpu", async () => {
  await compareWithCpu("gather", (x) => tf.gather(x, tf.tensor1d([3, 0, 3, 1, 4, 3], "int32")), [[6, 5]]);
  await compareWithCpu("gather axis 1", (x) => tf.gather(x, tf.tensor1d([2, 2, 0], "int32"), 1), [[3, 4, 2]]);
  await compareWithCpu(
    "unsortedSegmentSum",
    (x) => tf.unsortedSegmentSum(x, tf.tensor1d([1, 0, 1, -1, 2], "int32"), 4),
    [[5, 3]],
    false,
  );
});

Deno.test("maxout (max over pieces) gradients on wasm match cpu", async () => {
  await compareWithCpu("maxout", (x, w) => tf.max(tf.reshape(tf.matMul(x, w), [8, 6, 5]), 2), [[8, 10], [
    10,
    30,
  ]]);
});

Deno.test("Conv2DBackpropInput on wasm matches cpu for NCHW data and through conv2dTranspose", async () => {
  const attrs = { strides: [2, 1], pad: "same", dataFormat: "NCHW", inputShape: [2, 3, 7, 6] };
  await compareWithCpu(
    "Conv2DBackpropInput",
    (dy, f) => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: f }, attrs) as tf.Tensor,
    [[2, 4, 4, 6], [3, 2, 3, 4]],
    false,
  );
  await compareWithCpu(
    "conv2dTranspose",
    (x, f) => tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, [2, 9, 9, 3], 2, "same"),
    [[2, 5, 5, 4], [3, 3, 3, 4]],
  );
});

const poolCases: [number[], number | [number, number], number | [number, number], "same" | "valid"][] = [
  [[2, 8, 8, 3], 2, 2, "valid"],
  [[2, 9, 7, 3], 3, 2, "same"],
  [[1, 6, 6, 2], [2, 3], 1, "valid"],
  [[2, 8, 8, 16], 2, 2, "valid"], // four-lane channel groups only
  [[1, 7, 9, 6], 3, 2, "same"], // a group and two channels left over, overlapping windows
];

Deno.test("maxPool's gradient on wasm goes to the first of tied maxima, as on cpu", async () => {
  const grads = async (backend: string) => {
    await tf.setBackend(backend);
    const x = tf.zeros([1, 4, 4, 6]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, "valid")))(x);
    const values = Array.from(g.dataSync());
    tf.dispose([x, g]);
    return values;
  };
  const cpu = await grads("cpu"), wasm = await grads("wasm");
  assertEquals(wasm, cpu);
  assertEquals(wasm.filter((v) => v === 1).length, 4 * 6, "one position per window and channel");
});

for (const [shape, size, strides, pad] of poolCases) {
  Deno.test(`maxPool gradients on wasm match cpu for ${shape}, window ${size}, strides ${strides}, ${pad}`, async () => {
    await compareWithCpu("maxPool", (x) => tf.maxPool(x as tf.Tensor4D, size, strides, pad), [shape]);
  });
}

const sliceCases: [number[], number[], number[]][] = [
  [[7, 5], [2, 0], [3, 5]], // whole rows: one run
  [[7, 5], [1, 2], [4, 2]], // a block of columns
  [[4, 3, 6], [1, 0, 2], [2, 3, 3]],
  [[3, 4, 5, 2], [0, 1, 2, 0], [3, 2, 3, 2]],
  [[2, 3, 2, 2, 3], [1, 0, 1, 0, 1], [1, 3, 1, 2, 2]], // rank 5
  [[6], [2], [3]],
  [[4, 4], [1, 1], [0, 2]], // empty
];

for (const [shape, begin, size] of sliceCases) {
  Deno.test(`slice on wasm matches cpu for ${shape}, begin ${begin}, size ${size}`, async () => {
    await compareWithCpu("slice", (x) => tf.slice(x, begin, size), [shape], size.every((s) => s > 0));
  });
}

Deno.test("slice on wasm keeps int32 and bool data", async () => {
  await tf.setBackend("wasm");
  const ints = tf.tensor2d([[1, 2, 3], [4, 5, 6]], undefined, "int32");
  const bools = tf.tensor2d([[true, false], [false, true]], undefined, "bool");
  const a = tf.slice(ints, [0, 1], [2, 2]), b = tf.slice(bools, [1, 0], [1, 2]);
  assertEquals([a.dtype, Array.from(a.dataSync())], ["int32", [2, 3, 5, 6]]);
  assertEquals([b.dtype, Array.from(b.dataSync())], ["bool", [0, 1]]);
  tf.dispose([ints, bools, a, b]);
});

const sumCases: [number[], number | number[], boolean][] = [
  [[9, 7], 0, false], // a bias gradient
  [[9, 7], [0], true],
  [[4, 3, 5, 2], [0, 1, 2], false], // a conv bias gradient
  [[4, 3, 5], [1, 0], true],
  [[4, 3, 5], [0, 2], false], // not leading: the plain kernel
  [[4, 3, 5], -1, false],
  [[4, 3], [0, 1], false], // every axis: the plain kernel
  [[0, 3], 0, false], // no rows
];

for (const [shape, axis, keepDims] of sumCases) {
  Deno.test(`sum on wasm matches cpu for ${shape}, axis ${axis}, keepDims ${keepDims}`, async () => {
    await compareWithCpu("sum", (x) => tf.sum(x, axis, keepDims), [shape], !shape.includes(0));
  });
}

const gatherCases: [number[], number[], number[], number, number][] = [
  [[5, 4], [3, 0, 3, 1], [4], 0, 0], // rows, one repeated
  [[5, 4], [2, 0, 3], [3], 1, 0], // columns
  [[3, 4, 2], [1, 1, 0, 3], [2, 2], 1, 0], // a 2-D index into the middle axis
  [[2, 4, 3], [1, 3, 0, 2], [2, 2], 1, 1], // batchDims 1
  [[6], [5, 0], [2], 0, 0],
];

for (const [shape, ids, idsShape, axis, batchDims] of gatherCases) {
  Deno.test(`gather on wasm matches cpu for ${shape}, indices ${ids}, axis ${axis}, batchDims ${batchDims}`, async () => {
    await compareWithCpu(
      "gather",
      (x) => tf.gather(x, tf.tensor(ids, idsShape, "int32"), axis, batchDims),
      [shape],
      batchDims === 0,
    );
  });
}

Deno.test("gather on wasm keeps int32 data and names an index out of range", async () => {
  await tf.setBackend("wasm");
  const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]], undefined, "int32");
  const y = tf.gather(x, tf.tensor1d([2, 0], "int32"));
  assertEquals([y.dtype, Array.from(y.dataSync())], ["int32", [5, 6, 1, 2]]);
  assert.throws(() => tf.gather(x, tf.tensor1d([3], "int32")), /index value 3 is not in \[0, 2\]/);
  tf.dispose([x, y]);
});

Deno.test("identity on wasm shares the data: clones outlive their source, and nothing leaks", async () => {
  await tf.setBackend("wasm");
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const base = backend.numDataIds();
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const y = tf.clone(x);
  assertEquals(backend.numDataIds(), base + 1, "one buffer for both");
  x.dispose();
  assertEquals(Array.from(y.dataSync()), [1, 2, 3, 4]);
  y.dispose();
  assertEquals(backend.numDataIds(), base);
  const strings = tf.tensor1d(["a", "b"], "string"), s = tf.clone(strings);
  assertEquals(s.dataSync(), ["a", "b"]);
  tf.dispose([strings, s]);
});
