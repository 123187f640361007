/**
 * Training and evaluating the CNN with core's loop: Adam on the mean
 * cross-entropy, seeded shuffling and dropout masks, test accuracy after
 * every epoch.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import {
  adam,
  type ImageSet,
  type LoopState,
  type Metrics,
  type TrainEvent,
  trainLoop,
} from "@simple-nets/core";
import { type Cnn, imagesToTensor } from "./model.ts";

/** Run-time settings of {@linkcode trainCnn}. */
export interface TrainCnnOptions {
  /** Passes over the training images.
   * @default {10} */
  epochs?: number;
  /** Images per step (the last, smaller batch of an epoch is kept).
   * @default {128} */
  batchSize?: number;
  /** Adam learning rate (used when `optimizer` is not given).
   * @default {0.001} */
  lr?: number;
  /** Seed of the batch order and the dropout masks.
   * @default {1} */
  seed?: number;
  /** Test images (labels already class indices) evaluated after every epoch. */
  test?: ImageSet;
  /** The optimizer, e.g. one restored from a checkpoint.
   * @default {Adam(lr, 0.9, 0.999, 1e-8), as PyTorch's} */
  optimizer?: tf.Optimizer;
  /** Loop state of a checkpoint to resume from. */
  resume?: LoopState;
  /** Progress events (see core's `trainLoop`). */
  onEvent?: (event: TrainEvent) => void;
  /** One record per log step, eval and epoch (for `metrics.jsonl`). */
  onLog?: (record: Record<string, number | string>) => void | Promise<void>;
  /** Writes a checkpoint; called after every epoch, at the end and on abort. */
  checkpoint?: (state: LoopState, optimizer: tf.Optimizer) => void | Promise<void>;
  /** Stops after the current step (a checkpoint is written first). */
  signal?: AbortSignal;
  /** Emit a step event every N steps.
   * @default {10} */
  logEvery?: number;
}

/** What {@linkcode trainCnn} returns. */
export interface TrainCnnResult {
  /** Steps done in all. */
  steps: number;
  /** Epochs completed. */
  epochs: number;
  /** Mean training loss of the last epoch. */
  trainLoss: number;
  /** Test accuracy and loss after the last epoch (when `test` was given). */
  evaluation: Metrics;
  /** True when `signal` stopped the run. */
  interrupted: boolean;
  /** The loop's final state. */
  state: LoopState;
  /** Wall-clock seconds of this call. */
  seconds: number;
}

/** What {@linkcode evaluateCnn} returns. */
export interface CnnEvaluation {
  /** Fraction of images whose predicted class is the label. */
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  /** Images evaluated. */
  images: number;
  /** The predicted class of every image. */
  predictions: Int32Array;
}

function checkLabels(set: ImageSet, classes: number, what: string): void {
  if (set.count < 1) throw new RangeError(`${what} has no images, expected at least 1`);
  for (let i = 0; i < set.count; i++) {
    if (set.labels[i] >= classes) {
      throw new RangeError(`${what} label ${set.labels[i]} at ${i} is not a class index 0..${classes - 1}`);
    }
  }
}

/**
 * Accuracy and mean cross-entropy of the model (inference mode) on a set
 * whose labels are class indices, in batches.
 *
 * @example
 * ```ts
 * import { createCnn, evaluateCnn } from "@simple-nets/saliency";
 * const cnn = createCnn({ digits: [0, 1] });
 * const set = { images: new Float32Array(2 * 784), labels: new Uint8Array([0, 1]), count: 2, rows: 28, cols: 28 };
 * console.assert(evaluateCnn(cnn, set).images === 2);
 * cnn.dispose();
 * ```
 */
export function evaluateCnn(model: Cnn, set: ImageSet, options: { batchSize?: number } = {}): CnnEvaluation {
  const { batchSize = 500 } = options;
  checkLabels(set, model.classes, "the evaluation set");
  const predictions = new Int32Array(set.count);
  let lossSum = 0;
  for (let from = 0; from < set.count; from += batchSize) {
    const to = Math.min(from + batchSize, set.count);
    const [loss, predicted] = tf.tidy(() => {
      const x = imagesToTensor(set.images.subarray(from * 784, to * 784), model.config);
      const logits = model.predict(x);
      const y = tf.oneHot(tf.tensor1d(set.labels.subarray(from, to), "int32"), model.classes);
      return [tf.sum(tf.mul(y, tf.logSoftmax(logits))).neg(), tf.argMax(logits, 1)];
    });
    lossSum += loss.dataSync()[0];
    predictions.set(predicted.dataSync() as Int32Array, from);
    tf.dispose([loss, predicted]);
  }
  let correct = 0;
  for (let i = 0; i < set.count; i++) if (predictions[i] === set.labels[i]) correct++;
  return { accuracy: correct / set.count, loss: lossSum / set.count, images: set.count, predictions };
}

/**
 * Trains the CNN on images whose labels are class indices (see
 * `selectDigits`), with Adam on the batch-mean cross-entropy and spatial
 * dropout on; evaluates on `test` after every epoch.
 *
 * @param model The CNN; its variables are updated in place.
 * @param train Training images (pixels in [0, 1]), labels `0..classes-1`.
 *
 * @example One epoch on 32 digits (a narrow CNN: quick even on the cpu backend)
 * ```ts
 * import { createCnn, trainCnn } from "@simple-nets/saliency";
 * import { tinyMnist } from "@simple-nets/core/testing";
 * const cnn = createCnn({ filters: [2, 4] });
 * const result = await trainCnn(cnn, tinyMnist(32), { epochs: 1, batchSize: 16 });
 * console.assert(result.steps === 2 && result.trainLoss > 0);
 * cnn.dispose();
 * ```
 */
export async function trainCnn(
  model: Cnn,
  train: ImageSet,
  options: TrainCnnOptions = {},
): Promise<TrainCnnResult> {
  const { epochs = 10, batchSize = 128, lr = 1e-3, seed = 1, test } = options;
  checkLabels(train, model.classes, "the training set");
  if (test) checkLabels(test, model.classes, "the test set");
  if (!(lr > 0)) throw new RangeError(`lr is ${lr}, expected a number > 0`);
  if (!Number.isInteger(epochs) || epochs < 0) {
    throw new RangeError(`epochs is ${epochs}, expected a whole number >= 0`);
  }
  const optimizer = options.optimizer ?? adam(lr, 0.9, 0.999, 1e-8);
  const x = imagesToTensor(train.images.subarray(0, train.count * 784), model.config);
  const y = tf.tensor1d(train.labels.subarray(0, train.count), "int32");
  const variables = Object.values(model.params);
  try {
    const result = await trainLoop((ctx) => {
      const loss = optimizer.minimize(
        () =>
          tf.tidy(() => {
            const idx = tf.tensor1d(ctx.indices!, "int32");
            const logits = model.forward(tf.gather(x, idx), { training: true, rng: ctx.rng });
            const target = tf.oneHot(tf.gather(y, idx), model.classes);
            return tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1)).neg() as tf.Scalar;
          }),
        true,
        variables,
      )!;
      const value = loss.dataSync()[0];
      loss.dispose();
      return { loss: value };
    }, {
      seed,
      epochs,
      examples: train.count,
      batchSize,
      resume: options.resume,
      logEvery: options.logEvery,
      signal: options.signal,
      onEvent: options.onEvent,
      onLog: options.onLog,
      evaluate: test
        ? () => {
          const e = evaluateCnn(model, test);
          return { testAccuracy: e.accuracy, testLoss: e.loss };
        }
        : undefined,
      checkpoint: options.checkpoint ? (state) => options.checkpoint!(state, optimizer) : undefined,
    });
    return {
      steps: result.steps,
      epochs: result.epochs,
      trainLoss: result.losses.loss,
      evaluation: result.evaluation,
      interrupted: result.interrupted,
      state: result.state,
      seconds: result.seconds,
    };
  } finally {
    tf.dispose([x, y]);
    if (!options.optimizer) optimizer.dispose();
  }
}
