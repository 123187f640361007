import assert from "node:assert/strict";
import { col2imAdd, im2col, type PatchGeometry } from "./_im2col.ts";
import { simdPatches } from "./_im2col_simd.ts";
import { Rng } from "./rng.ts";

const geometries: PatchGeometry[] = [
  {
    batch: 2,
    inHeight: 7,
    inWidth: 6,
    channels: 3,
    outHeight: 7,
    outWidth: 6,
    kh: 5,
    kw: 5,
    sh: 1,
    sw: 1,
    top: 2,
    left: 2,
  },
  {
    batch: 1,
    inHeight: 9,
    inWidth: 8,
    channels: 1,
    outHeight: 4,
    outWidth: 4,
    kh: 3,
    kw: 2,
    sh: 2,
    sw: 2,
    top: 0,
    left: 0,
  },
  {
    batch: 3,
    inHeight: 5,
    inWidth: 5,
    channels: 16,
    outHeight: 3,
    outWidth: 4,
    kh: 3,
    kw: 3,
    sh: 2,
    sw: 1,
    top: 1,
    left: 0,
  },
];

for (const g of geometries) {
  Deno.test(`the SIMD im2col and col2im equal the JavaScript ones for ${JSON.stringify(g)}`, () => {
    const memory = new WebAssembly.Memory({ initial: 4 });
    assert.ok(simdPatches(memory), "WebAssembly SIMD is available in Deno");
    const heap = new Float32Array(memory.buffer);
    const image = g.batch * g.inHeight * g.inWidth * g.channels;
    const cols = g.batch * g.outHeight * g.outWidth * g.kh * g.kw * g.channels;
    const rng = new Rng(image);
    const xs = 8, cs = xs + image + 3; // odd offsets: the lanes need no alignment
    for (let i = 0; i < image; i++) heap[xs + i] = rng.next() - 0.5;
    heap.fill(NaN, cs, cs + cols); // every patch value must be written
    im2col(heap, xs, cs, g);
    const expected = heap.slice(cs, cs + cols);
    heap.fill(NaN, cs, cs + cols);
    im2col(heap, xs, cs, g, memory);
    assert.deepEqual(heap.slice(cs, cs + cols), expected);
    // the adjoint adds onto what the image holds
    const base = heap.slice(xs, xs + image);
    col2imAdd(heap, cs, xs, g);
    const added = heap.slice(xs, xs + image);
    heap.set(base, xs);
    col2imAdd(heap, cs, xs, g, memory);
    const got = heap.slice(xs, xs + image);
    for (let i = 0; i < image; i++) {
      assert.ok(Math.abs(got[i] - added[i]) < 1e-6, `x[${i}]: ${got[i]}, ${added[i]}`);
    }
  });
}
