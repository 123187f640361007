import * as tf from "@tensorflow/tfjs";
import assert, { deepEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { dropout } from "./dropout.ts";
import { Rng } from "./rng.ts";
import { assertNoLeaks } from "./testing.ts";

Deno.test("dropout() drops about `rate` of the elements and scales the rest by 1/(1 − rate)", () => {
  const x = tf.ones([200, 100]);
  const y = dropout(x, 0.3, new Rng(5));
  const values = y.dataSync();
  const dropped = values.filter((v) => v === 0).length / values.length;
  assert(Math.abs(dropped - 0.3) < 0.01, `dropped ${dropped}`);
  assert(values.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6));
  tf.dispose([x, y]);
});

Deno.test("dropout() is the same for the same seed and differs for another", () => {
  const x = tf.ones([8, 16]);
  const draw = (seed: number) => {
    const y = dropout(x, 0.5, new Rng(seed));
    const v = Array.from(y.dataSync());
    y.dispose();
    return v;
  };
  assertEquals(draw(1), draw(1));
  assert(draw(1).join() !== draw(2).join());
  x.dispose();
});

Deno.test("dropout() with a noise shape drops whole blocks (spatial dropout)", () => {
  const x = tf.ones([4, 3, 3, 6]);
  const y = dropout(x, 0.5, new Rng(3), { noiseShape: [4, 1, 1, 6] });
  const v = y.arraySync() as number[][][][];
  for (let b = 0; b < 4; b++) {
    for (let c = 0; c < 6; c++) {
      const block = v[b].flatMap((row) => row.map((px) => px[c]));
      assert(block.every((px) => px === block[0]), `map ${b},${c} is all kept or all dropped`);
    }
  }
  tf.dispose([x, y]);
});

Deno.test("dropout()'s gradient is its mask", () => {
  const x = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]]);
  const y = dropout(x, 0.5, new Rng(9));
  const g = tf.grad((t: tf.Tensor) => tf.sum(dropout(t, 0.5, new Rng(9))))(x);
  const yv = y.dataSync(), xv = x.dataSync(), gv = g.dataSync();
  for (let i = 0; i < xv.length; i++) assert(Math.abs(gv[i] - yv[i] / xv[i]) < 1e-6);
  tf.dispose([x, y, g]);
});

Deno.test("dropout() refuses a rate outside [0, 1), copies at 0 and leaks nothing", async () => {
  const x = tf.ones([3]);
  assertThrows(() => dropout(x, 1, new Rng(1)), /Dropout rate 1 is invalid/);
  assertThrows(() => dropout(x, -0.1, new Rng(1)), RangeError);
  const same = dropout(x, 0, new Rng(1));
  assertEquals(Array.from(same.dataSync()), [1, 1, 1]);
  same.dispose();
  const rng = new Rng(2);
  await assertNoLeaks(() => dropout(x, 0.5, rng).dispose());
  x.dispose();
});
