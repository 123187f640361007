/**
 * Saving and loading models as checkpoint folders (core's layout: the
 * weights in `model/`, Adam's state in `optimizer-adam/`, and `meta.json`
 * with the config and the vocabulary). Needs `--allow-read` and `--allow-write`.
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
import denoJson from "./deno.json" with { type: "json" };
import { type CharLM, type CharLMConfig, createCharLM, resolveConfig } from "./model.ts";
import { Vocabulary } from "./vocab.ts";

/** The package name written into checkpoints. */
export const PACKAGE_NAME: string = denoJson.name;
/** The package version written into checkpoints. */
export const PACKAGE_VERSION: string = denoJson.version;

/** What {@linkcode saveCharLM} records besides the weights. */
export interface SaveCharLMOptions {
  /** Steps trained. @default {0} */
  step?: number;
  /** The run's seed. @default {1} */
  seed?: number;
  /** The backend the run used. @default {"unknown"} */
  backend?: string;
  /** Where the text came from. @default {"unknown"} */
  data?: string;
  /** Latest metrics. @default {{}} */
  metrics?: Record<string, number>;
  /** An optimizer whose state to save (for resuming). */
  optimizer?: tf.Optimizer;
  /** More metadata (run options, loop state). */
  extra?: Record<string, unknown>;
}

/**
 * Saves a model (and optionally its optimizer) into `dir/checkpoint`,
 * atomically replacing an earlier checkpoint there.
 *
 * @returns The checkpoint folder.
 *
 * @example
 * ```ts
 * import { createCharLM, loadCharLM, saveCharLM } from "@simple-nets/charlm";
 * const model = createCharLM("hello", { hidden: 8 });
 * const dir = await Deno.makeTempDir();
 * await saveCharLM(model, dir);
 * const { model: again } = await loadCharLM(dir);
 * console.assert(again.vocab.size === 4);
 * model.dispose();
 * again.dispose();
 * ```
 */
export async function saveCharLM(
  model: CharLM,
  dir: string,
  options: SaveCharLMOptions = {},
): Promise<string> {
  const optimizers: Record<string, NamedTensor[]> = {};
  let toDispose: NamedTensor[] = [];
  if (options.optimizer) {
    // getWeights() returns the live accumulators plus one new tensor (the iteration count).
    toDispose = await options.optimizer.getWeights();
    optimizers.adam = toDispose;
  }
  try {
    return await saveCheckpoint(dir, {
      meta: {
        ...options.extra,
        package: PACKAGE_NAME,
        version: PACKAGE_VERSION,
        config: { ...model.config },
        step: options.step ?? 0,
        seed: options.seed ?? 1,
        backend: options.backend ?? "unknown",
        data: options.data ?? "unknown",
        metrics: options.metrics ?? {},
        vocab: [...model.vocab.chars],
      },
      networks: { model: { ...model.params } },
      optimizers,
    });
  } finally {
    if (toDispose.length) toDispose[0].tensor.dispose();
  }
}

/** What {@linkcode loadCharLM} returns. */
export interface LoadedCharLM {
  /** The model; the caller owns it. */
  model: CharLM;
  /** The checkpoint's metadata. */
  meta: CheckpointMeta;
  /** The saved optimizer state, when there is one (the caller owns these tensors). */
  optimizer?: NamedTensor[];
}

/**
 * Loads a model from a run folder or a checkpoint folder.
 *
 * @throws {CheckpointError} naming the file for a missing, corrupt or
 *   mismatched checkpoint, or one written by another package.
 */
export async function loadCharLM(dir: string): Promise<LoadedCharLM> {
  const checkpoint = await loadCheckpoint(dir, { package: PACKAGE_NAME });
  const { meta } = checkpoint;
  let model: CharLM | undefined;
  try {
    let config: CharLMConfig, vocab: Vocabulary;
    try {
      config = resolveConfig(meta.config as Partial<CharLMConfig>);
      vocab = new Vocabulary(meta.vocab as string[]);
    } catch (e) {
      throw new CheckpointError(`Cannot use checkpoint ${dir}: ${(e as Error).message} in meta.json`);
    }
    const weights = checkpoint.networks.model;
    if (!weights) throw new CheckpointError(`Cannot use checkpoint ${dir}: it has no model weights`);
    model = createCharLM(vocab, { ...config, seed: 0 });
    assignParams(model.params, weights, dir);
    const optimizer = checkpoint.optimizers.adam;
    disposeCheckpoint({ ...checkpoint, optimizers: {} });
    return { model, meta, optimizer };
  } catch (e) {
    model?.dispose();
    disposeCheckpoint(checkpoint);
    throw e;
  }
}
