/**
 * Instantiates core's small hand-written WebAssembly modules (`*.wat`
 * beside this file, compiled by wabt and embedded as base64) on the memory
 * of TF.js's wasm backend, which each imports as `env.memory`: they read
 * and write tensors where they lie, and see the memory grow.
 *
 * @module
 */

const cache = new Map<string, WeakMap<WebAssembly.Memory, WebAssembly.Exports | null>>();

/**
 * The exports of the module `base64` bound to `memory`, made once per
 * memory; `undefined` without a memory or when the module cannot be
 * instantiated (no WebAssembly SIMD), so the caller falls back to
 * JavaScript.
 */
export function moduleOn(
  base64: string,
  memory: WebAssembly.Memory | undefined,
): WebAssembly.Exports | undefined {
  if (!memory) return undefined;
  let byMemory = cache.get(base64);
  if (!byMemory) cache.set(base64, byMemory = new WeakMap());
  let exports = byMemory.get(memory);
  if (exports === undefined) {
    try {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
    } catch {
      exports = null;
    }
    byMemory.set(memory, exports);
  }
  return exports ?? undefined;
}

/** The wasm backend's memory, when the backend object exposes it (tfjs-backend-wasm 4.22: `wasm.asm.memory`). */
export function backendMemory(backend: unknown): WebAssembly.Memory | undefined {
  const memory = (backend as { wasm?: { asm?: { memory?: unknown } } })?.wasm?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}
