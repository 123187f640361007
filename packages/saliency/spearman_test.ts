import { assertAlmostEquals, assertEquals, assertThrows } from "./testdata/assert.ts";
import { compareMaps, ranks, spearman } from "./spearman.ts";

Deno.test("ranks() gives tied values the mean of the ranks they span", () => {
  assertEquals(Array.from(ranks([3, 1, 4, 1, 5, 9, 2, 6])), [4, 1.5, 5, 1.5, 6, 8, 3, 7]);
  assertEquals(Array.from(ranks([2, 7, 1, 8, 2, 8, 1, 8])), [3.5, 5, 1.5, 7, 3.5, 7, 1.5, 7]);
  assertEquals(Array.from(ranks([0, 0, 0])), [2, 2, 2]);
  assertEquals(Array.from(ranks([-0, 0, -1])), [2.5, 2.5, 1]);
});

Deno.test("spearman() matches a hand computation with ties", () => {
  // Ranks as above; deviations from the mean rank 4.5 give
  // Σ da·db = 8, Σ da² = 41.5, Σ db² = 39, so r = 8 / √(41.5 · 39).
  const r = spearman([3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]);
  assertAlmostEquals(r, 8 / Math.sqrt(41.5 * 39), 1e-12);
  assertAlmostEquals(r, 0.19885368120992464, 1e-12); // cnn_saliency.spearman and scipy.stats.spearmanr
});

Deno.test("spearman() is 1 for a map with itself, -1 reversed, and NaN for a constant map", () => {
  const map = Float32Array.from({ length: 784 }, (_, i) => Math.sin(i * 1.7));
  assertEquals(spearman(map, map), 1);
  assertEquals(spearman([1, 2, 3, 4], [8, 6, 4, 2]), -1);
  assertEquals(spearman([1, 2, 3], [5, 5, 5]), NaN);
  assertEquals(spearman(new Float32Array(784), map), NaN);
});

Deno.test("spearman() rejects arrays of different lengths and NaN values", () => {
  assertThrows(() => spearman([1, 2], [1, 2, 3]), RangeError, "length 2 and 3");
  assertThrows(() => spearman([1, NaN], [1, 2]), RangeError, "a[1] is NaN");
});

Deno.test("compareMaps() averages over images whose maps can be ranked and counts them", () => {
  const a = new Float32Array([1, 2, 3, 4, /**/ 0, 0, 0, 0, /**/ 1, -2, 3, -4]);
  const b = new Float32Array([1, 2, 4, 3, /**/ 1, 2, 3, 4, /**/ -1, 2, -3, 4]);
  const result = compareMaps(a, b, 3);
  assertEquals(result.images, 2); // the all-zero map has no ranking
  assertEquals(result.total, 3);
  assertAlmostEquals(result.spearman!, (0.8 + -1) / 2, 1e-12);
  assertAlmostEquals(result.spearmanStd!, 0.9, 1e-12);
  assertAlmostEquals(result.spearmanAbs!, (0.8 + 1) / 2, 1e-12);
  assertEquals(compareMaps(new Float32Array(8), new Float32Array(8), 2).spearman, null);
  assertThrows(() => compareMaps(a, b, 5), RangeError, "cannot be split into 5 maps");
});
