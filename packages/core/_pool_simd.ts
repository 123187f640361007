/**
 * The gradient of max-pooling as a WebAssembly SIMD function on the memory
 * of TF.js's wasm backend, for `_wasm_fixes.ts`'s `MaxPoolGrad`: the
 * first maximum of each window found for four channels at a time (the
 * JavaScript scan took 10 ms of a CNN training step at batch 128).
 *
 * The module is `_pool_simd.wat` beside this file, compiled by wabt:
 * `wat2wasm packages/core/_pool_simd.wat --output=- | base64 -w0`.
 *
 * @module
 */
import { moduleOn } from "./_wasm_module.ts";

/** `_pool_simd.wat`, compiled. */
export const POOL_WASM_BASE64 =
  "AGFzbQEAAAABHgJgD39/f39/f39/f39/f39/fwBgCH9/f39/f39/AAIPAQNlbnYGbWVtb3J5AgABAwMCAAEHDwELbWF4UG9vbEdyYWQAAAqGBgLzBAUOfwR7AX8CfQF/IAEhFwJAA0AgDyADTg0BIAAgDyAEbCAFbCAGbEECdGohFkEAIRACQANAIBAgB04NASAQIAtsIA1rIRIgEiAJaiETIBJBAEgEQEEAIRILIBMgBEoEQCAEIRMLQQAhEQJAA0AgESAITg0BIBEgDGwgDmshFCAUIApqIRUgFEEASARAQQAhFAsgFSAFSgRAIAUhFQsgEiATSCAUIBVIcQRAIBYgEiAFbCAUaiAGbEECdGohGEEAIRkCQANAIBlBBGogBkoNASAYIBlBAnRq/QAEACEdIBj9ESEeIBIhGgJAA0AgGiATTg0BIBRBAWogFCAaIBJGGyEbAkADQCAbIBVODQEgFiAaIAVsIBtqIAZsQQJ0aiEcIBwgGUECdGr9AAQAIR8gHyAd/UQhICAfIB0gIP1SIR0gHP0RIB4gIP1SIR4gG0EBaiEbDAALCyAaQQFqIRoMAAsLIAAgAiAXIBkgHv0bACAe/RsBIB79GwIgHv0bAxABIBlBBGohGQwACwsCQANAIBkgBk4NASAYISEgGCAZQQJ0aioCACEiIBIhGgJAA0AgGiATTg0BIBRBAWogFCAaIBJGGyEbAkADQCAbIBVODQEgFiAaIAVsIBtqIAZsQQJ0aiEcIBwgGUECdGoqAgAhIyAjICJeBEAgIyEiIBwhIQsgG0EBaiEbDAALCyAaQQFqIRoMAAsLIAIgISAAa2ogGUECdGohHCAcIBwqAgAgFyAZQQJ0aioCAJI4AgAgGUEBaiEZDAALCwsgFyAGQQJ0aiEXIBFBAWohEQwACwsgEEEBaiEQDAALCyAPQQFqIQ8MAAsLC44BAQJ/IAIgA0ECdGohCSABIAQgAGtqIANBAnRqIQggCCAIKgIAIAkqAgCSOAIAIAEgBSAAa2ogA0ECdGohCCAIIAgqAgQgCSoCBJI4AgQgASAGIABraiADQQJ0aiEIIAggCCoCCCAJKgIIkjgCCCABIAcgAGtqIANBAnRqIQggCCAIKgIMIAkqAgySOAIMCw==";

/**
 * `maxPoolGrad(x, dy, dx, batch, inH, inW, C, outH, outW, fh, fw, sh, sw,
 * top, left)` with byte offsets: adds each `dy` value into `dx` at its
 * window's first maximum of `x` (`dx` must be cleared first).
 */
export type SimdMaxPoolGrad = (x: number, dy: number, dx: number, ...geometry: number[]) => void;

/** The SIMD function bound to `memory`, or `undefined` (then JavaScript does it). */
export function simdMaxPoolGrad(memory: WebAssembly.Memory | undefined): SimdMaxPoolGrad | undefined {
  return moduleOn(POOL_WASM_BASE64, memory)?.maxPoolGrad as SimdMaxPoolGrad | undefined;
}
