/**
 * The three recurrent cells, written with TF.js ops: vanilla RNN, LSTM and
 * GRU. Each cell's gate math lives in one function ({@linkcode cellStep});
 * {@linkcode runSequence} is the only loop over time, so a fused kernel can
 * later replace that loop without touching the model.
 *
 * Every cell works on pre-activations split into H-sized chunks, as the
 * PyTorch reference does: `xw` (the input projection plus all biases,
 * computed for every time step at once) and `h·Wh` (the recurrent
 * projection, one matrix product per step).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** The recurrent cell kinds. */
export type CellType = "rnn" | "lstm" | "gru";

/** Every cell kind, in the order `--help` lists them. */
export const CELL_TYPES: readonly CellType[] = ["rnn", "lstm", "gru"];

/** Pre-activation chunks of size H per cell: rnn `a`; lstm `i, f, o, g`; gru `u, r, candidate`. */
export const GATES: Readonly<Record<CellType, number>> = { rnn: 1, lstm: 4, gru: 3 };

/**
 * The gate bias that does not start at 0: the LSTM forget gate (chunk 1)
 * starts at 1 and the GRU reset gate (chunk 1) at -1, after danijar's tips
 * for training RNNs and the original project.
 */
export const SPECIAL_BIAS: Readonly<Record<CellType, { chunk: number; value: number } | undefined>> = {
  rnn: undefined,
  lstm: { chunk: 1, value: 1 },
  gru: { chunk: 1, value: -1 },
};

/** The state of one layer: `[h]` for rnn and gru, `[h, c]` for lstm, each `[batch, hidden]`. */
export type LayerState = tf.Tensor2D[];

/**
 * A zero state for one layer.
 *
 * @returns New tensors the caller owns.
 *
 * @example
 * ```ts
 * import { zeroState } from "@simple-nets/charlm";
 * const state = zeroState("lstm", 2, 8);
 * console.assert(state.length === 2 && state[0].shape[1] === 8);
 * ```
 */
export function zeroState(cell: CellType, batch: number, hidden: number): LayerState {
  const count = cell === "lstm" ? 2 : 1;
  return Array.from({ length: count }, () => tf.zeros([batch, hidden]) as tf.Tensor2D);
}

/**
 * The recurrent weight `wh` `[H, G·H]` in the pieces {@linkcode cellStep}
 * multiplies by: the whole matrix, except for the GRU, whose candidate
 * columns multiply `r·h` rather than `h`. Done once per sequence.
 *
 * @returns Tensors the caller owns (slices for the GRU, `wh` itself otherwise).
 */
export function recurrentPieces(cell: CellType, wh: tf.Tensor2D): tf.Tensor2D[] {
  if (cell !== "gru") return [wh];
  const hidden = wh.shape[0];
  return tf.split(wh, [2 * hidden, hidden], 1) as tf.Tensor2D[];
}

/**
 * One time step of a cell: all its gate math.
 *
 * - rnn: h' = tanh(a)
 * - lstm: c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')
 * - gru: u, r = σ(·); h̃ = tanh(xw_c + (r·h)·Wh_c); h' = (1 − u)·h + u·h̃
 *   (the reset gate acts on h before the product, as in char-rnn)
 *
 * @param xw Input projection plus biases for this step, `[batch, G·H]`.
 * @param pieces From {@linkcode recurrentPieces}.
 * @param state The layer's state before the step.
 * @returns The new state (`state[0]` is the output h); the caller owns it.
 *
 * @example A GRU step from a zero state
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { cellStep, recurrentPieces, zeroState } from "@simple-nets/charlm";
 * const wh = tf.zeros([4, 12]) as tf.Tensor2D;
 * const [h] = cellStep("gru", tf.ones([1, 12]), recurrentPieces("gru", wh), zeroState("gru", 1, 4));
 * console.assert(h.shape[1] === 4);
 * ```
 */
export function cellStep(
  cell: CellType,
  xw: tf.Tensor2D,
  pieces: tf.Tensor2D[],
  state: LayerState,
): LayerState {
  return tf.tidy(() => {
    const h = state[0];
    if (cell === "rnn") {
      return [tf.tanh(tf.add(xw, tf.matMul(h, pieces[0])))];
    }
    if (cell === "lstm") {
      const [i, f, o, g] = tf.split(tf.add(xw, tf.matMul(h, pieces[0])), 4, 1);
      const c = tf.add(tf.mul(tf.sigmoid(f), state[1]), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D;
      return [tf.mul(tf.sigmoid(o), tf.tanh(c)), c];
    }
    const hidden = h.shape[1];
    const [xur, xc] = tf.split(xw, [2 * hidden, hidden], 1);
    const [u, r] = tf.split(tf.sigmoid(tf.add(xur, tf.matMul(h, pieces[0]))), 2, 1);
    const candidate = tf.tanh(tf.add(xc, tf.matMul(tf.mul(r, h), pieces[1])));
    return [tf.add(h, tf.mul(u, tf.sub(candidate, h)))];
  }) as LayerState;
}

/**
 * Runs a cell over a whole sequence: the one loop over time.
 *
 * Inputs and outputs are lists of per-step tensors rather than one
 * `[T, batch, ·]` tensor, because slicing a big tensor into steps copies
 * all of it once per step on the wasm backend.
 *
 * @param xw Input projections plus biases of every step, each `[batch, G·H]`.
 * @param wh The recurrent weight `[H, G·H]`.
 * @param state The state before the first step (not disposed).
 * @returns `outputs` (the h of every step, each `[batch, H]`) and the final
 *   state; the caller owns both.
 *
 * @example An LSTM over 3 steps
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { runSequence, zeroState } from "@simple-nets/charlm";
 * const xw = [0, 1, 2].map(() => tf.zeros([2, 16]) as tf.Tensor2D);
 * const { outputs } = runSequence("lstm", xw, tf.zeros([4, 16]), zeroState("lstm", 2, 4));
 * console.assert(outputs.length === 3 && outputs[0].shape.join() === "2,4");
 * ```
 */
export function runSequence(
  cell: CellType,
  xw: tf.Tensor2D[],
  wh: tf.Tensor2D,
  state: LayerState,
): { outputs: tf.Tensor2D[]; state: LayerState } {
  const steps = xw.length;
  if (steps < 1) throw new RangeError(`Cannot run a ${cell} cell over ${steps} steps: expected at least 1`);
  const [batch, width] = xw[0].shape;
  const hidden = wh.shape[0];
  if (width !== GATES[cell] * hidden || wh.shape[1] !== width) {
    throw new TypeError(
      `Cannot run a ${cell} cell: xw has width ${width} and wh shape [${wh.shape}], expected ${
        GATES[cell]
      }·${hidden}`,
    );
  }
  if (
    state.length !== (cell === "lstm" ? 2 : 1) ||
    state.some((s) => s.shape[0] !== batch || s.shape[1] !== hidden)
  ) {
    throw new TypeError(
      `Cannot run a ${cell} cell: the state has shapes ${state.map((s) => `[${s.shape}]`).join(" ")}, ` +
        `expected [${batch},${hidden}]`,
    );
  }
  const outputs: tf.Tensor2D[] = [];
  let current = state;
  const pieces = recurrentPieces(cell, wh);
  for (let t = 0; t < steps; t++) {
    const next = cellStep(cell, xw[t], pieces, current);
    // Intermediate c states are not outputs: free them once the next step has them.
    if (t > 0 && current.length > 1) current.slice(1).forEach((s) => s.dispose());
    current = next;
    outputs.push(current[0]);
  }
  if (pieces[0] !== wh) tf.dispose(pieces);
  return { outputs, state: current };
}
