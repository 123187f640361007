/**
 * Two tfjs 4.22 wasm kernels redone on views of the heap, for core's wasm
 * fixes (`_wasm_fixes.ts`):
 *
 * - `Slice` read its whole input with `backend.readSync`, which copies it
 *   off the heap first: taking 64 rows of a 1600×1536 tensor cost 5.8 ms,
 *   the price of the whole tensor. This one copies only the slice.
 * - `Sum` over leading axes (every bias gradient: the sum of a
 *   `[rows, units]` gradient over its rows) transposed its input first and
 *   then reduced the inner axis. This one adds the rows into the output in
 *   order, the same float32 additions in the same order, without the
 *   transpose (5.5 → ~2 ms for 1600×1536).
 * - `GatherV2` ran a per-element loop in C++: 105 ms to gather 1600 rows of
 *   2048 floats. This one copies each gathered slice with one `set`.
 * - `Identity` copied its input. TF.js runs it for every tensor a kernel
 *   saves for its gradient (`engine.clone`), so every training step copied
 *   its activations once more (24-57 copies a step in our models), and a
 *   gradient never saw the very tensor its forward kernel saw. This one
 *   shares the data, as the cpu backend's does (tensors are immutable).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import type { WasmBackend } from "./_wasm_fixes.ts";
import { backendMemory } from "./_wasm_module.ts";
import { simdAdd } from "./_im2col_simd.ts";

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: NamedAttrMap };

/** A typed view of `t` on the heap as it is now: take it after the last allocation. */
function heapView(backend: WasmBackend, t: TensorInfo): Float32Array | Int32Array | Uint8Array {
  const offset = backend.dataIdMap.get(t.dataId).memoryOffset;
  const size = tf.util.sizeFromShape(t.shape);
  const buffer = backend.wasm.HEAPU8.buffer;
  if (t.dtype === "float32") return new Float32Array(buffer, offset, size);
  if (t.dtype === "int32") return new Int32Array(buffer, offset, size);
  return new Uint8Array(buffer, offset, size); // bool
}

/** `Slice` that copies only the slice: contiguous runs of the innermost axes, one `set` each. */
export function slice(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs;
  if (x.dtype === "string" || x.dtype === "complex64") return fallback(args as never) as TensorInfo;
  const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
  const out = backend.makeOutput(size, x.dtype);
  const total = tf.util.sizeFromShape(size);
  if (total === 0) return out;
  const from = heapView(backend, x), to = heapView(backend, out); // after makeOutput: the heap may have grown
  const rank = x.shape.length;
  if (rank === 0) {
    to[0] = from[0];
    return out;
  }
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // innermost axes taken whole join the run: axes k..rank-1 are one contiguous block of `run` elements
  let k = rank - 1, run = size[k];
  while (k > 0 && size[k] === x.shape[k]) run *= size[--k];
  let base = 0;
  for (let d = k; d < rank; d++) base += begin[d] * strides[d];
  const index = new Array<number>(k).fill(0);
  for (let o = 0; o < total; o += run) {
    let start = base;
    for (let d = 0; d < k; d++) start += (begin[d] + index[d]) * strides[d];
    to.set(from.subarray(start, start + run), o);
    for (let d = k - 1; d >= 0; d--) { // the odometer over the outer axes
      if (++index[d] < size[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** `Sum` of float32 data over leading axes by rows; other sums go to `fallback`. */
export function sum(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x } = args.inputs;
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
  const lead = axes.length;
  if (
    x.dtype !== "float32" || lead === 0 || lead === x.shape.length || axes.some((a, i) => a !== i) ||
    new Set(axes).size !== lead
  ) {
    return fallback(args as never) as TensorInfo;
  }
  const rows = tf.util.sizeFromShape(x.shape.slice(0, lead));
  const cols = tf.util.sizeFromShape(x.shape.slice(lead));
  const outShape = keepDims ? x.shape.map((d, i) => i < lead ? 1 : d) : x.shape.slice(lead);
  const out = backend.makeOutput(outShape, "float32");
  const heap = backend.wasm.HEAPF32; // after makeOutput
  const xs = backend.dataIdMap.get(x.dataId).memoryOffset / 4;
  const os = backend.dataIdMap.get(out.dataId).memoryOffset / 4;
  if (cols === 0) return out;
  if (rows === 0) {
    heap.fill(0, os, os + cols);
    return out;
  }
  heap.copyWithin(os, xs, xs + cols);
  const add = simdAdd(backendMemory(backend));
  for (let r = 1; r < rows; r++) {
    const at = xs + r * cols;
    if (add) add(4 * os, 4 * at, cols);
    else for (let c = 0; c < cols; c++) heap[os + c] += heap[at + c];
  }
  return out;
}

/** `GatherV2` by whole slices: `out[b, o, i, :] = x[b, o, indices[b, i], :]`, one `set` each. */
export function gatherV2(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, indices } = args.inputs;
  if (x.dtype === "string" || x.dtype === "complex64" || indices.dtype !== "int32") {
    return fallback(args as never) as TensorInfo;
  }
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(
    x as tf.Tensor,
    indices as tf.Tensor,
    parsedAxis,
    batchDims,
  );
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const count = tf.util.sizeFromShape(indices.shape), perBatch = batchSize > 0 ? count / batchSize : 0;
  const ids = heapView(backend, indices) as Int32Array;
  for (let i = 0; i < count; i++) {
    const index = ids[i];
    if (!(index >= 0 && index <= dimSize - 1)) {
      throw new Error(`GatherV2: the index value ${index} is not in [0, ${dimSize - 1}]`);
    }
  }
  const out = backend.makeOutput(info.outputShape, x.dtype);
  if (tf.util.sizeFromShape(info.outputShape) === 0) return out;
  const from = heapView(backend, x), to = heapView(backend, out); // after makeOutput
  const at = heapView(backend, indices) as Int32Array;
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let outer = 0; outer < outerSize; outer++) {
      const base = (b * outerSize + outer) * dimSize * sliceSize;
      for (let i = 0; i < perBatch; i++, o += sliceSize) {
        const start = base + at[b * perBatch + i] * sliceSize;
        if (sliceSize === 1) to[o] = from[start];
        else to.set(from.subarray(start, start + sliceSize), o);
      }
    }
  }
  return out;
}

/** `Identity` that shares `x`'s data (one more reference) instead of copying it. */
export function identity(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { x } = args.inputs;
  if (x.dtype === "string") return fallback(args as never) as TensorInfo;
  (args.backend as { incRef(dataId: unknown): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
