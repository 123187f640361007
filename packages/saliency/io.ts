/**
 * Saving and loading CNNs as checkpoint folders (see `@simple-nets/core`).
 * Needs `--allow-read` and `--allow-write`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  assignParams,
  CheckpointError,
  type CheckpointMeta,
  disposeCheckpoint,
  loadCheckpoint,
  type NamedTensor,
  saveCheckpoint,
} from "@simple-nets/core";
import { type Cnn, type CnnConfig, createCnn } from "./model.ts";

/** The package name written into checkpoints. */
export const SALIENCY_PACKAGE = "@simple-nets/saliency";
/** The package version written into checkpoints. */
export const SALIENCY_VERSION = "0.1.0";

/** Extra metadata for {@linkcode saveCnn}. */
export interface SaveCnnOptions {
  /** Steps done.
   * @default {0} */
  step?: number;
  /** The run's seed.
   * @default {1} */
  seed?: number;
  /** The backend the run used.
   * @default {"unknown"} */
  backend?: string;
  /** The data source.
   * @default {"unknown"} */
  data?: string;
  /** Latest metrics.
   * @default {{}} */
  metrics?: Record<string, number>;
  /** The optimizer whose state is saved beside the weights. */
  optimizer?: tf.Optimizer;
  /** Anything else to keep in `meta.json` (run options, loop state). */
  extra?: Record<string, unknown>;
}

/**
 * Saves a CNN (and optionally its optimizer) into `runDir/checkpoint`, atomically.
 *
 * @returns The checkpoint folder.
 *
 * @example
 * ```ts ignore
 * import { createCnn, saveCnn } from "@simple-nets/saliency";
 * await saveCnn("runs/my-cnn", createCnn({ digits: [0, 1] }), { seed: 1 });
 * ```
 */
export async function saveCnn(runDir: string, cnn: Cnn, options: SaveCnnOptions = {}): Promise<string> {
  const optimizers: Record<string, NamedTensor[]> = {};
  if (options.optimizer) optimizers.adam = await options.optimizer.getWeights();
  try {
    return await saveCheckpoint(runDir, {
      meta: {
        ...options.extra,
        package: SALIENCY_PACKAGE,
        version: SALIENCY_VERSION,
        config: { ...cnn.config } as unknown as Record<string, unknown>,
        step: options.step ?? 0,
        seed: options.seed ?? 1,
        backend: options.backend ?? "unknown",
        data: options.data ?? "unknown",
        metrics: options.metrics ?? {},
      },
      networks: { cnn: { ...cnn.params } },
      optimizers,
    });
  } finally {
    // getWeights() returns a new handle for the iteration count; the moments are the optimizer's own.
    if (optimizers.adam?.length) optimizers.adam[0].tensor.dispose();
  }
}

/** A CNN read back from a checkpoint. */
export interface LoadedCnn {
  /** The model; the caller owns its variables. */
  cnn: Cnn;
  /** The checkpoint's metadata. */
  meta: CheckpointMeta;
  /** The saved optimizer state (give it to `restoreOptimizer`); the caller owns the tensors. */
  optimizerState: NamedTensor[];
}

/**
 * Loads a CNN from a run folder (or a checkpoint folder).
 *
 * @throws {CheckpointError} naming the file when it is missing, corrupt, of another package or shape.
 *
 * @example
 * ```ts ignore
 * import { loadCnn } from "@simple-nets/saliency";
 * const { cnn, meta } = await loadCnn("runs/saliency-20261203-120000");
 * console.log(meta.step, cnn.config.digits);
 * ```
 */
export async function loadCnn(dir: string): Promise<LoadedCnn> {
  const checkpoint = await loadCheckpoint(dir, { package: SALIENCY_PACKAGE });
  const weights = checkpoint.networks.cnn ?? {};
  let cnn: Cnn | undefined;
  try {
    cnn = createCnn(checkpoint.meta.config as Partial<CnnConfig>);
    assignParams(cnn.params, weights, dir);
  } catch (e) {
    cnn?.dispose();
    disposeCheckpoint(checkpoint);
    if (e instanceof RangeError || e instanceof TypeError) {
      throw new CheckpointError(`Cannot use checkpoint ${dir}: ${e.message}`);
    }
    throw e;
  }
  for (const t of Object.values(weights)) t.dispose();
  return { cnn, meta: checkpoint.meta, optimizerState: checkpoint.optimizers.adam ?? [] };
}
