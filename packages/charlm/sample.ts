/**
 * Sampling text: one step of the model per character, the recurrent state
 * kept between characters (the prefix is never recomputed).
 *
 * @module
 */
import { Rng } from "@simple-nets/core";
import type { CharLM } from "./model.ts";
import { createStepper } from "./_stepper.ts";

/** Settings of {@linkcode sampleChars} and {@linkcode sampleText}. */
export interface SampleOptions {
  /** Characters to generate after the prime.
   * @default {200} */
  length?: number;
  /** Divides the logits before the softmax: below 1 is more conservative, above 1 more surprising.
   * @default {1} */
  temperature?: number;
  /** Text fed to the model before sampling (not repeated in the output).
   * @default {"\n" when in the vocabulary, else its first character} */
  prime?: string;
  /** Draw only among the K most likely characters; 0 for all.
   * @default {0} */
  topK?: number;
  /** Always take the most likely character (no randomness; temperature and top-k are ignored).
   * @default {false} */
  argmax?: boolean;
  /** Seed of the draws: same seed, same text.
   * @default {1} */
  seed?: number;
}

/**
 * The prime used when none is given: a newline when the vocabulary has one,
 * else its first character.
 */
export function defaultPrime(model: CharLM): string {
  return model.vocab.id("\n") !== undefined ? "\n" : model.vocab.chars[0];
}

/**
 * Picks the next character id from logits.
 *
 * @param logits Next-character logits.
 * @param rng Source of the draw (unused with `argmax`).
 * @returns The chosen id.
 */
export function pickNext(
  logits: ArrayLike<number>,
  rng: Rng,
  options: { temperature?: number; topK?: number; argmax?: boolean } = {},
): number {
  const n = logits.length;
  let best = 0;
  for (let i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
  if (options.argmax) return best;
  const temperature = options.temperature ?? 1;
  const topK = options.topK ?? 0;
  let allowed: number[] = Array.from({ length: n }, (_, i) => i);
  if (topK > 0 && topK < n) {
    allowed = allowed.sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK).sort((a, b) => a - b);
  }
  const weights = allowed.map((i) => Math.exp((logits[i] - logits[best]) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = 0; j < allowed.length; j++) {
    u -= weights[j];
    if (u < 0) return allowed[j];
  }
  return allowed[allowed.length - 1];
}

function checkSampleOptions(model: CharLM, options: SampleOptions): Required<SampleOptions> {
  const o = {
    length: options.length ?? 200,
    temperature: options.temperature ?? 1,
    prime: options.prime ?? defaultPrime(model),
    topK: options.topK ?? 0,
    argmax: options.argmax ?? false,
    seed: options.seed ?? 1,
  };
  if (!Number.isInteger(o.length) || o.length < 0) {
    throw new RangeError(`Sample length ${o.length} is invalid: expected a whole number >= 0`);
  }
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) {
    throw new RangeError(`Temperature ${o.temperature} is invalid: expected a number > 0`);
  }
  if (!Number.isInteger(o.topK) || o.topK < 0) {
    throw new RangeError(`Top-k ${o.topK} is invalid: expected a whole number >= 0`);
  }
  if (o.prime.length === 0) throw new RangeError("The prime is empty: expected at least one character");
  for (const c of o.prime) {
    if (model.vocab.id(c) === undefined) {
      const code = `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
      throw new RangeError(
        `The prime's character ${JSON.stringify(c)} (${code}) is not in the model's vocabulary`,
      );
    }
  }
  return o;
}

/**
 * Generates characters one at a time (the prime is fed first and not
 * yielded). The recurrent state is kept between characters, so each
 * character costs one step of the model.
 *
 * @throws {RangeError} for a prime character outside the vocabulary or a bad option (before the first character).
 *
 * @example
 * ```ts
 * import { createCharLM, sampleChars } from "@simple-nets/charlm";
 * const model = createCharLM("abc", { hidden: 8 });
 * let text = "";
 * for (const c of sampleChars(model, { length: 5, prime: "a", seed: 2 })) text += c;
 * console.assert([...text].length === 5);
 * model.dispose();
 * ```
 */
export function sampleChars(model: CharLM, options: SampleOptions = {}): Generator<string, void, undefined> {
  const o = checkSampleOptions(model, options);
  return generate(model, o);
}

function* generate(model: CharLM, o: Required<SampleOptions>): Generator<string, void, undefined> {
  const rng = new Rng(o.seed, ["sample", 0]);
  const stepper = createStepper(model);
  let input = model.vocab.encode(o.prime).ids;
  try {
    for (let i = 0; i < o.length; i++) {
      const id = pickNext(stepper.feed(input), rng, o);
      input = Int32Array.of(id);
      yield model.vocab.chars[id];
    }
  } finally {
    stepper.dispose();
  }
}

/**
 * Generates a whole text at once (see {@linkcode sampleChars}).
 *
 * @returns The generated characters, without the prime.
 *
 * @example
 * ```ts
 * import { createCharLM, sampleText } from "@simple-nets/charlm";
 * const model = createCharLM("abc", { hidden: 8 });
 * console.assert(sampleText(model, { seed: 4 }) === sampleText(model, { seed: 4 }));
 * model.dispose();
 * ```
 */
export function sampleText(model: CharLM, options: SampleOptions = {}): string {
  let out = "";
  for (const c of sampleChars(model, options)) out += c;
  return out;
}
