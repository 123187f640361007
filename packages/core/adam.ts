/**
 * Adam with the whole update of a weight (both moments, the bias
 * corrections and the step) in one kernel, instead of the eleven
 * element-wise ops per weight of `tf.train.adam`: one pass over memory
 * instead of eleven, and one kernel call instead of eleven.
 *
 * {@linkcode FusedAdam} is a `tf.AdamOptimizer`: the same settings, the
 * same state variables, the same `getWeights`/`setWeights` (checkpoints of
 * either load into the other), and the same numbers to float32 rounding.
 * The kernel is registered for the `wasm` and `cpu` backends; on any other
 * backend it falls back to `tf.train.adam`'s ops.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * import { adam } from "@simple-nets/core";
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const optimizer = adam(0.1);
 * optimizer.minimize(() => tf.sum(tf.square(w)));
 * console.assert(w.dataSync()[0] < 1);
 * optimizer.dispose();
 * w.dispose();
 * ```
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs";
import { simdAdam } from "./_adam_simd.ts";
import { backendMemory } from "./_wasm_module.ts";

/** The kernel's name in TF.js's registry. */
const KERNEL = "SimpleNetsAdamUpdate";

/** The private state of `tf.AdamOptimizer` (tfjs-core 4.22), which the fused update keeps as it is. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
  accumulatedSecondMoment: ({ originalName: string; variable: tf.Variable } | undefined)[];
}

/** Attributes of the kernel: float32 constants, as the ops of `tf.train.adam` round them. */
interface UpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 1 − β₁ᵗ and 1 − β₂ᵗ, the bias corrections of this step. */
  correction1: number;
  correction2: number;
}

/**
 * The float32 constants of one step, in the order both implementations take
 * them: β₁, β₂, 1 − β₁, 1 − β₂, lr / (1 − β₁ᵗ), 1 / (1 − β₂ᵗ), ε.
 */
function constants(a: UpdateAttrs): number[] {
  const f = Math.fround;
  return [
    f(a.beta1),
    f(a.beta2),
    f(1 - a.beta1),
    f(1 - a.beta2),
    f(a.lr) / a.correction1,
    1 / a.correction2,
    f(a.epsilon),
  ];
}

/**
 * One Adam step over `n` weights in JavaScript: new moments into `om`, `ov`
 * and new weights into `ow`, in the order and roundings of `tf.train.adam`.
 */
function update(
  w: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  ow: Float32Array,
  om: Float32Array,
  ov: Float32Array,
  a: UpdateAttrs,
): void {
  // lr·(m/c1)/(√(v/c2) + ε) with one division per weight (in float64, so within float32 rounding)
  const [b1, b2, a1, a2, step, inv2, eps] = constants(a);
  for (let i = 0; i < w.length; i++) {
    const gi = g[i];
    const mi = om[i] = b1 * m[i] + a1 * gi;
    const vi = ov[i] = b2 * v[i] + a2 * gi * gi;
    ow[i] = w[i] - step * mi / (Math.sqrt(vi * inv2) + eps);
  }
}

type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: NamedAttrMap };

/** The wasm backend's internals the kernel uses (as in `_wasm_fixes.ts`). */
interface WasmHeap {
  wasm: { HEAPF32: Float32Array };
  dataIdMap: { get(dataId: unknown): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

/** The cpu backend's internals the kernel uses. */
interface CpuData {
  data: { get(dataId: unknown): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): TensorInfo;
}

tf.registerKernel({
  kernelName: KERNEL,
  backendName: "wasm",
  kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
    const b = backend as WasmHeap;
    const { w, g, m, v } = inputs;
    const outs = [w, m, v].map(() => b.makeOutput(w.shape, "float32"));
    const size = tf.util.sizeFromShape(w.shape);
    const simd = simdAdam(backendMemory(backend));
    if (simd) {
      const offsets = [w, g, m, v, ...outs].map((t) => b.dataIdMap.get(t.dataId).memoryOffset);
      simd(...offsets, size, ...constants(attrs as unknown as UpdateAttrs));
      return outs;
    }
    const heap = b.wasm.HEAPF32; // after the allocations: the heap may have grown
    const at = (t: TensorInfo) => new Float32Array(heap.buffer, b.dataIdMap.get(t.dataId).memoryOffset, size);
    update(
      at(w),
      at(g),
      at(m),
      at(v),
      at(outs[0]),
      at(outs[1]),
      at(outs[2]),
      attrs as unknown as UpdateAttrs,
    );
    return outs;
  }) as KernelFunc,
});

tf.registerKernel({
  kernelName: KERNEL,
  backendName: "cpu",
  kernelFunc: (({ inputs, backend, attrs }: KernelArgs) => {
    const b = backend as CpuData;
    const { w, g, m, v } = inputs;
    const values = (t: TensorInfo) => b.data.get(t.dataId).values;
    const size = tf.util.sizeFromShape(w.shape);
    const outs = [new Float32Array(size), new Float32Array(size), new Float32Array(size)];
    update(
      values(w),
      values(g),
      values(m),
      values(v),
      outs[0],
      outs[1],
      outs[2],
      attrs as unknown as UpdateAttrs,
    );
    return outs.map((o) => b.makeTensorInfo(w.shape, "float32", o));
  }) as KernelFunc,
});

/** What `applyGradients` takes: gradients by variable name, or a list of named gradients. */
export type VariableGradients = Parameters<tf.AdamOptimizer["applyGradients"]>[0];

/**
 * `tf.AdamOptimizer` with each weight's update fused into one kernel on the
 * `wasm` and `cpu` backends (elsewhere, and for non-float32 weights, the
 * plain ops). Create one with {@linkcode adam}.
 */
export class FusedAdam extends tf.AdamOptimizer {
  /** Applies one step; the same contract as `tf.AdamOptimizer.applyGradients`. */
  override applyGradients(variableGradients: VariableGradients): void {
    if (!tf.getKernel(KERNEL, tf.getBackend())) return super.applyGradients(variableGradients);
    const list = Array.isArray(variableGradients)
      ? variableGradients
      : Object.entries(variableGradients).map(([name, tensor]) => ({ name, tensor }));
    const variables = list.map(({ name }) => tf.engine().registeredVariables[name]);
    if (variables.some((v) => v.dtype !== "float32")) return super.applyGradients(variableGradients);
    const state = this as unknown as AdamState;
    const f = Math.fround;
    const acc1 = state.accBeta1.dataSync()[0], acc2 = state.accBeta2.dataSync()[0];
    const attrs: UpdateAttrs = {
      lr: this.learningRate,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      correction1: f(1 - acc1),
      correction2: f(1 - acc2),
    };
    tf.tidy(() => {
      list.forEach(({ name, tensor: gradient }, i) => {
        const value = variables[i];
        state.accumulatedFirstMoment[i] ??= {
          originalName: `${name}/m`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        state.accumulatedSecondMoment[i] ??= {
          originalName: `${name}/v`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        };
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i]!.variable, v = state.accumulatedSecondMoment[i]!.variable;
        const [w2, m2, v2] = tf.engine().runKernel(
          KERNEL,
          { w: value, g: gradient, m, v },
          attrs as unknown as NamedAttrMap,
        ) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(w2);
      });
      state.accBeta1.assign(tf.scalar(f(acc1 * f(this.beta1))));
      state.accBeta2.assign(tf.scalar(f(acc2 * f(this.beta2))));
    });
    this.incrementIterations();
  }
}

/**
 * Adam with fused updates, as `tf.train.adam` takes its arguments.
 *
 * @param learningRate Step size.
 * @param beta1 Decay of the first moment.
 * @param beta2 Decay of the second moment.
 * @param epsilon Added to √v̂; the backend's epsilon (1e-7) when absent, as in `tf.train.adam`.
 * @returns An optimizer the caller owns (call `dispose()`).
 *
 * @example PyTorch's defaults
 * ```ts
 * import { adam } from "@simple-nets/core";
 * const optimizer = adam(1e-3, 0.9, 0.999, 1e-8);
 * optimizer.dispose();
 * ```
 */
export function adam(learningRate = 0.001, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdam {
  return new FusedAdam(learningRate, beta1, beta2, epsilon);
}
