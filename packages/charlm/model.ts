/**
 * The character language model: stacked recurrent layers over one-hot
 * characters, dropout after each layer, and a linear projection to the
 * next character's logits. Weights are named variables
 * (`layer0/wx`, `layer0/b`, `layer0/wh`, …, `out/w`, `out/b`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  disposeParams,
  dropout as coreDropout,
  makeParams,
  type Params,
  Rng,
  uniformTensor,
} from "@simple-nets/core";
import { getFusedSequence } from "@simple-nets/core/fused";
import {
  CELL_TYPES,
  type CellType,
  GATES,
  type LayerState,
  runSequence,
  SPECIAL_BIAS,
  zeroState,
} from "./cells.ts";
import { Vocabulary } from "./vocab.ts";

/** The architecture: what rebuilds the model (saved in the checkpoint with the vocabulary). */
export interface CharLMConfig {
  /** The recurrent cell. */
  cell: CellType;
  /** Number of stacked recurrent layers. */
  layers: number;
  /** Hidden units per layer (H). */
  hidden: number;
  /** Dropout rate after each layer (between layers and before the output projection), training only. */
  dropout: number;
}

/** The defaults of the original project and the PyTorch reference. */
export const DEFAULT_CHARLM_CONFIG: Readonly<CharLMConfig> = Object.freeze({
  cell: "lstm", // the cell that learns long dependencies best at this size
  layers: 1, // char-rnn's 2 layers help on large texts; 1 trains twice as fast
  hidden: 512, // big enough to beat a bigram model clearly on Moby Dick in a few thousand steps
  dropout: 0.5, // char-rnn's recommendation for a model this size on ~1 MB of text
});

/** How weights start: `torch` is U(±1/√H) (PyTorch's RNN scale); `original` is the original's U(±0.01). */
export type InitScheme = "torch" | "original";

/** Settings of {@linkcode createCharLM}: any architecture field, the seed and the initialisation. */
export interface CreateCharLMOptions extends Partial<CharLMConfig> {
  /** Seed of the initial weights.
   * @default {1} */
  seed?: number;
  /** Weight initialisation; biases start at 0 except the LSTM forget (1) and GRU reset (-1) gates.
   * @default {"torch"} */
  init?: InitScheme;
}

/** The recurrent state of every layer, from the first. */
export type ModelState = LayerState[];

/** Disposes every tensor of a model state. */
export function disposeState(state: ModelState | undefined): void {
  if (state) { for (const layer of state) tf.dispose(layer); }
}

/**
 * Checks an architecture and fills in defaults.
 *
 * @throws {RangeError} naming the field for a value out of range.
 */
export function resolveConfig(config: Partial<CharLMConfig> = {}): CharLMConfig {
  const c: CharLMConfig = {
    cell: config.cell ?? DEFAULT_CHARLM_CONFIG.cell,
    layers: config.layers ?? DEFAULT_CHARLM_CONFIG.layers,
    hidden: config.hidden ?? DEFAULT_CHARLM_CONFIG.hidden,
    dropout: config.dropout ?? DEFAULT_CHARLM_CONFIG.dropout,
  };
  if (!CELL_TYPES.includes(c.cell)) {
    throw new RangeError(`Cell "${c.cell}" is unknown: expected one of ${CELL_TYPES.join(", ")}`);
  }
  if (!Number.isInteger(c.layers) || c.layers < 1) {
    throw new RangeError(`Layers ${c.layers} is invalid: expected a whole number >= 1`);
  }
  if (!Number.isInteger(c.hidden) || c.hidden < 1) {
    throw new RangeError(`Hidden size ${c.hidden} is invalid: expected a whole number >= 1`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) {
    throw new RangeError(`Dropout ${c.dropout} is invalid: expected a rate in [0, 1)`);
  }
  return c;
}

/** The weight names and shapes of an architecture over `vocabSize` characters. */
export function weightShapes(config: CharLMConfig, vocabSize: number): Record<string, number[]> {
  const { hidden: H, cell } = config;
  const G = GATES[cell];
  const shapes: Record<string, number[]> = {};
  for (let l = 0; l < config.layers; l++) {
    shapes[`layer${l}/wx`] = [l === 0 ? vocabSize : H, G * H];
    shapes[`layer${l}/b`] = [G * H];
    shapes[`layer${l}/wh`] = [H, G * H];
  }
  shapes["out/w"] = [H, vocabSize];
  shapes["out/b"] = [vocabSize];
  return shapes;
}

/**
 * A character language model. Create one with {@linkcode createCharLM} or
 * load one with `loadCharLM`; dispose it when done.
 */
export class CharLM {
  /** The architecture. */
  readonly config: CharLMConfig;
  /** The characters it reads and writes. */
  readonly vocab: Vocabulary;
  /** The weights by name; the model owns them. */
  readonly params: Params;

  /**
   * Wraps existing weights (use {@linkcode createCharLM} for new ones).
   *
   * @throws {TypeError} when a weight is missing or of the wrong shape.
   */
  constructor(config: CharLMConfig, vocab: Vocabulary, params: Params) {
    this.config = resolveConfig(config);
    this.vocab = vocab;
    const shapes = weightShapes(this.config, vocab.size);
    for (const [name, shape] of Object.entries(shapes)) {
      const p = params[name];
      if (!p || p.shape.join() !== shape.join()) {
        throw new TypeError(`Weight "${name}" has shape [${p?.shape ?? "missing"}], expected [${shape}]`);
      }
    }
    this.params = params;
  }

  /**
   * Next-character logits for a batch of id sequences.
   *
   * @param ids `[batch, T]` int32 character ids.
   * @param options `state` to start from (zero when absent, not disposed),
   *   `dropoutSeed` to apply training dropout (off when absent).
   * @returns `logits` `[batch, T, V]` and the state after the last step; the caller owns both.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs";
   * import { createCharLM, disposeState } from "@simple-nets/charlm";
   * const model = createCharLM("abcabc", { hidden: 8 });
   * const { logits, state } = model.forward(tf.tensor2d([[0, 1, 2]], [1, 3], "int32"));
   * console.assert(logits.shape.join() === "1,3,3");
   * logits.dispose();
   * disposeState(state);
   * model.dispose();
   * ```
   */
  forward(
    ids: tf.Tensor2D,
    options: { state?: ModelState; dropoutSeed?: number } = {},
  ): { logits: tf.Tensor3D; state: ModelState } {
    const [batch, steps] = ids.shape;
    let state: ModelState = [];
    const logits = tf.tidy(() => {
      const out = forwardTimeMajor(this, tf.transpose(ids), options.state, options.dropoutSeed);
      state = out.state;
      state.flat().forEach((t) => tf.keep(t));
      return tf.transpose(tf.reshape(out.logits, [steps, batch, this.vocab.size]), [1, 0, 2]) as tf.Tensor3D;
    });
    return { logits, state };
  }

  /** Disposes the weights. */
  dispose(): void {
    disposeParams(this.params);
  }
}

/**
 * Creates a model with fresh, seeded weights.
 *
 * @param vocab The vocabulary, or a text to take it from.
 * @returns A model the caller owns (call `dispose()`).
 * @throws {RangeError} for an invalid architecture.
 *
 * @example
 * ```ts
 * import { createCharLM } from "@simple-nets/charlm";
 * const model = createCharLM("to be or not to be", { cell: "gru", hidden: 16, seed: 3 });
 * console.assert(model.vocab.size === 7);
 * model.dispose();
 * ```
 */
export function createCharLM(vocab: Vocabulary | string, options: CreateCharLMOptions = {}): CharLM {
  const v = typeof vocab === "string" ? Vocabulary.fromText(vocab) : vocab;
  const config = resolveConfig(options);
  const init = options.init ?? "torch";
  if (init !== "torch" && init !== "original") {
    throw new RangeError(`Initialisation "${init}" is unknown: expected torch or original`);
  }
  const rng = Rng.stream(options.seed ?? 1, "init");
  const scale = init === "original" ? 0.01 : 1 / Math.sqrt(config.hidden);
  const initial: Record<string, tf.Tensor> = {};
  for (const [name, shape] of Object.entries(weightShapes(config, v.size))) {
    if (!name.endsWith("/b")) {
      initial[name] = uniformTensor(rng, shape, scale);
      continue;
    }
    const bias = new Float32Array(shape[0]);
    const special = SPECIAL_BIAS[config.cell];
    if (special && name !== "out/b") {
      bias.fill(special.value, special.chunk * config.hidden, (special.chunk + 1) * config.hidden);
    }
    initial[name] = tf.tensor1d(bias);
  }
  return new CharLM(config, v, makeParams(initial, "charlm"));
}

/**
 * The forward pass on time-major ids, as training and evaluation use it.
 *
 * @param ids `[T, batch]` int32 ids.
 * @returns `logits` `[T·batch, V]` (time-major rows) and the new state; the caller owns both.
 */
export function forwardTimeMajor(
  model: CharLM,
  ids: tf.Tensor2D,
  state?: ModelState,
  dropoutSeed?: number,
): { logits: tf.Tensor2D; state: ModelState } {
  const { cell, hidden, layers, dropout } = model.config;
  const p = model.params;
  const batch = ids.shape[1];
  const next: ModelState = [];
  const logits = tf.tidy(() => {
    const dropRng = dropoutSeed === undefined || dropout === 0 ? undefined : new Rng(dropoutSeed);
    const drop = (h: tf.Tensor2D) => dropRng ? coreDropout(h, dropout, dropRng) : h;
    const fused = getFusedSequence();
    if (fused) {
      // One op for each layer's whole recurrence (registered by core's native module): everything is
      // [T·batch, ·] time-major rows, one product per projection. Dropout draws one mask for all steps.
      // The first layer's input product picks rows of its weight (a gather, whose gradient is a segment
      // sum: the one-hot product's 2·T·batch·V·G·H multiply-adds, forward and backward, for nothing).
      const steps = ids.shape[0];
      let x: tf.Tensor2D | undefined;
      for (let l = 0; l < layers; l++) {
        const wx = p[`layer${l}/wx`];
        const xw = tf.add(x ? tf.matMul(x, wx) : tf.gather(wx, tf.reshape(ids, [-1])), p[`layer${l}/b`]);
        const start = state?.[l] ?? zeroState(cell, batch, hidden);
        const out = fused(cell, tf.reshape(xw, [steps, batch, -1]), p[`layer${l}/wh`] as tf.Tensor2D, start);
        next.push(out.state);
        out.state.forEach((t) => tf.keep(t));
        x = drop(tf.reshape(out.outputs, [steps * batch, hidden]));
      }
      return tf.add(tf.matMul(x!, p["out/w"]), p["out/b"]) as tf.Tensor2D;
    }
    // Per-step tensors throughout (see runSequence); the ids are small, so unstacking them is cheap.
    // One-hot products rather than tf.gather: the same numbers, and much faster on wasm and cpu.
    // (An int32 one-hot then a cast: wasm's OneHot writes int32 bits when asked for float32.)
    let h = (tf.unstack(ids) as tf.Tensor1D[]).map((x) => tf.cast(tf.oneHot(x, model.vocab.size), "float32"));
    for (let l = 0; l < layers; l++) {
      const wx = p[`layer${l}/wx`], b = p[`layer${l}/b`];
      const xw = h.map((x) => tf.add(tf.matMul(x, wx), b) as tf.Tensor2D);
      const start = state?.[l] ?? zeroState(cell, batch, hidden);
      const out = runSequence(cell, xw, p[`layer${l}/wh`] as tf.Tensor2D, start);
      next.push(out.state);
      out.state.forEach((t) => tf.keep(t));
      h = out.outputs.map(drop);
    }
    return tf.concat(h.map((x) => tf.add(tf.matMul(x, p["out/w"]), p["out/b"]))) as tf.Tensor2D;
  });
  return { logits, state: next };
}
