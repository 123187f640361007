/**
 * Saving and loading VAEs as checkpoint folders (see `@simple-nets/core`).
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
import { createVae, type Vae, type VaeConfig } from "./model.ts";

/** The package name written into checkpoints. */
export const VAE_PACKAGE = "@simple-nets/vae";
/** The package version written into checkpoints. */
export const VAE_VERSION = "0.1.0";

/** Extra metadata for {@linkcode saveVae}. */
export interface SaveVaeOptions {
  /** Steps done (default 0). */
  step?: number;
  /** The run's seed (default 1). */
  seed?: number;
  /** The backend the run used. */
  backend?: string;
  /** The data source. */
  data?: string;
  /** Latest metrics. */
  metrics?: Record<string, number>;
  /** The optimizer whose state is saved beside the weights. */
  optimizer?: tf.Optimizer;
  /** Anything else to keep in `meta.json` (run options, loop state). */
  extra?: Record<string, unknown>;
}

/**
 * Saves a VAE (and optionally its optimizer) into `runDir/checkpoint`, atomically.
 *
 * @returns The checkpoint folder.
 */
export async function saveVae(runDir: string, vae: Vae, options: SaveVaeOptions = {}): Promise<string> {
  const optimizers: Record<string, NamedTensor[]> = {};
  if (options.optimizer) optimizers.adam = await options.optimizer.getWeights();
  try {
    return await saveCheckpoint(runDir, {
      meta: {
        ...options.extra,
        package: VAE_PACKAGE,
        version: VAE_VERSION,
        config: { ...vae.config },
        step: options.step ?? 0,
        seed: options.seed ?? 1,
        backend: options.backend ?? "unknown",
        data: options.data ?? "unknown",
        metrics: options.metrics ?? {},
      },
      networks: { vae: { ...vae.params } },
      optimizers,
    });
  } finally {
    // getWeights() returns new handles for the iteration count; the moments are the optimizer's own.
    if (optimizers.adam?.length) optimizers.adam[0].tensor.dispose();
  }
}

/** A VAE read back from a checkpoint. */
export interface LoadedVae {
  /** The model; the caller owns its variables. */
  vae: Vae;
  /** The checkpoint's metadata. */
  meta: CheckpointMeta;
  /** The saved optimizer state (give it to `restoreOptimizer`); the caller owns the tensors. */
  optimizerState: NamedTensor[];
}

/**
 * Loads a VAE from a run folder (or a checkpoint folder).
 *
 * @throws {CheckpointError} naming the file when it is missing, corrupt, of another package or shape.
 *
 * @example
 * ```ts ignore
 * import { loadVae } from "@simple-nets/vae";
 * const { vae, meta } = await loadVae("runs/vae-20261203-120000");
 * console.log(meta.step, vae.config);
 * ```
 */
export async function loadVae(dir: string): Promise<LoadedVae> {
  const checkpoint = await loadCheckpoint(dir, { package: VAE_PACKAGE });
  const weights = checkpoint.networks.vae ?? {};
  let vae: Vae | undefined;
  try {
    vae = createVae(checkpoint.meta.config as Partial<VaeConfig>);
    assignParams(vae.params, weights, dir);
  } catch (e) {
    if (vae) Object.values(vae.params).forEach((v) => v.dispose());
    disposeCheckpoint(checkpoint);
    if (e instanceof RangeError) throw new CheckpointError(`Cannot use checkpoint ${dir}: ${e.message}`);
    throw e;
  }
  for (const t of Object.values(weights)) t.dispose();
  return { vae, meta: checkpoint.meta, optimizerState: checkpoint.optimizers.adam ?? [] };
}
