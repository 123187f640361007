import assert, { deepEqual as assertEquals } from "node:assert/strict";
import { IDX_FILES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, parseIdx, readIdxFolder } from "./idx.ts";
import { loadImages } from "./load.ts";
import { DataError } from "./types.ts";
import { FASHION_MNIST_DIR, hasFashionMnist } from "../testing.ts";

/** The bytes of an IDX file: big-endian magic and dimensions, then `data`. */
function idxBytes(magic: number, dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Deterministic pixels and labels for `count` images of `rows × cols`. */
function fixture(count: number, salt: number, rows = 28, cols = 28) {
  const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 7 + salt * 13) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i + salt) % 10);
  return {
    pixels,
    labels,
    images: idxBytes(IDX_IMAGES_MAGIC, [count, rows, cols], pixels),
    labelFile: idxBytes(IDX_LABELS_MAGIC, [count], labels),
  };
}

const TRAIN = fixture(5, 1);
const TEST = fixture(3, 2);

type Files = Partial<Record<keyof typeof IDX_FILES, Uint8Array>>;

/** The four files of a good folder, each of which a test may replace or drop. */
function goodFiles(): Files {
  return {
    trainImages: TRAIN.images,
    trainLabels: TRAIN.labelFile,
    testImages: TEST.images,
    testLabels: TEST.labelFile,
  };
}

/** Writes `files` to a new temporary folder under their standard names (or the given ones). */
async function writeFolder(
  files: Files,
  options: { gzip?: boolean; names?: Partial<Record<keyof typeof IDX_FILES, string>> } = {},
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "idx_test_" });
  for (const [key, bytes] of Object.entries(files) as [keyof typeof IDX_FILES, Uint8Array][]) {
    const name = options.names?.[key] ?? IDX_FILES[key] + (options.gzip ? ".gz" : "");
    await Deno.writeFile(`${dir}/${name}`, options.gzip ? await gzip(bytes) : bytes);
  }
  return dir;
}

/** Runs `fn` on a temporary folder and removes it afterwards. */
async function withFolder(
  files: Files,
  fn: (dir: string) => Promise<void>,
  options: Parameters<typeof writeFolder>[1] = {},
): Promise<void> {
  const dir = await writeFolder(files, options);
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that reading `dir` fails with a DataError whose message contains every part. */
async function assertDataError(dir: string, ...parts: string[]): Promise<void> {
  await assert.rejects(readIdxFolder(dir), (e: unknown) => {
    assert(e instanceof DataError, `expected a DataError, got ${e}`);
    for (const part of parts) assert(e.message.includes(part), `"${e.message}" does not mention "${part}"`);
    return true;
  });
}

function assertImageSet(
  set: { images: Float32Array; labels: Uint8Array; count: number; rows: number; cols: number } | undefined,
  expected: { pixels: Uint8Array; labels: Uint8Array },
): void {
  assert(set);
  assertEquals([set.count, set.rows, set.cols], [expected.labels.length, 28, 28]);
  assertEquals(set.labels, expected.labels);
  assertEquals(set.images, Float32Array.from(expected.pixels, (b) => b / 255));
}

Deno.test("parseIdx decodes a hand-built labels file and images file", () => {
  const labels = parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]), "labels", IDX_LABELS_MAGIC);
  assertEquals(labels.shape, [2]);
  assertEquals(Array.from(labels.data), [7, 3]);
  const images = parseIdx(
    idxBytes(IDX_IMAGES_MAGIC, [2, 2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)),
    "x",
    IDX_IMAGES_MAGIC,
  );
  assertEquals(images.shape, [2, 2, 3]);
  assertEquals(Array.from(images.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

Deno.test("parseIdx names the file on a short header, a wrong magic number, truncation and extra bytes", () => {
  const good = idxBytes(IDX_LABELS_MAGIC, [3], Uint8Array.of(1, 2, 3));
  const cases: [Uint8Array, number, RegExp][] = [
    [good.subarray(0, 3), IDX_LABELS_MAGIC, /^Cannot read IDX file f\.idx: 3 bytes, too short for a header$/],
    [good.subarray(0, 6), IDX_LABELS_MAGIC, /^Cannot read IDX file f\.idx: truncated header \(6 bytes\)$/],
    [good, IDX_IMAGES_MAGIC, /^Cannot read IDX file f\.idx: magic number is 2049, expected 2051$/],
    [
      good.subarray(0, 10),
      IDX_LABELS_MAGIC,
      /^Cannot read IDX file f\.idx: truncated, 2 data bytes .*expected 3$/,
    ],
    [
      idxBytes(IDX_LABELS_MAGIC, [3], Uint8Array.of(1, 2, 3, 4)),
      IDX_LABELS_MAGIC,
      /f\.idx: 1 bytes beyond shape \[3\]/,
    ],
  ];
  for (const [bytes, magic, message] of cases) {
    assert.throws(
      () => parseIdx(bytes, "f.idx", magic),
      (e: unknown) => e instanceof DataError && message.test(e.message),
    );
  }
});

Deno.test("readIdxFolder reads back a hand-built folder of raw files, pixels as byte/255", async () => {
  await withFolder(goodFiles(), async (dir) => {
    const data = await readIdxFolder(dir);
    assert.equal(data.source, dir);
    assertImageSet(data.train, TRAIN);
    assertImageSet(data.test, TEST);
  });
});

Deno.test("readIdxFolder reads back the same folder gzipped with CompressionStream", async () => {
  await withFolder(goodFiles(), async (dir) => {
    const data = await readIdxFolder(dir);
    assertImageSet(data.train, TRAIN);
    assertImageSet(data.test, TEST);
  }, { gzip: true });
});

Deno.test("readIdxFolder accepts the train-images.idx3-ubyte spelling, raw or gzipped", async () => {
  const names = {
    trainImages: "train-images.idx3-ubyte",
    trainLabels: "train-labels.idx1-ubyte",
    testImages: "t10k-images.idx3-ubyte",
    testLabels: "t10k-labels.idx1-ubyte",
  };
  await withFolder(goodFiles(), async (dir) => {
    assertImageSet((await readIdxFolder(dir)).train, TRAIN);
  }, { names });
  const gzNames = Object.fromEntries(Object.entries(names).map(([k, v]) => [k, `${v}.gz`]));
  await withFolder(goodFiles(), async (dir) => {
    assertImageSet((await readIdxFolder(dir)).test, TEST);
  }, { names: gzNames, gzip: true });
});

Deno.test("a wrong magic number is reported naming the file", async () => {
  await withFolder({ ...goodFiles(), testImages: TEST.labelFile }, async (dir) => {
    await assertDataError(dir, `${dir}/t10k-images-idx3-ubyte`, "magic number is 2049, expected 2051");
  });
});

Deno.test("images that are not 28×28 are reported naming the file", async () => {
  const small = fixture(5, 1, 28, 27);
  await withFolder({ ...goodFiles(), trainImages: small.images }, async (dir) => {
    await assertDataError(dir, `${dir}/train-images-idx3-ubyte`, "images are 28×27, expected 28×28");
  });
  const flat = idxBytes(IDX_IMAGES_MAGIC & ~0xff | 2, [5, 784], TRAIN.pixels);
  await withFolder({ ...goodFiles(), trainImages: flat }, async (dir) => {
    await assertDataError(dir, `${dir}/train-images-idx3-ubyte`, "magic number is 2050, expected 2051");
  });
});

Deno.test("truncated data and extra bytes are reported naming the file", async () => {
  await withFolder({ ...goodFiles(), trainLabels: TRAIN.labelFile.subarray(0, 11) }, async (dir) => {
    await assertDataError(dir, `${dir}/train-labels-idx1-ubyte`, "truncated, 3 data bytes", "expected 5");
  });
  const longer = new Uint8Array(TEST.images.length + 100);
  longer.set(TEST.images);
  await withFolder({ ...goodFiles(), testImages: longer }, async (dir) => {
    await assertDataError(dir, `${dir}/t10k-images-idx3-ubyte`, "100 bytes beyond shape [3, 28, 28]");
  });
});

Deno.test("a label count that differs from the image count is reported naming both files", async () => {
  await withFolder({ ...goodFiles(), testLabels: TRAIN.labelFile }, async (dir) => {
    await assertDataError(
      dir,
      `${dir}/t10k-labels-idx1-ubyte: 5 labels for 3 images in ${dir}/t10k-images-idx3-ubyte`,
    );
  });
});

Deno.test("a label above 9 is reported with its value and index", async () => {
  const labels = Uint8Array.of(0, 1, 10, 3, 4);
  await withFolder({ ...goodFiles(), trainLabels: idxBytes(IDX_LABELS_MAGIC, [5], labels) }, async (dir) => {
    await assertDataError(dir, `${dir}/train-labels-idx1-ubyte`, "label 10 at index 2, expected 0-9");
  });
});

Deno.test("a missing file, a missing folder and a file given as folder are reported by name", async () => {
  const { testLabels: _, ...three } = goodFiles();
  await withFolder(three, async (dir) => {
    await assertDataError(
      dir,
      "Cannot find IDX file t10k-labels-idx1-ubyte (or t10k-labels-idx1-ubyte.gz)",
      dir,
    );
  });
  const missing = `${await Deno.makeTempDir()}/nowhere`;
  await assertDataError(missing, `Cannot read data folder ${missing}: it does not exist`);
  const file = await Deno.makeTempFile();
  await assertDataError(file, `Cannot read data folder ${file}: it is not a folder`);
  await Deno.remove(file);
  await Deno.remove(missing.replace(/\/nowhere$/, ""));
});

Deno.test("corrupt and truncated gzip data are reported naming the file", async () => {
  const garbage = Uint8Array.of(0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
  const zipped = await gzip(TRAIN.images);
  for (const bad of [garbage, zipped.subarray(0, zipped.length - 6)]) {
    const dir = await writeFolder(goodFiles(), { gzip: true });
    await Deno.writeFile(`${dir}/train-images-idx3-ubyte.gz`, bad);
    await assertDataError(dir, `${dir}/train-images-idx3-ubyte.gz`, "corrupt gzip data");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("files are checked in a fixed order and the first problem is reported", async () => {
  // Every file is truncated; fixing them one by one moves the error to the next file.
  const order = ["trainImages", "trainLabels", "testImages", "testLabels"] as const;
  const files = goodFiles();
  for (const key of order) files[key] = files[key]!.subarray(0, files[key]!.length - 1);
  for (const key of order) {
    await withFolder(files, async (dir) => {
      await assertDataError(dir, `${dir}/${IDX_FILES[key]}: truncated`);
    });
    files[key] = goodFiles()[key];
  }
  await withFolder(files, async (dir) => assertImageSet((await readIdxFolder(dir)).test, TEST));
  // Wrong dimensions of the train images come before a missing train labels file.
  const { trainLabels: _, ...noLabels } = goodFiles();
  await withFolder({ ...noLabels, trainImages: fixture(5, 1, 27, 28).images }, async (dir) => {
    await assertDataError(dir, `${dir}/train-images-idx3-ubyte`, "27×28");
  });
});

Deno.test("{ train: false } reads only the t10k pair and { test: false } only the train pair", async () => {
  const { trainImages: _, trainLabels: __, ...testPair } = goodFiles();
  await withFolder({ ...testPair }, async (dir) => {
    const data = await readIdxFolder(dir, { train: false });
    assert.equal(data.train, undefined);
    assertImageSet(data.test, TEST);
    await assertDataError(dir, "train-images-idx3-ubyte");
  });
  const { testImages: ___, testLabels: ____, ...trainPair } = goodFiles();
  await withFolder({ ...trainPair }, async (dir) => {
    const data = await readIdxFolder(dir, { test: false });
    assert.equal(data.test, undefined);
    assertImageSet(data.train, TRAIN);
  });
});

Deno.test("loadImages reads an IDX folder when given one, with its options", async () => {
  const { trainImages: _, trainLabels: __, ...testPair } = goodFiles();
  await withFolder(testPair, async (dir) => {
    const data = await loadImages(dir, { train: false });
    assert.equal(data.source, dir);
    assertImageSet(data.test, TEST);
    await assert.rejects(loadImages(dir), DataError);
  });
});

const fashion = hasFashionMnist();
if (!fashion) {
  console.log(
    `Fashion-MNIST tests skipped: ${FASHION_MNIST_DIR} is absent (apt-get install dataset-fashion-mnist)`,
  );
}

Deno.test({
  name: "Debian's Fashion-MNIST loads as is: 60,000/10,000 images of 28×28, labels 0-9, pixels in [0, 1]",
  ignore: !fashion,
  fn: async () => {
    const data = await readIdxFolder(FASHION_MNIST_DIR);
    for (const [set, count] of [[data.train, 60_000], [data.test, 10_000]] as const) {
      assert(set);
      assertEquals([set.count, set.rows, set.cols, set.images.length], [count, 28, 28, count * 784]);
      const perClass = new Array(10).fill(0);
      for (const l of set.labels) perClass[l]++;
      assertEquals(perClass, new Array(10).fill(count / 10));
      let min = Infinity, max = -Infinity;
      const images = set.images;
      for (let i = 0; i < images.length; i++) {
        if (images[i] < min) min = images[i];
        if (images[i] > max) max = images[i];
      }
      assertEquals([min, max], [0, 1]);
    }
  },
});
