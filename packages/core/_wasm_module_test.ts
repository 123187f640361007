import assert from "node:assert/strict";
import { ADAM_WASM_BASE64 } from "./_adam_simd.ts";
import { IM2COL_WASM_BASE64 } from "./_im2col_simd.ts";
import { POOL_WASM_BASE64 } from "./_pool_simd.ts";
import { RNN_WASM_BASE64 } from "./_rnn_simd.ts";
import { moduleOn } from "./_wasm_module.ts";

const wat2wasm = await new Deno.Command("wat2wasm", { args: ["--version"] }).output().then(
  () => true,
  () => false,
);

for (
  const [name, base64] of [
    ["_adam_simd", ADAM_WASM_BASE64],
    ["_im2col_simd", IM2COL_WASM_BASE64],
    ["_pool_simd", POOL_WASM_BASE64],
    ["_rnn_simd", RNN_WASM_BASE64],
  ]
) {
  Deno.test({
    name: `the embedded module is ${name}.wat compiled (needs wabt's wat2wasm)`,
    ignore: !wat2wasm,
    fn: async () => {
      const source = new URL(`./${name}.wat`, import.meta.url).pathname;
      const out = await new Deno.Command("wat2wasm", { args: [source, "--output=-"] }).output();
      assert.equal(btoa(String.fromCharCode(...out.stdout)), base64);
    },
  });
}

Deno.test("moduleOn() makes one instance per memory, and none without a memory or from bad bytes", () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const a = moduleOn(ADAM_WASM_BASE64, memory);
  assert.ok(a?.adam);
  assert.equal(moduleOn(ADAM_WASM_BASE64, memory), a);
  assert.notEqual(moduleOn(ADAM_WASM_BASE64, new WebAssembly.Memory({ initial: 1 })), a);
  assert.equal(moduleOn(ADAM_WASM_BASE64, undefined), undefined);
  assert.equal(moduleOn(btoa("not wasm"), memory), undefined);
});
