/**
 * A bigram baseline: p(next | current) counted on a training text with
 * add-one smoothing. A recurrent model that does not beat it has learned
 * nothing beyond character pairs.
 *
 * @module
 */
import { Vocabulary } from "./vocab.ts";

/** Settings of {@linkcode bigramBitsPerChar}. */
export interface BigramOptions {
  /** The characters to count over; characters outside it are left out of both texts.
   * @default {the vocabulary of both texts} */
  vocab?: Vocabulary;
  /** Pseudo-count added to every pair.
   * @default {1} */
  smoothing?: number;
}

/**
 * Bits per character of `evalText` under a bigram model counted on
 * `trainText` with add-one (or add-`smoothing`) smoothing.
 *
 * @example
 * ```ts
 * import { bigramBitsPerChar } from "@simple-nets/charlm";
 * const bpc = bigramBitsPerChar("abababab", "abab");
 * console.assert(bpc < 0.5);
 * ```
 */
export function bigramBitsPerChar(trainText: string, evalText: string, options: BigramOptions = {}): number {
  const vocab = options.vocab ?? Vocabulary.fromText(trainText + evalText);
  const smoothing = options.smoothing ?? 1;
  if (!(smoothing > 0)) throw new RangeError(`Smoothing ${smoothing} is invalid: expected a number > 0`);
  const V = vocab.size;
  const counts = new Float64Array(V * V), totals = new Float64Array(V);
  const train = vocab.encode(trainText).ids;
  for (let i = 1; i < train.length; i++) {
    counts[train[i - 1] * V + train[i]]++;
    totals[train[i - 1]]++;
  }
  const ids = vocab.encode(evalText).ids;
  if (ids.length < 2) {
    throw new RangeError(`Cannot score ${ids.length} known character(s): expected at least 2`);
  }
  let bits = 0;
  for (let i = 1; i < ids.length; i++) {
    const p = (counts[ids[i - 1] * V + ids[i]] + smoothing) / (totals[ids[i - 1]] + smoothing * V);
    bits -= Math.log2(p);
  }
  return bits / (ids.length - 1);
}
