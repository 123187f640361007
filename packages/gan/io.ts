/**
 * Saving and loading GANs as checkpoint folders (see `@simple-nets/core`):
 * networks `generator` and `discriminator`, and the two Adam states beside
 * them. Needs `--allow-read` and `--allow-write`.
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
import { createGan, disposeGan, type Gan, type GanConfig } from "./model.ts";
import type { GanOptimizers } from "./train.ts";

/** The package name written into checkpoints. */
export const GAN_PACKAGE = "@simple-nets/gan";
/** The package version written into checkpoints. */
export const GAN_VERSION = "0.1.0";

/** Extra metadata for {@linkcode saveGan}. */
export interface SaveGanOptions {
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
  /** The optimizers whose state is saved beside the weights. */
  optimizers?: GanOptimizers;
  /** Anything else to keep in `meta.json` (run options, loop state). */
  extra?: Record<string, unknown>;
}

/**
 * Saves a GAN (and optionally its optimizers) into `runDir/checkpoint`, atomically.
 *
 * @returns The checkpoint folder.
 *
 * @example
 * ```ts ignore
 * import { createGan, saveGan } from "@simple-nets/gan";
 * await saveGan("runs/my-gan", createGan(), { seed: 1 });
 * ```
 */
export async function saveGan(runDir: string, gan: Gan, options: SaveGanOptions = {}): Promise<string> {
  const optimizers: Record<string, NamedTensor[]> = {};
  if (options.optimizers) {
    optimizers.generator = await options.optimizers.generator.getWeights();
    optimizers.discriminator = await options.optimizers.discriminator.getWeights();
  }
  try {
    return await saveCheckpoint(runDir, {
      meta: {
        ...options.extra,
        package: GAN_PACKAGE,
        version: GAN_VERSION,
        config: { ...gan.config },
        step: options.step ?? 0,
        seed: options.seed ?? 1,
        backend: options.backend ?? "unknown",
        data: options.data ?? "unknown",
        metrics: options.metrics ?? {},
      },
      networks: { generator: { ...gan.generator }, discriminator: { ...gan.discriminator } },
      optimizers,
    });
  } finally {
    // getWeights() makes a new tensor for the iteration count; the moments are the optimizer's own variables.
    for (const state of Object.values(optimizers)) if (state.length) state[0].tensor.dispose();
  }
}

/** A GAN read back from a checkpoint. */
export interface LoadedGan {
  /** The model; the caller owns its variables. */
  gan: Gan;
  /** The checkpoint's metadata. */
  meta: CheckpointMeta;
  /** The saved optimizer states (for `restoreOptimizer`, empty when none were saved); the caller owns the tensors. */
  optimizerState: { generator: NamedTensor[]; discriminator: NamedTensor[] };
}

/**
 * Loads a GAN from a run folder (or a checkpoint folder).
 *
 * @throws {CheckpointError} naming the file when it is missing, corrupt, of another package or shape.
 *
 * @example
 * ```ts ignore
 * import { disposeGan, loadGan } from "@simple-nets/gan";
 * const { gan, meta } = await loadGan("runs/gan-20261203-120000");
 * console.log(meta.step, gan.config);
 * disposeGan(gan);
 * ```
 */
export async function loadGan(dir: string): Promise<LoadedGan> {
  const checkpoint = await loadCheckpoint(dir, { package: GAN_PACKAGE });
  let gan: Gan | undefined;
  try {
    for (const name of ["generator", "discriminator"]) {
      if (!checkpoint.networks[name]) {
        throw new CheckpointError(`Cannot use checkpoint ${dir}: network "${name}" is missing`);
      }
    }
    gan = createGan(checkpoint.meta.config as Partial<GanConfig>);
    assignParams(gan.generator, checkpoint.networks.generator, `${dir} (generator)`);
    assignParams(gan.discriminator, checkpoint.networks.discriminator, `${dir} (discriminator)`);
  } catch (e) {
    if (gan) disposeGan(gan);
    disposeCheckpoint(checkpoint);
    if (e instanceof RangeError) throw new CheckpointError(`Cannot use checkpoint ${dir}: ${e.message}`);
    throw e;
  }
  for (const net of Object.values(checkpoint.networks)) for (const t of Object.values(net)) t.dispose();
  return {
    gan,
    meta: checkpoint.meta,
    optimizerState: {
      generator: checkpoint.optimizers.generator ?? [],
      discriminator: checkpoint.optimizers.discriminator ?? [],
    },
  };
}

/** Disposes the tensors of a loaded optimizer state. */
export function disposeOptimizerState(state: LoadedGan["optimizerState"]): void {
  for (const list of Object.values(state)) for (const w of list) (w.tensor as tf.Tensor).dispose();
}
