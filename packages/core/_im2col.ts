/**
 * im2col on a float32 heap: the patches of an NHWC image batch laid out as
 * the rows of a matrix, so that a convolution (and both its gradients)
 * becomes one matrix product. Shared by core's wasm fixes and the native
 * BLAS kernels.
 *
 * Each patch row is copied as `kh` contiguous runs of up to `kw·C` floats
 * (the filter taps of one input row are consecutive in NHWC), by
 * `copyWithin` when a run is long and by a loop when it is short: about ten
 * times faster than copying tap by tap.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { simdPatches } from "./_im2col_simd.ts";

/** The shape of a 2-D convolution, in the terms im2col needs (dilation 1). */
export interface PatchGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  channels: number;
  outHeight: number;
  outWidth: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  /** Rows of zero padding above the image. */
  top: number;
  /** Columns of zero padding left of the image. */
  left: number;
}

/** The geometry of a TF.js convolution (`backend_util.computeConv2DInfo`, channels last). */
export function geometryOf(info: tf.backend_util.Conv2DInfo): PatchGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    channels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** The geometry in the order of the SIMD function's parameters. */
function geometryArgs(g: PatchGeometry): number[] {
  return [
    g.batch,
    g.inHeight,
    g.inWidth,
    g.channels,
    g.outHeight,
    g.outWidth,
    g.kh,
    g.kw,
    g.sh,
    g.sw,
    g.top,
    g.left,
  ];
}

/** Below this many floats a loop beats a `copyWithin`/`fill` call. */
const SHORT = 24;

function zero(heap: Float32Array, from: number, to: number): void {
  if (to - from >= SHORT) heap.fill(0, from, to);
  else for (let k = from; k < to; k++) heap[k] = 0;
}

/**
 * Writes the patch matrix: `cols[(b·OH + oh)·OW + ow, (i·kw + j)·C + c] =
 * x[b, oh·sh + i − top, ow·sw + j − left, c]`, zero outside the image.
 *
 * @param heap The heap both live on.
 * @param xs Float index of the image batch `[batch, inHeight, inWidth, C]`.
 * @param cs Float index of the output, `batch·OH·OW × kh·kw·C` floats.
 * @param memory The heap's `WebAssembly.Memory`: given, the SIMD module does the work.
 */
export function im2col(
  heap: Float32Array,
  xs: number,
  cs: number,
  g: PatchGeometry,
  memory?: WebAssembly.Memory,
): void {
  const simd = simdPatches(memory);
  if (simd) simd(0, xs * 4, cs * 4, ...geometryArgs(g));
  else patchRuns(heap, xs, cs, g, false);
}

/**
 * The adjoint of {@linkcode im2col}: adds each patch row of `cols` back
 * where im2col took it from, `x[b, ih, iw, c] += cols[row, (i·kw + j)·C + c]`
 * (taps outside the image are dropped). `x` is not cleared first.
 *
 * @param heap The heap both live on.
 * @param cs Float index of the patch matrix, `batch·OH·OW × kh·kw·C` floats.
 * @param xs Float index of the image batch `[batch, inHeight, inWidth, C]`.
 * @param memory The heap's `WebAssembly.Memory`: given, the SIMD module does the work.
 */
export function col2imAdd(
  heap: Float32Array,
  cs: number,
  xs: number,
  g: PatchGeometry,
  memory?: WebAssembly.Memory,
): void {
  const simd = simdPatches(memory);
  if (simd) simd(1, xs * 4, cs * 4, ...geometryArgs(g));
  else patchRuns(heap, xs, cs, g, true);
}

/**
 * Both directions in JavaScript, as `_im2col_simd.wat` does them: each patch
 * row is `kh` runs of up to `kw·C` floats (a filter row's taps are
 * consecutive in NHWC), copied from the image with zeros around
 * (`adjoint` false) or added back into it (`adjoint` true).
 */
function patchRuns(heap: Float32Array, xs: number, cs: number, g: PatchGeometry, adjoint: boolean): void {
  const { inHeight, inWidth, channels: C, kh, kw } = g;
  const run = kw * C, image = inHeight * inWidth * C;
  let o = cs;
  for (let b = 0; b < g.batch; b++) {
    const base = xs + b * image;
    for (let oh = 0; oh < g.outHeight; oh++) {
      for (let ow = 0; ow < g.outWidth; ow++) {
        const iw0 = ow * g.sw - g.left;
        // taps j0 ≤ j < j1 fall inside the image's columns
        const j0 = Math.min(kw, Math.max(0, -iw0)), j1 = Math.max(j0, Math.min(kw, inWidth - iw0));
        const lead = j0 * C, valid = (j1 - j0) * C;
        for (let i = 0; i < kh; i++, o += run) {
          const ih = oh * g.sh + i - g.top;
          if (ih < 0 || ih >= inHeight || valid === 0) {
            if (!adjoint) zero(heap, o, o + run);
            continue;
          }
          const at = base + (ih * inWidth + iw0 + j0) * C, to = o + lead;
          if (adjoint) {
            for (let k = 0; k < valid; k++) heap[at + k] += heap[to + k];
            continue;
          }
          if (lead > 0) zero(heap, o, to);
          if (valid >= SHORT) heap.copyWithin(to, at, at + valid);
          else for (let k = 0; k < valid; k++) heap[to + k] = heap[at + k];
          if (lead + valid < run) zero(heap, to + valid, o + run);
        }
      }
    }
  }
}
