/**
 * `deno task bench`: the median milliseconds per training step of every
 * model on every backend that starts here, its peak memory, and the
 * PyTorch peer's numbers side by side.
 *
 * ```sh
 * deno task bench                                  # every model, every backend, table on stdout
 * deno task bench --models vae,lstm --backends wasm,wasm+blas --json
 * deno task bench --train-runs                     # also time the default train:* runs
 * ```
 *
 * Each (model, backend) pair runs in a fresh child process (`--child`), so
 * its peak memory is its own; a pair gets `--budget` seconds and is cut
 * short and marked when a backend is too slow. The models and their shapes
 * are in `_bench_models.ts`. With `--json`, stdout gets one object:
 * `{"auto", "rows": [{"model", "backend", "msPerStep", "peakMB",
 * "torchMsPerStep", "torchPeakMB", "ratio", ...}], ...}`.
 *
 * @module
 */
import { type FlagSpecs, parseFlags, runMain, UserError, writeStdout } from "@simple-nets/core/cli";
import { BENCH_MODELS, DEFAULT_MODELS } from "./_bench_models.ts";
import { BENCH_BACKENDS, runChild, runProbe } from "./_bench_child.ts";
import {
  measureInChild,
  probeBackends,
  ROOT,
  runTorch,
  timeTrainRun,
  type TorchPeer,
  trainTasks,
} from "./_bench_run.ts";
import {
  type BenchPlan,
  type BenchReport,
  type BenchRow,
  formatJson,
  formatTable,
  makeRow,
  parseList,
  type TorchResult,
} from "./_bench_stats.ts";

/** The PyTorch peer beside this repository, used when `--torch-bench` is not given. */
const DEFAULT_TORCH_BENCH = `${ROOT}../shared/reference/bench_torch.py`;

const FLAGS = {
  json: { type: "boolean", default: false, help: "print one JSON object on one line instead of a table" },
  models: {
    type: "string",
    placeholder: "A,B",
    help: `models to time, of ${BENCH_MODELS.map((m) => m.name).join(",")} (default: all but smoothgrad10)`,
  },
  backends: {
    type: "string",
    placeholder: "A,B",
    help: `backends to time, of ${
      BENCH_BACKENDS.join(",")
    }; those that do not start are listed (default: all)`,
  },
  steps: { type: "int", min: 1, default: 20, help: "timed steps per row (as bench_torch.py)" },
  warmup: { type: "int", min: 1, default: 3, help: "untimed steps first (as bench_torch.py)" },
  budget: {
    type: "number",
    min: 0,
    exclusiveMin: true,
    default: 60,
    help: "seconds per (model, backend) for its steps; a slower row is cut short and marked",
  },
  "torch-bench": {
    type: "string",
    placeholder: "PATH",
    help:
      "the PyTorch peer bench_torch.py, or 'none' (default: ../shared/reference/bench_torch.py when it exists)",
  },
  python: {
    type: "string",
    placeholder: "PATH",
    help: "the Python that runs the peer (default: /usr/bin/python3 when it exists, else python3)",
  },
  profile: {
    type: "boolean",
    default: false,
    help:
      "also list each row's top kernels per step (tf.profile over a second, short run) in stderr and JSON",
  },
  "train-runs": {
    type: "boolean",
    default: false,
    help: "also time each default train:* run with the backend auto picks (minutes each)",
  },
  "train-timeout": {
    type: "int",
    min: 1,
    default: 1800,
    help: "seconds after which a train:* run is killed",
  },
} as const satisfies FlagSpecs;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function log(line: string): void {
  console.error(line);
}

async function torchPeer(flags: { "torch-bench"?: string; python?: string }): Promise<TorchPeer> {
  const python = flags.python ?? ((await exists("/usr/bin/python3")) ? "/usr/bin/python3" : "python3");
  const given = flags["torch-bench"];
  if (given === "none") return { script: null, python, broken: "off (--torch-bench none)" };
  if (given !== undefined) {
    if (!(await exists(given))) throw new UserError(`--torch-bench ${given} does not exist`);
    return { script: given, python };
  }
  if (await exists(DEFAULT_TORCH_BENCH)) return { script: Deno.realPathSync(DEFAULT_TORCH_BENCH), python };
  return { script: null, python, broken: `not run (no ${DEFAULT_TORCH_BENCH})` };
}

function describe(row: BenchRow): string {
  const ms = row.msPerStep === null ? "–" : `${row.msPerStep} ms`;
  const extra = [
    row.peakMB !== null ? `${row.peakMB} MB` : "",
    row.ratio !== null ? `ratio ${row.ratio}` : "",
    row.cut ? `cut after ${row.steps}+${row.warmupSteps} steps` : "",
    row.error ?? "",
  ].filter(Boolean);
  return `  ${row.model} on ${row.backend}: ${ms} (${extra.join(", ")})`;
}

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args, FLAGS, {
    command: "bench",
    description: "Median ms per training step of every model on every backend, with PyTorch side by side.",
  });
  const names = BENCH_MODELS.map((m) => m.name);
  let models: string[], backends: string[];
  try {
    models = parseList(flags.models, DEFAULT_MODELS, names);
    backends = parseList(flags.backends, BENCH_BACKENDS, BENCH_BACKENDS);
  } catch (e) {
    throw new UserError(`--models/--backends: ${(e as Error).message}`);
  }
  const plan: BenchPlan = { steps: flags.steps, warmup: flags.warmup, budgetMs: flags.budget * 1000 };
  const loadAverage = Deno.loadavg().map((l) => Math.round(l * 100) / 100);
  log(`load average ${loadAverage.join(" ")} on ${navigator.hardwareConcurrency} CPUs`);

  const probe = await probeBackends(backends);
  for (const note of probe.notes) log(`auto: ${note}`);
  log(`auto picks ${probe.auto}${probe.blasLibrary ? ` (${probe.blasLibrary})` : ""}`);
  for (const [b, why] of Object.entries(probe.unavailable)) log(`${b}: unavailable (${why})`);
  const runnable = backends.filter((b) => !(b in probe.unavailable));
  const unavailable = { ...probe.unavailable };

  const peer = await torchPeer(flags);
  let torchVersion: string | null = null;
  const rows: BenchRow[] = [];
  const stalled = new Map<string, string>();
  for (const model of models) {
    const entry = BENCH_MODELS.find((m) => m.name === model)!;
    log(`${model}: ${entry.step} [${entry.via}]`);
    const scale = entry.stepScale ?? 1;
    const rowPlan = { ...plan, steps: plan.steps * scale, warmup: plan.warmup * scale };
    let torch: TorchResult | undefined;
    if (peer.script && !peer.broken) {
      const result = await runTorch(peer, model, rowPlan, log);
      if ("error" in result) {
        log(`  torch: ${result.error}`);
        // An import failure repeats for every model; a model the peer lacks does not.
        if (!/invalid choice/.test(result.error)) peer.broken = `failed: ${result.error}`;
      } else {
        torch = result;
        torchVersion = result.torch ?? torchVersion;
        log(`  ${model} on PyTorch: ${result.msPerStep} ms (${result.threads} threads, ${result.peakMB} MB)`);
      }
    }
    for (const backend of runnable) {
      if (backend in unavailable) continue;
      if (stalled.has(backend)) {
        rows.push(makeRow(model, backend, { error: stalled.get(backend) }, torch));
        log(describe(rows.at(-1)!));
        continue;
      }
      const outcome = await measureInChild(model, backend, rowPlan, entry.per ?? 1, {
        profile: flags.profile,
      });
      if (outcome.kind === "unavailable") {
        unavailable[backend] = outcome.reason;
        log(`  ${backend}: unavailable (${outcome.reason})`);
        continue;
      }
      const row = outcome.kind === "measured"
        ? makeRow(model, backend, outcome.measurement, torch)
        : makeRow(model, backend, { ...outcome.measurement, error: outcome.error }, torch);
      rows.push(row);
      log(describe(row));
      for (const k of row.topKernels ?? []) {
        log(`    ${k.kernel.padEnd(24)} ${k.ms.toFixed(2).padStart(9)} ms ${k.calls} calls`);
      }
      if (
        outcome.kind === "failed" && outcome.error.startsWith("killed") && !outcome.measurement?.warmupSteps
      ) {
        // A backend that cannot finish one step of one model in twice the budget is not waited on again.
        stalled.set(
          backend,
          `skipped: no step finished on ${model} in ${outcome.error.replace("killed after ", "")}`,
        );
      }
    }
  }

  const trainRuns = [];
  for (const task of await trainTasks()) {
    if (!flags["train-runs"]) {
      trainRuns.push({
        task: task.task,
        seconds: null,
        peakMB: null,
        exitCode: null,
        note: "pass --train-runs",
      });
      continue;
    }
    log(`${task.task}: default run on ${probe.auto} ...`);
    const run = await timeTrainRun(task, flags["train-timeout"] * 1000);
    log(`  ${run.task}: ${run.seconds ?? "–"} s${run.note ? ` (${run.note})` : ""}`);
    trainRuns.push(run);
  }

  const report: BenchReport = {
    auto: probe.auto,
    rows,
    unavailable,
    trainRuns,
    settings: { steps: plan.steps, warmup: plan.warmup, budgetSeconds: flags.budget },
    loadAverage,
    torch: torchVersion,
    ...(torchVersion ? {} : { torchNote: peer.broken ?? "not run" }),
  };
  await writeStdout((flags.json ? formatJson(report) : formatTable(report)) + "\n");
}

// Internal modes: `--child MODEL BACKEND STEPS WARMUP BUDGET_MS` and `--probe BACKENDS`.
if (Deno.args[0] === "--child") {
  const [model, backend, steps, warmup, budgetMs, profile] = Deno.args.slice(1);
  const plan = { steps: Number(steps), warmup: Number(warmup), budgetMs: Number(budgetMs) };
  await runMain(() => runChild(model, backend, plan, profile === "--profile"));
} else if (Deno.args[0] === "--probe") {
  await runMain(() => runProbe(Deno.args[1].split(",")));
} else {
  await runMain(main);
}
