/**
 * im2col and its adjoint as one WebAssembly SIMD function on the memory of
 * TF.js's wasm backend, for `_im2col.ts`. JavaScript copied a patch row's
 * runs with one `copyWithin` call each (or a loop for short runs) and
 * added them back one float at a time: 7-8 ms for a convolution's patch
 * matrix at batch 128, about 10 ms for its adjoint. Here the runs are
 * copied, zeroed and added four lanes at a time inside the module.
 *
 * The module is `_im2col_simd.wat` beside this file, compiled by wabt:
 * `wat2wasm packages/core/_im2col_simd.wat --output=- | base64 -w0`.
 *
 * @module
 */
import { moduleOn } from "./_wasm_module.ts";

/** `_im2col_simd.wat`, compiled. */
export const IM2COL_WASM_BASE64 =
  "AGFzbQEAAAABHgNgA39/fwBgAn9/AGAPf39/f39/f39/f39/f39/AAIPAQNlbnYGbWVtb3J5AgABAwUEAAEAAgcRAgNhZGQAAgdwYXRjaGVzAAMKsgUEZQEBfwJAA0AgA0EEaiACSw0BIAAgAf0ABAD9CwQAIABBEGohACABQRBqIQEgA0EEaiEDDAALCwJAA0AgAyACTw0BIAAgASoCADgCACAAQQRqIQAgAUEEaiEBIANBAWohAwwACwsLYwEBfwJAA0AgAkEEaiABSw0BIAD9DAAAAAAAAAAAAAAAAAAAAAD9CwQAIABBEGohACACQQRqIQIMAAsLAkADQCACIAFPDQEgAEMAAAAAOAIAIABBBGohACACQQFqIQIMAAsLC3QBAX8CQANAIANBBGogAksNASAAIAD9AAQAIAH9AAQA/eQB/QsEACAAQRBqIQAgAUEQaiEBIANBBGohAwwACwsCQANAIAMgAk8NASAAIAAqAgAgASoCAJI4AgAgAEEEaiEAIAFBBGohASADQQFqIQMMAAsLC/ACAQ9/IAogBmwhDyAEIAVsIAZsIRAgAiERQQAhEgJAA0AgEiADTg0BIAEgEiAQbEECdGohE0EAIRQCQANAIBQgB04NAUEAIRUCQANAIBUgCE4NASAVIAxsIA5rIRdBACAXayEYIBhBAEgEQEEAIRgLIBggCkoEQCAKIRgLIAUgF2shGSAZIApKBEAgCiEZCyAZIBhIBEAgGCEZCyAYIAZsIRogGSAYayAGbCEbQQAhFgJAA0AgFiAJTg0BIBQgC2wgFmogDWshHCAcQQBIIBwgBE5yIBtFcgRAIABFBEAgESAPEAELBSATIBwgBWwgF2ogGGogBmxBAnRqIR0gAARAIB0gESAaQQJ0aiAbEAIFIBEgGhABIBEgGkECdGogHSAbEAAgESAaIBtqQQJ0aiAPIBprIBtrEAELCyARIA9BAnRqIREgFkEBaiEWDAALCyAVQQFqIRUMAAsLIBRBAWohFAwACwsgEkEBaiESDAALCws=";

/**
 * `patches(adjoint, x, cols, batch, inH, inW, C, outH, outW, kh, kw, sh,
 * sw, top, left)`: with `adjoint` 0 writes the patch matrix of the image
 * batch at byte offset `x` to `cols`; with 1 adds it back into `x`.
 */
export type SimdPatches = (adjoint: number, x: number, cols: number, ...geometry: number[]) => void;

/** The SIMD patch function bound to `memory`, or `undefined` (then JavaScript does it). */
export function simdPatches(memory: WebAssembly.Memory | undefined): SimdPatches | undefined {
  return moduleOn(IM2COL_WASM_BASE64, memory)?.patches as SimdPatches | undefined;
}

/** `add(dst, src, n)`: `n` floats at byte offset `src` added into those at `dst`. */
export type SimdAdd = (dst: number, src: number, n: number) => void;

/** The SIMD row addition bound to `memory`, or `undefined` (then JavaScript does it). */
export function simdAdd(memory: WebAssembly.Memory | undefined): SimdAdd | undefined {
  return moduleOn(IM2COL_WASM_BASE64, memory)?.add as SimdAdd | undefined;
}
