/**
 * Checkpoint folders: a run folder holds its latest checkpoint in
 * `checkpoint/`, one sub-folder per network in the TF.js `model.json` +
 * `weights.bin` layout, the optimizer state beside them in the same
 * layout, and `meta.json` (package, version, config, step, seed, backend,
 * data source, metrics, anything else needed to resume).
 *
 * Writing is atomic: a new checkpoint is written to a temporary folder and
 * put in place by two renames, so a crash never leaves a half checkpoint
 * where a good one stood. Loading checks sizes and checksums and fails
 * clearly, naming the file.
 *
 * Needs `--allow-read` and `--allow-write`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A tensor with a name, as `optimizer.getWeights()` returns them. */
export interface NamedTensor {
  /** The weight's name. */
  name: string;
  /** Its value. */
  tensor: tf.Tensor;
}

/** The metadata of a checkpoint (`meta.json`). */
export interface CheckpointMeta {
  /** The package that wrote it, e.g. `"@simple-nets/vae"`. */
  package: string;
  /** That package's version. */
  version: string;
  /** The architecture config that rebuilds the model. */
  config: Record<string, unknown>;
  /** Steps done. */
  step: number;
  /** The run's seed. */
  seed: number;
  /** The backend the run used. */
  backend: string;
  /** The data source (a path, or `embedded:...`). */
  data: string;
  /** Latest metrics. */
  metrics: Record<string, number>;
  /** Anything else the package needs to resume (run options, loop state, vocabulary). */
  [key: string]: unknown;
}

/** What a checkpoint holds. Tensors belong to whoever holds this object. */
export interface Checkpoint {
  /** The metadata. */
  meta: CheckpointMeta;
  /** Named weights of each network, e.g. `{ model: { "enc/kernel": tensor } }`. */
  networks: Record<string, tf.NamedTensorMap>;
  /** Optimizer states (`optimizer.getWeights()`), in order, by network or optimizer name. */
  optimizers: Record<string, NamedTensor[]>;
}

/** Raised when a checkpoint cannot be read or does not fit; the message names the file. */
export class CheckpointError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

/** Name of the folder inside a run folder that holds the latest checkpoint. */
export const CHECKPOINT_DIR = "checkpoint";
const WEIGHTS_FORMAT = "simple-nets/weights";

/** FNV-1a hash of bytes, as 8 hex digits: catches corrupt weight files. */
function checksum(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

const join = (...parts: string[]) => parts.join("/").replace(/\/+/g, "/");

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function writeWeights(dir: string, tensors: NamedTensor[], kind: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const { data, specs } = await tf.io.encodeWeights(tensors);
  const bytes = new Uint8Array(data);
  const manifest = {
    format: WEIGHTS_FORMAT,
    kind,
    modelTopology: null,
    weightsManifest: [{ paths: ["weights.bin"], weights: specs }],
    byteLength: bytes.length,
    checksum: checksum(bytes),
  };
  await Deno.writeFile(join(dir, "weights.bin"), bytes);
  await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(manifest, null, 1) + "\n");
}

async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    throw new CheckpointError(`Cannot read checkpoint file ${path}: it is missing`);
  }
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null) throw new Error("not an object");
    return value;
  } catch {
    throw new CheckpointError(`Cannot read checkpoint file ${path}: it is not valid JSON`);
  }
}

async function readWeights(dir: string): Promise<NamedTensor[]> {
  const manifestPath = join(dir, "model.json");
  const manifest = await readJson(manifestPath);
  const groups = manifest.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[] | undefined;
  if (manifest.format !== WEIGHTS_FORMAT || !Array.isArray(groups) || groups.length !== 1) {
    throw new CheckpointError(
      `Cannot read checkpoint file ${manifestPath}: not a simple-nets weights manifest`,
    );
  }
  const binPath = join(dir, "weights.bin");
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(binPath);
  } catch {
    throw new CheckpointError(`Cannot read checkpoint file ${binPath}: it is missing`);
  }
  const specs = groups[0].weights;
  const expected = specs.reduce(
    (n, s) => n + s.shape.reduce((a, b) => a * b, 1) * (s.dtype === "float32" || s.dtype === "int32" ? 4 : 1),
    0,
  );
  if (bytes.length !== manifest.byteLength || bytes.length !== expected) {
    throw new CheckpointError(
      `Cannot read checkpoint file ${binPath}: ${bytes.length} bytes, expected ${expected} (truncated or mismatched)`,
    );
  }
  if (checksum(bytes) !== manifest.checksum) {
    throw new CheckpointError(
      `Cannot read checkpoint file ${binPath}: checksum mismatch, the file is corrupt`,
    );
  }
  const map = tf.io.decodeWeights(bytes.slice().buffer, specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name] }));
}

let counter = 0;

/**
 * Writes a checkpoint into `runDir/checkpoint`, atomically replacing the
 * previous one. The tensors are read, not disposed.
 *
 * @param runDir The run folder (created if needed).
 * @param checkpoint What to save.
 * @returns The checkpoint folder's path.
 */
export async function saveCheckpoint(runDir: string, checkpoint: Checkpoint): Promise<string> {
  await Deno.mkdir(runDir, { recursive: true });
  const tag = `${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const tmp = join(runDir, `.checkpoint-new-${tag}`);
  const old = join(runDir, `.checkpoint-old-${tag}`);
  const final = join(runDir, CHECKPOINT_DIR);
  try {
    await Deno.mkdir(tmp);
    for (const [name, weights] of Object.entries(checkpoint.networks)) {
      await writeWeights(
        join(tmp, name),
        Object.entries(weights).map(([n, tensor]) => ({ name: n, tensor })),
        "network",
      );
    }
    for (const [name, weights] of Object.entries(checkpoint.optimizers)) {
      await writeWeights(join(tmp, `optimizer-${name}`), weights, "optimizer");
    }
    const meta = {
      ...checkpoint.meta,
      networks: Object.keys(checkpoint.networks),
      optimizers: Object.keys(checkpoint.optimizers),
    };
    await Deno.writeTextFile(join(tmp, "meta.json"), JSON.stringify(meta, null, 1) + "\n");
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const hadOld = await exists(final);
  if (hadOld) await Deno.rename(final, old);
  await Deno.rename(tmp, final);
  if (hadOld) await Deno.remove(old, { recursive: true });
  // Leftovers of a save that crashed earlier are no longer needed.
  for await (const e of Deno.readDir(runDir)) {
    if (e.isDirectory && /^\.checkpoint-(new|old)-/.test(e.name)) {
      await Deno.remove(join(runDir, e.name), { recursive: true }).catch(() => {});
    }
  }
  return final;
}

/**
 * Finds the checkpoint folder of a run folder (or accepts the checkpoint
 * folder itself). After a crash between the two renames of a save, the
 * previous checkpoint is found under its temporary name.
 *
 * @throws {CheckpointError} when there is none.
 */
export async function findCheckpoint(dir: string): Promise<string> {
  const info = await Deno.stat(dir).catch(() => undefined);
  if (info && !info.isDirectory) {
    throw new CheckpointError(`Cannot find a checkpoint in ${dir}: it is a file, expected a run folder`);
  }
  if (await exists(join(dir, "meta.json"))) return dir;
  const inside = join(dir, CHECKPOINT_DIR);
  if (await exists(join(inside, "meta.json"))) return inside;
  if (await exists(dir)) {
    const olds: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory && e.name.startsWith(".checkpoint-old-")) olds.push(e.name);
    }
    olds.sort();
    if (olds.length) return join(dir, olds[olds.length - 1]);
    throw new CheckpointError(`Cannot find a checkpoint in ${dir}: no ${CHECKPOINT_DIR}/meta.json`);
  }
  throw new CheckpointError(`Cannot find a checkpoint in ${dir}: the folder does not exist`);
}

/** Options of {@linkcode loadCheckpoint}. */
export interface LoadCheckpointOptions {
  /** Refuse a checkpoint written by another package. */
  package?: string;
}

/**
 * Reads the metadata of a run folder's checkpoint without loading weights.
 *
 * @throws {CheckpointError} naming the file when it is missing or unreadable.
 */
export async function readCheckpointMeta(
  dir: string,
  options: LoadCheckpointOptions = {},
): Promise<CheckpointMeta> {
  const folder = await findCheckpoint(dir);
  const metaPath = join(folder, "meta.json");
  const meta = await readJson(metaPath) as CheckpointMeta;
  for (const key of ["package", "version", "config", "step", "seed"] as const) {
    if (meta[key] === undefined) {
      throw new CheckpointError(`Cannot read checkpoint file ${metaPath}: field "${key}" is missing`);
    }
  }
  if (options.package && meta.package !== options.package) {
    throw new CheckpointError(
      `Cannot use checkpoint ${dir}: it was written by ${meta.package}, expected ${options.package}`,
    );
  }
  return meta;
}

/**
 * Loads a checkpoint. The caller owns every returned tensor.
 *
 * @param dir A run folder or a checkpoint folder.
 * @throws {CheckpointError} naming the file on a missing, truncated, corrupt or mismatched file.
 */
export async function loadCheckpoint(dir: string, options: LoadCheckpointOptions = {}): Promise<Checkpoint> {
  const meta = await readCheckpointMeta(dir, options);
  const folder = await findCheckpoint(dir);
  const result: Checkpoint = { meta, networks: {}, optimizers: {} };
  try {
    for (const name of (meta.networks as string[] | undefined) ?? []) {
      const weights = await readWeights(join(folder, name));
      result.networks[name] = Object.fromEntries(weights.map((w) => [w.name, w.tensor]));
    }
    for (const name of (meta.optimizers as string[] | undefined) ?? []) {
      result.optimizers[name] = await readWeights(join(folder, `optimizer-${name}`));
    }
  } catch (e) {
    disposeCheckpoint(result);
    throw e;
  }
  return result;
}

/** Disposes every tensor of a loaded checkpoint. */
export function disposeCheckpoint(checkpoint: Checkpoint): void {
  for (const net of Object.values(checkpoint.networks)) tf.dispose(Object.values(net));
  for (const opt of Object.values(checkpoint.optimizers)) tf.dispose(opt.map((w) => w.tensor));
}

/**
 * Checks that loaded weights have exactly the expected names and shapes.
 *
 * @throws {CheckpointError} naming the first weight that is missing, extra or of another shape.
 */
export function checkWeights(
  where: string,
  weights: tf.NamedTensorMap,
  expected: Record<string, readonly number[]>,
): void {
  for (const [name, shape] of Object.entries(expected)) {
    const t = weights[name];
    if (!t) throw new CheckpointError(`Cannot use checkpoint ${where}: weight "${name}" is missing`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new CheckpointError(
        `Cannot use checkpoint ${where}: weight "${name}" has shape [${t.shape}], expected [${shape}]`,
      );
    }
  }
  for (const name of Object.keys(weights)) {
    if (!(name in expected)) {
      throw new CheckpointError(`Cannot use checkpoint ${where}: unexpected weight "${name}"`);
    }
  }
}
