import { readIdxFolder, type ReadIdxOptions } from "./idx.ts";
import { EMBEDDED_MNIST, loadEmbeddedMnist } from "./mnist.ts";
import type { ImageDataset } from "./types.ts";

/**
 * Loads an image dataset: an IDX folder, or the embedded digits when
 * `source` is absent or `"embedded:mnist"` (the name checkpoints record).
 *
 * @example
 * ```ts
 * import { loadImages } from "@simple-nets/core";
 * const data = await loadImages(undefined);
 * console.assert(data.source === "embedded:mnist");
 * ```
 */
export async function loadImages(
  source: string | undefined,
  options: ReadIdxOptions = {},
): Promise<ImageDataset> {
  if (source === undefined || source === EMBEDDED_MNIST) return loadEmbeddedMnist();
  return await readIdxFolder(source, options);
}
