/**
 * The bench's parent side: child processes for each (model, backend) pair,
 * the PyTorch peer, and the default `train:*` runs, each with a time limit
 * and its peak memory.
 *
 * @module
 */
import {
  type BenchPlan,
  type Measurement,
  peakFromProcStatus,
  round,
  type StepTimes,
  summarize,
  type TorchResult,
  type TrainRun,
} from "./_bench_stats.ts";

/** The repository root. */
export const ROOT: string = new URL("../", import.meta.url).pathname;
const BENCH = new URL("./bench.ts", import.meta.url).pathname;

/** Splits a byte stream into text lines and hands each one over as it arrives. */
async function eachLine(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    parts.forEach(onLine);
  }
  if (rest) onLine(rest);
}

/** Collects a stream's text, keeping the last `keep` characters. */
async function tail(stream: ReadableStream<Uint8Array>, keep = 4000): Promise<string> {
  let text = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text = (text + chunk).slice(-keep);
  return text;
}

function procPeakMB(pid: number): number | null {
  try {
    return peakFromProcStatus(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return null;
  }
}

function lastLine(text: string): string {
  return text.trim().split("\n").filter((l) => l.trim()).pop()?.trim() ?? "";
}

/** What a child reported for one pair. */
export type ChildOutcome =
  | { kind: "measured"; measurement: Measurement }
  | { kind: "unavailable"; reason: string }
  | { kind: "failed"; error: string; measurement?: Measurement };

/**
 * Measures one (model, backend) pair in a fresh `deno run` process. A child
 * that outlives twice its budget plus `graceMs` (startup, compilation) is
 * killed; the steps it streamed before are still reported, marked cut.
 */
export async function measureInChild(
  model: string,
  backend: string,
  plan: BenchPlan,
  per: number,
  options: { profile?: boolean; graceMs?: number } = {},
): Promise<ChildOutcome> {
  const { profile = false, graceMs = 60_000 } = options;
  const args = [
    "run",
    "-A",
    BENCH,
    "--child",
    model,
    backend,
    String(plan.steps),
    String(plan.warmup),
    String(plan.budgetMs),
    ...(profile ? ["--profile"] : []),
  ];
  const child = new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stdout: "piped", stderr: "piped" })
    .spawn();
  let killedPeak: number | null = null;
  let killed = false;
  const timer = setTimeout(() => {
    killedPeak = procPeakMB(child.pid);
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, 2 * plan.budgetMs + graceMs);
  const times: StepTimes = { warmupMs: [], timedMs: [], cut: true };
  let result: Measurement | undefined;
  let unavailable: string | undefined;
  let kernels: Measurement["topKernels"];
  const stderr = tail(child.stderr);
  await eachLine(child.stdout, (line) => {
    if (!line.startsWith("{")) return;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    if (typeof message.lap === "number") (message.warmup ? times.warmupMs : times.timedMs).push(message.lap);
    else if (message.result) result = message.result as Measurement;
    else if (message.profile) kernels = message.profile as Measurement["topKernels"];
    else if (typeof message.unavailable === "string") unavailable = message.unavailable;
  });
  const status = await child.status;
  clearTimeout(timer);
  const errText = await stderr;
  if (result) return { kind: "measured", measurement: kernels ? { ...result, topKernels: kernels } : result };
  if (unavailable !== undefined) return { kind: "unavailable", reason: unavailable };
  const partial = times.warmupMs.length || times.timedMs.length
    ? summarize(times, killedPeak, per)
    : undefined;
  const error = killed
    ? `killed after ${Math.round((2 * plan.budgetMs + graceMs) / 1000)} s`
    : `exit code ${status.code}: ${lastLine(errText).slice(0, 300)}`;
  return { kind: "failed", error, measurement: partial };
}

/** Whether the PyTorch peer can run: its version, or why not. */
export interface TorchPeer {
  /** The script, or `null` when the peer is off. */
  script: string | null;
  /** The Python interpreter. */
  python: string;
  /** Set once a run failed in a way that every later run would repeat. */
  broken?: string;
}

/**
 * Runs `bench_torch.py --model NAME --threads best --json` with the same
 * steps and warm-up; its per-thread times go to stderr as progress.
 *
 * @returns Its JSON line, or an error line.
 */
export async function runTorch(
  peer: TorchPeer,
  model: string,
  plan: BenchPlan,
  log: (line: string) => void,
  timeoutMs = 900_000,
): Promise<TorchResult | { error: string }> {
  const args = [
    peer.script!,
    "--model",
    model,
    "--threads",
    "best",
    "--json",
    "--steps",
    String(plan.steps),
    "--warmup",
    String(plan.warmup),
  ];
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(peer.python, { args, stdout: "piped", stderr: "piped" }).spawn();
  } catch (e) {
    return { error: `cannot run ${peer.python}: ${(e as Error).message.split("\n")[0]}` };
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const [out, err, status] = await Promise.all([tail(child.stdout), tail(child.stderr), child.status]);
  clearTimeout(timer);
  for (const line of err.trim().split("\n")) if (line.includes(" ms at ")) log(`  torch ${line.trim()}`);
  if (!status.success) return { error: `exit code ${status.code}: ${lastLine(err).slice(0, 300)}` };
  try {
    return JSON.parse(lastLine(out)) as TorchResult;
  } catch {
    return { error: `no JSON line from ${peer.script}` };
  }
}

/** The `train:*` tasks of the root deno.json and the commands they run. */
export async function trainTasks(): Promise<{ task: string; args: string[]; main: string }[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const out: { task: string; args: string[]; main: string }[] = [];
  for (const [task, value] of Object.entries(config.tasks ?? {})) {
    if (!task.startsWith("train:")) continue;
    const command = typeof value === "string" ? value : (value as { command: string }).command;
    const words = command.trim().split(/\s+/);
    if (words[0] !== "deno") continue;
    out.push({ task, args: words.slice(1), main: words.find((w) => w.endsWith(".ts")) ?? "" });
  }
  return out;
}

/**
 * Times one default `train:*` run (the task's own command, with `--out` in a
 * temporary folder that is removed afterwards), sampling its peak memory.
 */
export async function timeTrainRun(
  task: { task: string; args: string[]; main: string },
  timeoutMs: number,
): Promise<TrainRun> {
  try {
    await Deno.stat(`${ROOT}${task.main}`);
  } catch {
    return {
      task: task.task,
      seconds: null,
      peakMB: null,
      exitCode: null,
      note: `${task.main} is not there yet`,
    };
  }
  const out = await Deno.makeTempDir({ prefix: "bench-train-" });
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [...task.args, "--out", `${out}/run`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let peak: number | null = null;
  const sample = () => {
    const p = procPeakMB(child.pid);
    if (p !== null) peak = Math.max(peak ?? 0, p);
  };
  const poll = setInterval(sample, 500);
  let killed = false;
  const timer = setTimeout(() => {
    sample();
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, timeoutMs);
  const [, err, status] = await Promise.all([tail(child.stdout), tail(child.stderr), child.status]);
  clearInterval(poll);
  clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  return {
    task: task.task,
    seconds: round(seconds, 1),
    peakMB: round(peak, 1),
    exitCode: killed ? null : status.code,
    ...(killed
      ? { note: `killed after ${Math.round(timeoutMs / 1000)} s` }
      : status.success
      ? {}
      : { note: lastLine(err).slice(0, 300) }),
  };
}

/** Runs the probe child: which backends start, and what `auto` picks. */
export async function probeBackends(
  backends: readonly string[],
): Promise<
  { auto: string; unavailable: Record<string, string>; notes: string[]; blasLibrary: string | null }
> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, "--probe", backends.join(",")],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  });
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  try {
    return JSON.parse(lastLine(text));
  } catch {
    throw new Error(
      `The backend probe failed (exit code ${out.code}): ${lastLine(new TextDecoder().decode(out.stderr))}`,
    );
  }
}
