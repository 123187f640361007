import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { useBackend } from "./backend.ts";
import { type FusedCell, type FusedSequence, getFusedSequence, registerFusedSequence } from "./fused.ts";
import { enableNativeBlas } from "./native.ts";
import { Rng } from "./rng.ts";

await useBackend("wasm");
const native = enableNativeBlas();
const fused = getFusedSequence();
const ignore = !native.enabled || !fused;
if (ignore) console.error(`native_rnn_test: skipped, native BLAS unavailable: ${native.reason}`);

const GATES: Record<FusedCell, number> = { rnn: 1, lstm: 4, gru: 3 };

/** The plain TF.js loop, with the same math and gate order as charlm's `cellStep`. */
function plainSequence(
  cell: FusedCell,
  xw: tf.Tensor3D,
  wh: tf.Tensor2D,
  state: tf.Tensor2D[],
): { outputs: tf.Tensor3D; state: tf.Tensor2D[] } {
  const H = wh.shape[0];
  let current = state;
  const outputs: tf.Tensor2D[] = [];
  const [T, B, W] = xw.shape;
  for (let t = 0; t < T; t++) {
    const x = tf.reshape(tf.slice(xw, [t, 0, 0], [1, B, W]), [B, W]) as tf.Tensor2D;
    const h = current[0];
    if (cell === "rnn") {
      current = [tf.tanh(tf.add(x, tf.matMul(h, wh)))];
    } else if (cell === "lstm") {
      const [i, f, o, g] = tf.split(tf.add(x, tf.matMul(h, wh)), 4, 1);
      const c = tf.add(tf.mul(tf.sigmoid(f), current[1]), tf.mul(tf.sigmoid(i), tf.tanh(g))) as tf.Tensor2D;
      current = [tf.mul(tf.sigmoid(o), tf.tanh(c)), c];
    } else {
      const [whUr, whC] = tf.split(wh, [2 * H, H], 1);
      const [xur, xc] = tf.split(x, [2 * H, H], 1);
      const [u, r] = tf.split(tf.sigmoid(tf.add(xur, tf.matMul(h, whUr))), 2, 1);
      const candidate = tf.tanh(tf.add(xc, tf.matMul(tf.mul(r, h), whC)));
      current = [tf.add(h, tf.mul(u, tf.sub(candidate, h)))];
    }
    outputs.push(current[0]);
  }
  return { outputs: tf.stack(outputs) as tf.Tensor3D, state: current };
}

function random(rng: Rng, shape: number[], scale: number): tf.Tensor {
  return tf.tensor(
    Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => (rng.next() * 2 - 1) * scale),
    shape,
  );
}

function assertClose(actual: tf.Tensor, expected: tf.Tensor, what: string, tolerance = 2e-5): void {
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const a = actual.dataSync(), e = expected.dataSync();
  let scale = 1e-3;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < e.length; i++) {
    assert(
      Math.abs(a[i] - e[i]) <= tolerance * scale,
      `${what}[${i}]: fused ${a[i]}, plain ${e[i]} (scale ${scale})`,
    );
  }
}

/** Outputs, final state and the gradients of a random projection of both, by both paths. */
function compare(cell: FusedCell, T: number, B: number, H: number, seed: number): void {
  const rng = new Rng(seed);
  const G = GATES[cell];
  const xw = random(rng, [T, B, G * H], 1.5) as tf.Tensor3D;
  const wh = random(rng, [H, G * H], 1 / Math.sqrt(H) * 2) as tf.Tensor2D;
  const state = Array.from({ length: cell === "lstm" ? 2 : 1 }, () => random(rng, [B, H], 1) as tf.Tensor2D);
  const wOut = random(rng, [T, B, H], 1);
  const wState = state.map(() => random(rng, [B, H], 1));
  const inputs = [xw, wh, ...state];
  const run = (seq: FusedSequence) => {
    const loss = (...xs: tf.Tensor[]) => {
      const out = seq(cell, xs[0] as tf.Tensor3D, xs[1] as tf.Tensor2D, xs.slice(2) as tf.Tensor2D[]);
      return out.state.reduce(
        (sum, s, i) => tf.add(sum, tf.sum(tf.mul(s, wState[i]))),
        tf.sum(tf.mul(out.outputs, wOut)),
      );
    };
    const forward = tf.tidy(() => {
      const out = seq(cell, xw, wh, state);
      return [out.outputs, ...out.state];
    });
    const grads = tf.grads(loss)(inputs);
    return { forward, grads };
  };
  const before = tf.memory().numTensors;
  const got = run(fused!);
  const want = run(plainSequence);
  const names = ["outputs", "h_T", "c_T"];
  got.forward.forEach((t, i) => assertClose(t, want.forward[i], `${cell} ${names[i]}`));
  const gradNames = ["dxw", "dwh", "dh0", "dc0"];
  got.grads.forEach((t, i) => assertClose(t, want.grads[i], `${cell} ${gradNames[i]}`, 5e-5));
  tf.dispose([got.forward, got.grads, want.forward, want.grads]);
  assert.equal(tf.memory().numTensors, before, `${cell}: tensors leaked`);
  tf.dispose([inputs, wOut, wState]);
}

for (const cell of ["rnn", "lstm", "gru"] as const) {
  Deno.test({
    name: `the fused ${cell} sequence matches the plain TF.js loop: outputs, final state and gradients`,
    ignore,
    fn() {
      compare(cell, 5, 3, 7, 11); // 7 units: the gate math in JavaScript
      compare(cell, 1, 1, 4, 12); // multiples of 4: in SIMD
      compare(cell, 9, 4, 16, 13);
    },
  });
  Deno.test({
    name: `the fused ${cell} sequence matches the plain loop on the cpu backend too (no wasm heap)`,
    ignore,
    async fn() {
      await tf.setBackend("cpu");
      try {
        compare(cell, 4, 3, 8, 14);
      } finally {
        await tf.setBackend("wasm");
      }
    },
  });
}

Deno.test({
  name: "the fused sequence rejects shapes that do not fit with a TypeError",
  ignore,
  fn() {
    const xw = tf.zeros([2, 3, 8]) as tf.Tensor3D, wh = tf.zeros([2, 8]) as tf.Tensor2D;
    const h = tf.zeros([3, 2]) as tf.Tensor2D, wrong = tf.zeros([2, 2]) as tf.Tensor2D;
    assert.throws(() => fused!("gru", xw, wh, [h]), TypeError);
    assert.throws(() => fused!("lstm", xw, wh, [h]), TypeError);
    assert.throws(() => fused!("lstm", xw, wh, [h, wrong]), TypeError);
    tf.dispose([xw, wh, h, wrong]);
  },
});

Deno.test({
  name: "a small charlm model trains to the same losses with and without the fused sequence",
  ignore,
  async fn() {
    const { createCharLM, createOptimizer, createTrainStep } = await import("@simple-nets/charlm");
    const text = "the quick brown fox jumps over the lazy dog. ".repeat(20);
    for (const cell of ["rnn", "lstm", "gru"] as const) {
      const losses = (useFused: boolean) => {
        registerFusedSequence(useFused ? fused : undefined);
        const model = createCharLM(text, { cell, layers: 2, hidden: 24, dropout: 0, seed: 3 });
        const optimizer = createOptimizer(1e-2);
        const step = createTrainStep(model, model.vocab.encode(text).ids, {
          optimizer,
          batchSize: 5,
          seqLen: 9,
        });
        const out = Array.from(
          { length: 4 },
          (_, s) => step({ rng: Rng.stream(1, "step", s) }).loss as number,
        );
        const before = tf.memory().numTensors;
        step({ rng: Rng.stream(1, "step", 9) });
        const grown = tf.memory().numTensors - before;
        optimizer.dispose();
        model.dispose();
        registerFusedSequence(fused);
        return { out, grown };
      };
      const plain = losses(false), withFused = losses(true);
      assert.equal(
        withFused.grown,
        0,
        `${cell}: the fused step leaked ${withFused.grown} tensors (plain: ${plain.grown})`,
      );
      withFused.out.forEach((loss, s) => {
        assert(
          Math.abs(loss - plain.out[s]) < 1e-4,
          `${cell} step ${s}: fused loss ${loss}, plain ${plain.out[s]}`,
        );
      });
      assert(withFused.out[3] < withFused.out[0], `${cell}: the loss did not fall (${withFused.out})`);
    }
  },
});
