/**
 * Optional native speed-up for the wasm backend: OpenBLAS's `cblas_sgemm`,
 * called through `Deno.dlopen` on zero-copy views of the wasm heap, runs
 * every matrix product (`BatchMatMul`, `_FusedMatMul`) and convolution
 * (`Conv2D` by im2col, and through core's wasm fixes both convolution
 * gradients) of the wasm backend. When oneDNN 2.x loads as well
 * (`libdnnl.so.2`: Debian's `libdnnl2`, which `python3-torch` pulls in), its
 * direct convolutions run `Conv2D` and both its gradients instead, 3-4×
 * faster than im2col and one product.
 *
 * Importing this module registers it with {@linkcode useBackend}: a later
 * `useBackend("auto")` or `useBackend("wasm")` turns it on, or notes in one
 * line why it could not (no library, no `--allow-ffi`). It needs
 * `--allow-ffi`, which lifts Deno's sandbox for the whole process, so only
 * CLIs and benchmarks import it, never a library. On Debian or Ubuntu,
 * `apt-get install libopenblas0 libdnnl2` provides the libraries.
 *
 * @example Turn it on for a script run with `deno run --allow-ffi --allow-read`
 * ```ts ignore
 * import "@simple-nets/core/native";
 * import { useBackend } from "@simple-nets/core/backend";
 * const info = await useBackend("auto");
 * console.log(info.name, info.notes); // "wasm", [] when OpenBLAS was found
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import { registerAccelerator } from "./backend.ts";
import { installWasmFixes, matMulShapes, replaceKernel, type WasmBackend } from "./_wasm_fixes.ts";
import { registerFusedSequence, registerFusedStep } from "./fused.ts";
import { geometryOf, im2col } from "./_im2col.ts";
import { backendMemory } from "./_wasm_module.ts";
import { cachedPatches, keepPatches } from "./_patch_cache.ts";
import { createNativeSequence, createNativeStep, type Sgemm, type Transpose } from "./native_rnn.ts";
import { type ConvShape, type Dnnl, loadDnnl } from "./_dnnl.ts";

/** Options of {@linkcode enableNativeBlas}. */
export interface NativeBlasOptions {
  /**
   * Path or name of a shared library exporting `cblas_sgemm`. Without it,
   * {@linkcode DEFAULT_BLAS_LIBRARIES} are tried in order.
   */
  library?: string;
  /**
   * Threads OpenBLAS may use for a large product (at least
   * {@linkcode THREADED_MIN_MACS} multiply-adds, more than one row); smaller
   * products run on one thread, where waking a second costs more than it
   * saves. Set with `openblas_set_num_threads` when the library has it (the
   * OpenMP build ignores `OPENBLAS_NUM_THREADS`).
   *
   * @default {the number of cores, at most 2}
   */
  threads?: number;
  /**
   * Path or name of oneDNN 2.x (`libdnnl.so.2`), whose direct convolutions
   * then run `Conv2D` and both its gradients (NHWC, float32, dilation 1);
   * `false` keeps them on im2col and `sgemm`. Without it,
   * {@linkcode DEFAULT_DNNL_LIBRARIES} are tried, and a missing library
   * quietly leaves convolutions to `sgemm`. A later call may switch between
   * the two.
   *
   * @default {DEFAULT_DNNL_LIBRARIES}
   */
  dnnl?: string | false;
}

/** What {@linkcode enableNativeBlas} did. */
export interface NativeBlasResult {
  /** Whether the native kernels are now registered on the wasm backend. */
  enabled: boolean;
  /** One line saying why not, when `enabled` is false. */
  reason?: string;
  /** The library that was loaded, when `enabled` is true. */
  library?: string;
  /** The oneDNN library that runs the convolutions, when one does. */
  dnnl?: string;
  /** One line saying why oneDNN does not, when `enabled` is true and `dnnl` is not set. */
  dnnlReason?: string;
}

/**
 * Libraries tried when no `library` option is given: OpenBLAS by its
 * soname, by Debian's multiarch path, then the generic `libblas.so.3`
 * (which Debian points at OpenBLAS when `libopenblas0` is installed).
 */
export const DEFAULT_BLAS_LIBRARIES: readonly string[] = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "libopenblas.dylib",
  "libblas.so.3",
];

export { DEFAULT_DNNL_LIBRARIES } from "./_dnnl.ts";

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order
      "i32", // transA
      "i32", // transB
      "i32", // M
      "i32", // N
      "i32", // K
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // B
      "i32", // ldb
      "f32", // beta
      "buffer", // C
      "i32", // ldc
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: [
      "i32", // order
      "i32", // trans
      "i32", // M
      "i32", // N
      "f32", // alpha
      "buffer", // A
      "i32", // lda
      "buffer", // x
      "i32", // incx
      "f32", // beta
      "buffer", // y
      "i32", // incy
    ],
    result: "void",
    optional: true,
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  // OpenBLAS's out-of-place transpose (order, trans, rows, cols, α, a, lda, b, ldb)
  cblas_somatcopy: {
    parameters: ["i32", "i32", "i32", "i32", "f32", "buffer", "i32", "buffer", "i32"],
    result: "void",
    optional: true,
  },
} as const;

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

type Sgemv = (
  order: number,
  trans: number,
  m: number,
  n: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  x: Float32Array,
  incx: number,
  beta: number,
  y: Float32Array,
  incy: number,
) => void;

/**
 * `sgemm` that sends single-row products (`m` = 1: sampling, batch-1
 * inference) to `sgemv`, which reads B once instead of packing it first
 * (OpenBLAS 0.3.21 packs all of B even for one row).
 */
function withGemv(gemm: Sgemm, gemv: Sgemv): Sgemm {
  return (order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    if (m !== 1 || order !== ROW_MAJOR) {
      return gemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
    // c (1×n) = op(a) (1×k) · op(b) (k×n), so cᵀ = op(b)ᵀ · aᵀ; a's k values are `lda` apart when transposed
    const incx = ta === TRANS ? lda : 1;
    if (beta === 0) c.fill(0, 0, n); // never scale what the heap held before (0·NaN is NaN)
    if (tb === TRANS) gemv(ROW_MAJOR, NO_TRANS, n, k, alpha, b, ldb, a, incx, beta, c, 1);
    else gemv(ROW_MAJOR, TRANS, k, n, alpha, b, ldb, a, incx, beta, c, 1);
  };
}

let sgemm: Sgemm | undefined;
let transpose: Transpose | undefined;
let loaded: NativeBlasResult | undefined;

/**
 * Loads OpenBLAS and registers its `sgemm` as the wasm backend's matrix
 * product and convolution kernels. Safe to call again: the first library
 * that loads stays, a later call only sets the thread count. A missing
 * library, a missing `--allow-ffi` or a wasm backend that is not loaded give
 * `enabled: false` and a one-line reason, never an exception.
 *
 * @param options Which library, how many threads.
 * @returns Whether the native kernels are on, and the library or the reason.
 * @throws {RangeError} when `threads` is not an integer of at least 1.
 *
 * @example Fall back cleanly when the library is absent
 * ```ts ignore
 * import "@tensorflow/tfjs-backend-wasm";
 * import { enableNativeBlas } from "@simple-nets/core/native";
 * const result = enableNativeBlas({ threads: 2 });
 * if (!result.enabled) console.error(`native BLAS unavailable: ${result.reason}`);
 * ```
 */
export function enableNativeBlas(options: NativeBlasOptions = {}): NativeBlasResult {
  const threads = options.threads ?? Math.max(1, Math.min(2, navigator.hardwareConcurrency ?? 1));
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`Cannot use ${threads} BLAS threads: expected an integer of at least 1`);
  }
  if (!tf.getKernel("BatchMatMul", "wasm")) {
    return {
      enabled: false,
      reason: "the wasm backend is not loaded (import @tensorflow/tfjs-backend-wasm first)",
    };
  }
  if (!loaded?.enabled) {
    loaded = load(options.library);
    if (!loaded.enabled) return loaded;
    installWasmFixes(); // first, so that the fixes never replace the native kernels
    registerNativeKernels();
    registerFusedSequence(createNativeSequence(sgemm!, transpose));
    registerFusedStep(createNativeStep(sgemm!));
  }
  maxThreads = threads;
  return { ...loaded, ...useDnnl(options.dnnl) };
}

/** The oneDNN library the convolution kernels use; `undefined` leaves them to im2col and `sgemm`. */
let dnnl: Dnnl | undefined;
const dnnlLoads = new Map<string, Dnnl | string>();

function useDnnl(library: string | false | undefined): Pick<NativeBlasResult, "dnnl" | "dnnlReason"> {
  if (library === false) {
    dnnl = undefined;
    return { dnnlReason: "turned off (dnnl: false)" };
  }
  const key = library ?? "";
  let result = dnnlLoads.get(key);
  if (result === undefined) dnnlLoads.set(key, result = loadDnnl(library));
  if (typeof result === "string") {
    dnnl = undefined;
    return { dnnlReason: result };
  }
  dnnl = result;
  return { dnnl: result.library };
}

/**
 * Products of fewer multiply-adds than this run on one BLAS thread. On 2
 * cores, one training step with 2 threads above it against 1 thread for
 * all (bench, wasm + OpenBLAS): LSTM 270 → 169 ms, GRU 200 → 128, RNN 81
 * → 55, maxout GAN 175 → 125, CNN 148 → 98, VAE 21 → 18; 2^20 and 2^24
 * were no better.
 */
export const THREADED_MIN_MACS: number = 1 << 22;

let maxThreads = 1;

/**
 * `sgemm` that gives large products `maxThreads` threads, and small ones,
 * or ones with two sides below 64, one.
 */
function withThreads(gemm: Sgemm, setThreads: (n: number) => void): Sgemm {
  let current = 0;
  return (order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    // a product with two short sides (a first convolution: 16 filters of 25 taps) is bound by memory,
    // and a second thread only slows it (conv1 forward at batch 128: 1.2 ms on one thread, 1.6 on two)
    const long = (m >= 64 ? 1 : 0) + (n >= 64 ? 1 : 0) + (k >= 64 ? 1 : 0);
    const threads = m > 1 && long >= 2 && m * n * k >= THREADED_MIN_MACS ? maxThreads : 1;
    if (threads !== current) setThreads(current = threads);
    gemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  };
}

function load(library?: string): NativeBlasResult {
  const ffi = Deno.permissions?.querySync?.({ name: "ffi" });
  if (ffi && ffi.state !== "granted") {
    return { enabled: false, reason: "needs --allow-ffi" };
  }
  const errors: string[] = [];
  for (const path of library ? [library] : DEFAULT_BLAS_LIBRARIES) {
    try {
      const lib = Deno.dlopen(path, SYMBOLS);
      const gemm = lib.symbols.cblas_sgemm as unknown as Sgemm;
      const gemv = lib.symbols.cblas_sgemv as unknown as Sgemv | null;
      const set = lib.symbols.openblas_set_num_threads;
      const omatcopy = lib.symbols.cblas_somatcopy;
      transpose = omatcopy
        ? (rows, cols, src, dst) => omatcopy(ROW_MAJOR, TRANS, rows, cols, 1, src, cols, dst, rows)
        : undefined;
      sgemm = gemv ? withGemv(gemm, gemv) : gemm;
      if (set) sgemm = withThreads(sgemm, (n) => set(n));
      return { enabled: true, library: path };
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  return { enabled: false, reason: `no BLAS library with cblas_sgemm found (${errors.join("; ")})` };
}

registerAccelerator((backend) => {
  if (backend !== "wasm") return Promise.resolve(undefined);
  const result = enableNativeBlas();
  return Promise.resolve(result.enabled ? undefined : `native BLAS unavailable: ${result.reason}`);
});

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: NamedAttrMap };

/** A float32 view of `size` floats of tensor `t` on the heap, taken now (after any allocation). */
function view(backend: WasmBackend, t: TensorInfo, size: number, start = 0): Float32Array {
  const offset = backend.dataIdMap.get(t.dataId).memoryOffset + start * 4;
  // the constructor throws a RangeError instead of letting BLAS read outside the heap
  return new Float32Array(backend.wasm.HEAPF32.buffer, offset, size);
}

/**
 * `out = a × b` (with transposes) for float32 tensors of any batch shape
 * that `matMulShapes` accepted; `beta` 1 adds to what `out` holds.
 */
function gemm(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  out: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  beta: number,
): void {
  const { m, k, n, batchA, batchB } = matMulShapes(a.shape, b.shape, transposeA, transposeB);
  const batch = Math.max(batchA, batchB);
  if (tf.util.sizeFromShape(out.shape) !== batch * m * n) {
    throw new Error(`native matMul: output of shape ${out.shape} cannot hold ${batch}×${m}×${n}`);
  }
  if (m * n === 0) return;
  const lda = transposeA ? m : k, ldb = transposeB ? k : n;
  const ta = transposeA ? TRANS : NO_TRANS, tb = transposeB ? TRANS : NO_TRANS;
  if (k === 0) {
    if (beta === 0) view(backend, out, batch * m * n).fill(0);
    return;
  }
  if (batchB === 1 && !transposeA) {
    // the batch of `a` folded into its rows: one call
    const rows = batchA * m;
    sgemm!(
      ROW_MAJOR,
      ta,
      tb,
      rows,
      n,
      k,
      1,
      view(backend, a, rows * k),
      lda,
      view(backend, b, k * n),
      ldb,
      beta,
      view(backend, out, rows * n),
      n,
    );
    return;
  }
  for (let i = 0; i < batch; i++) {
    const av = view(backend, a, m * k, batchA === 1 ? 0 : i * m * k);
    const bv = view(backend, b, k * n, batchB === 1 ? 0 : i * k * n);
    sgemm!(ROW_MAJOR, ta, tb, m, n, k, 1, av, lda, bv, ldb, beta, view(backend, out, m * n, i * m * n), n);
  }
}

function registerNativeKernels(): void {
  const fallbackInput = tf.getKernel("Conv2DBackpropInput", "wasm").kernelFunc;
  const fallbackFilter = tf.getKernel("Conv2DBackpropFilter", "wasm").kernelFunc;
  replaceKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) => dnnlBackpropInput(args) ?? fallbackInput(args as never)) as KernelFunc,
  });
  replaceKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) =>
      dnnlBackpropFilter(args) ?? fallbackFilter(args as never)) as KernelFunc,
  });
  const fallbackMatMul = tf.getKernel("BatchMatMul", "wasm").kernelFunc;
  const fallbackFused = tf.getKernel("_FusedMatMul", "wasm").kernelFunc;
  const fallbackConv = tf.getKernel("Conv2D", "wasm");
  replaceKernel({
    kernelName: "BatchMatMul",
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) => {
      const { a, b } = args.inputs;
      if (a.dtype !== "float32" || b.dtype !== "float32") return fallbackMatMul(args as never);
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const backend = args.backend as WasmBackend;
      const out = backend.makeOutput(
        matMulShapes(a.shape, b.shape, transposeA, transposeB).outShape,
        "float32",
      );
      gemm(backend, a, b, out, transposeA, transposeB, 0);
      return out;
    }) as KernelFunc,
  });
  replaceKernel({
    kernelName: "_FusedMatMul",
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) => nativeFusedMatMul(args, fallbackFused)) as KernelFunc,
  });
  replaceKernel({
    ...fallbackConv,
    setupFunc: fallbackConv.setupFunc,
    kernelFunc: ((args: KernelArgs) => nativeConv2D(args, fallbackConv)) as KernelFunc,
  });
}

/** Activations applied after the product, as wasm kernel names (relu is done in place). */
const UNARY: Record<string, string> = { relu6: "Relu6", sigmoid: "Sigmoid", elu: "Elu" };

function nativeFusedMatMul(args: KernelArgs, fallback: KernelFunc): TensorInfo {
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const attrs = args.attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation?: string;
    leakyreluAlpha?: number;
  };
  const activation = attrs.activation ?? "linear";
  const backend = args.backend as WasmBackend;
  const { n, outShape } = matMulShapes(a.shape, b.shape, attrs.transposeA, attrs.transposeB);
  const biasSize = bias ? tf.util.sizeFromShape(bias.shape) : 0;
  if (
    a.dtype !== "float32" || b.dtype !== "float32" ||
    (bias && (bias.shape.length > 1 || (biasSize !== n && biasSize !== 1)))
  ) {
    return fallback(args as never) as TensorInfo;
  }
  let out = backend.makeOutput(outShape, "float32");
  const size = tf.util.sizeFromShape(outShape);
  if (bias) {
    const o = view(backend, out, size), bv = view(backend, bias, biasSize);
    if (biasSize === 1) o.fill(bv[0]);
    else for (let row = 0; row < size; row += n) o.set(bv, row);
  }
  gemm(backend, a, b, out, attrs.transposeA, attrs.transposeB, bias ? 1 : 0);
  const apply = (name: string, inputs: Record<string, TensorInfo>, kernelAttrs: NamedAttrMap = {}) => {
    const next = tf.getKernel(name, "wasm").kernelFunc({
      inputs,
      backend: backend as object,
      attrs: kernelAttrs,
    }) as TensorInfo;
    backend.disposeData(out.dataId);
    out = next;
  };
  if (activation === "relu") {
    const o = view(backend, out, size);
    for (let i = 0; i < size; i++) if (o[i] < 0) o[i] = 0;
  } else if (UNARY[activation]) {
    apply(UNARY[activation], { x: out });
  } else if (activation === "leakyrelu") {
    apply("LeakyRelu", { x: out }, { alpha: attrs.leakyreluAlpha ?? 0.2 });
  } else if (activation === "prelu" && preluActivationWeights) {
    apply("Prelu", { x: out, alpha: preluActivationWeights });
  } else if (activation !== "linear") {
    backend.disposeData(out.dataId);
    return fallback(args as never) as TensorInfo;
  }
  return out;
}

function nativeConv2D(args: KernelArgs, fallback: KernelConfig): TensorInfo {
  const { x, filter } = args.inputs;
  const info = convInfo(x.shape, filter.shape, args.attrs as unknown as ConvAttrs, [x.dtype, filter.dtype]);
  if (!info) return fallback.kernelFunc(args as never) as TensorInfo;
  const backend = args.backend as WasmBackend;
  const conv = dnnlConv(info);
  if (conv) {
    const out = backend.makeOutput(info.outShape, "float32");
    const at = addresses(backend); // after the allocation: the heap may have grown
    conv.forward(at(x), at(filter), at(out));
    return out;
  }
  const { batchSize, outHeight, outWidth, inChannels, outChannels } = info;
  const g = geometryOf(info);
  const rows = batchSize * outHeight * outWidth, width = g.kh * g.kw * inChannels;
  const out = backend.makeOutput(info.outShape, "float32");
  if (width === inChannels && g.sh === 1 && g.sw === 1 && g.top === 0 && g.left === 0) {
    gemm(
      backend,
      { ...x, shape: [rows, inChannels] },
      { ...filter, shape: [inChannels, outChannels] },
      out,
      false,
      false,
      0,
    );
    return out;
  }
  // the patch matrix stays in core's cache for the filter gradient (Conv2DBackpropFilter)
  const kept = cachedPatches(backend, x, g);
  let cols: TensorInfo;
  if (kept) {
    cols = { dataId: kept.dataId, dtype: "float32", shape: [rows, width] };
  } else {
    cols = backend.makeOutput([rows, width], "float32");
    const offset = (t: TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
    im2col(backend.wasm.HEAPF32, offset(x), offset(cols), g, backendMemory(backend)); // the heap after the allocations
    keepPatches(backend, x, g, cols);
  }
  gemm(backend, cols, { ...filter, shape: [width, outChannels] }, out, false, false, 0);
  return out;
}

/** The attributes TF.js's convolution kernels and their gradients share. */
interface ConvAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dilations?: [number, number] | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * The geometry of `attrs` for an input and filter shape, or `undefined`
 * where only the plain kernel applies (NCHW, dilation, not float32).
 */
function convInfo(
  inputShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  dtypes: string[],
): tf.backend_util.Conv2DInfo | undefined {
  const dilations = attrs.dilations ?? 1;
  const dilated = Array.isArray(dilations) ? dilations.some((d) => d !== 1) : dilations !== 1;
  if (attrs.dataFormat === "NCHW" || dilated || dtypes.some((d) => d !== "float32")) return undefined;
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
}

/** oneDNN's convolution for `info`, when oneDNN is on and takes this geometry. */
function dnnlConv(info: tf.backend_util.Conv2DInfo): ReturnType<Dnnl["conv"]> {
  if (!dnnl || tf.util.sizeFromShape(info.outShape) === 0 || info.inChannels === 0) return undefined;
  const shape: ConvShape = {
    ...geometryOf(info),
    outChannels: info.outChannels,
    bottom: info.padInfo.bottom,
    right: info.padInfo.right,
  };
  return dnnl.conv(shape);
}

/** Byte addresses of tensors on the heap as it is now (take it after the last allocation). */
function addresses(backend: WasmBackend): (t: TensorInfo) => Deno.PointerValue {
  const base = Deno.UnsafePointer.of(backend.wasm.HEAPF32);
  return (t) => Deno.UnsafePointer.offset(base!, backend.dataIdMap.get(t.dataId).memoryOffset);
}

function dnnlBackpropInput(args: KernelArgs): TensorInfo | undefined {
  const { dy, filter } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  const info = convInfo(attrs.inputShape, filter.shape, attrs, [dy.dtype, filter.dtype]);
  // oneDNN's input gradient for one input channel is slower than one product and col2im
  // (a saliency map's first layer, 100 images 28×28, 16 filters 5×5: 4.6-4.9 ms against 3.2; at 2 channels 4.6 against 6.6)
  const conv = info && info.inChannels > 1 ? dnnlConv(info) : undefined;
  if (!conv) return undefined;
  const backend = args.backend as WasmBackend;
  const dx = backend.makeOutput(attrs.inputShape, "float32");
  const at = addresses(backend);
  conv.backwardData(at(dy), at(filter), at(dx));
  return dx;
}

function dnnlBackpropFilter(args: KernelArgs): TensorInfo | undefined {
  const { x, dy } = args.inputs;
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  const info = convInfo(x.shape, attrs.filterShape, attrs, [x.dtype, dy.dtype]);
  const conv = info && dnnlConv(info);
  if (!conv) return undefined;
  const backend = args.backend as WasmBackend;
  const dw = backend.makeOutput(attrs.filterShape, "float32");
  const at = addresses(backend);
  conv.backwardWeights(at(x), at(dy), at(dw));
  return dw;
}
