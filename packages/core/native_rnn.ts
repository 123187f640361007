/**
 * The fused recurrent-sequence op of {@linkcode FusedSequence}, on a native
 * `sgemm`: the whole recurrence of an RNN, LSTM or GRU in one TF.js op
 * (`tf.customGrad`). Forward: per step one product `h·Wh` and the gate math,
 * keeping the gate activations. Backward: backpropagation through time with
 * one product `dz·Whᵀ` per step, then the recurrent weight's gradient as one
 * product over all steps.
 *
 * On the wasm backend every array is a tensor on the wasm heap (what the
 * backward pass needs is the op's saved tensors, freed with the tape), the
 * products read and write it in place, and the gate math runs as WebAssembly
 * SIMD (`_rnn_simd.wat`) when the hidden size is a multiple of 4. Elsewhere
 * the same code runs on one JavaScript array.
 *
 * `native.ts` registers it (through `registerFusedSequence`) when it loads
 * OpenBLAS; this module itself opens no library, so it needs no permission.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { FusedCell, FusedSequence, FusedStepKernels } from "./fused.ts";
import type { WasmBackend } from "./_wasm_fixes.ts";
import { backendMemory } from "./_wasm_module.ts";
import { simdCellMath } from "./_rnn_simd.ts";

/**
 * Row-major `cblas_sgemm` as bound by `Deno.dlopen`: `C = α·op(A)·op(B) + β·C`.
 * Arguments: order, transA, transB, M, N, K, α, A, lda, B, ldb, β, C, ldc.
 */
export type Sgemm = (
  order: number,
  transA: number,
  transB: number,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

/**
 * `dst = srcᵀ` for a row-major `rows × cols` matrix (OpenBLAS's
 * `cblas_somatcopy`, as `native.ts` binds it).
 */
export type Transpose = (rows: number, cols: number, src: Float32Array, dst: Float32Array) => void;

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
const GATES: Record<FusedCell, number> = { rnn: 1, lstm: 4, gru: 3 };

/**
 * tanh as a rational function on [-7.9, 7.9] (Eigen's float tanh; absolute
 * error below 3e-7), 3-4× faster than `Math.tanh` in V8.
 */
function tanh(x: number): number {
  x = x > 7.90531110763549805 ? 7.90531110763549805 : x < -7.90531110763549805 ? -7.90531110763549805 : x;
  const x2 = x * x;
  let p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13;
  p = p * x2 - 8.60467152213735e-11;
  p = p * x2 + 5.12229709037114e-8;
  p = p * x2 + 1.48572235717979e-5;
  p = p * x2 + 6.37261928875436e-4;
  p = p * x2 + 4.89352455891786e-3;
  let q = x2 * 1.19825839466702e-6 + 1.18534705686654e-4;
  q = q * x2 + 2.268434632439e-3;
  q = q * x2 + 4.89352518554385e-3;
  return (x * p) / q;
}

/** σ(x) = (1 + tanh(x/2)) / 2, absolute error below 2e-7. */
const sigmoid = (x: number) => 0.5 + 0.5 * tanh(0.5 * x);

/**
 * The elementwise parts of the cells, on one array: every argument but the
 * sizes is a float position in it. Gate rows (`z`, `a`, `d`) are `G·H` wide;
 * every other operand is `B·H` contiguous floats.
 */
export interface CellMath {
  /** z = tanh(z), copied to `hn`, over `n` floats. */
  rnnForward(z: number, hn: number, n: number): void;
  /** d = (dy + dh)·(1 − a²), over `n` floats. */
  rnnBackward(d: number, a: number, dy: number, dh: number, n: number): void;
  /** Gates i, f, o, g activated in place; c' = f·c + i·g into `cn`, tanh(c') into `tc`, o·tanh(c') into `hn`. */
  lstmForward(z: number, cp: number, cn: number, tc: number, hn: number, B: number, H: number): void;
  /**
   * Pre-activation gradients `d` from the activations `a`, the output
   * gradient `dy + dh` and the carried `dc` (c_t's gradient afterwards);
   * `cp` is c_t, `tc` tanh(c_{t+1}).
   */
  lstmBackward(
    d: number,
    a: number,
    dy: number,
    dh: number,
    dc: number,
    cp: number,
    tc: number,
    B: number,
    H: number,
  ): void;
  /** u = σ(z_u), r = σ(z_r) in place; r·h into `rh`. */
  gruGates(z: number, h: number, rh: number, B: number, H: number): void;
  /** candidate = tanh(z_c) in place; h + u·(candidate − h) into `hn`. */
  gruOutput(z: number, h: number, hn: number, B: number, H: number): void;
  /** With gh = dy + dh: the candidate's and u's pre-activation gradients, and gh·(1 − u) into `dhn`. */
  gruBackwardOutput(
    d: number,
    a: number,
    dy: number,
    dh: number,
    hp: number,
    dhn: number,
    B: number,
    H: number,
  ): void;
  /** From d(r·h) = `drh`: r's pre-activation gradient, and drh·r added into `dhn`. */
  gruBackwardReset(d: number, a: number, drh: number, hp: number, dhn: number, B: number, H: number): void;
}

/** {@linkcode CellMath} in JavaScript on `F`. */
export function jsCellMath(F: Float32Array): CellMath {
  return {
    rnnForward(z, hn, n) {
      for (let k = 0; k < n; k++) F[hn + k] = F[z + k] = tanh(F[z + k]);
    },
    rnnBackward(d, a, dy, dh, n) {
      for (let k = 0; k < n; k++) {
        const h = F[a + k];
        F[d + k] = (F[dy + k] + F[dh + k]) * (1 - h * h);
      }
    },
    lstmForward(z, cp, cn, tc, hn, B, H) {
      for (let b = 0; b < B; b++) {
        const row = z + b * 4 * H;
        for (let j = 0; j < H; j++) {
          const i = F[row + j] = sigmoid(F[row + j]);
          const f = F[row + H + j] = sigmoid(F[row + H + j]);
          const o = F[row + 2 * H + j] = sigmoid(F[row + 2 * H + j]);
          const g = F[row + 3 * H + j] = tanh(F[row + 3 * H + j]);
          const k = b * H + j;
          const c = F[cn + k] = f * F[cp + k] + i * g;
          F[hn + k] = o * (F[tc + k] = tanh(c));
        }
      }
    },
    lstmBackward(d, a, dy, dh, dc, cp, tc, B, H) {
      for (let b = 0; b < B; b++) {
        const ra = a + b * 4 * H, rd = d + b * 4 * H;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const gh = F[dy + k] + F[dh + k];
          const i = F[ra + j], f = F[ra + H + j], o = F[ra + 2 * H + j], g = F[ra + 3 * H + j];
          const t = F[tc + k];
          const dct = F[dc + k] + gh * o * (1 - t * t);
          F[rd + j] = dct * g * i * (1 - i);
          F[rd + H + j] = dct * F[cp + k] * f * (1 - f);
          F[rd + 2 * H + j] = gh * t * o * (1 - o);
          F[rd + 3 * H + j] = dct * i * (1 - g * g);
          F[dc + k] = dct * f;
        }
      }
    },
    gruGates(z, h, rh, B, H) {
      for (let b = 0; b < B; b++) {
        const row = z + b * 3 * H;
        for (let j = 0; j < H; j++) {
          F[row + j] = sigmoid(F[row + j]);
          const r = F[row + H + j] = sigmoid(F[row + H + j]);
          F[rh + b * H + j] = r * F[h + b * H + j];
        }
      }
    },
    gruOutput(z, h, hn, B, H) {
      for (let b = 0; b < B; b++) {
        const row = z + b * 3 * H;
        for (let j = 0; j < H; j++) {
          const u = F[row + j];
          const cand = F[row + 2 * H + j] = tanh(F[row + 2 * H + j]);
          const k = b * H + j;
          F[hn + k] = F[h + k] + u * (cand - F[h + k]);
        }
      }
    },
    gruBackwardOutput(d, a, dy, dh, hp, dhn, B, H) {
      for (let b = 0; b < B; b++) {
        const ra = a + b * 3 * H, rd = d + b * 3 * H;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const gh = F[dy + k] + F[dh + k];
          const u = F[ra + j], cand = F[ra + 2 * H + j];
          F[rd + 2 * H + j] = gh * u * (1 - cand * cand);
          F[rd + j] = gh * (cand - F[hp + k]) * u * (1 - u);
          F[dhn + k] = gh * (1 - u);
        }
      }
    },
    gruBackwardReset(d, a, drh, hp, dhn, B, H) {
      for (let b = 0; b < B; b++) {
        const ra = a + b * 3 * H, rd = d + b * 3 * H;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const r = F[ra + H + j];
          F[rd + H + j] = F[drh + k] * F[hp + k] * r * (1 - r);
          F[dhn + k] += F[drh + k] * r;
        }
      }
    },
  };
}

/** Where the forward pass keeps its arrays in `F` (float positions). */
interface Saved {
  /** h_0 … h_T, then (lstm) c_T: `(T + 1 + extra)·B·H`. */
  hs: number;
  /** Inputs xw, then the gate activations of every step, `T·B·G·H` (gru: u, r, candidate after σ/tanh). */
  gates: number;
  /** lstm: c_0 … c_T `(T + 1)·B·H`; gru: r·h_{t-1} of every step `T·B·H`. */
  extra: number;
  /** lstm: tanh(c_t) of every step `T·B·H`. */
  tanhC: number;
}

/** Floats each array of {@linkcode Saved} needs. */
function savedSizes(cell: FusedCell, T: number, B: number, H: number): Record<keyof Saved, number> {
  const BH = B * H;
  return {
    hs: (T + 1 + (cell === "lstm" ? 1 : 0)) * BH,
    gates: T * BH * GATES[cell],
    extra: cell === "lstm" ? (T + 1) * BH : cell === "gru" ? T * BH : 0,
    tanhC: cell === "lstm" ? T * BH : 0,
  };
}

/**
 * The recurrence, in place in `F`: `gates` must hold xw, `hs` h_0 and
 * (lstm) `extra` c_0. Writes h_1 … h_T (and c_T) after h_0.
 */
function forward(
  sgemm: Sgemm,
  math: CellMath,
  F: Float32Array,
  at: Saved,
  cell: FusedCell,
  wh: Float32Array,
  T: number,
  B: number,
  H: number,
): void {
  const G = GATES[cell], W = G * H, BH = B * H, BW = B * W;
  const v = (pos: number, size: number) => F.subarray(pos, pos + size);
  for (let t = 0; t < T; t++) {
    const h = at.hs + t * BH, z = at.gates + t * BW, hOut = h + BH;
    if (cell === "rnn") {
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, W, H, 1, v(h, BH), H, wh, W, 1, v(z, BW), W);
      math.rnnForward(z, hOut, BH);
    } else if (cell === "lstm") {
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, W, H, 1, v(h, BH), H, wh, W, 1, v(z, BW), W);
      const c = at.extra + t * BH;
      math.lstmForward(z, c, c + BH, at.tanhC + t * BH, hOut, B, H);
    } else {
      // u, r = σ(xw_ur + h·Wh_ur); candidate = tanh(xw_c + (r·h)·Wh_c)
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, 2 * H, H, 1, v(h, BH), H, wh, W, 1, v(z, BW), W);
      const rh = at.extra + t * BH;
      math.gruGates(z, h, rh, B, H);
      sgemm(
        ROW_MAJOR,
        NO_TRANS,
        NO_TRANS,
        B,
        H,
        H,
        1,
        v(rh, BH),
        H,
        wh.subarray(2 * H),
        W,
        1,
        v(z + 2 * H, BW - 2 * H),
        W,
      );
      math.gruOutput(z, h, hOut, B, H);
    }
  }
  if (cell === "lstm") F.copyWithin(at.hs + (T + 1) * BH, at.extra + T * BH, at.extra + (T + 1) * BH);
}

/** Positions for arrays of the given sizes laid out one after another in one array of `size` floats. */
function pack<K extends string>(sizes: Record<K, number>): { at: Record<K, number>; size: number } {
  let size = 0;
  const at = {} as Record<K, number>;
  for (const name of Object.keys(sizes) as K[]) {
    at[name] = size;
    size += sizes[name];
  }
  return { at, size };
}

/** Where the backward pass keeps its arrays in `F` (float positions). */
interface Grads {
  /** The gradient of the op's output, h_1 … h_T (then c_T for lstm), `(T + extra)·B·H`. */
  dy: number;
  /** The pre-activation gradients, the gradient of xw, `T·B·G·H`. */
  dz: number;
  /** The carried gradient of h, zeros at the start, `B·H`. */
  dh: number;
  /** gru: a second carried gradient of h, `B·H`. */
  dhNext: number;
  /** gru: d(r·h), `B·H`. */
  drh: number;
  /** lstm: the carried gradient of c, `B·H`. */
  dc: number;
}

/** Floats each array of {@linkcode Grads} needs (`dy` is given). */
function gradSizes(
  cell: FusedCell,
  T: number,
  B: number,
  H: number,
): Record<Exclude<keyof Grads, "dy">, number> {
  const BH = B * H;
  return {
    dz: T * BH * GATES[cell],
    dh: BH,
    dhNext: cell === "gru" ? BH : 0,
    drh: cell === "gru" ? BH : 0,
    dc: cell === "lstm" ? BH : 0,
  };
}

/**
 * Backpropagation through time in `F`; `dh` must hold zeros. Writes the
 * gradients of xw into `dz`, of (lstm) c_0 into `dc`, of `wh` into `dwh`,
 * and returns where the gradient of h_0 ended up (`dh`, or `dhNext` for gru
 * after an odd number of steps). With `whT` (`wh` transposed, `[G·H, H]`)
 * each step's `dz·Whᵀ` is a plain product, which OpenBLAS runs about 30%
 * faster than the transposed one (LSTM 1×512, batch 64: 0.80 against 1.14
 * ms per step, for one 0.34 ms transpose).
 */
function backward(
  sgemm: Sgemm,
  math: CellMath,
  F: Float32Array,
  at: Saved,
  g: Grads,
  cell: FusedCell,
  wh: Float32Array,
  dwh: Float32Array,
  whT: Float32Array | undefined,
  T: number,
  B: number,
  H: number,
): number {
  const G = GATES[cell], W = G * H, BH = B * H, BW = B * W;
  const v = (pos: number, size: number) => F.subarray(pos, pos + size);
  /** out (B × n, ld H) = β·out + d (B × k at `d`, ld W) · (rows `from`… of whT, or columns of wh)ᵀ */
  const timesWhT = (d: number, from: number, k: number, n: number, beta: number, out: number) => {
    const [tb, b, ldb] = whT ? [NO_TRANS, whT.subarray(from * H), H] : [TRANS, wh.subarray(from), W];
    sgemm(ROW_MAJOR, NO_TRANS, tb, B, n, k, 1, v(d, BW - from), W, b, ldb, beta, v(out, BH), H);
  };
  if (cell === "lstm") F.copyWithin(g.dc, g.dy + T * BH, g.dy + (T + 1) * BH);
  let dh = g.dh, dhNext = g.dhNext;
  for (let t = T - 1; t >= 0; t--) {
    const a = at.gates + t * BW, d = g.dz + t * BW, dy = g.dy + t * BH;
    if (cell === "rnn") {
      math.rnnBackward(d, a, dy, dh, BH);
      timesWhT(d, 0, W, H, 0, dh);
    } else if (cell === "lstm") {
      math.lstmBackward(d, a, dy, dh, g.dc, at.extra + t * BH, at.tanhC + t * BH, B, H);
      timesWhT(d, 0, W, H, 0, dh);
    } else {
      const hPrev = at.hs + t * BH;
      math.gruBackwardOutput(d, a, dy, dh, hPrev, dhNext, B, H);
      timesWhT(d + 2 * H, 2 * H, H, H, 0, g.drh); // d(r·h) = dz_c·Wh_cᵀ
      math.gruBackwardReset(d, a, g.drh, hPrev, dhNext, B, H);
      timesWhT(d, 0, 2 * H, H, 1, dhNext);
      [dh, dhNext] = [dhNext, dh];
    }
  }
  if (cell === "gru") {
    sgemm(ROW_MAJOR, TRANS, NO_TRANS, H, 2 * H, T * B, 1, v(at.hs, T * BH), H, v(g.dz, T * BW), W, 0, dwh, W);
    sgemm(
      ROW_MAJOR,
      TRANS,
      NO_TRANS,
      H,
      H,
      T * B,
      1,
      v(at.extra, T * BH),
      H,
      v(g.dz + 2 * H, T * BW - 2 * H),
      W,
      0,
      dwh.subarray(2 * H),
      W,
    );
  } else {
    sgemm(ROW_MAJOR, TRANS, NO_TRANS, H, W, T * B, 1, v(at.hs, T * BH), H, v(g.dz, T * BW), W, 0, dwh, W);
  }
  return dh;
}

/**
 * A {@linkcode FusedSequence} on the given `sgemm` (from `native.ts`).
 *
 * @param sgemm Row-major `cblas_sgemm`.
 * @returns The op, ready for `registerFusedSequence`.
 */
export function createNativeSequence(sgemm: Sgemm, transpose?: Transpose): FusedSequence {
  return (cell, xw, wh, state) => {
    const G = GATES[cell];
    if (!G) throw new TypeError(`Cannot run a fused sequence of cell "${cell}": expected rnn, lstm or gru`);
    if (xw.rank !== 3 || wh.rank !== 2) {
      throw new TypeError(
        `Cannot run a fused ${cell}: xw has rank ${xw.rank}, wh rank ${wh.rank}, expected 3 and 2`,
      );
    }
    const [T, B, W] = xw.shape;
    const H = wh.shape[0];
    if (W !== G * H || wh.shape[1] !== W || T < 1) {
      throw new TypeError(
        `Cannot run a fused ${cell}: xw has shape [${xw.shape}] and wh [${wh.shape}], expected [T ≥ 1, B, ${G}·${H}]`,
      );
    }
    const count = cell === "lstm" ? 2 : 1;
    if (state.length !== count || state.some((s) => s.rank !== 2 || s.shape[0] !== B || s.shape[1] !== H)) {
      throw new TypeError(
        `Cannot run a fused ${cell}: the state has shapes ${state.map((s) => `[${s.shape}]`).join(" ")}, ` +
          `expected ${count} of [${B},${H}]`,
      );
    }
    const inputs = [xw, wh, ...state];
    if (inputs.some((t) => t.dtype !== "float32")) {
      throw new TypeError(`Cannot run a fused ${cell}: every input must be float32`);
    }
    const extra = cell === "lstm" ? 1 : 0;
    const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [x, w, h0, c0] = args.slice(0, inputs.length) as tf.Tensor[];
      const save = args[inputs.length] as tf.GradSaveFunc;
      const call: OpCall = { sgemm, transpose, cell, x, w, h0, c0, save, T, B, H };
      return tf.getBackend() === "wasm"
        ? onHeap(tf.backend() as unknown as WasmBackend, call)
        : onArray(call);
    });
    return tf.tidy(() => {
      const all = op(...inputs) as tf.Tensor3D;
      const outputs = extra ? tf.slice(all, [0, 0, 0], [T, B, H]) as tf.Tensor3D : all;
      const last = tf.reshape(tf.slice(all, [T - 1, 0, 0], [1, B, H]), [B, H]) as tf.Tensor2D;
      const final = extra
        ? [last, tf.reshape(tf.slice(all, [T, 0, 0], [1, B, H]), [B, H]) as tf.Tensor2D]
        : [last];
      return { outputs, state: final };
    });
  };
}

type Forward = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** One call of the op, as `tf.customGrad` hands it over: the kernels, the inputs and the sizes. */
interface OpCall {
  sgemm: Sgemm;
  transpose: Transpose | undefined;
  cell: FusedCell;
  x: tf.Tensor;
  w: tf.Tensor;
  h0: tf.Tensor;
  c0: tf.Tensor | undefined;
  save: tf.GradSaveFunc;
  T: number;
  B: number;
  H: number;
}

/** A new float32 tensor on the wasm heap, its values unset; the caller owns it. */
function allocate(backend: WasmBackend, shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, "float32"));
}

/**
 * The op on the wasm backend: every array is a tensor on the wasm heap, the
 * forward pass's kept for the backward pass as the op's saved tensors (so
 * TF.js frees them with the tape), and the gate math runs as SIMD when the
 * hidden size is a multiple of 4.
 */
function onHeap(
  backend: WasmBackend,
  { sgemm, transpose, cell, x, w, h0, c0, save, T, B, H }: OpCall,
): Forward {
  const G = GATES[cell], W = G * H, BH = B * H, extra = cell === "lstm" ? 1 : 0;
  const names = ["hs", "gates", "extra", "tanhC"] as const;
  const sizes = savedSizes(cell, T, B, H);
  // allocate everything before taking positions' views: a new tensor may move the heap
  const kept = names.filter((name) => sizes[name] > 0).map((name) => allocate(backend, [sizes[name]]));
  const math = () => {
    const simd = H % 4 === 0 ? simdCellMath(backendMemory(backend)) : undefined;
    return simd ?? jsCellMath(backend.wasm.HEAPF32);
  };
  const pos = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset / 4;
  const positions = (tensors: tf.Tensor[]): Saved => {
    const at: Saved = { hs: 0, gates: 0, extra: 0, tanhC: 0 };
    names.filter((name) => sizes[name] > 0).forEach((name, i) => at[name] = pos(tensors[i]));
    return at;
  };
  const F = backend.wasm.HEAPF32;
  const at = positions(kept);
  F.copyWithin(at.gates, pos(x), pos(x) + T * B * W);
  F.copyWithin(at.hs, pos(h0), pos(h0) + BH);
  if (c0) F.copyWithin(at.extra, pos(c0), pos(c0) + BH);
  forward(sgemm, math(), F, at, cell, F.subarray(pos(w), pos(w) + H * W), T, B, H);
  save([w, ...kept]);
  const value = tf.reshape(tf.slice(kept[0], [BH], [(T + extra) * BH]), [T + extra, B, H]);
  return {
    value,
    gradFunc: (dy, [wSaved, ...savedArrays]) => {
      const gs = gradSizes(cell, T, B, H);
      const dz = allocate(backend, [T, B, W]), dwh = allocate(backend, [H, W]);
      const dh = allocate(backend, [B, H]);
      const dhNext = gs.dhNext ? allocate(backend, [B, H]) : undefined;
      const drh = gs.drh ? allocate(backend, [B, H]) : undefined;
      const dc = gs.dc ? allocate(backend, [B, H]) : undefined;
      const whT = transpose ? allocate(backend, [W, H]) : undefined;
      const F = backend.wasm.HEAPF32; // after the allocations
      const g: Grads = {
        dy: pos(dy),
        dz: pos(dz),
        dh: pos(dh),
        dhNext: dhNext ? pos(dhNext) : 0,
        drh: drh ? pos(drh) : 0,
        dc: dc ? pos(dc) : 0,
      };
      F.fill(0, g.dh, g.dh + BH);
      const wh = F.subarray(pos(wSaved), pos(wSaved) + H * W);
      const dwhView = F.subarray(pos(dwh), pos(dwh) + H * W);
      const whTView = whT && F.subarray(pos(whT), pos(whT) + W * H);
      if (whTView) transpose!(H, W, wh, whTView);
      const at = positions(savedArrays);
      const final = backward(sgemm, math(), F, at, g, cell, wh, dwhView, whTView, T, B, H);
      const [dh0, spare] = final === g.dh ? [dh, dhNext] : [dhNext!, dh];
      tf.dispose([spare, drh, whT].filter((t) => t !== undefined));
      return dc ? [dz, dwh, dh0, dc] : [dz, dwh, dh0];
    },
  };
}

/**
 * The op elsewhere (a backend without a wasm heap): inputs read through
 * `dataSync`, every array in one JavaScript array kept by the closure, and
 * the gradients copied into new tensors.
 */
function onArray(
  { sgemm, transpose, cell, x, w, h0, c0, save, T, B, H }: OpCall,
): Forward {
  const W = GATES[cell] * H, BH = B * H, extra = cell === "lstm" ? 1 : 0;
  const sizes = { ...savedSizes(cell, T, B, H), ...gradSizes(cell, T, B, H), dy: (T + extra) * BH };
  const { at, size } = pack(sizes);
  const F = new Float32Array(size);
  F.set(x.dataSync() as Float32Array, at.gates);
  F.set(h0.dataSync() as Float32Array, at.hs);
  if (c0) F.set(c0.dataSync() as Float32Array, at.extra);
  const math = jsCellMath(F);
  forward(sgemm, math, F, at, cell, w.dataSync() as Float32Array, T, B, H);
  save([w]);
  return {
    value: tf.tensor3d(F.slice(at.hs + BH, at.hs + sizes.hs), [T + extra, B, H]),
    gradFunc: (dy, [wSaved]) => {
      F.set(dy.dataSync() as Float32Array, at.dy);
      F.fill(0, at.dh, at.dh + BH);
      const dwh = new Float32Array(H * W), wh = wSaved.dataSync() as Float32Array;
      const whT = transpose ? new Float32Array(W * H) : undefined;
      if (whT) transpose!(H, W, wh, whT);
      const final = backward(sgemm, math, F, at, at, cell, wh, dwh, whT, T, B, H);
      const grads = [
        tf.tensor3d(F.slice(at.dz, at.dz + sizes.dz), [T, B, W]),
        tf.tensor2d(dwh, [H, W]),
        tf.tensor2d(F.slice(final, final + BH), [B, H]),
      ];
      if (cell === "lstm") grads.push(tf.tensor2d(F.slice(at.dc, at.dc + BH), [B, H]));
      return grads;
    },
  };
}

/**
 * The plain-array step kernels of {@linkcode FusedStepKernels} on the given
 * `sgemm`: the same gate math as the fused sequence, one step at a time.
 *
 * @param sgemm Row-major `cblas_sgemm`.
 * @returns The kernels, ready for `registerFusedStep`.
 */
export function createNativeStep(sgemm: Sgemm): FusedStepKernels {
  return {
    affine(a, b, bias, m, k, n) {
      if (a.length < m * k || b.length < k * n || bias.length < n) {
        throw new TypeError(
          `Cannot multiply [${m}, ${k}] by [${k}, ${n}] plus [${n}]: an array is too short`,
        );
      }
      const out = new Float32Array(m * n);
      for (let row = 0; row < m; row++) out.set(bias.subarray(0, n), row * n);
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1, a, k, b, n, 1, out, n);
      return out;
    },
    step(cell, xw, wh, state, batch, hidden) {
      const G = GATES[cell], BH = batch * hidden;
      const count = cell === "lstm" ? 2 : 1;
      if (
        !G || xw.length !== batch * G * hidden || wh.length !== hidden * G * hidden ||
        state.length !== count || state.some((s) => s.length !== BH)
      ) {
        throw new TypeError(`Cannot step a ${cell} of ${hidden} units on batch ${batch}: wrong sizes`);
      }
      const { at, size } = pack(savedSizes(cell, 1, batch, hidden));
      const F = new Float32Array(size);
      F.set(xw, at.gates);
      F.set(state[0], at.hs);
      if (cell === "lstm") F.set(state[1], at.extra);
      forward(sgemm, jsCellMath(F), F, at, cell, wh, 1, batch, hidden);
      const h = F.slice(at.hs + BH, at.hs + 2 * BH);
      return cell === "lstm" ? [h, F.slice(at.extra + BH, at.extra + 2 * BH)] : [h];
    },
  };
}
