/**
 * Reading the IDX format of MNIST and Fashion-MNIST, raw or gzipped.
 *
 * @module
 */
import { DataError, type ImageDataset, type ImageSet } from "./types.ts";

/** Magic number of an IDX file of unsigned bytes with 3 dimensions (images). */
export const IDX_IMAGES_MAGIC = 2051;
/** Magic number of an IDX file of unsigned bytes with 1 dimension (labels). */
export const IDX_LABELS_MAGIC = 2049;

/** A decoded IDX file of unsigned bytes. */
export interface IdxArray {
  /** The dimensions, e.g. `[60000, 28, 28]`. */
  shape: number[];
  /** The values, row-major. */
  data: Uint8Array;
}

/**
 * Decodes the bytes of an (already decompressed) IDX file of unsigned bytes.
 *
 * @param bytes The file's bytes.
 * @param name The file's name, used in error messages.
 * @param expectedMagic 2051 for images, 2049 for labels.
 * @returns The shape and a view of the values (no copy).
 * @throws {DataError} on a wrong magic number or a truncated file.
 *
 * @example
 * ```ts
 * import { parseIdx } from "@simple-nets/core";
 * const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]);
 * const labels = parseIdx(bytes, "labels", 2049);
 * console.assert(labels.shape[0] === 2 && labels.data[1] === 3);
 * ```
 */
export function parseIdx(bytes: Uint8Array, name: string, expectedMagic: number): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(`Cannot read IDX file ${name}: ${bytes.length} bytes, too short for a header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new DataError(
      `Cannot read IDX file ${name}: magic number is ${magic}, expected ${expectedMagic}`,
    );
  }
  const rank = magic & 0xff;
  const header = 4 + 4 * rank;
  if (bytes.length < header) {
    throw new DataError(`Cannot read IDX file ${name}: truncated header (${bytes.length} bytes)`);
  }
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const size = shape.reduce((a, b) => a * b, 1);
  if (bytes.length < header + size) {
    throw new DataError(
      `Cannot read IDX file ${name}: truncated, ${bytes.length - header} data bytes for shape ` +
        `[${shape.join(", ")}], expected ${size}`,
    );
  }
  if (bytes.length > header + size) {
    throw new DataError(
      `Cannot read IDX file ${name}: ${bytes.length - header - size} bytes beyond shape [${
        shape.join(", ")
      }]`,
    );
  }
  return { shape, data: bytes.subarray(header, header + size) };
}

function checkImageShape(images: IdxArray, name: string): void {
  if (images.shape.length !== 3) {
    throw new DataError(`Cannot read IDX file ${name}: ${images.shape.length} dimensions, expected 3`);
  }
  const [, rows, cols] = images.shape;
  if (rows !== 28 || cols !== 28) {
    throw new DataError(`Cannot read IDX file ${name}: images are ${rows}×${cols}, expected 28×28`);
  }
}

/**
 * Builds an {@linkcode ImageSet} from decoded IDX images and labels.
 *
 * @throws {DataError} on wrong dimensions, count mismatches or labels above 9.
 */
export function toImageSet(
  images: IdxArray,
  labels: IdxArray,
  names: { images: string; labels: string },
): ImageSet {
  checkImageShape(images, names.images);
  const [count, rows, cols] = images.shape;
  if (labels.shape.length !== 1) {
    throw new DataError(
      `Cannot read IDX file ${names.labels}: ${labels.shape.length} dimensions, expected 1`,
    );
  }
  if (labels.shape[0] !== count) {
    throw new DataError(
      `Cannot read IDX file ${names.labels}: ${
        labels.shape[0]
      } labels for ${count} images in ${names.images}`,
    );
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) {
    throw new DataError(
      `Cannot read IDX file ${names.labels}: label ${labels.data[bad]} at index ${bad}, expected 0-9`,
    );
  }
  const pixels = new Float32Array(images.data.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = images.data[i] / 255;
  return { images: pixels, labels: Uint8Array.from(labels.data), count, rows, cols };
}

/** The four standard file names, in the order they are checked. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

async function gunzip(bytes: Uint8Array, name: string): Promise<Uint8Array> {
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataError(`Cannot read IDX file ${name}: corrupt gzip data (${(e as Error).message})`);
  }
}

/** Finds `base`, `base.gz`, or the `train-images.idx3-ubyte` spelling in `dir`. */
async function findFile(dir: string, base: string): Promise<string | undefined> {
  const dotted = base.replace(/-(idx\d)/, ".$1");
  for (const name of [base, `${base}.gz`, dotted, `${dotted}.gz`]) {
    const path = `${dir.replace(/\/+$/, "")}/${name}`;
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not there: try the next spelling
    }
  }
  return undefined;
}

async function readIdxFile(dir: string, base: string, magic: number): Promise<[IdxArray, string]> {
  const path = await findFile(dir, base);
  if (!path) {
    throw new DataError(`Cannot find IDX file ${base} (or ${base}.gz) in ${dir}`);
  }
  let bytes: Uint8Array = await Deno.readFile(path);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes, path);
  return [parseIdx(bytes, path, magic), path];
}

/** Which parts of an IDX folder to read. */
export interface ReadIdxOptions {
  /** Read the training pair.
   * @default {true} */
  train?: boolean;
  /** Read the test (t10k) pair.
   * @default {true} */
  test?: boolean;
}

/**
 * Reads MNIST-format IDX files (raw or gzipped) from a folder. Files are
 * checked in a fixed order (train images, train labels, t10k images,
 * t10k labels) and the first problem is reported.
 *
 * Needs `--allow-read`.
 *
 * @param dir The folder holding the files.
 * @throws {DataError} naming the file on a missing, truncated or malformed file.
 *
 * @example
 * ```ts ignore
 * import { readIdxFolder } from "@simple-nets/core";
 * const { train } = await readIdxFolder("/usr/share/datasets/fashion-mnist", { test: false });
 * console.log(train!.count); // 60000
 * ```
 */
export async function readIdxFolder(dir: string, options: ReadIdxOptions = {}): Promise<ImageDataset> {
  const { train = true, test = true } = options;
  try {
    if (!(await Deno.stat(dir)).isDirectory) {
      throw new DataError(`Cannot read data folder ${dir}: it is not a folder`);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`Cannot read data folder ${dir}: it does not exist`);
  }
  const result: ImageDataset = { source: dir };
  const pairs: ["train" | "test", string, string][] = [];
  if (train) pairs.push(["train", IDX_FILES.trainImages, IDX_FILES.trainLabels]);
  if (test) pairs.push(["test", IDX_FILES.testImages, IDX_FILES.testLabels]);
  for (const [part, imagesBase, labelsBase] of pairs) {
    const [images, imagesPath] = await readIdxFile(dir, imagesBase, IDX_IMAGES_MAGIC);
    checkImageShape(images, imagesPath);
    const [labels, labelsPath] = await readIdxFile(dir, labelsBase, IDX_LABELS_MAGIC);
    result[part] = toImageSet(images, labels, { images: imagesPath, labels: labelsPath });
  }
  return result;
}
