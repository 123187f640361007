/**
 * Hand-written models keep their weights as named `tf.Variable`s. These
 * helpers create them from seeded initialisers, save and restore them by
 * their logical names, and save and restore optimizer state.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "./rng.ts";
import { checkWeights, type NamedTensor } from "./checkpoint.ts";

/** A model's trainable weights by logical name, e.g. `"enc/kernel"`. */
export type Params = Record<string, tf.Variable>;

let instances = 0;

/**
 * Turns initial tensors into variables. Variable names get a unique
 * prefix (TF.js refuses two variables of one name), the logical names stay
 * the keys. The given tensors are disposed.
 *
 * @returns Variables the caller owns (dispose with {@linkcode disposeParams}).
 */
export function makeParams(initial: Record<string, tf.Tensor>, scope: string): Params {
  const prefix = `${scope}_${instances++}`;
  const params: Params = {};
  for (const [name, tensor] of Object.entries(initial)) {
    params[name] = tf.variable(tensor, true, `${prefix}/${name}`);
    tensor.dispose();
  }
  return params;
}

/**
 * A tensor of uniform values in [-limit, limit) drawn from a seeded generator.
 *
 * @returns A new tensor the caller owns.
 */
export function uniformTensor(rng: Rng, shape: number[], limit: number): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fillUniform(new Float32Array(size), -limit, limit), shape);
}

/**
 * A tensor of normal values drawn from a seeded generator.
 *
 * @returns A new tensor the caller owns.
 */
export function normalTensor(rng: Rng, shape: number[], mean = 0, std = 1): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(rng.fillNormal(new Float32Array(size), mean, std), shape);
}

/** The variables as a map by logical name (no copies: the map shares the variables). */
export function paramsMap(params: Params): tf.NamedTensorMap {
  return { ...params };
}

/** The shapes of the variables by logical name. */
export function paramShapes(params: Params): Record<string, number[]> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.shape]));
}

/**
 * Assigns saved weights to variables after checking names and shapes.
 *
 * @param where Named in errors, e.g. the checkpoint folder.
 * @throws {CheckpointError} when a weight is missing, extra or of another shape.
 */
export function assignParams(params: Params, weights: tf.NamedTensorMap, where: string): void {
  checkWeights(where, weights, paramShapes(params));
  for (const [name, v] of Object.entries(params)) v.assign(weights[name]);
}

/** Disposes every variable. */
export function disposeParams(params: Params): void {
  for (const v of Object.values(params)) v.dispose();
}

/** The number of scalar weights. */
export function countParams(params: Params): number {
  return Object.values(params).reduce((n, v) => n + v.size, 0);
}

/**
 * Restores an optimizer's state saved with `optimizer.getWeights()`.
 * The weights are copied; the caller still owns the given tensors.
 */
export async function restoreOptimizer(optimizer: tf.Optimizer, weights: NamedTensor[]): Promise<void> {
  const copies = weights.map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
  // setWeights replaces the optimizer's state variables without disposing them.
  const old = await optimizer.getWeights();
  await optimizer.setWeights(copies);
  // The optimizer's new variables share the copies' data; drop our handles.
  const given = new Set(weights.map((w) => w.tensor));
  tf.dispose([...copies, ...old.filter((w) => !given.has(w.tensor))].map((w) => w.tensor));
}
