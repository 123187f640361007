/**
 * Spearman rank correlation with ties given their average rank, and the
 * per-image comparison of two sets of saliency maps that the sanity check
 * reports. Plain arrays in, plain numbers out.
 *
 * @module
 */

/**
 * 1-based ranks of `values`; tied values all get the mean of the ranks
 * they span (e.g. `[10, 20, 20, 30]` → `[1, 2.5, 2.5, 4]`).
 *
 * @example
 * ```ts
 * import { ranks } from "@simple-nets/saliency";
 * console.assert(ranks([10, 20, 20, 30]).join() === "1,2.5,2.5,4");
 * ```
 */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  const out = new Float64Array(n);
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let k = start; k < end; k++) out[order[k]] = rank;
    start = end;
  }
  return out;
}

/**
 * Spearman rank correlation of two equally long arrays: the Pearson
 * correlation of their average ranks. `NaN` when either is constant (it
 * has no ranking), e.g. a saliency map that is exactly zero.
 *
 * @throws {RangeError} when the lengths differ or an array holds NaN.
 *
 * @example
 * ```ts
 * import { spearman } from "@simple-nets/saliency";
 * console.assert(spearman([1, 2, 3], [10, 20, 30]) === 1);
 * console.assert(spearman([1, 2, 3], [3, 2, 1]) === -1);
 * ```
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`spearman got arrays of length ${a.length} and ${b.length}, expected equal lengths`);
  }
  for (const [name, v] of [["a", a], ["b", b]] as const) {
    for (let i = 0; i < v.length; i++) {
      if (Number.isNaN(v[i])) throw new RangeError(`spearman: ${name}[${i}] is NaN, expected a number`);
    }
  }
  const n = a.length;
  const ra = ranks(a), rb = ranks(b);
  const mid = (n + 1) / 2;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    const x = ra[i] - mid, y = rb[i] - mid;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  const denominator = Math.sqrt(aa * bb);
  return denominator > 0 ? Math.min(1, Math.max(-1, ab / denominator)) : NaN;
}

/** How two sets of maps agree, image by image (see {@linkcode compareMaps}). */
export interface MapComparison {
  /** Mean Spearman correlation of the signed maps over the usable images; `null` when none is. */
  spearman: number | null;
  /** Mean Spearman correlation of the absolute maps over their usable images; `null` when none is. */
  spearmanAbs: number | null;
  /** Standard deviation (population, ddof 0) of the signed correlations. */
  spearmanStd: number | null;
  /** Standard deviation (population, ddof 0) of the absolute correlations. */
  spearmanAbsStd: number | null;
  /** Images whose signed maps could both be ranked (neither constant). */
  images: number;
  /** Images compared in all. */
  total: number;
}

function meanStd(values: number[]): [number | null, number | null] {
  const ok = values.filter(Number.isFinite);
  if (ok.length === 0) return [null, null];
  const mean = ok.reduce((s, v) => s + v, 0) / ok.length;
  const variance = ok.reduce((s, v) => s + (v - mean) ** 2, 0) / ok.length;
  return [mean, Math.sqrt(variance)];
}

/**
 * Compares two sets of `count` maps of `size` values each (as read back
 * from tensors of the same shape): the Spearman correlation per image of
 * the signed and of the absolute maps, averaged over the images where it
 * is defined. Images with a constant map (a zero gradient) are skipped
 * and not counted in `images`.
 *
 * @example
 * ```ts
 * import { compareMaps } from "@simple-nets/saliency";
 * const maps = new Float32Array([1, 2, 3, 0, 0, 0]); // the second map is all zero
 * const result = compareMaps(maps, maps, 2);
 * console.assert(result.spearman === 1 && result.images === 1 && result.total === 2);
 * ```
 */
export function compareMaps(
  original: ArrayLike<number>,
  other: ArrayLike<number>,
  count: number,
): MapComparison {
  if (!Number.isInteger(count) || count < 1 || original.length % count !== 0) {
    throw new RangeError(`compareMaps: ${original.length} values cannot be split into ${count} maps`);
  }
  if (other.length !== original.length) {
    throw new RangeError(
      `compareMaps got ${original.length} and ${other.length} values, expected equal lengths`,
    );
  }
  const size = original.length / count;
  const signed: number[] = [], absolute: number[] = [];
  const a = new Float64Array(size), b = new Float64Array(size);
  const absA = new Float64Array(size), absB = new Float64Array(size);
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < size; p++) {
      a[p] = original[i * size + p];
      b[p] = other[i * size + p];
      absA[p] = Math.abs(a[p]);
      absB[p] = Math.abs(b[p]);
    }
    signed.push(spearman(a, b));
    absolute.push(spearman(absA, absB));
  }
  const [mean, std] = meanStd(signed);
  const [meanAbs, stdAbs] = meanStd(absolute);
  return {
    spearman: mean,
    spearmanAbs: meanAbs,
    spearmanStd: std,
    spearmanAbsStd: stdAbs,
    images: signed.filter(Number.isFinite).length,
    total: count,
  };
}
