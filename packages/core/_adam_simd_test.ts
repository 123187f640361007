import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { simdAdam } from "./_adam_simd.ts";
import { useBackend } from "./backend.ts";

Deno.test("the SIMD Adam update matches the formula in float64, over four-lane blocks and the tail", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const adam = simdAdam(memory);
  assert.ok(adam, "WebAssembly SIMD is available in Deno");
  const n = 11, f32 = new Float32Array(memory.buffer);
  const at = (k: number) => k * 64; // seven arrays of up to 16 floats
  const arrays = [0, 1, 2, 3].map((k) => Float32Array.from({ length: n }, (_, i) => Math.sin(7 * k + i + 1)));
  arrays[3] = arrays[3].map(Math.abs); // v ≥ 0
  arrays.forEach((a, k) => f32.set(a, at(k) / 4));
  const [b1, b2, lr, eps, c1, c2] = [0.9, 0.999, 0.01, 1e-8, 1 - 0.9 ** 3, 1 - 0.999 ** 3];
  adam(at(0), at(1), at(2), at(3), at(4), at(5), at(6), n, b1, b2, 1 - b1, 1 - b2, lr / c1, 1 / c2, eps);
  const [w, g, m, v] = arrays;
  for (let i = 0; i < n; i++) {
    const mi = b1 * m[i] + (1 - b1) * g[i], vi = b2 * v[i] + (1 - b2) * g[i] * g[i];
    const wi = w[i] - (lr / c1) * mi / (Math.sqrt(vi / c2) + eps);
    for (
      const [got, want, what] of [[f32[at(5) / 4 + i], mi, "m"], [f32[at(6) / 4 + i], vi, "v"], [
        f32[at(4) / 4 + i],
        wi,
        "w",
      ]] as const
    ) {
      assert.ok(Math.abs(got - want) <= 1e-6 * (1 + Math.abs(want)), `${what}[${i}]: ${got} against ${want}`);
    }
  }
  assert.equal(f32[at(4) / 4 + n], 0, "nothing written past n");
});

Deno.test("the wasm backend's memory is found, so the wasm Adam kernel runs the SIMD update", async () => {
  await useBackend("wasm");
  const backend = tf.backend() as unknown as { wasm: { asm?: { memory?: WebAssembly.Memory } } };
  assert.ok(simdAdam(backend.wasm.asm?.memory));
});
