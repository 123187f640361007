/**
 * A registry for an optional fused recurrent-sequence op: one op that runs
 * a whole RNN, LSTM or GRU recurrence (forward, and backward through its
 * gradient) instead of dozens of small TF.js ops per time step.
 *
 * This module holds no implementation and needs no permission: a native
 * module (`@simple-nets/core/native`, when OpenBLAS loads) registers one,
 * and a model package asks {@linkcode getFusedSequence} and falls back to
 * its own loop of TF.js ops when there is none.
 *
 * The cells, with pre-activations `z = xw_t + h·Wh` split into H-sized
 * chunks in this order:
 * - `rnn`: h' = tanh(z)
 * - `lstm` (i, f, o, g): c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')
 * - `gru` (u, r, candidate): u, r = σ(xw_ur + h·Wh_ur);
 *   h̃ = tanh(xw_c + (r·h)·Wh_c); h' = (1 − u)·h + u·h̃
 *
 * @example Use the fused op when there is one
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { getFusedSequence } from "@simple-nets/core/fused";
 * const fused = getFusedSequence();
 * const xw = tf.zeros([3, 2, 8]) as tf.Tensor3D, wh = tf.zeros([8, 8]) as tf.Tensor2D;
 * if (fused) {
 *   const { outputs } = fused("rnn", xw, wh, [tf.zeros([2, 8]) as tf.Tensor2D]);
 *   console.assert(outputs.shape.join() === "3,2,8");
 * }
 * ```
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** The cells a fused sequence op runs (the same as charlm's `CellType`). */
export type FusedCell = "rnn" | "lstm" | "gru";

/**
 * A fused recurrence over a whole sequence, differentiable (through
 * `tf.grads`, `tf.variableGrads`) with respect to `xw`, `wh` and `state`.
 *
 * @param cell The cell kind.
 * @param xw Input projections plus biases of every step, `[T, batch, G·H]`
 *   float32 (G = 1, 4, 3 for rnn, lstm, gru).
 * @param wh The recurrent weight `[H, G·H]` float32.
 * @param state The state before the first step: `[h]` (rnn, gru) or
 *   `[h, c]` (lstm), each `[batch, H]` float32; not disposed.
 * @returns `outputs` (h of every step, `[T, batch, H]`) and the final
 *   state (`[h]` or `[h, c]`); the caller owns them.
 * @throws {TypeError} when the shapes do not fit together.
 */
export type FusedSequence = (
  cell: FusedCell,
  xw: tf.Tensor3D,
  wh: tf.Tensor2D,
  state: tf.Tensor2D[],
) => { outputs: tf.Tensor3D; state: tf.Tensor2D[] };

let registered: FusedSequence | undefined;

/**
 * Registers the fused sequence op (or removes it with `undefined`). The
 * native module calls this when it loads OpenBLAS; libraries never do.
 *
 * @param impl The op, or `undefined` to fall back to plain TF.js ops.
 *
 * @example Turn the fused op off again (e.g. to time the plain path)
 * ```ts
 * import { registerFusedSequence } from "@simple-nets/core/fused";
 * registerFusedSequence(undefined);
 * ```
 */
export function registerFusedSequence(impl: FusedSequence | undefined): void {
  registered = impl;
}

/**
 * The registered fused sequence op, if any.
 *
 * @returns The op, or `undefined` when none is registered.
 *
 * @example
 * ```ts
 * import { getFusedSequence } from "@simple-nets/core/fused";
 * console.log(getFusedSequence() ? "fused" : "plain TF.js ops");
 * ```
 */
export function getFusedSequence(): FusedSequence | undefined {
  return registered;
}

/**
 * Plain-array kernels that step a recurrent model one time step at a time
 * without tensors: what sampling needs, one character at a time, where the
 * dozen TF.js kernel calls of a tensor step cost more than its arithmetic.
 * Registered with the fused sequence op (same cells, same gate order).
 */
export interface FusedStepKernels {
  /**
   * `a·b + bias` as a new array.
   *
   * @param a `[m, k]` row-major.
   * @param b `[k, n]` row-major.
   * @param bias `[n]`, added to every row.
   * @returns `[m, n]` row-major; the caller owns it.
   */
  affine(a: Float32Array, b: Float32Array, bias: Float32Array, m: number, k: number, n: number): Float32Array;
  /**
   * One step of a cell.
   *
   * @param xw The input projection plus bias, `[batch, G·H]`; not changed.
   * @param wh The recurrent weight `[H, G·H]`.
   * @param state `[h]` (rnn, gru) or `[h, c]` (lstm), each `[batch, H]`; not changed.
   * @returns The new state, new arrays.
   */
  step(
    cell: FusedCell,
    xw: Float32Array,
    wh: Float32Array,
    state: Float32Array[],
    batch: number,
    hidden: number,
  ): Float32Array[];
}

let registeredStep: FusedStepKernels | undefined;

/**
 * Registers the plain-array step kernels (or removes them with
 * `undefined`). The native module calls this when it loads OpenBLAS.
 *
 * @param impl The kernels, or `undefined` to step with TF.js ops.
 *
 * @example
 * ```ts
 * import { registerFusedStep } from "@simple-nets/core/fused";
 * registerFusedStep(undefined);
 * ```
 */
export function registerFusedStep(impl: FusedStepKernels | undefined): void {
  registeredStep = impl;
}

/**
 * The registered plain-array step kernels, if any.
 *
 * @returns The kernels, or `undefined` when none are registered.
 *
 * @example
 * ```ts
 * import { getFusedStep } from "@simple-nets/core/fused";
 * console.log(getFusedStep() ? "plain-array steps" : "TF.js steps");
 * ```
 */
export function getFusedStep(): FusedStepKernels | undefined {
  return registeredStep;
}
