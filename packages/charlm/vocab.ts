/**
 * The character vocabulary: the sorted unique Unicode code points of a
 * text, and the split of a text into training and validation parts.
 *
 * @module
 */

/** Compares two one-code-point strings by code point (not by UTF-16 unit). */
function byCodePoint(a: string, b: string): number {
  return a.codePointAt(0)! - b.codePointAt(0)!;
}

/** Ids of a text, with the count of characters that had none. */
export interface Encoded {
  /** One id per known character, in order. */
  ids: Int32Array;
  /** Characters outside the vocabulary, left out of `ids`. */
  unknown: number;
  /** The distinct unknown characters, sorted by code point (at most 20). */
  unknownExamples: string[];
}

/**
 * A sorted, deterministic character vocabulary. Characters are Unicode code
 * points, so accents, em dashes, Greek, CJK and emoji are one character each.
 *
 * @example
 * ```ts
 * import { Vocabulary } from "@simple-nets/charlm";
 * const vocab = Vocabulary.fromText("héllo—ωορλδ");
 * console.assert(vocab.decode(vocab.encode("ωλ").ids) === "ωλ");
 * ```
 */
export class Vocabulary {
  /** The characters, sorted by code point; a character's id is its index. */
  readonly chars: readonly string[];
  #index: Map<string, number>;

  /**
   * Creates a vocabulary from its characters (as saved in a checkpoint).
   *
   * @throws {TypeError} when an entry is not exactly one code point, is repeated, or the list is unsorted or empty.
   */
  constructor(chars: readonly string[]) {
    if (!Array.isArray(chars) || chars.length === 0) {
      throw new TypeError(
        `Cannot make a vocabulary of ${JSON.stringify(chars)}: expected a non-empty list of characters`,
      );
    }
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (typeof c !== "string" || [...c].length !== 1) {
        throw new TypeError(`Vocabulary entry ${i} is ${JSON.stringify(c)}: expected one character`);
      }
      if (i > 0 && byCodePoint(chars[i - 1], c) >= 0) {
        throw new TypeError(`Vocabulary entry ${i} (${JSON.stringify(c)}) is out of order or repeated`);
      }
    }
    this.chars = Object.freeze([...chars]);
    this.#index = new Map(chars.map((c, i) => [c, i]));
  }

  /**
   * The vocabulary of a text: its unique code points, sorted.
   *
   * @throws {RangeError} for an empty text.
   */
  static fromText(text: string): Vocabulary {
    if (text.length === 0) throw new RangeError("Cannot make a vocabulary of an empty text");
    return new Vocabulary([...new Set(text)].sort(byCodePoint));
  }

  /** The number of characters. */
  get size(): number {
    return this.chars.length;
  }

  /** The id of a character, or `undefined` when it is not in the vocabulary. */
  id(char: string): number | undefined {
    return this.#index.get(char);
  }

  /** True when every character of `text` is in the vocabulary. */
  covers(text: string): boolean {
    for (const c of text) if (!this.#index.has(c)) return false;
    return true;
  }

  /** Ids of a text; characters outside the vocabulary are counted and left out. */
  encode(text: string): Encoded {
    const ids = new Int32Array(text.length);
    let n = 0, unknown = 0;
    const examples = new Set<string>();
    for (const c of text) {
      const id = this.#index.get(c);
      if (id === undefined) {
        unknown++;
        if (examples.size < 20) examples.add(c);
      } else {
        ids[n++] = id;
      }
    }
    return { ids: ids.slice(0, n), unknown, unknownExamples: [...examples].sort(byCodePoint) };
  }

  /** The text of ids. @throws {RangeError} for an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string {
    let out = "";
    for (let i = 0; i < ids.length; i++) {
      const c = this.chars[ids[i]];
      if (c === undefined) {
        throw new RangeError(`Character id ${ids[i]} is outside the vocabulary of ${this.size}`);
      }
      out += c;
    }
    return out;
  }
}

/**
 * Splits a text at code point ⌊9n/10⌋ into training and validation parts,
 * as the reference does.
 *
 * @example
 * ```ts
 * import { splitText } from "@simple-nets/charlm";
 * const { train, val } = splitText("0123456789");
 * console.assert(train === "012345678" && val === "9");
 * ```
 */
export function splitText(text: string): { train: string; val: string } {
  const points = Array.from(text);
  const at = Math.floor((9 * points.length) / 10);
  return { train: points.slice(0, at).join(""), val: points.slice(at).join("") };
}
