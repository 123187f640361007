/**
 * Adam's update as a WebAssembly SIMD function (four float32 lanes at a
 * time) that runs on the memory of TF.js's wasm backend, for
 * `adam.ts`'s wasm kernel. The update divides by a square root per
 * weight, which scalar JavaScript computes one weight at a time in float64:
 * 3.8 ms of a 12 ms VAE training step (790,000 weights).
 *
 * The module is `_adam_simd.wat` beside this file, compiled by wabt:
 * `wat2wasm packages/core/_adam_simd.wat --output=- | base64 -w0`
 * (`_adam_simd_test.ts` checks the bytes against it when wat2wasm is
 * installed). It imports the backend's `WebAssembly.Memory`, so it reads
 * and writes tensors where they lie, and sees the memory grow.
 *
 * @module
 */
import { moduleOn } from "./_wasm_module.ts";

/** `_adam_simd.wat`, compiled. */
export const ADAM_WASM_BASE64 =
  "AGFzbQEAAAABEwFgD39/f39/f39/fX19fX19fQACDwEDZW52Bm1lbW9yeQIAAQMCAQAHCAEEYWRhbQAACuECAd4CAwJ/CnsDfSAI/RMhESAJ/RMhEiAK/RMhEyAL/RMhFCAM/RMhFSAN/RMhFiAO/RMhFwJAA0AgD0EEaiAHSw0BIA9BAnQhECABIBBq/QAEACEYIBEgAiAQav0ABAD95gEgEyAY/eYB/eQBIRkgEiADIBBq/QAEAP3mASAUIBj95gEgGP3mAf3kASEaIAUgEGogGf0LBAAgBiAQaiAa/QsEACAEIBBqIAAgEGr9AAQAIBUgGf3mASAaIBb95gH94wEgF/3kAf3nAf3lAf0LBAAgD0EEaiEPDAALCwJAA0AgDyAHTw0BIA9BAnQhECABIBBqKgIAIRsgCCACIBBqKgIAlCAKIBuUkiEcIAkgAyAQaioCAJQgCyAblCAblJIhHSAFIBBqIBw4AgAgBiAQaiAdOAIAIAQgEGogACAQaioCACAMIByUIB0gDZSRIA6SlZM4AgAgD0EBaiEPDAALCws=";

/**
 * `adam(w, g, m, v, ow, om, ov, n, b1, b2, a1, a2, step, inv2, eps)`: byte
 * offsets of the seven arrays of `n` floats, then the float32 constants.
 */
export type SimdAdam = (...offsetsCountAndConstants: number[]) => void;

/**
 * The SIMD update bound to `memory`, or `undefined` when WebAssembly SIMD
 * is not available (the caller then updates in JavaScript).
 */
export function simdAdam(memory: WebAssembly.Memory | undefined): SimdAdam | undefined {
  return moduleOn(ADAM_WASM_BASE64, memory)?.adam as SimdAdam | undefined;
}
