/**
 * Seeded randomness: one seed drives every random choice of a run.
 *
 * A run never keeps a single generator whose state it would have to save;
 * it derives independent streams from `(seed, name, index)` instead, e.g.
 * the shuffle of epoch 3 or the dropout masks of step 1200. Resuming a run
 * therefore needs only the seed and the step.
 *
 * @module
 */

/** The seed used when a run does not name one. */
export const DEFAULT_SEED: number = 1;

/** 32-bit FNV-1a style mixing of a string into a seed. */
function hashString(text: string, h: number): number {
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A murmur3 finaliser: spreads the bits of a 32-bit integer. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * A small, fast, seeded pseudo-random generator (sfc32).
 *
 * @example Same seed, same numbers
 * ```ts
 * import { Rng } from "@simple-nets/core";
 * const a = new Rng(7), b = new Rng(7);
 * console.assert(a.next() === b.next());
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare: number | undefined;

  /**
   * Creates a generator.
   *
   * @param seed Any integer (only its low 32 bits and sign matter).
   * @param stream Optional name and index of an independent stream
   *   derived from the seed, e.g. `["shuffle", epoch]`.
   */
  constructor(seed: number, stream?: [string, number?]) {
    if (!Number.isFinite(seed)) {
      throw new RangeError(`Cannot seed a generator with ${seed}: expected a finite number`);
    }
    let h = mix32((seed | 0) ^ 0x9e3779b9);
    h = mix32(h ^ Math.floor(seed / 4294967296));
    if (stream) {
      h = mix32(hashString(stream[0], h ^ 0x811c9dc5));
      h = mix32(h ^ mix32((stream[1] ?? 0) + 0x6a09e667));
    }
    this.#a = h | 0;
    this.#b = mix32(h + 1) | 0;
    this.#c = mix32(h + 2) | 0;
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** Derives an independent generator for the stream `(name, index)` of `seed`. */
  static stream(seed: number, name: string, index = 0): Rng {
    return new Rng(seed, [name, index]);
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  uint32(): number {
    // the state is kept as int32 (the same bits as uint32): V8 then keeps it unboxed
    const b = this.#b, c = this.#c, t = (this.#a + b + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /**
   * Fills `out` with the next `out.length` numbers of {@linkcode uint32}
   * (the same numbers, in order), several times faster than calling it.
   *
   * @example
   * ```ts
   * import { Rng } from "@simple-nets/core";
   * const bits = new Rng(1).fillUint32(new Uint32Array(4));
   * console.assert(bits[0] === new Rng(1).uint32());
   * ```
   */
  fillUint32(out: Uint32Array): Uint32Array {
    let a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    for (let i = 0; i < out.length; i++) {
      const t = (a + b + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (((c << 21) | (c >>> 11)) + t) | 0;
      out[i] = t;
    }
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
    return out;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** A uniform number in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1)) throw new RangeError(`Cannot draw an integer below ${n}: expected n >= 1`);
    return Math.floor(this.next() * n);
  }

  /** A standard normal number (Box-Muller, the spare value is kept). */
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A seed for TF.js random ops (`tf.randomNormal(..., seed)`, `tf.dropout`). */
  seed(): number {
    return this.uint32();
  }

  /** Fills `out` with uniform numbers in [low, high) and returns it. */
  fillUniform(out: Float32Array, low: number, high: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.next();
    return out;
  }

  /** Fills `out` with normal numbers of the given mean and standard deviation and returns it. */
  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /** A random permutation of 0 .. n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
