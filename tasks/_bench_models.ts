/**
 * The models `deno task bench` times, at the shapes of the PyTorch peer
 * (`bench_torch.py`), with each package's real code. This is the one place
 * to add a model: an entry in {@linkcode BENCH_MODELS} whose `run` builds
 * the model and times its steps with {@linkcode timeSteps} (a function that
 * runs exactly one step) or {@linkcode timeLoop} (the package's training
 * function, timed between its per-step progress events).
 *
 * Packages are imported inside `run`, so a package that is missing or
 * broken fails its own rows only.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { adam, type ImageSet, Rng, type TrainEvent } from "@simple-nets/core";
import type { StepTimer } from "./_bench_stats.ts";

/** Told each step's milliseconds as it ends (the child streams them to the parent). */
export type OnLap = (ms: number, warmup: boolean) => void;

/** A model the bench can time. */
export interface BenchModel {
  /** The name, as `bench_torch.py` calls the same model. */
  name: string;
  /** What one step is. */
  step: string;
  /** The package code that runs the steps. */
  via: string;
  /** Images per step when times are reported per image (`smoothgrad10`). @default {1} */
  per?: number;
  /**
   * Runs this many times the bench's steps and warm-up steps, on both sides
   * (`sample`: a step is one character, and three characters are too few to
   * warm V8's JIT up, while a text is thousands). @default {1}
   */
  stepScale?: number;
  /** Builds the model and runs steps until `timer.lap()` says stop. */
  run(timer: StepTimer, onLap: OnLap): Promise<void>;
}

/** Runs `step` (exactly one step, synchronous or not) until the timer says stop. */
export async function timeSteps(timer: StepTimer, onLap: OnLap, step: () => unknown): Promise<void> {
  timer.start();
  do await step(); while (timer.lap(onLap));
}

/** The hooks {@linkcode timeLoop} passes to a training function built on core's `trainLoop`. */
export interface LoopHooks {
  /** Steps to train for (warm-up + timed). */
  steps: number;
  /** A step event after every step. */
  logEvery: 1;
  onEvent: (event: TrainEvent) => void;
  /** Aborted once the timer says stop. */
  signal: AbortSignal;
}

/**
 * Times a package's training function between its per-step progress
 * events (the fallback for packages that export no single-step function;
 * the loop's own bookkeeping, under a millisecond, is counted in).
 */
export async function timeLoop(
  timer: StepTimer,
  onLap: OnLap,
  train: (hooks: LoopHooks) => Promise<unknown>,
): Promise<void> {
  const controller = new AbortController();
  const onEvent = (event: TrainEvent) => {
    if (event.type === "step" && !timer.lap(onLap)) controller.abort();
  };
  timer.start();
  await train({ steps: timer.maxSteps, logEvery: 1, onEvent, signal: controller.signal });
}

/** `count` random 28×28 images, pixels uniform in [0, 1], labels 0-9, from a fixed seed. */
export function randomImages(count: number, seed = 1): ImageSet {
  const rng = new Rng(seed, ["bench-images"]);
  const images = new Float32Array(count * 784);
  for (let i = 0; i < images.length; i++) images[i] = rng.uniform(0, 1);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = rng.int(10);
  return { images, labels, count, rows: 28, cols: 28 };
}

/** 80 distinct characters (the PyTorch peer's vocabulary size), and a random text over them. */
export function randomText(length: number, seed = 1): { vocab: string; text: string } {
  const vocab = Array.from({ length: 80 }, (_, i) => String.fromCharCode(32 + i)).join("");
  const rng = new Rng(seed, ["bench-text"]);
  let text = vocab; // every character at least once
  for (let i = vocab.length; i < length; i++) text += vocab[rng.int(80)];
  return { vocab, text };
}

function vae(name: string, hidden: number, latent: number): BenchModel {
  return {
    name,
    step: `VAE 784-${hidden}-${latent}, batch 128, negative ELBO, Adam 1e-3`,
    via: "@simple-nets/vae vaeStep",
    async run(timer, onLap) {
      const { createVae, disposeVae, vaeStep } = await import("@simple-nets/vae");
      const model = createVae({ hidden, latent }, { seed: 1 });
      const images = randomImages(1024);
      const optimizer = adam(1e-3); // as train:vae uses it
      const step = vaeStep(model, images, optimizer);
      let s = 0;
      await timeSteps(timer, onLap, () => {
        const indices = new Rng(1, ["shuffle", s]).permutation(images.count).subarray(0, 128);
        step({ step: s, epoch: 0, indices, rng: new Rng(1, ["step", s++]) });
      });
      optimizer.dispose();
      disposeVae(model);
    },
  };
}

function charLM(cell: "lstm" | "gru" | "rnn"): BenchModel {
  return {
    name: cell,
    step: `CharLM ${cell} 1×512, seq 25, batch 64, one-hot 80, dropout 0.5, clip 1, Adam 2e-3`,
    via: "@simple-nets/charlm trainCharLM (no single-step export)",
    async run(timer, onLap) {
      const { createCharLM, trainCharLM } = await import("@simple-nets/charlm");
      const { vocab, text } = randomText(20000);
      const model = createCharLM(vocab, { cell, layers: 1, hidden: 512, dropout: 0.5, seed: 1 });
      await timeLoop(
        timer,
        onLap,
        (h) =>
          trainCharLM(model, text, { batchSize: 64, seqLen: 25, lr: 2e-3, clip: 1, clipMode: "value", ...h }),
      );
      model.dispose();
    },
  };
}

function saliency(name: string, images: number, samples: number): BenchModel {
  return {
    name,
    step: samples
      ? `SmoothGrad of the CE loss, ${samples} noisy copies of ${images} image(s)${
        images > 1 ? ", per image" : ""
      }`
      : `vanilla gradient of the CE loss, ${images} images`,
    via: `@simple-nets/saliency ${samples ? "smoothGrad" : "vanillaGradient"}`,
    per: samples ? images : 1,
    async run(timer, onLap) {
      const { createCnn, imagesToTensor, smoothGrad, vanillaGradient } = await import(
        "@simple-nets/saliency"
      );
      const cnn = createCnn({}, { seed: 1 });
      const set = randomImages(images);
      const x = imagesToTensor(set.images, cnn.config);
      await timeSteps(timer, onLap, async () => {
        const maps = samples
          ? smoothGrad(cnn, x, set.labels, { samples, of: "loss" })
          : vanillaGradient(cnn, x, set.labels, { of: "loss" });
        await maps.data();
        maps.dispose();
      });
      x.dispose();
      cnn.dispose();
    },
  };
}

/** Every model the bench knows, in the order of `bench_torch.py`. Add a model here. */
export const BENCH_MODELS: readonly BenchModel[] = [
  vae("vae", 500, 2),
  vae("vae400", 400, 20),
  {
    name: "gan",
    step: "maxout GAN: one D step then one G step, batch 128, dropout on, Adam 1e-4",
    via: "@simple-nets/gan ganStep",
    async run(timer, onLap) {
      const { createGan, createGanOptimizers, disposeGan, ganStep } = await import("@simple-nets/gan");
      const gan = createGan({}, { seed: 1 });
      const optimizers = createGanOptimizers(1e-4);
      const real = tf.tidy(() => tf.sub(tf.mul(tf.tensor2d(randomImages(128).images, [128, 784]), 2), 1));
      const step = ganStep(gan, real as tf.Tensor2D, optimizers, { batchSize: 128 });
      const indices = Int32Array.from({ length: 128 }, (_, i) => i);
      let s = 0;
      await timeSteps(timer, onLap, () => {
        step({ step: s, epoch: 0, indices, rng: Rng.stream(1, "step", s) });
        s++;
      });
      real.dispose();
      optimizers.generator.dispose();
      optimizers.discriminator.dispose();
      disposeGan(gan);
    },
  },
  {
    name: "cnn",
    step: "CNN conv5×5×16-pool-conv5×5×32-pool-dense, batch 128, spatial dropout on, CE, Adam 1e-3",
    via: "@simple-nets/saliency trainCnn (no single-step export)",
    async run(timer, onLap) {
      const { createCnn, trainCnn } = await import("@simple-nets/saliency");
      const cnn = createCnn({}, { seed: 1 });
      const images = randomImages(128 * timer.maxSteps);
      await timeLoop(
        timer,
        onLap,
        (h) => trainCnn(cnn, images, { epochs: 1, batchSize: 128, lr: 1e-3, ...h }),
      );
      cnn.dispose();
    },
  },
  saliency("saliency", 100, 0),
  saliency("smoothgrad", 1, 50),
  saliency("smoothgrad10", 10, 50),
  charLM("lstm"),
  charLM("gru"),
  charLM("rnn"),
  {
    name: "sample",
    stepScale: 10,
    step: "one sampled character, LSTM 1×512, batch 1, state carried, temperature 1",
    via: "@simple-nets/charlm sampleChars (one generator step per character)",
    async run(timer, onLap) {
      const { createCharLM, sampleChars } = await import("@simple-nets/charlm");
      const model = createCharLM(randomText(80).vocab, { cell: "lstm", layers: 1, hidden: 512, seed: 1 });
      const chars = sampleChars(model, { length: timer.maxSteps + 1, temperature: 1, prime: "a", seed: 1 });
      chars.next(); // feeds the prime and draws the first character: setup, not a step
      await timeSteps(timer, onLap, () => chars.next());
      chars.return();
      model.dispose();
    },
  },
];

/** The models run when `--models` is not given (the list; `smoothgrad10` on request). */
export const DEFAULT_MODELS: readonly string[] = [
  "vae",
  "vae400",
  "gan",
  "cnn",
  "saliency",
  "smoothgrad",
  "lstm",
  "gru",
  "rnn",
  "sample",
];
