import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { Rng } from "./rng.ts";

const N = 100_000;

function draws(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.uint32());
}

/** Mean, variance, skewness and excess kurtosis of a sample. */
function moments(xs: ArrayLike<number>): { mean: number; variance: number; skew: number; kurtosis: number } {
  let mean = 0;
  for (let i = 0; i < xs.length; i++) mean += xs[i] / xs.length;
  let m2 = 0, m3 = 0, m4 = 0;
  for (let i = 0; i < xs.length; i++) {
    const d = xs[i] - mean;
    m2 += d * d / xs.length;
    m3 += d * d * d / xs.length;
    m4 += d * d * d * d / xs.length;
  }
  return { mean, variance: m2, skew: m3 / m2 ** 1.5, kurtosis: m4 / (m2 * m2) - 3 };
}

function assertNear(actual: number, expected: number, tolerance: number, what: string): void {
  assert(
    Math.abs(actual - expected) <= tolerance,
    `${what} is ${actual}, expected ${expected} ± ${tolerance}`,
  );
}

Deno.test("Rng gives the same sequence for the same seed", () => {
  assertEquals(draws(new Rng(42), 1000), draws(new Rng(42), 1000));
  const a = new Rng(42), b = new Rng(42);
  for (let i = 0; i < 1001; i++) assert.equal(a.normal(), b.normal());
});

Deno.test("Rng(1) draws pinned values, so checkpoints of earlier versions resume identically", () => {
  assertEquals(draws(new Rng(1), 5), [466300823, 1716959796, 4140449820, 864743243, 2786211100]);
  assertEquals(draws(Rng.stream(1, "shuffle", 3), 3), [146465171, 4074315607, 3949860729]);
});

Deno.test("different seeds give different sequences, also beyond 32 bits and for negative seeds", () => {
  const seeds = [0, 1, 2, -1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40];
  const firsts = seeds.map((s) => draws(new Rng(s), 4).join(","));
  assert.equal(new Set(firsts).size, seeds.length, `sequences: ${firsts.join(" | ")}`);
});

Deno.test("a seed that is not a finite number is refused with a RangeError", () => {
  assert.throws(() => new Rng(NaN), RangeError);
  assert.throws(() => new Rng(Infinity), RangeError);
});

Deno.test("streams differ by name and index, and each is reproducible", () => {
  const streams = [
    new Rng(7),
    Rng.stream(7, "shuffle", 0),
    Rng.stream(7, "shuffle", 1),
    Rng.stream(7, "shuffle", 2),
    Rng.stream(7, "step", 0),
    Rng.stream(7, "step", 1),
    Rng.stream(8, "shuffle", 0),
  ].map((r) => draws(r, 8).join(","));
  assert.equal(new Set(streams).size, streams.length);
  assertEquals(draws(Rng.stream(7, "step", 1), 8), draws(new Rng(7, ["step", 1]), 8));
  assertEquals(draws(Rng.stream(7, "step"), 8), draws(Rng.stream(7, "step", 0), 8));
});

Deno.test("neighbouring streams are uncorrelated over 100k draws", () => {
  const a = Rng.stream(3, "step", 10), b = Rng.stream(3, "step", 11);
  let sab = 0, sa = 0, sb = 0, saa = 0, sbb = 0;
  for (let i = 0; i < N; i++) {
    const x = a.next(), y = b.next();
    sab += x * y, sa += x, sb += y, saa += x * x, sbb += y * y;
  }
  const r = (N * sab - sa * sb) / Math.sqrt((N * saa - sa * sa) * (N * sbb - sb * sb));
  // The standard error of r is 1/sqrt(N) ≈ 0.003.
  assertNear(r, 0, 0.015, "correlation");
});

Deno.test("next() is uniform on [0, 1): mean, variance and a histogram on 100k draws", () => {
  const rng = new Rng(11);
  const xs = new Float64Array(N);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < N; i++) {
    const x = rng.next();
    assert(x >= 0 && x < 1, `draw ${i} is ${x}`);
    xs[i] = x;
    bins[Math.floor(x * 10)]++;
  }
  const m = moments(xs);
  assertNear(m.mean, 0.5, 0.005, "mean"); // standard error ≈ 0.0009
  assertNear(m.variance, 1 / 12, 0.002, "variance");
  // Each bin holds 10,000 ± 95 (one standard deviation).
  for (const [i, count] of bins.entries()) assertNear(count, N / 10, 500, `bin ${i}`);
});

Deno.test("normal() is standard normal: mean, variance, skewness and kurtosis on 100k draws", () => {
  const rng = new Rng(12);
  const xs = Float64Array.from({ length: N }, () => rng.normal());
  const m = moments(xs);
  assertNear(m.mean, 0, 0.015, "mean"); // standard error ≈ 0.003
  assertNear(m.variance, 1, 0.03, "variance"); // ≈ 0.0045
  assertNear(m.skew, 0, 0.05, "skewness"); // ≈ 0.008
  assertNear(m.kurtosis, 0, 0.1, "excess kurtosis"); // ≈ 0.015
  const within1 = xs.filter((x) => Math.abs(x) < 1).length / N;
  assertNear(within1, 0.6827, 0.01, "fraction within one standard deviation");
});

Deno.test("fillNormal and fillUniform apply their parameters", () => {
  const rng = new Rng(13);
  const normal = moments(rng.fillNormal(new Float32Array(N), 3, 0.5));
  assertNear(normal.mean, 3, 0.01, "mean");
  assertNear(Math.sqrt(normal.variance), 0.5, 0.01, "standard deviation");
  const uniform = rng.fillUniform(new Float32Array(N), -2, 6);
  assert(uniform.every((x) => x >= -2 && x < 6));
  assertNear(moments(uniform).mean, 2, 0.05, "mean");
});

Deno.test("uniform(low, high) and int(n) stay in range and int(n) reaches every value", () => {
  const rng = new Rng(14);
  const seen = new Array(7).fill(0);
  for (let i = 0; i < 7000; i++) {
    const u = rng.uniform(-1, 1);
    assert(u >= -1 && u < 1);
    const k = rng.int(7);
    assert(Number.isInteger(k) && k >= 0 && k < 7);
    seen[k]++;
  }
  assert(seen.every((c) => c > 800), `counts ${seen}`);
  assert.equal(new Rng(1).int(1), 0);
  assert.throws(() => rng.int(0), RangeError);
});

Deno.test("permutation(n) is a permutation of 0..n-1, shuffled, and the same for the same seed", () => {
  const p = new Rng(15).permutation(1000);
  assert(p instanceof Int32Array);
  assertEquals(Array.from(p).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
  const fixedPoints = p.filter((v, i) => v === i).length;
  assert(fixedPoints < 10, `${fixedPoints} fixed points`); // about 1 expected
  assertEquals(p, new Rng(15).permutation(1000));
  assert.notDeepEqual(p, new Rng(16).permutation(1000));
  assertEquals(new Rng(1).permutation(0), new Int32Array(0));
  assertEquals(new Rng(1).permutation(1), Int32Array.of(0));
});

Deno.test("shuffle() gives each order of three items equally often", () => {
  const rng = new Rng(17);
  const counts = new Map<string, number>();
  for (let i = 0; i < 60_000; i++) {
    const key = rng.shuffle(["a", "b", "c"]).join("");
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  // Each order: 10,000 ± 91 (one standard deviation).
  for (const [order, count] of counts) assertNear(count, 10_000, 500, `order ${order}`);
});

Deno.test("seed() gives 32-bit integers that differ from call to call", () => {
  const rng = new Rng(18);
  const seeds = Array.from({ length: 100 }, () => rng.seed());
  assert(seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 32));
  assert.equal(new Set(seeds).size, 100);
});

Deno.test("fillUint32() gives the numbers uint32() gives, in order, and carries on from them", () => {
  const one = new Rng(9, ["mask", 2]), bulk = new Rng(9, ["mask", 2]);
  const bits = bulk.fillUint32(new Uint32Array(1000));
  for (let i = 0; i < bits.length; i++) assert.equal(bits[i], one.uint32(), `number ${i}`);
  assert.equal(bulk.uint32(), one.uint32());
  assert.equal(bulk.next(), one.next());
});
