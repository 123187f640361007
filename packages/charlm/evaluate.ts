/**
 * Bits per character of a text: one pass from a zero state, the state
 * carried across windows, dropout off.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { crossEntropy } from "./loss.ts";
import { type CharLM, disposeState, forwardTimeMajor, type ModelState } from "./model.ts";

/** Settings of {@linkcode evaluateBitsPerChar}. */
export interface EvaluateOptions {
  /** Characters per forward call; the state is carried across calls, so
   * this changes speed, not the result (beyond float rounding).
   * @default {250} */
  window?: number;
  /** Score only the first N characters (e.g. a quick estimate during training).
   * @default {Infinity} */
  limit?: number;
  /** Called after each window with the characters scored so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Stops early; the result then covers the characters scored so far. */
  signal?: AbortSignal;
}

/** What {@linkcode evaluateBitsPerChar} measures. */
export interface Evaluation {
  /** Mean −log₂ p(next character) over the predicted characters. */
  bitsPerChar: number;
  /** The same in nats. */
  natsPerChar: number;
  /** Known characters read (the model sees them in order, unknown ones left out). */
  chars: number;
  /** Characters predicted: `chars − 1` (the first one has no context). */
  predicted: number;
  /** Characters outside the vocabulary, counted and left out. */
  unknownChars: number;
  /** A few of the unknown characters, sorted. */
  unknownExamples: string[];
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Measures bits per character over a whole text in one pass: characters
 * outside the vocabulary are counted and left out, every known character
 * after the first is predicted from all the ones before it.
 *
 * @throws {RangeError} when fewer than 2 known characters remain.
 *
 * @example
 * ```ts
 * import { createCharLM, evaluateBitsPerChar } from "@simple-nets/charlm";
 * const model = createCharLM("abc", { hidden: 8 });
 * const result = await evaluateBitsPerChar(model, "abcabcabc?");
 * console.assert(result.unknownChars === 1 && result.predicted === 8);
 * model.dispose();
 * ```
 */
export async function evaluateBitsPerChar(
  model: CharLM,
  text: string,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const window = options.window ?? 250;
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`Evaluation window ${window} is invalid: expected a whole number >= 1`);
  }
  const encoded = model.vocab.encode(text);
  const ids = encoded.ids.subarray(0, Math.min(encoded.ids.length, options.limit ?? Infinity));
  if (ids.length < 2) {
    throw new RangeError(
      `Cannot measure bits per character of ${ids.length} known character(s): expected at least 2` +
        (encoded.unknown ? ` (${encoded.unknown} were outside the vocabulary)` : ""),
    );
  }
  let state: ModelState | undefined;
  let nats = 0, predicted = 0;
  try {
    for (let at = 0; at < ids.length - 1; at += window) {
      if (options.signal?.aborted) break;
      const n = Math.min(window, ids.length - 1 - at);
      const previous = state;
      const sum = tf.tidy(() => {
        const x = tf.tensor2d(ids.subarray(at, at + n), [n, 1], "int32");
        const y = tf.tensor1d(ids.subarray(at + 1, at + n + 1), "int32");
        const out = forwardTimeMajor(model, x, previous);
        state = out.state;
        state.flat().forEach((t) => tf.keep(t));
        return crossEntropy(out.logits, y, "sum");
      });
      disposeState(previous);
      nats += sum.dataSync()[0];
      sum.dispose();
      predicted += n;
      options.onProgress?.(predicted, ids.length - 1);
      await yieldToEventLoop();
    }
  } finally {
    disposeState(state);
  }
  const natsPerChar = nats / Math.max(predicted, 1);
  return {
    bitsPerChar: natsPerChar / Math.LN2,
    natsPerChar,
    chars: predicted + 1,
    predicted,
    unknownChars: encoded.unknown,
    unknownExamples: encoded.unknownExamples,
  };
}
