/**
 * Character-level language models with hand-written vanilla RNN, LSTM and
 * GRU cells on TensorFlow.js, after Karpathy's char-rnn: train on any
 * UTF-8 text (characters are Unicode code points), sample with the state
 * carried from character to character, measure bits per character, save
 * and load checkpoint folders.
 *
 * @example Train a small LSTM, sample from it, measure it
 * ```ts
 * import { createCharLM, evaluateBitsPerChar, sampleText, splitText, trainCharLM } from "@simple-nets/charlm";
 *
 * const { train, val } = splitText("the quick brown fox jumps over the lazy dog. ".repeat(40));
 * const model = createCharLM(train + val, { cell: "lstm", hidden: 32, dropout: 0 });
 * await trainCharLM(model, train, { steps: 30, batchSize: 16, seqLen: 12, lr: 1e-2 });
 * console.log(sampleText(model, { prime: "the ", length: 40, temperature: 0.5 }));
 * console.log((await evaluateBitsPerChar(model, val)).bitsPerChar);
 * model.dispose();
 * ```
 *
 * @module
 */
export {
  CELL_TYPES,
  cellStep,
  type CellType,
  GATES,
  type LayerState,
  recurrentPieces,
  runSequence,
  SPECIAL_BIAS,
  zeroState,
} from "./cells.ts";
export {
  CharLM,
  type CharLMConfig,
  createCharLM,
  type CreateCharLMOptions,
  DEFAULT_CHARLM_CONFIG,
  disposeState,
  type InitScheme,
  type ModelState,
  resolveConfig,
  weightShapes,
} from "./model.ts";
export { clipGradients, type ClipMode, crossEntropy, sequenceLoss } from "./loss.ts";
export { evaluateBitsPerChar, type EvaluateOptions, type Evaluation } from "./evaluate.ts";
export { defaultPrime, pickNext, sampleChars, type SampleOptions, sampleText } from "./sample.ts";
export {
  createOptimizer,
  createTrainStep,
  makeBatch,
  trainCharLM,
  type TrainCharLMOptions,
  type TrainCharLMResult,
  type TrainStepOptions,
} from "./train.ts";
export {
  loadCharLM,
  type LoadedCharLM,
  PACKAGE_NAME,
  PACKAGE_VERSION,
  saveCharLM,
  type SaveCharLMOptions,
} from "./io.ts";
export { type Encoded, splitText, Vocabulary } from "./vocab.ts";
export { bigramBitsPerChar, type BigramOptions } from "./bigram.ts";
