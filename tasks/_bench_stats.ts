/**
 * The pure part of `deno task bench`: step timing with a time budget, the
 * median, rows with the PyTorch peer's numbers beside ours, and the table
 * and JSON outputs. No TF.js, no processes: `bench_test.ts` covers it.
 *
 * @module
 */

/** How many steps to time and how long a (model, backend) pair may take. */
export interface BenchPlan {
  /** Untimed steps first (fewer when they eat a third of the budget; at least one). */
  warmup: number;
  /** Timed steps (fewer when the budget runs out; at least one). */
  steps: number;
  /** Milliseconds for the warm-up and timed steps together. */
  budgetMs: number;
}

/** The step times a {@linkcode StepTimer} collected. */
export interface StepTimes {
  /** Milliseconds of each warm-up step (the first includes setup and kernel compilation). */
  warmupMs: number[];
  /** Milliseconds of each timed step. */
  timedMs: number[];
  /** True when the budget stopped the run before `plan.steps` timed steps. */
  cut: boolean;
}

/**
 * Times consecutive steps against a {@linkcode BenchPlan}: call `lap()` at
 * the end of every step; it says whether to run another one. Warm-up ends
 * after `plan.warmup` steps or once it used a third of the budget; timing
 * ends after `plan.steps` steps or once the whole budget is used, so a
 * slow backend costs about its budget plus one step, never hours.
 */
export class StepTimer {
  readonly plan: BenchPlan;
  #now: () => number;
  #start = 0;
  #last = 0;
  #warmupMs: number[] = [];
  #timedMs: number[] = [];
  #warm = false;
  #cut = false;
  #done = false;

  /** @param now The clock, in milliseconds (injectable for tests). */
  constructor(plan: BenchPlan, now: () => number = () => performance.now()) {
    this.plan = plan;
    this.#now = now;
  }

  /** Marks the start of the first step. */
  start(): void {
    this.#start = this.#last = this.#now();
  }

  /** Steps still to run at most (for trainers that need a step count up front). */
  get maxSteps(): number {
    return this.plan.warmup + this.plan.steps;
  }

  /** True once `lap()` returned false. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Records the step that just ended.
   *
   * @param onLap Told the step's milliseconds and whether it was a warm-up step.
   * @returns Whether to run another step.
   */
  lap(onLap?: (ms: number, warmup: boolean) => void): boolean {
    if (this.#done) return false;
    const now = this.#now();
    const ms = now - this.#last;
    this.#last = now;
    const elapsed = now - this.#start;
    const { warmup, steps, budgetMs } = this.plan;
    if (!this.#warm) {
      this.#warmupMs.push(ms);
      onLap?.(ms, true);
      if (this.#warmupMs.length >= warmup || elapsed >= budgetMs / 3) this.#warm = true;
    } else {
      this.#timedMs.push(ms);
      onLap?.(ms, false);
    }
    const timed = this.#timedMs.length;
    if (timed >= steps) this.#done = true;
    else if (timed >= 1 && elapsed >= budgetMs) {
      this.#done = this.#cut = true;
    }
    return !this.#done;
  }

  /** What was measured so far. */
  result(): StepTimes {
    const cut = this.#cut || (!this.#done && this.#timedMs.length < this.plan.steps);
    return { warmupMs: [...this.#warmupMs], timedMs: [...this.#timedMs], cut };
  }
}

/**
 * The median of some numbers (the mean of the middle two for an even count).
 *
 * @returns `NaN` for an empty list.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Rounds to `digits` decimals; `null` for anything not finite. */
export function round(value: number | null | undefined, digits = 3): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One measured (model, backend) pair, as the child process reports it. */
export interface Measurement {
  /** Median ms per timed step (per image for models timed per image); `null` when nothing ran. */
  msPerStep: number | null;
  /** Fastest and slowest timed step. */
  minMs: number | null;
  maxMs: number | null;
  /** Peak resident memory of the child process in MB. */
  peakMB: number | null;
  /** Timed steps done. */
  steps: number;
  /** Warm-up steps done. */
  warmupSteps: number;
  /** True when the time budget cut the run short. */
  cut: boolean;
  /** True when no timed step finished and `msPerStep` is the warm-up steps' median. */
  fromWarmup?: boolean;
  /** With `--profile`: the kernels that take the most time per step (from a second, profiled run). */
  topKernels?: { kernel: string; ms: number; calls: number }[];
}

/**
 * Summarises step times: median, min, max of the timed steps divided by
 * `per` (images per step for per-image models). Falls back to the warm-up
 * steps (flagged) when no timed step finished.
 */
export function summarize(times: StepTimes, peakMB: number | null, per = 1): Measurement {
  const fromWarmup = times.timedMs.length === 0 && times.warmupMs.length > 0;
  const ms = (fromWarmup ? times.warmupMs : times.timedMs).map((t) => t / per);
  return {
    msPerStep: round(median(ms)),
    minMs: ms.length ? round(Math.min(...ms)) : null,
    maxMs: ms.length ? round(Math.max(...ms)) : null,
    peakMB: round(peakMB, 1),
    steps: times.timedMs.length,
    warmupSteps: times.warmupMs.length,
    cut: times.cut || fromWarmup || times.timedMs.length === 0,
    ...(fromWarmup ? { fromWarmup: true } : {}),
  };
}

/** The PyTorch peer's JSON line for one model (bench_torch.py --json). */
export interface TorchResult {
  model: string;
  msPerStep: number;
  minMs?: number;
  maxMs?: number;
  threads?: number;
  peakMB?: number;
  torch?: string;
}

/** One row of the output: our numbers and PyTorch's for a (model, backend) pair. */
export interface BenchRow extends Partial<Measurement> {
  model: string;
  backend: string;
  msPerStep: number | null;
  peakMB: number | null;
  torchMsPerStep: number | null;
  torchPeakMB: number | null;
  /** Ours ÷ PyTorch's ms per step; `null` without a PyTorch time. */
  ratio: number | null;
  /** PyTorch's thread count (the faster of 1 and 2 with `--threads best`). */
  torchThreads?: number | null;
  /** Why the pair has no numbers (the child failed or was killed). */
  error?: string;
}

/** Joins our measurement of a pair with the PyTorch peer's numbers for its model. */
export function makeRow(
  model: string,
  backend: string,
  ours: Partial<Measurement> & { error?: string },
  torch: TorchResult | undefined,
): BenchRow {
  const msPerStep = ours.msPerStep ?? null;
  const torchMs = torch?.msPerStep ?? null;
  return {
    model,
    backend,
    ...ours,
    msPerStep,
    peakMB: ours.peakMB ?? null,
    torchMsPerStep: torchMs,
    torchPeakMB: torch?.peakMB ?? null,
    torchThreads: torch?.threads ?? null,
    ratio: msPerStep !== null && torchMs ? round(msPerStep / torchMs, 2) : null,
  };
}

/** A default `train:*` run timed with the backend `auto` picks. */
export interface TrainRun {
  /** The deno.json task, e.g. `train:vae`. */
  task: string;
  /** Wall-clock seconds of the whole process, `null` when skipped. */
  seconds: number | null;
  /** Peak resident memory of the process in MB (sampled). */
  peakMB: number | null;
  /** Exit code; `null` when skipped or killed. */
  exitCode: number | null;
  /** Why the run was skipped or cut short. */
  note?: string;
}

/** Everything one bench run found: the `--json` object. */
export interface BenchReport {
  /** The backend `auto` picks here (`wasm+blas` when the native BLAS kernels are on). */
  auto: string;
  rows: BenchRow[];
  /** Backends asked for that did not start, with the reason. */
  unavailable: Record<string, string>;
  /** The `train:*` runs, or the reason they were skipped. */
  trainRuns: TrainRun[];
  /** Timing settings and the machine's state. */
  settings: { steps: number; warmup: number; budgetSeconds: number };
  loadAverage: number[] | null;
  /** PyTorch's version, or why the peer did not run. */
  torch: string | null;
  torchNote?: string;
}

function cell(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined ? "–" : value.toFixed(digits);
}

/** The human-readable table of a report (what stdout gets without `--json`). */
export function formatTable(report: BenchReport): string {
  const header = ["model", "backend", "ms/step", "peak MB", "torch ms", "torch MB", "ratio", "steps", "note"];
  const lines: string[][] = [header];
  for (const r of report.rows) {
    const notes: string[] = [];
    if (r.backend === report.auto) notes.push("auto");
    if (r.cut) notes.push(r.fromWarmup ? "cut (warm-up only)" : "cut");
    if (r.error) notes.push(r.error);
    if (r.torchThreads) notes.push(`torch ${r.torchThreads} thr`);
    lines.push([
      r.model,
      r.backend,
      cell(r.msPerStep, r.msPerStep !== null && r.msPerStep < 10 ? 2 : 1),
      cell(r.peakMB, 0),
      cell(r.torchMsPerStep, r.torchMsPerStep !== null && r.torchMsPerStep < 10 ? 2 : 1),
      cell(r.torchPeakMB, 0),
      cell(r.ratio, 2),
      r.steps === undefined ? "–" : `${r.steps}+${r.warmupSteps ?? 0}`,
      notes.join(", "),
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const out = lines.map((l) =>
    l.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd()
  );
  out.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  const foot: string[] = [];
  const { steps, warmup, budgetSeconds } = report.settings;
  foot.push(
    `median of ${steps} timed steps after ${warmup} warm-up steps, ${budgetSeconds} s budget per row; ` +
      `steps = timed+warm-up done; ratio = ours / PyTorch`,
  );
  foot.push(`auto picks: ${report.auto}`);
  for (const [b, why] of Object.entries(report.unavailable)) foot.push(`${b}: unavailable (${why})`);
  foot.push(
    report.torch
      ? `PyTorch ${report.torch} (best of 1 and 2 threads)`
      : `PyTorch: ${report.torchNote ?? "not run"}`,
  );
  if (report.loadAverage) foot.push(`load average at the start: ${report.loadAverage.join(" ")}`);
  for (const t of report.trainRuns) {
    foot.push(
      t.seconds === null
        ? `${t.task}: skipped (${t.note})`
        : `${t.task} (${report.auto}): ${t.seconds.toFixed(1)} s, peak ${cell(t.peakMB, 0)} MB` +
          (t.exitCode ? `, exit code ${t.exitCode}` : "") + (t.note ? `, ${t.note}` : ""),
    );
  }
  return [...out, "", ...foot].join("\n");
}

/** The `--json` output: the report as one line. */
export function formatJson(report: BenchReport): string {
  return JSON.stringify(report);
}

/** Parses a comma-separated list flag; an empty or absent value gives `fallback`. */
export function parseList(
  value: string | undefined,
  fallback: readonly string[],
  known?: readonly string[],
): string[] {
  if (value === undefined || value.trim() === "") return [...fallback];
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (known) {
    const bad = items.filter((i) => !known.includes(i));
    if (bad.length) {
      throw new RangeError(`Unknown name(s) ${bad.join(", ")}: expected some of ${known.join(", ")}`);
    }
  }
  return items;
}

/** Peak resident memory (`VmHWM`) in MB from the text of `/proc/<pid>/status`; `null` when absent. */
export function peakFromProcStatus(text: string): number | null {
  const m = text.match(/^VmHWM:\s+(\d+)\s+kB/m);
  return m ? Number(m[1]) / 1024 : null;
}
