import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "@simple-nets/core/backend";
import { sequenceLoss } from "./loss.ts";
import { createCharLM } from "./model.ts";

Deno.test("the wasm backend gives the loss and gradients the cpu backend gives", async () => {
  const lossAndGrads = () => {
    const model = createCharLM("abcdefg", { cell: "lstm", layers: 2, hidden: 6, dropout: 0.4, seed: 2 });
    const x = tf.tensor2d([[0, 1, 2], [3, 4, 5], [6, 0, 1]], [3, 3], "int32");
    const y = tf.tensor2d([[1, 2, 3], [4, 5, 6], [0, 1, 2]], [3, 3], "int32");
    const { value, grads } = tf.variableGrads(
      () => sequenceLoss(model, x, y, 5),
      Object.values(model.params),
    );
    const out = {
      loss: value.dataSync()[0],
      grads: Object.values(grads).map((g) => Array.from(g.dataSync())),
    };
    tf.dispose([value, x, y, ...Object.values(grads)]);
    model.dispose();
    return out;
  };
  await useBackend("cpu");
  const cpu = lossAndGrads();
  await useBackend("wasm");
  const wasm = lossAndGrads();
  await useBackend("cpu");
  assert.ok(Math.abs(cpu.loss - wasm.loss) < 1e-5, `cpu ${cpu.loss}, wasm ${wasm.loss}`);
  for (let i = 0; i < cpu.grads.length; i++) {
    const diff = Math.max(...cpu.grads[i].map((v, j) => Math.abs(v - wasm.grads[i][j])));
    assert.ok(diff < 1e-5, `gradient ${i} differs by ${diff}`);
  }
});
