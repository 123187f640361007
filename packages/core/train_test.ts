import assert, { deepEqual as assertEquals } from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  type LoopState,
  type Metrics,
  NonFiniteLossError,
  type StepContext,
  stepsPerEpoch,
  type TrainEvent,
  trainLoop,
  type TrainLoopOptions,
  type TrainLoopResult,
} from "./train.ts";
import { disposeCheckpoint, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import {
  assignParams,
  disposeParams,
  makeParams,
  type Params,
  paramsMap,
  restoreOptimizer,
} from "./params.ts";
import { Rng } from "./rng.ts";

await tf.setBackend("cpu");

/** What one step of the fake model saw and returned. */
interface Visit {
  step: number;
  epoch: number;
  indices: number[] | undefined;
  draws: number[];
  loss: number;
}

/**
 * A deterministic stand-in for a model: its loss depends on its state, the
 * batch and the step's generator, and the step changes its state.
 */
class FakeModel {
  visits: Visit[] = [];
  constructor(public w = 1) {}
  step = (ctx: StepContext): Metrics => {
    const draws = [ctx.rng.next(), ctx.rng.normal()];
    const batch = ctx.indices ? Array.from(ctx.indices) : undefined;
    const sum = batch?.reduce((a, b) => a + b, 0) ?? 0;
    const loss = this.w * this.w + sum / 100 + draws[0];
    this.w = 0.9 * this.w + 0.01 * draws[1] + sum / 1000;
    this.visits.push({ step: ctx.step, epoch: ctx.epoch, indices: batch, draws, loss });
    return { loss, half: loss / 2 };
  };
}

/** Collects everything the loop reports. */
function recorder() {
  const events: TrainEvent[] = [];
  const logs: Record<string, number | string>[] = [];
  const checkpoints: LoopState[] = [];
  const evals: { step: number; epoch: number }[] = [];
  return {
    events,
    logs,
    checkpoints,
    evals,
    options: {
      onEvent: (e: TrainEvent) => events.push(e),
      onLog: (r: Record<string, number | string>) => void logs.push(r),
      checkpoint: (s: LoopState) => void checkpoints.push(s),
      evaluate: (s: { step: number; epoch: number }) => {
        evals.push(s);
        return { score: s.step * 10 };
      },
    } satisfies Partial<TrainLoopOptions>,
  };
}

const stepsOf = (events: TrainEvent[], type: TrainEvent["type"]) =>
  events.filter((e) => e.type === type).map((e) => e.step);

Deno.test("stepsPerEpoch keeps the last partial batch", () => {
  assertEquals([stepsPerEpoch(10, 4), stepsPerEpoch(8, 4), stepsPerEpoch(1, 128)], [3, 2, 1]);
});

Deno.test("epoch mode visits every example once per epoch, keeping the last partial batch", async () => {
  const model = new FakeModel();
  const result = await trainLoop(model.step, { seed: 1, epochs: 3, examples: 10, batchSize: 4 });
  assertEquals([result.steps, result.epochs, result.interrupted], [9, 3, false]);
  assertEquals(model.visits.map((v) => v.step), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals(model.visits.map((v) => v.epoch), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
  assertEquals(model.visits.map((v) => v.indices!.length), [4, 4, 2, 4, 4, 2, 4, 4, 2]);
  for (let epoch = 0; epoch < 3; epoch++) {
    const seen = model.visits.filter((v) => v.epoch === epoch).flatMap((v) => v.indices!);
    assertEquals(seen.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
});

Deno.test("the order differs between epochs and is the same for the same seed", async () => {
  const orders = async (seed: number) => {
    const model = new FakeModel();
    await trainLoop(model.step, { seed, epochs: 3, examples: 50, batchSize: 50 });
    return model.visits.map((v) => v.indices!.join(","));
  };
  const a = await orders(5);
  assert.equal(new Set(a).size, 3);
  assertEquals(await orders(5), a);
  assert.notDeepEqual(await orders(6), a);
  // The order of epoch e is the seeded stream ("shuffle", e), so a run can resume anywhere.
  assertEquals(a[2], Array.from(Rng.stream(5, "shuffle", 2).permutation(50)).join(","));
});

Deno.test("step mode runs the given steps with a fresh seeded generator per step and no indices", async () => {
  const model = new FakeModel();
  const result = await trainLoop(model.step, { seed: 3, steps: 7 });
  assertEquals([result.steps, result.epochs, result.interrupted], [7, 0, false]);
  assertEquals(
    model.visits.map((v) => [v.step, v.epoch, v.indices]),
    [0, 1, 2, 3, 4, 5, 6].map((s) => [s, 0, undefined]),
  );
  assert.equal(new Set(model.visits.map((v) => v.draws[0])).size, 7);
  const rng = Rng.stream(3, "step", 4);
  assertEquals(model.visits[4].draws, [rng.next(), rng.normal()]);
  assertEquals((await trainLoop(new FakeModel().step, { seed: 3, steps: 0 })).steps, 0);
});

Deno.test("step events and train log records come every logEvery steps, at epoch ends and at the end", async () => {
  const model = new FakeModel();
  const r = recorder();
  // 10 examples in batches of 3: 4 steps per epoch, 8 in all.
  const result = await trainLoop(model.step, {
    seed: 1,
    epochs: 2,
    examples: 10,
    batchSize: 3,
    logEvery: 3,
    ...r.options,
  });
  assertEquals(stepsOf(r.events, "step"), [3, 4, 6, 8]);
  const losses = model.visits.map((v) => v.loss);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const stepEvents = r.events.filter((e) => e.type === "step");
  const windows = [losses.slice(0, 3), losses.slice(3, 4), losses.slice(4, 6), losses.slice(6, 8)];
  stepEvents.forEach((e, i) => {
    assert.equal(e.totalSteps, 8);
    assert(Math.abs(e.losses.loss - mean(windows[i])) < 1e-12);
    assert(Math.abs(e.losses.half - mean(windows[i]) / 2) < 1e-12);
    assert(e.stepsPerSecond > 0 && e.secondsLeft >= 0);
  });
  // Epoch means are weighted by batch size (3, 3, 3, 1).
  const sizes = model.visits.map((v) => v.indices!.length);
  const epochMean = (e: number) => {
    const idx = [0, 1, 2, 3].map((i) => i + 4 * e);
    return idx.reduce((a, i) => a + losses[i] * sizes[i], 0) / 10;
  };
  const epochEvents = r.events.filter((e) => e.type === "epoch");
  assertEquals(epochEvents.map((e) => [e.step, e.epoch]), [[4, 0], [8, 1]]);
  epochEvents.forEach((e, i) => assert(Math.abs(e.metrics.loss - epochMean(i)) < 1e-12));
  assert(Math.abs(result.losses.loss - epochMean(1)) < 1e-12);
  assert(Math.abs(result.recentLosses.loss - mean(losses)) < 1e-12);
  assertEquals(
    r.logs.map((l) => `${l.kind}@${l.step}`),
    ["train@3", "train@4", "epoch@4", "eval@4", "train@6", "train@8", "epoch@8", "eval@8"],
  );
  assertEquals(r.logs[3], { step: 4, epoch: 0, kind: "eval", score: 40 });
  assertEquals(r.evals, [{ step: 4, epoch: 0 }, { step: 8, epoch: 1 }]);
  assertEquals(r.checkpoints.map((s) => s.step), [4, 8]);
  assertEquals(result.evaluation, { score: 80 });
  // Within one step: the step event, the epoch event, the evaluation, then the checkpoint.
  assertEquals(r.events.slice(0, 6).map((e) => `${e.type}@${e.step}`), [
    "step@3",
    "step@4",
    "epoch@4",
    "eval@4",
    "checkpoint@4",
    "step@6",
  ]);
});

Deno.test("in step mode evalEvery and checkpointEvery set when evaluations and checkpoints happen", async () => {
  const r = recorder();
  await trainLoop(new FakeModel().step, {
    seed: 1,
    steps: 10,
    logEvery: 4,
    evalEvery: 5,
    checkpointEvery: 3,
    ...r.options,
  });
  assertEquals(stepsOf(r.events, "step"), [4, 8, 10]);
  assertEquals(stepsOf(r.events, "eval"), [5, 10]);
  assertEquals(stepsOf(r.events, "checkpoint"), [3, 6, 9, 10]);
  assertEquals(stepsOf(r.events, "epoch"), []);
  assertEquals(r.checkpoints.map((s) => s.step), [3, 6, 9, 10]);
  assertEquals(r.checkpoints[0].recent.length, 3);
});

Deno.test("an abort stops the loop after the current step and writes a checkpoint", async () => {
  const controller = new AbortController();
  const r = recorder();
  const model = new FakeModel();
  const result = await trainLoop((ctx) => {
    if (ctx.step === 4) controller.abort();
    return model.step(ctx);
  }, { seed: 1, steps: 20, signal: controller.signal, checkpointEvery: 3, ...r.options });
  assertEquals([result.steps, result.interrupted], [5, true]);
  assertEquals(model.visits.map((v) => v.step), [0, 1, 2, 3, 4]);
  assertEquals(r.checkpoints.map((s) => s.step), [3, 5]);
  assertEquals(result.state.step, 5);
});

Deno.test("an abort from the event loop is seen within about 50 ms of steps", async () => {
  const controller = new AbortController();
  const model = new FakeModel();
  const r = recorder();
  const result = await trainLoop((ctx) => {
    // Like a SIGINT handler: runs on the event loop, after this step returns.
    if (ctx.step === 2) setTimeout(() => controller.abort(), 0);
    const until = performance.now() + 5; // a 5 ms step
    while (performance.now() < until) { /* busy */ }
    return model.step(ctx);
  }, { seed: 1, epochs: 50, examples: 10, batchSize: 2, signal: controller.signal, ...r.options });
  assertEquals(result.interrupted, true);
  // the loop yields at least every 50 ms: with 5 ms steps it stops within ~11 steps of the abort
  assert(result.steps >= 3 && result.steps <= 16, `stopped after ${result.steps} steps`);
  const epochEnds = Array.from({ length: Math.floor(result.steps / 5) }, (_, i) => 5 * (i + 1));
  // every epoch end, and the step it stopped at (once, also when that is an epoch end)
  assertEquals(r.checkpoints.map((s) => s.step), [
    ...epochEnds.filter((s) => s !== result.steps),
    result.steps,
  ]);
});

Deno.test("an already aborted signal runs no step and writes no checkpoint", async () => {
  const r = recorder();
  const model = new FakeModel();
  const result = await trainLoop(model.step, {
    seed: 1,
    steps: 5,
    signal: AbortSignal.abort(),
    ...r.options,
  });
  assertEquals([result.steps, result.interrupted, model.visits.length, r.checkpoints.length], [
    0,
    true,
    0,
    0,
  ]);
});

Deno.test("a NaN or infinite loss throws NonFiniteLossError before that step is checkpointed", async () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const r = recorder();
    await assert.rejects(
      trainLoop((ctx) => ({ loss: 1, kl: ctx.step === 3 ? bad : 0.5 }), {
        seed: 1,
        steps: 10,
        checkpointEvery: 1,
        ...r.options,
      }),
      (e: unknown) => {
        assert(e instanceof NonFiniteLossError);
        assert.equal(
          e.message,
          `Training diverged: loss "kl" is ${bad} at step 4; the last checkpoint is kept`,
        );
        return true;
      },
    );
    assertEquals(r.checkpoints.map((s) => s.step), [1, 2, 3]);
  }
});

Deno.test("impossible lengths are refused with a RangeError", async () => {
  const step = () => ({ loss: 1 });
  await assert.rejects(trainLoop(step, { seed: 1, epochs: 1 }), RangeError);
  await assert.rejects(trainLoop(step, { seed: 1, epochs: 1, examples: 0 }), RangeError);
  await assert.rejects(trainLoop(step, { seed: 1, epochs: 1, examples: 5, batchSize: 0 }), RangeError);
  await assert.rejects(trainLoop(step, { seed: 1, steps: 2.5 }), RangeError);
  await assert.rejects(trainLoop(step, { seed: 1, steps: -1 }), RangeError);
});

/** Runs the fake model, aborting after `stopAfter` steps; returns what a resume needs. */
async function runFake(
  options: TrainLoopOptions,
  stopAfter?: number,
  from?: { w: number; state: LoopState },
) {
  const model = new FakeModel(from?.w);
  const controller = new AbortController();
  const logs: Record<string, number | string>[] = [];
  let saved: { w: number; state: LoopState } | undefined;
  const result = await trainLoop((ctx) => {
    if (ctx.step + 1 === stopAfter) controller.abort();
    return model.step(ctx);
  }, {
    ...options,
    resume: from?.state,
    signal: controller.signal,
    onLog: (r) => void logs.push(r),
    checkpoint: (state) => void (saved = { w: model.w, state }),
  });
  return { model, result, logs, saved: saved! };
}

function assertSameResult(resumed: TrainLoopResult, whole: TrainLoopResult): void {
  assertEquals(
    [resumed.steps, resumed.epochs, resumed.interrupted, resumed.losses, resumed.recentLosses, resumed.state],
    [whole.steps, whole.epochs, whole.interrupted, whole.losses, whole.recentLosses, whole.state],
  );
}

Deno.test("a run resumed from its checkpoint state sees the same batches and draws and ends the same", async () => {
  const cases: [string, TrainLoopOptions][] = [
    // 23 examples in batches of 5: 5 steps per epoch, 15 in all.
    ["epochs", {
      seed: 9,
      epochs: 3,
      examples: 23,
      batchSize: 5,
      logEvery: 2,
      evaluate: (s) => ({ at: s.step }),
    }],
    ["steps", { seed: 9, steps: 12, logEvery: 5, checkpointEvery: 4 }],
  ];
  for (const [mode, options] of cases) {
    const whole = await runFake(options);
    const total = whole.result.steps;
    for (const k of [1, 4, 5, 7, total - 1]) {
      const first = await runFake(options, k);
      assertEquals([first.result.steps, first.result.interrupted, first.saved.state.step], [k, true, k]);
      const second = await runFake(options, undefined, first.saved);
      const visits = [...first.model.visits, ...second.model.visits];
      assertEquals(visits, whole.model.visits, `${mode}, stopped after ${k} steps`);
      assertEquals(second.model.w, whole.model.w);
      assertSameResult(second.result, whole.result);
      // The metrics log, trimmed to the checkpoint's step, reads like the uninterrupted one.
      const logs = [...first.logs.filter((r) => (r.step as number) <= k), ...second.logs];
      assertEquals(logs, whole.logs, `${mode}, stopped after ${k} steps: metrics`);
    }
  }
});

/** A tiny linear regression model trained with Adam on fixed data, with noise from the step generator. */
function tinyModel() {
  const rng = new Rng(21);
  const x = tf.tensor2d(rng.fillNormal(new Float32Array(30 * 4)), [30, 4]);
  const y = tf.tensor2d(rng.fillNormal(new Float32Array(30 * 2)), [30, 2]);
  const create = () =>
    makeParams({
      w: tf.tensor2d(new Rng(22).fillUniform(new Float32Array(8), -0.5, 0.5), [4, 2]),
      b: tf.zeros([2]),
    }, "tiny");
  const step = (params: Params, optimizer: tf.Optimizer) => (ctx: StepContext): Metrics => {
    const noise = ctx.rng.normal() * 0.01;
    const loss = optimizer.minimize(() =>
      tf.tidy(() => {
        const idx = tf.tensor1d(ctx.indices!, "int32");
        const pred = tf.gather(x, idx).matMul(params.w).add(params.b).add(noise);
        return tf.losses.meanSquaredError(tf.gather(y, idx), pred) as tf.Scalar;
      }), true)!;
    const value = loss.dataSync()[0];
    loss.dispose();
    return { loss: value };
  };
  return { create, step, dispose: () => tf.dispose([x, y]) };
}

Deno.test("a tiny TF.js model resumed through saveCheckpoint and loadCheckpoint ends with the same weights", async () => {
  const dir = await Deno.makeTempDir({ prefix: "train_test_" });
  const tiny = tinyModel();
  const options: TrainLoopOptions = { seed: 4, epochs: 4, examples: 30, batchSize: 8 };
  try {
    // Uninterrupted.
    const p1 = tiny.create();
    const o1 = tf.train.adam(0.05);
    const whole = await trainLoop(tiny.step(p1, o1), options);
    const expected = tf.tidy(() => [p1.w.arraySync(), p1.b.arraySync()]);

    // Interrupted after 6 steps (mid-epoch), saved by the checkpoint callback.
    const p2 = tiny.create();
    const o2 = tf.train.adam(0.05);
    const controller = new AbortController();
    const step2 = tiny.step(p2, o2);
    const first = await trainLoop((ctx) => {
      if (ctx.step === 5) controller.abort();
      return step2(ctx);
    }, {
      ...options,
      signal: controller.signal,
      checkpoint: async (state) => {
        const optimizer = await o2.getWeights();
        await saveCheckpoint(dir, {
          meta: {
            package: "test",
            version: "0",
            config: {},
            step: state.step,
            seed: 4,
            backend: "cpu",
            data: "none",
            metrics: {},
            loop: state,
          },
          networks: { model: paramsMap(p2) },
          optimizers: { adam: optimizer },
        });
        tf.dispose(optimizer[0].tensor); // the iteration count is a fresh tensor
      },
    });
    assertEquals([first.steps, first.interrupted], [6, true]);

    // Resumed in fresh objects from the files alone.
    const loaded = await loadCheckpoint(dir, { package: "test" });
    const p3 = tiny.create();
    const o3 = tf.train.adam(0.05);
    assignParams(p3, loaded.networks.model, dir);
    await restoreOptimizer(o3, loaded.optimizers.adam);
    const state = loaded.meta.loop as LoopState;
    disposeCheckpoint(loaded);
    const resumed = await trainLoop(tiny.step(p3, o3), { ...options, resume: state });
    assertSameResult(resumed, whole);
    const actual = tf.tidy(() => [p3.w.arraySync(), p3.b.arraySync()]);
    const flat = (a: unknown) => (a as number[][]).flat(2) as number[];
    const diffs = flat(actual).map((v, i) => Math.abs(v - flat(expected)[i]));
    assert(Math.max(...diffs) <= 1e-6, `largest weight difference ${Math.max(...diffs)}`);
    const initial = tiny.create();
    const start = flat(tf.tidy(() => [initial.w.arraySync(), initial.b.arraySync()]));
    disposeParams(initial);
    assert(
      flat(expected).every((v, i) => Math.abs(v - start[i]) > 1e-3),
      "training hardly changed the weights",
    );
    for (const p of [p1, p2, p3]) disposeParams(p);
    for (const o of [o1, o2, o3]) o.dispose();
  } finally {
    tiny.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
