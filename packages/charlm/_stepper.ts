/**
 * Steppers: feed a model characters one at a time, keeping its recurrent
 * state, and read the logits of the next character. What sampling runs.
 *
 * The tensor stepper runs the model's TF.js forward pass on each new
 * character. When core's native module has registered plain-array step
 * kernels (`getFusedStep`), the array stepper does the same arithmetic on
 * `Float32Array` copies of the weights instead: a one-hot input is a row of
 * the input weight, and each step is one `sgemm` plus the gate loops, with
 * no tensor and no kernel dispatch (about a dozen TF.js kernel calls per
 * character otherwise, which cost more than the arithmetic at batch 1).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type FusedStepKernels, getFusedStep } from "@simple-nets/core/fused";
import { GATES } from "./cells.ts";
import { type CharLM, disposeState, forwardTimeMajor, type ModelState } from "./model.ts";

/** Feeds characters to a model and returns the logits that follow them. */
export interface Stepper {
  /**
   * Runs the model over `ids`, from the state the previous call left.
   *
   * @returns The logits of the character after the last id, `[V]`.
   */
  feed(ids: Int32Array): Float32Array;
  /** Frees the state (the weights stay the model's). */
  dispose(): void;
}

/**
 * The fastest stepper for `model`: plain arrays when step kernels are
 * registered, else TF.js tensors.
 *
 * @param model The model; its weights must not change while the stepper is used.
 * @param kernels The plain-array kernels, or `null` to force the tensor stepper.
 * @returns A stepper from a zero state; the caller disposes it.
 */
export function createStepper(
  model: CharLM,
  kernels: FusedStepKernels | null | undefined = getFusedStep(),
): Stepper {
  return kernels ? arrayStepper(model, kernels) : tensorStepper(model);
}

function tensorStepper(model: CharLM): Stepper {
  let state: ModelState | undefined;
  return {
    feed(ids) {
      const previous = state;
      const last = tf.tidy(() => {
        const out = forwardTimeMajor(model, tf.tensor2d(ids, [ids.length, 1], "int32"), previous);
        state = out.state;
        state.flat().forEach((t) => tf.keep(t));
        return tf.slice(out.logits, [ids.length - 1, 0], [1, -1]);
      });
      disposeState(previous);
      const logits = last.dataSync() as Float32Array;
      last.dispose();
      return logits;
    },
    dispose() {
      disposeState(state);
      state = undefined;
    },
  };
}

function arrayStepper(model: CharLM, kernels: FusedStepKernels): Stepper {
  const { cell, layers, hidden: H } = model.config;
  const V = model.vocab.size, GH = GATES[cell] * H;
  // dataSync gives copies: the arrays stay valid whatever the backend allocates later
  const read = (name: string) => model.params[name].dataSync() as Float32Array;
  const wx = Array.from({ length: layers }, (_, l) => read(`layer${l}/wx`));
  const b = Array.from({ length: layers }, (_, l) => read(`layer${l}/b`));
  const wh = Array.from({ length: layers }, (_, l) => read(`layer${l}/wh`));
  const outW = read("out/w"), outB = read("out/b");
  const zero = () => Array.from({ length: cell === "lstm" ? 2 : 1 }, () => new Float32Array(H));
  let state: Float32Array[][] = Array.from({ length: layers }, zero);
  return {
    feed(ids) {
      for (const id of ids) {
        if (!(id >= 0 && id < V)) {
          throw new RangeError(`Character id ${id} is outside the vocabulary of ${V}`);
        }
        // the one-hot product picks row `id` of the input weight
        const xw = wx[0].slice(id * GH, (id + 1) * GH);
        for (let j = 0; j < GH; j++) xw[j] += b[0][j];
        state[0] = kernels.step(cell, xw, wh[0], state[0], 1, H);
        for (let l = 1; l < layers; l++) {
          const x = kernels.affine(state[l - 1][0], wx[l], b[l], 1, H, GH);
          state[l] = kernels.step(cell, x, wh[l], state[l], 1, H);
        }
      }
      return kernels.affine(state[layers - 1][0], outW, outB, 1, H, V);
    },
    dispose() {
      state = [];
    },
  };
}
