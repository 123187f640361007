/**
 * The patch matrices (im2col) of recent forward convolutions, kept for
 * their filter gradients: `dW = colsᵀ·dy` needs the very matrix the
 * forward product used, and building it again cost as much as the
 * forward's (7-8 ms of a CNN training step per convolution at batch 128).
 *
 * An entry is keyed by the input's data (its `dataId`, which TF.js never
 * gives to other data: tensors are immutable, and a variable that is
 * assigned gets a new one) and the convolution's geometry. At most
 * {@linkcode PATCH_CACHE_SIZE} matrices are held; an entry whose input has
 * been disposed is dropped at the next call. The matrices live on the
 * wasm heap, outside TF.js's tensor count.
 *
 * @module
 */
import type { TensorInfo } from "@tensorflow/tfjs";
import type { PatchGeometry } from "./_im2col.ts";
import type { WasmBackend } from "./_wasm_fixes.ts";

/** Matrices held at most: a small CNN's convolutions, with room for a second model. */
export const PATCH_CACHE_SIZE = 4;

interface Entry {
  backend: WasmBackend;
  dataId: object;
  key: string;
  cols: TensorInfo;
}

let entries: Entry[] = [];

const keyOf = (g: PatchGeometry) =>
  [g.batch, g.inHeight, g.inWidth, g.channels, g.outHeight, g.outWidth, g.kh, g.kw, g.sh, g.sw, g.top, g.left]
    .join();

/** Drops the entries whose input is gone (or whose backend is not `backend`), freeing their matrices. */
function sweep(backend: WasmBackend): void {
  entries = entries.filter((e) => {
    if (e.backend !== backend) return false; // another backend instance: its heap is not ours to free
    const alive = backend.dataIdMap.has(e.dataId);
    if (!alive) backend.disposeData(e.cols.dataId);
    return alive;
  });
}

/**
 * Hands `cols`, the patch matrix of input `x` under geometry `g`, to the
 * cache, which now owns it (and frees the oldest entry beyond the limit).
 */
export function keepPatches(backend: WasmBackend, x: TensorInfo, g: PatchGeometry, cols: TensorInfo): void {
  sweep(backend);
  entries.push({ backend, dataId: x.dataId as object, key: keyOf(g), cols });
  while (entries.length > PATCH_CACHE_SIZE) backend.disposeData(entries.shift()!.cols.dataId);
}

/**
 * The cached patch matrix of `x` under `g`, if any: still owned by the
 * cache, valid until the next {@linkcode keepPatches}.
 */
export function cachedPatches(backend: WasmBackend, x: TensorInfo, g: PatchGeometry): TensorInfo | undefined {
  sweep(backend);
  const key = keyOf(g);
  return entries.find((e) => e.dataId === x.dataId && e.key === key)?.cols;
}

/** Frees every cached matrix (tests, and a backend about to go away). */
export function clearPatchCache(): void {
  for (const e of entries) {
    if (e.backend.dataIdMap.has(e.cols.dataId)) {
      e.backend.disposeData(e.cols.dataId);
    }
  }
  entries = [];
}
