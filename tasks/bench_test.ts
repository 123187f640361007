import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import {
  type BenchReport,
  formatJson,
  formatTable,
  makeRow,
  median,
  parseList,
  peakFromProcStatus,
  StepTimer,
  summarize,
} from "./_bench_stats.ts";

/** A clock that advances by the given step lengths, one per call after the first. */
function fakeClock(stepsMs: number[]): () => number {
  let t = 0, i = -1;
  return () => (i < 0 ? (i++, t) : (t += stepsMs[i++] ?? 0));
}

/** Runs a timer over steps of the given lengths until it says stop; returns the steps run. */
function drive(timer: StepTimer): number {
  timer.start();
  let n = 1;
  while (timer.lap()) n++;
  return n;
}

Deno.test("median() takes the middle value, or the mean of the middle two", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([7]), 7);
  assertEquals(median([]), NaN);
});

Deno.test("StepTimer runs warm-up then timed steps when the budget allows", () => {
  const timer = new StepTimer({ warmup: 2, steps: 3, budgetMs: 1000 }, fakeClock([50, 10, 11, 12, 13]));
  assertEquals(drive(timer), 5);
  assertEquals(timer.result(), { warmupMs: [50, 10], timedMs: [11, 12, 13], cut: false });
});

Deno.test("StepTimer cuts a slow backend at its budget, after at least one timed step", () => {
  // 400 ms steps, 1 s budget: warm-up stops at a third of the budget, timing once it is spent.
  const timer = new StepTimer({ warmup: 3, steps: 20, budgetMs: 1000 }, fakeClock(Array(30).fill(400)));
  assertEquals(drive(timer), 3);
  assertEquals(timer.result(), { warmupMs: [400], timedMs: [400, 400], cut: true });
});

Deno.test("StepTimer still times one step when the first step alone exceeds the budget", () => {
  const timer = new StepTimer({ warmup: 3, steps: 20, budgetMs: 1000 }, fakeClock([5000, 4000, 4000]));
  assertEquals(drive(timer), 2);
  assertEquals(timer.result(), { warmupMs: [5000], timedMs: [4000], cut: true });
});

Deno.test("summarize() gives the median per image and falls back to warm-up steps, flagged", () => {
  const s = summarize({ warmupMs: [90], timedMs: [30, 10, 20], cut: false }, 123.456, 10);
  assertEquals([s.msPerStep, s.minMs, s.maxMs, s.peakMB, s.steps, s.cut], [2, 1, 3, 123.5, 3, false]);
  const w = summarize({ warmupMs: [900, 700], timedMs: [], cut: true }, null);
  assertEquals([w.msPerStep, w.fromWarmup, w.cut, w.steps, w.warmupSteps], [800, true, true, 0, 2]);
});

Deno.test("makeRow() adds PyTorch's numbers and the ratio ours / PyTorch", () => {
  const ours = { msPerStep: 30, peakMB: 400, steps: 20, warmupSteps: 3, cut: false };
  const row = makeRow("vae", "wasm", ours, { model: "vae", msPerStep: 20, peakMB: 300, threads: 1 });
  assertEquals([row.torchMsPerStep, row.torchPeakMB, row.ratio, row.torchThreads], [20, 300, 1.5, 1]);
  const alone = makeRow("vae", "wasm", ours, undefined);
  assertEquals([alone.torchMsPerStep, alone.torchPeakMB, alone.ratio], [null, null, null]);
});

const report: BenchReport = {
  auto: "wasm+blas",
  rows: [
    makeRow("vae", "wasm+blas", { msPerStep: 15.25, peakMB: 250, steps: 20, warmupSteps: 3, cut: false }, {
      model: "vae",
      msPerStep: 10,
      peakMB: 260,
      threads: 1,
    }),
    makeRow("gan", "cpu", { msPerStep: 4000, peakMB: 500, steps: 1, warmupSteps: 1, cut: true }, undefined),
  ],
  unavailable: { webgpu: "no WebGPU adapter" },
  trainRuns: [{ task: "train:vae", seconds: null, peakMB: null, exitCode: null, note: "pass --train-runs" }],
  settings: { steps: 20, warmup: 3, budgetSeconds: 60 },
  loadAverage: [1, 2, 3],
  torch: "1.13.1",
};

Deno.test("formatJson() prints the report as one line with the promised row fields", () => {
  const text = formatJson(report);
  assertEquals(text.includes("\n"), false);
  const parsed = JSON.parse(text);
  assertEquals(parsed.auto, "wasm+blas");
  for (const key of ["model", "backend", "msPerStep", "peakMB", "torchMsPerStep", "torchPeakMB", "ratio"]) {
    assertEquals(key in parsed.rows[0], true, key);
  }
  assertEquals(parsed.rows[0].ratio, 1.53);
});

Deno.test("formatTable() aligns the rows and marks auto, cut rows, missing backends and skipped runs", () => {
  const lines = formatTable(report).split("\n");
  assertEquals(lines[0].split(/\s+/).slice(0, 3), ["model", "backend", "ms/step"]);
  assertEquals(lines[2].includes("auto") && lines[2].includes("1.53"), true);
  assertEquals(lines[3].includes("cut") && lines[3].includes("4000.0"), true);
  assertEquals(lines[0].indexOf("ms/step") + 7, lines[2].indexOf("15.3") + 4);
  assertEquals(lines.some((l) => l === "webgpu: unavailable (no WebGPU adapter)"), true);
  assertEquals(lines.some((l) => l === "train:vae: skipped (pass --train-runs)"), true);
});

Deno.test("parseList() splits a flag, keeps the default when absent and rejects unknown names", () => {
  assertEquals(parseList(undefined, ["a", "b"]), ["a", "b"]);
  assertEquals(parseList("b, a", ["a"], ["a", "b"]), ["b", "a"]);
  throws(() => parseList("a,z", [], ["a", "b"]), { name: "RangeError", message: /z/ });
});

Deno.test("peakFromProcStatus() reads VmHWM in MB", () => {
  assertEquals(peakFromProcStatus("Name:\tdeno\nVmHWM:\t  204800 kB\nVmRSS:\t1 kB\n"), 200);
  assertEquals(peakFromProcStatus("Name:\tdeno\n"), null);
});

Deno.test("timeLoop() times a core trainLoop per step and aborts it once the timer says stop", async () => {
  const { trainLoop } = await import("@simple-nets/core");
  const { timeLoop } = await import("./_bench_models.ts");
  const timer = new StepTimer({ warmup: 1, steps: 2, budgetMs: 60_000 });
  let stepsRun = 0;
  const laps: boolean[] = [];
  await timeLoop(timer, (_ms, warmup) => laps.push(warmup), (hooks) =>
    trainLoop(() => {
      stepsRun++;
      return { loss: 1 };
    }, { seed: 1, ...hooks, steps: 10 }));
  assertEquals(laps, [true, false, false]);
  assertEquals(stepsRun, 3);
  assertEquals(timer.result().cut, false);
});
