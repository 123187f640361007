/**
 * Patches for the gaps of the tfjs 4.22 wasm backend, installed once by
 * `backend.ts` after the wasm backend is imported and before it starts.
 *
 * - `BatchMatMul` and `_FusedMatMul`: the wasm backend sends every product
 *   with a transpose flag or a batch dimension above 1 to a naive loop that
 *   is 10-30× slower than its XNNPACK path. The patched kernels transpose
 *   flagged operands explicitly (wasm `Transpose`), fold a shared right
 *   operand's batch into the rows, and run one XNNPACK product per batch
 *   item on views of the operands (no copies).
 * - `Conv2DBackpropFilter` is missing: im2col on the wasm heap (`_im2col.ts`),
 *   then one product through whatever `BatchMatMul` kernel is registered (so
 *   a faster one, such as native BLAS, is used too).
 * - `Conv2DBackpropInput` and `MaxPoolGrad` are slow: one product then the
 *   adjoint of im2col (`col2imAdd`), and a window scan over all channels at
 *   once.
 * - `UnsortedSegmentSum` (the gradient of `gather`) is missing: a plain loop.
 * - `Slice` copied its whole input, `Sum` over leading axes (every bias
 *   gradient) transposed it first, `GatherV2` copied element by element,
 *   and `Identity` (run for every tensor saved for a gradient) copied its
 *   input: all four work on the heap in place instead (`_wasm_views.ts`).
 *
 * Every kernel here returns what the plain kernel returns, to float32
 * rounding; `_wasm_fixes_test.ts` checks each against the cpu backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import { col2imAdd, geometryOf, im2col } from "./_im2col.ts";
import { gatherV2, identity, slice, sum } from "./_wasm_views.ts";
import { backendMemory } from "./_wasm_module.ts";
import { simdMaxPoolGrad } from "./_pool_simd.ts";
import { simdAdd } from "./_im2col_simd.ts";
import { cachedPatches } from "./_patch_cache.ts";

/** The parts of the wasm backend (`BackendWasm`) that these kernels use. */
export interface WasmBackend {
  wasm: {
    HEAPF32: Float32Array;
    HEAP32: Int32Array;
    HEAPU8: Uint8Array;
    cwrap(
      name: string,
      ret: null,
      args: string[],
    ): (...args: unknown[]) => void;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: unknown): { id: number; memoryOffset: number }; has(dataId: unknown): boolean };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  disposeData(dataId: unknown, force?: boolean): boolean;
}

type KernelArgs = {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
  attrs?: NamedAttrMap;
};

let installed = false;
let wasmBatchMatMul: ((...args: unknown[]) => void) | undefined;
let wasmFusedMatMul: ((...args: unknown[]) => void) | undefined;

/** Registers the fixed kernels on the wasm backend, once. */
export function installWasmFixes(): void {
  if (installed) return;
  installed = true;
  const original = tf.getKernel("BatchMatMul", "wasm");
  const originalFused = tf.getKernel("_FusedMatMul", "wasm");
  if (!original || !originalFused) return; // the wasm backend is not loaded
  replaceKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    setupFunc: (backend) => {
      original.setupFunc?.(backend);
      wasmBatchMatMul = (backend as WasmBackend).wasm.cwrap(
        "BatchMatMul",
        null,
        [
          "number",
          "array",
          "number",
          "number",
          "array",
          "number",
          "number",
          "number",
          "number",
        ],
      );
    },
    kernelFunc: batchMatMul as unknown as KernelFunc,
  });
  replaceKernel({
    kernelName: "_FusedMatMul",
    backendName: "wasm",
    setupFunc: (backend) => {
      originalFused.setupFunc?.(backend);
      const args = ["number", "array", "number", "number", "array", "number"];
      wasmFusedMatMul = (backend as WasmBackend).wasm.cwrap(
        "_FusedMatMul",
        null,
        [...args, ...Array(7).fill("number")],
      );
    },
    kernelFunc: ((args: KernelArgs) => fusedMatMul(args, originalFused.kernelFunc)) as KernelFunc,
  });
  replaceKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
  });
  replaceKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
  });
  replaceKernel({
    kernelName: "MaxPoolGrad",
    backendName: "wasm",
    kernelFunc: maxPoolGrad as unknown as KernelFunc,
  });
  const viewKernels = [["Slice", slice], ["Sum", sum], ["GatherV2", gatherV2], [
    "Identity",
    identity,
  ]] as const;
  for (const [name, impl] of viewKernels) {
    const plain = tf.getKernel(name, "wasm");
    replaceKernel({
      ...plain,
      kernelFunc: ((args: KernelArgs) => impl(args, plain.kernelFunc)) as KernelFunc,
    });
  }
  replaceKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
  });
}

/**
 * Registers `config` in place of any kernel of the same name, and runs its
 * setup at once when its backend is already the active one (setup otherwise
 * runs in `tf.setBackend`).
 */
export function replaceKernel(config: KernelConfig): void {
  if (tf.getKernel(config.kernelName, config.backendName)) {
    tf.unregisterKernel(config.kernelName, config.backendName);
  }
  tf.registerKernel(config);
  const engine = tf.engine() as unknown as {
    backendName?: string;
    backendInstance?: unknown;
  };
  if (engine.backendName === config.backendName && engine.backendInstance) {
    config.setupFunc?.(engine.backendInstance as object);
  }
}

/** Runs a registered wasm kernel by name; the caller owns the result. */
function run(
  name: string,
  backend: unknown,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
) {
  const kernel = tf.getKernel(name, "wasm");
  return kernel.kernelFunc({
    inputs,
    backend: backend as object,
    attrs,
  }) as TensorInfo;
}

/** `x` of shape [batch, rows, cols] transposed to [batch, cols, rows]; caller disposes. */
export function transpose3d(x: TensorInfo, backend: unknown): TensorInfo {
  return run("Transpose", backend, { x }, { perm: [0, 2, 1] });
}

/** Shapes of a matrix product after the transpose flags, checked like tf.matMul. */
export function matMulShapes(
  aShape: number[],
  bShape: number[],
  transposeA: boolean,
  transposeB: boolean,
): {
  m: number;
  k: number;
  n: number;
  batchA: number;
  batchB: number;
  outShape: number[];
} {
  const ar = aShape.length, br = bShape.length;
  const m = transposeA ? aShape[ar - 1] : aShape[ar - 2];
  const k = transposeA ? aShape[ar - 2] : aShape[ar - 1];
  const kb = transposeB ? bShape[br - 1] : bShape[br - 2];
  const n = transposeB ? bShape[br - 2] : bShape[br - 1];
  if (k !== kb) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${aShape} and ` +
        `${bShape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(
    aShape.slice(0, -2),
    bShape.slice(0, -2),
  );
  const batchA = tf.util.sizeFromShape(aShape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(bShape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) {
    throw new Error(
      `Error in matMul: batch shapes ${aShape.slice(0, -2)} and ${bShape.slice(0, -2)} must match or be 1`,
    );
  }
  return { m, k, n, batchA, batchB, outShape: [...outer, m, n] };
}

/**
 * Brings both operands of a product to plain row-major [batch, m, k] and
 * [batch, k, n] layout (explicit transposes) and lists the temporaries that
 * the caller must dispose.
 */
export function plainOperands(
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  backend: unknown,
): { a3: TensorInfo; b3: TensorInfo; temps: TensorInfo[] } {
  const ar = a.shape.length, br = b.shape.length;
  const temps: TensorInfo[] = [];
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  let a3: TensorInfo = {
    dataId: a.dataId,
    dtype: a.dtype,
    shape: [batchA, a.shape[ar - 2], a.shape[ar - 1]],
  };
  let b3: TensorInfo = {
    dataId: b.dataId,
    dtype: b.dtype,
    shape: [batchB, b.shape[br - 2], b.shape[br - 1]],
  };
  if (transposeA) temps.push(a3 = transpose3d(a3, backend));
  if (transposeB) temps.push(b3 = transpose3d(b3, backend));
  return { a3, b3, temps };
}

/** Fused epilogue of `_FusedMatMul`: activation code and tensor ids (0 for none). */
interface Epilogue {
  activation: number;
  biasId: number;
  preluId: number;
  alpha: number;
}

/** The (k, n) each right operand was first multiplied as: XNNPACK caches its packed weights by tensor id only. */
const packedAs = new WeakMap<object, string>();

/**
 * Plain product [bA, m, k] × [bB, k, n] into `out` ([batch, m, n]) with the
 * XNNPACK path of the wasm kernel: one call when `b` has no batch (the batch
 * of `a` folded into its rows), else one call per batch item on views.
 */
function product(
  backend: WasmBackend,
  a3: TensorInfo,
  b3: TensorInfo,
  out: TensorInfo,
  epilogue?: Epilogue,
): void {
  const [batchA, m, k] = a3.shape;
  const [batchB, , n] = b3.shape;
  const aInfo = backend.dataIdMap.get(a3.dataId);
  const bInfo = backend.dataIdMap.get(b3.dataId);
  const outInfo = backend.dataIdMap.get(out.dataId);
  const views: number[] = [];
  const view = (offset: number, size: number) => {
    const id = backend.dataIdNextNumber++;
    backend.wasm.tfjs.registerTensor(id, size, offset);
    views.push(id);
    return id;
  };
  const call = (aId: number, rows: number, bId: number, outId: number) => {
    const aShape = new Uint8Array(new Int32Array([1, rows, k]).buffer);
    const bShape = new Uint8Array(new Int32Array([1, k, n]).buffer);
    if (epilogue) {
      const { activation, biasId, preluId, alpha } = epilogue;
      wasmFusedMatMul!(
        aId,
        aShape,
        3,
        bId,
        bShape,
        3,
        false,
        false,
        activation,
        biasId,
        preluId,
        alpha,
        outId,
      );
    } else {
      wasmBatchMatMul!(aId, aShape, 3, bId, bShape, 3, false, false, outId);
    }
  };
  if (batchB === 1) {
    // a weight matrix: keep its id (and XNNPACK's packed copy) unless it was packed with other dims
    const dims = `${k},${n}`;
    const seen = packedAs.get(b3.dataId as object);
    if (seen === undefined) packedAs.set(b3.dataId as object, dims);
    const bId = seen === undefined || seen === dims ? bInfo.id : view(bInfo.memoryOffset, k * n);
    call(aInfo.id, batchA * m, bId, outInfo.id);
  } else {
    for (let i = 0; i < batchB; i++) {
      const aId = batchA === 1 ? aInfo.id : view(aInfo.memoryOffset + i * m * k * 4, m * k);
      const bId = view(bInfo.memoryOffset + i * k * n * 4, k * n);
      call(aId, m, bId, view(outInfo.memoryOffset + i * m * n * 4, m * n));
    }
  }
  for (const id of views) backend.wasm.tfjs.disposeData(id);
}

function batchMatMul(args: KernelArgs): TensorInfo {
  const { a, b } = args.inputs;
  const backend = args.backend as WasmBackend;
  const { transposeA, transposeB } = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
  };
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new Error(
      `BatchMatMul for non non-float32 tensors not yet supported.`,
    );
  }
  const { m, k, n, batchA, batchB, outShape } = matMulShapes(
    a.shape,
    b.shape,
    transposeA,
    transposeB,
  );
  const out = backend.makeOutput(outShape, "float32");
  if (m * n === 0) return out;
  if (k === 0) {
    const start = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
    backend.wasm.HEAPF32.fill(
      0,
      start,
      start + m * n * Math.max(batchA, batchB),
    );
    return out;
  }
  const { a3, b3, temps } = plainOperands(
    a,
    b,
    transposeA,
    transposeB,
    backend,
  );
  product(backend, a3, b3, out);
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

const ACTIVATIONS: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  prelu: 3,
  leakyrelu: 4,
  sigmoid: 5,
  elu: 6,
};

function fusedMatMul(args: KernelArgs, original: KernelFunc): TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const backend = args.backend as WasmBackend;
  const attrs = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
    leakyreluAlpha?: number;
  };
  const activation = ACTIVATIONS[attrs.activation ?? "linear"];
  const k = attrs.transposeA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const batch = Math.max(
    tf.util.sizeFromShape(a.shape.slice(0, -2)),
    tf.util.sizeFromShape(b.shape.slice(0, -2)),
  );
  if (
    a.dtype !== "float32" || b.dtype !== "float32" ||
    activation === undefined || k === 0 ||
    (bias && bias.shape.length !== 1)
  ) {
    return original(args as never) as TensorInfo; // its own errors and edge cases
  }
  const { a3, b3, temps } = plainOperands(
    a,
    b,
    attrs.transposeA,
    attrs.transposeB,
    backend,
  );
  let out: TensorInfo;
  if (preluActivationWeights && batch > 1) {
    // PReLU weights may span the batch: the original kernel, on plain operands
    const plain = { ...args.attrs, transposeA: false, transposeB: false };
    out = original(
      {
        inputs: { ...args.inputs, a: a3, b: b3 },
        backend,
        attrs: plain,
      } as never,
    ) as TensorInfo;
  } else {
    out = backend.makeOutput(
      matMulShapes(a.shape, b.shape, attrs.transposeA, attrs.transposeB)
        .outShape,
      "float32",
    );
    product(backend, a3, b3, out, {
      activation,
      biasId: bias ? backend.dataIdMap.get(bias.dataId).id : 0,
      preluId: preluActivationWeights ? backend.dataIdMap.get(preluActivationWeights.dataId).id : 0,
      alpha: attrs.leakyreluAlpha ?? 0,
    });
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

function conv2DBackpropFilter(args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args
    .attrs as unknown as {
      strides: [number, number] | number;
      pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
      dataFormat: "NHWC" | "NCHW";
      dimRoundingMode?: "floor" | "round" | "ceil";
      filterShape: [number, number, number, number];
    };
  let { x, dy } = args.inputs;
  const temps: TensorInfo[] = [];
  if (dataFormat === "NCHW") {
    temps.push(x = run("Transpose", backend, { x }, { perm: [0, 2, 3, 1] }));
    temps.push(
      dy = run("Transpose", backend, { x: dy }, { perm: [0, 2, 3, 1] }),
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    "channelsLast",
  );
  const g = geometryOf(info);
  const rows = info.batchSize * info.outHeight * info.outWidth, width = g.kh * g.kw * info.inChannels;
  // dw[width, O] = colsᵀ · dy, with cols the patch matrix of im2col (the forward's, when it kept it)
  const kept = cachedPatches(backend, x, g);
  let cols: TensorInfo;
  if (kept) {
    cols = { dataId: kept.dataId, dtype: "float32", shape: [1, rows, width] };
  } else {
    cols = backend.makeOutput([1, rows, width], "float32");
    const offset = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
    im2col(backend.wasm.HEAPF32, offset(x), offset(cols), g, backendMemory(backend)); // the heap after the allocation
  }
  const dy2: TensorInfo = { dataId: dy.dataId, dtype: "float32", shape: [1, rows, info.outChannels] };
  const dw = run("BatchMatMul", backend, { a: cols, b: dy2 }, { transposeA: true, transposeB: false });
  if (!kept) backend.disposeData(cols.dataId);
  for (const t of temps) backend.disposeData(t.dataId);
  dw.shape = [...filterShape];
  return dw;
}

/** Attributes shared by the two convolution gradient kernels. */
interface ConvAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

function conv2DBackpropInput(args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackend;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  const { filter } = args.inputs;
  let { dy } = args.inputs;
  const nchw = attrs.dataFormat === "NCHW";
  const temps: TensorInfo[] = [];
  let inputShape = attrs.inputShape;
  if (nchw) {
    temps.push(dy = run("Transpose", backend, { x: dy }, { perm: [0, 2, 3, 1] }));
    const [b, c, h, w] = inputShape;
    inputShape = [b, h, w, c];
  }
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  const rows = info.batchSize * info.outHeight * info.outWidth;
  const width = info.filterHeight * info.filterWidth * info.inChannels;
  // cols[(b·OH + oh)·OW + ow, (i·kw + j)·C + c] = Σ_o dy[b, oh, ow, o] · filter[i, j, c, o]; then col2im
  const cols = run("BatchMatMul", backend, {
    a: { dataId: dy.dataId, dtype: "float32", shape: [1, rows, info.outChannels] },
    b: { dataId: filter.dataId, dtype: "float32", shape: [1, width, info.outChannels] },
  }, { transposeA: false, transposeB: true });
  let dx = backend.makeOutput(inputShape, "float32");
  const heap = backend.wasm.HEAPF32; // after the last allocation: the heap may have grown
  const xs = backend.dataIdMap.get(dx.dataId).memoryOffset / 4;
  heap.fill(0, xs, xs + tf.util.sizeFromShape(inputShape));
  col2imAdd(
    heap,
    backend.dataIdMap.get(cols.dataId).memoryOffset / 4,
    xs,
    geometryOf(info),
    backendMemory(backend),
  );
  backend.disposeData(cols.dataId);
  if (nchw) {
    const nhwc = dx;
    dx = run("Transpose", backend, { x: nhwc }, { perm: [0, 3, 1, 2] });
    backend.disposeData(nhwc.dataId);
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return dx;
}

function maxPoolGrad(args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { dy, input } = args.inputs;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
    dimRoundingMode?: "floor" | "round" | "ceil";
  };
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  const dx = backend.makeOutput(input.shape, "float32");
  const heap = backend.wasm.HEAPF32;
  const xs = backend.dataIdMap.get(input.dataId).memoryOffset / 4;
  const ds = backend.dataIdMap.get(dy.dataId).memoryOffset / 4;
  const os = backend.dataIdMap.get(dx.dataId).memoryOffset / 4;
  heap.fill(0, os, os + batchSize * inHeight * inWidth * inChannels);
  const simd = simdMaxPoolGrad(backendMemory(backend));
  if (simd) {
    const geometry = [
      batchSize,
      inHeight,
      inWidth,
      inChannels,
      outHeight,
      outWidth,
      fh,
      fw,
      sh,
      sw,
      top,
      left,
    ];
    simd(xs * 4, ds * 4, os * 4, ...geometry);
    return dx;
  }
  // each output's gradient goes to the first maximum of its window, as the cpu kernel does; the
  // channels of a window position are contiguous, so the scan runs over all of them at once
  const C = inChannels, best = new Int32Array(C), max = new Float32Array(C);
  let d = ds;
  for (let b = 0; b < batchSize; b++) {
    const base = xs + b * inHeight * inWidth * C;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = Math.max(0, oh * sh - top), h1 = Math.min(inHeight, oh * sh - top + fh);
      for (let ow = 0; ow < outWidth; ow++, d += C) {
        const w0 = Math.max(0, ow * sw - left), w1 = Math.min(inWidth, ow * sw - left + fw);
        if (h0 >= h1 || w0 >= w1) continue;
        const first = base + (h0 * inWidth + w0) * C;
        for (let c = 0; c < C; c++) {
          best[c] = first + c;
          max[c] = heap[first + c];
        }
        for (let h = h0; h < h1; h++) {
          for (let w = h === h0 ? w0 + 1 : w0; w < w1; w++) {
            const at = base + (h * inWidth + w) * C;
            for (let c = 0; c < C; c++) {
              const value = heap[at + c];
              if (value > max[c]) { // a NaN first value stays: nothing compares above it
                max[c] = value;
                best[c] = at + c;
              }
            }
          }
        }
        for (let c = 0; c < C; c++) heap[os - xs + best[c]] += heap[d + c];
      }
    }
  }
  return dx;
}

function unsortedSegmentSum(args: KernelArgs): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, segmentIds } = args.inputs;
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  const inner = tf.util.sizeFromShape(x.shape.slice(segmentIds.shape.length));
  const count = tf.util.sizeFromShape(segmentIds.shape);
  const out = backend.makeOutput([
    numSegments,
    ...x.shape.slice(segmentIds.shape.length),
  ], x.dtype);
  const heap = x.dtype === "float32" ? backend.wasm.HEAPF32 : backend.wasm.HEAP32;
  const ids = backend.wasm.HEAP32;
  const xs = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  const ss = backend.dataIdMap.get(segmentIds.dataId).memoryOffset / 4;
  const os = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  heap.fill(0, os, os + numSegments * inner);
  const add = x.dtype === "float32" ? simdAdd(backendMemory(backend)) : undefined;
  for (let i = 0; i < count; i++) {
    const s = ids[ss + i];
    if (s < 0 || s >= numSegments) continue;
    const from = xs + i * inner, to = os + s * inner;
    if (add) add(4 * to, 4 * from, inner);
    else for (let j = 0; j < inner; j++) heap[to + j] += heap[from + j];
  }
  return out;
}
