/**
 * Backend choice: `cpu`, `wasm`, `webgpu`, or `auto` (the fastest that
 * starts on this machine). The wasm backend loads its `.wasm` binary from
 * the installed npm package, so it works offline; core patches its known
 * gaps (transposed matMul, the conv filter gradient) once, here.
 *
 * This module switches TF.js's global backend: only the CLI, benchmarks and
 * tests call it, never a library function.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { installWasmFixes } from "./_wasm_fixes.ts";

/** Names accepted by {@linkcode useBackend}. */
export type BackendName = "auto" | "cpu" | "wasm" | "webgpu";

/** Every accepted backend name. */
export const BACKEND_NAMES: readonly BackendName[] = ["auto", "cpu", "wasm", "webgpu"];

/**
 * The order `auto` tries the backends in, fastest first as measured by
 * `deno task bench` on our 2-core machines (wasm with the patched kernels
 * beats the pure-JS cpu backend by 5-15× on every model; webgpu is tried
 * only on request because software adapters are slower than wasm).
 */
export const AUTO_ORDER: readonly Exclude<BackendName, "auto">[] = ["wasm", "cpu"];

/** What {@linkcode useBackend} reports. */
export interface BackendInfo {
  /** The TF.js backend now active. */
  name: Exclude<BackendName, "auto">;
  /** Extra notes, e.g. an accelerated path that was not available. */
  notes: string[];
}

/** Hooks that speed a backend up after it started (the native module adds one). */
const accelerators: ((backend: string) => Promise<string | undefined>)[] = [];

/**
 * Registers an accelerator run after a backend starts. It returns a note
 * (e.g. "native BLAS unavailable: ...") or `undefined`. Used by the
 * optional native module; libraries never call it.
 */
export function registerAccelerator(
  fn: (backend: string) => Promise<string | undefined>,
): void {
  accelerators.push(fn);
}

async function tryBackend(name: Exclude<BackendName, "auto">): Promise<boolean> {
  if (name === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
    installWasmFixes();
  } else if (name === "webgpu") {
    const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } })?.gpu;
    if (!gpu || !(await gpu.requestAdapter().catch(() => null))) return false;
    await import("@tensorflow/tfjs-backend-webgpu");
  }
  try {
    if (!(await tf.setBackend(name))) return false;
  } catch {
    return false;
  }
  if (name === "webgpu") {
    // Every package reads its losses back synchronously; tfjs-webgpu cannot in Deno (no canvas).
    try {
      const probe = tf.tidy(() => tf.scalar(1).add(1));
      try {
        probe.dataSync();
      } finally {
        probe.dispose();
      }
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Activates a TF.js backend and returns which one runs.
 *
 * @param name `auto` tries {@linkcode AUTO_ORDER} and takes the first that starts.
 * @throws {Error} when the named backend cannot start on this machine.
 */
export async function useBackend(name: BackendName = "auto"): Promise<BackendInfo> {
  const notes: string[] = [];
  // Production mode: no per-op NaN checks, and no "install tfjs-node" banner on stderr.
  tf.enableProdMode();
  let chosen: Exclude<BackendName, "auto"> | undefined;
  if (name === "auto") {
    for (const candidate of AUTO_ORDER) {
      if (await tryBackend(candidate)) {
        chosen = candidate;
        break;
      }
      notes.push(`backend ${candidate} did not start, trying the next one`);
    }
  } else if (await tryBackend(name)) {
    chosen = name;
  }
  if (!chosen) {
    throw new Error(`Cannot start backend "${name}" on this machine`);
  }
  await tf.ready();
  for (const accelerate of accelerators) {
    const note = await accelerate(chosen);
    if (note) notes.push(note);
  }
  return { name: chosen, notes };
}
