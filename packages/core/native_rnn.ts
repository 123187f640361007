/**
 * The fused recurrent-sequence op of {@linkcode FusedSequence}, on a native
 * `sgemm`: the whole recurrence of an RNN, LSTM or GRU in one TF.js op
 * (`tf.customGrad`). Forward: per step one product `h·Wh` and the gate math
 * in plain loops over `Float32Array`s, keeping the gate activations.
 * Backward: backpropagation through time with one product `dz·Whᵀ` per step,
 * then the recurrent weight's gradient as one product over all steps.
 *
 * `native.ts` registers it (through `registerFusedSequence`) when it loads
 * OpenBLAS; this module itself opens no library, so it needs no permission.
 * Inputs are read as zero-copy views of the wasm heap on the wasm backend,
 * and through `dataSync` elsewhere.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { FusedCell, FusedSequence, FusedStepKernels } from "./fused.ts";
import type { WasmBackend } from "./_wasm_fixes.ts";

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

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;
const GATES: Record<FusedCell, number> = { rnn: 1, lstm: 4, gru: 3 };

/**
 * The values of a float32 tensor: a view of the wasm heap when the tensor
 * lives there (valid only until the next allocation on that heap), else a
 * copy through `dataSync`.
 */
function read(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === "wasm") {
    const backend = tf.backend() as unknown as WasmBackend;
    const entry = backend.dataIdMap?.get(t.dataId);
    if (entry) return new Float32Array(backend.wasm.HEAPF32.buffer, entry.memoryOffset, t.size);
  }
  return t.dataSync() as Float32Array;
}

/** What the forward pass keeps for the backward pass (plain arrays, no tensors). */
interface Saved {
  /** h_0 … h_T, then (lstm) c_T: `[(T + 1 + extra)·B, H]`. */
  hs: Float32Array;
  /** Gate activations of every step, `[T·B, G·H]` (gru: u, r, candidate after σ/tanh). */
  gates: Float32Array;
  /** lstm: c_0 … c_T `[(T + 1)·B, H]`; gru: r·h_{t-1} of every step `[T·B, H]`. */
  extra: Float32Array;
  /** lstm: tanh(c_t) of every step `[T·B, H]`. */
  tanhC: Float32Array;
}

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
 * One LSTM step's gate math, in place on `z` (pre-activations i, f, o, g of
 * each row, `[B, 4H]`): c_{t+1} = f·c_t + i·g into `cs`, tanh(c_{t+1}) into
 * `tanhC`, h_{t+1} into `hs`. `off` is t·B·H, `hOut` (t+1)·B·H.
 */
function lstmForward(
  z: Float32Array,
  cs: Float32Array,
  tanhC: Float32Array,
  hs: Float32Array,
  off: number,
  hOut: number,
  B: number,
  H: number,
): void {
  const W = 4 * H, BH = B * H;
  for (let b = 0; b < B; b++) {
    const row = b * W;
    for (let j = 0; j < H; j++) {
      const i = z[row + j] = sigmoid(z[row + j]);
      const f = z[row + H + j] = sigmoid(z[row + H + j]);
      const o = z[row + 2 * H + j] = sigmoid(z[row + 2 * H + j]);
      const g = z[row + 3 * H + j] = tanh(z[row + 3 * H + j]);
      const k = off + b * H + j;
      const c = cs[k + BH] = f * cs[k] + i * g;
      hs[hOut + b * H + j] = o * (tanhC[k] = tanh(c));
    }
  }
}

/**
 * One LSTM step backward: the pre-activation gradients `d` `[B, 4H]` from
 * the activations `a`, the output gradient (`dy` at `off` plus the carried
 * `dh`) and the carried `dc`, which becomes the gradient of c_t.
 */
function lstmBackward(
  d: Float32Array,
  a: Float32Array,
  dy: Float32Array,
  dh: Float32Array,
  dc: Float32Array,
  cs: Float32Array,
  tanhC: Float32Array,
  off: number,
  B: number,
  H: number,
): void {
  const W = 4 * H;
  for (let b = 0; b < B; b++) {
    const row = b * W;
    for (let j = 0; j < H; j++) {
      const k = b * H + j;
      const gh = dy[off + k] + dh[k];
      const i = a[row + j], f = a[row + H + j], o = a[row + 2 * H + j], g = a[row + 3 * H + j];
      const tc = tanhC[off + k];
      const dct = dc[k] + gh * o * (1 - tc * tc);
      d[row + j] = dct * g * i * (1 - i);
      d[row + H + j] = dct * cs[off + k] * f * (1 - f);
      d[row + 2 * H + j] = gh * tc * o * (1 - o);
      d[row + 3 * H + j] = dct * i * (1 - g * g);
      dc[k] = dct * f;
    }
  }
}

function forward(
  sgemm: Sgemm,
  cell: FusedCell,
  xw: Float32Array,
  wh: Float32Array,
  h0: Float32Array,
  c0: Float32Array | undefined,
  T: number,
  B: number,
  H: number,
): Saved {
  const G = GATES[cell], W = G * H, BH = B * H, BW = B * W;
  const hs = new Float32Array((T + 1 + (cell === "lstm" ? 1 : 0)) * BH);
  hs.set(h0);
  const gates = new Float32Array(xw); // z = xw + h·Wh, then activated in place
  const extra = new Float32Array(cell === "lstm" ? (T + 1) * BH : cell === "gru" ? T * BH : 0);
  const tanhC = new Float32Array(cell === "lstm" ? T * BH : 0);
  if (c0) extra.set(c0);
  for (let t = 0; t < T; t++) {
    const h = hs.subarray(t * BH, (t + 1) * BH), z = gates.subarray(t * BW, (t + 1) * BW);
    const hOut = (t + 1) * BH;
    if (cell === "rnn") {
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, W, H, 1, h, H, wh, W, 1, z, W);
      for (let k = 0; k < BH; k++) hs[hOut + k] = z[k] = tanh(z[k]);
    } else if (cell === "lstm") {
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, W, H, 1, h, H, wh, W, 1, z, W);
      lstmForward(z, extra, tanhC, hs, t * BH, hOut, B, H);
    } else {
      // u, r = σ(xw_ur + h·Wh_ur); candidate = tanh(xw_c + (r·h)·Wh_c)
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, 2 * H, H, 1, h, H, wh, W, 1, z, W);
      const rh = extra.subarray(t * BH, (t + 1) * BH);
      for (let b = 0; b < B; b++) {
        const row = b * W;
        for (let j = 0; j < H; j++) {
          z[row + j] = sigmoid(z[row + j]);
          const r = z[row + H + j] = sigmoid(z[row + H + j]);
          rh[b * H + j] = r * h[b * H + j];
        }
      }
      sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, B, H, H, 1, rh, H, wh.subarray(2 * H), W, 1, z.subarray(2 * H), W);
      for (let b = 0; b < B; b++) {
        const row = b * W;
        for (let j = 0; j < H; j++) {
          const u = z[row + j];
          const cand = z[row + 2 * H + j] = tanh(z[row + 2 * H + j]);
          const k = b * H + j;
          hs[hOut + k] = h[k] + u * (cand - h[k]);
        }
      }
    }
  }
  if (cell === "lstm") hs.set(extra.subarray(T * BH), (T + 1) * BH);
  return { hs, gates, extra, tanhC };
}

/** Gradients with respect to xw `[T·B, G·H]`, wh `[H, G·H]`, h_0 and (lstm) c_0. */
function backward(
  sgemm: Sgemm,
  cell: FusedCell,
  saved: Saved,
  dy: Float32Array,
  wh: Float32Array,
  T: number,
  B: number,
  H: number,
): { dxw: Float32Array; dwh: Float32Array; dh: Float32Array; dc?: Float32Array } {
  const G = GATES[cell], W = G * H, BH = B * H, BW = B * W;
  const { hs, gates, extra, tanhC } = saved;
  const dz = new Float32Array(T * BW);
  let dh = new Float32Array(BH);
  let dhNext = new Float32Array(cell === "gru" ? BH : 0);
  const drh = new Float32Array(cell === "gru" ? BH : 0);
  const dc = cell === "lstm" ? dy.slice(T * BH, (T + 1) * BH) : undefined;
  for (let t = T - 1; t >= 0; t--) {
    const a = gates.subarray(t * BW, (t + 1) * BW), d = dz.subarray(t * BW, (t + 1) * BW);
    const dyT = t * BH;
    if (cell === "rnn") {
      for (let k = 0; k < BH; k++) {
        const h = a[k];
        d[k] = (dy[dyT + k] + dh[k]) * (1 - h * h);
      }
      sgemm(ROW_MAJOR, NO_TRANS, TRANS, B, H, W, 1, d, W, wh, W, 0, dh, H);
    } else if (cell === "lstm") {
      lstmBackward(d, a, dy, dh, dc!, extra, tanhC, t * BH, B, H);
      sgemm(ROW_MAJOR, NO_TRANS, TRANS, B, H, W, 1, d, W, wh, W, 0, dh, H);
    } else {
      const hPrev = hs.subarray(t * BH, (t + 1) * BH);
      for (let b = 0; b < B; b++) {
        const row = b * W;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const gh = dy[dyT + k] + dh[k];
          const u = a[row + j], cand = a[row + 2 * H + j];
          d[row + 2 * H + j] = gh * u * (1 - cand * cand);
          d[row + j] = gh * (cand - hPrev[k]) * u * (1 - u);
          dhNext[k] = gh * (1 - u);
        }
      }
      // d(r·h) = dz_c·Wh_cᵀ
      sgemm(ROW_MAJOR, NO_TRANS, TRANS, B, H, H, 1, d.subarray(2 * H), W, wh.subarray(2 * H), W, 0, drh, H);
      for (let b = 0; b < B; b++) {
        const row = b * W;
        for (let j = 0; j < H; j++) {
          const k = b * H + j;
          const r = a[row + H + j];
          d[row + H + j] = drh[k] * hPrev[k] * r * (1 - r);
          dhNext[k] += drh[k] * r;
        }
      }
      sgemm(ROW_MAJOR, NO_TRANS, TRANS, B, H, 2 * H, 1, d, W, wh, W, 1, dhNext, H);
      [dh, dhNext] = [dhNext, dh];
    }
  }
  const dwh = new Float32Array(H * W);
  if (cell === "gru") {
    sgemm(ROW_MAJOR, TRANS, NO_TRANS, H, 2 * H, T * B, 1, hs, H, dz, W, 0, dwh, W);
    sgemm(
      ROW_MAJOR,
      TRANS,
      NO_TRANS,
      H,
      H,
      T * B,
      1,
      extra,
      H,
      dz.subarray(2 * H),
      W,
      0,
      dwh.subarray(2 * H),
      W,
    );
  } else {
    sgemm(ROW_MAJOR, TRANS, NO_TRANS, H, W, T * B, 1, hs, H, dz, W, 0, dwh, W);
  }
  return { dxw: dz, dwh, dh, dc };
}

/**
 * A {@linkcode FusedSequence} on the given `sgemm` (from `native.ts`).
 *
 * @param sgemm Row-major `cblas_sgemm`.
 * @returns The op, ready for `registerFusedSequence`.
 */
export function createNativeSequence(sgemm: Sgemm): FusedSequence {
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
      save([w]);
      // read every input before allocating: a new tensor may move the wasm heap
      const saved = forward(sgemm, cell, read(x), read(w), read(h0), c0 && read(c0), T, B, H);
      const value = tf.tensor3d(saved.hs.subarray(B * H), [T + extra, B, H]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, [wSaved]: tf.Tensor[]) => {
          const g = backward(sgemm, cell, saved, read(dy), read(wSaved), T, B, H);
          const grads = [
            tf.tensor3d(g.dxw, [T, B, W]),
            tf.tensor2d(g.dwh, [H, W]),
            tf.tensor2d(g.dh, [B, H]),
          ];
          if (g.dc) grads.push(tf.tensor2d(g.dc, [B, H]));
          return grads;
        },
      };
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
      const saved = forward(sgemm, cell, xw, wh, state[0], state[1], 1, batch, hidden);
      const h = saved.hs.slice(BH, 2 * BH);
      return cell === "lstm" ? [h, saved.extra.slice(BH, 2 * BH)] : [h];
    },
  };
}
