/**
 * What runs inside the bench's child processes: one (model, backend) pair
 * per process, so that its peak memory is its own, and one probe of which
 * backends start here and which one `auto` picks. Children talk to the
 * parent in JSON lines on stdout.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "@simple-nets/core/backend";
import { BENCH_MODELS, type BenchModel } from "./_bench_models.ts";
import { type BenchPlan, peakFromProcStatus, StepTimer, summarize } from "./_bench_stats.ts";

/** The backends a row can be measured on; `wasm+blas` is wasm with core's native OpenBLAS kernels. */
export const BENCH_BACKENDS: readonly string[] = ["cpu", "wasm", "wasm+blas", "webgpu"];

function send(message: Record<string, unknown>): void {
  console.log(JSON.stringify(message));
}

/** Peak resident memory of this process in MB (`VmHWM`; the current RSS where /proc is absent). */
export function ownPeakMB(): number {
  try {
    const peak = peakFromProcStatus(Deno.readTextFileSync("/proc/self/status"));
    if (peak !== null) return peak;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss / 2 ** 20;
}

/**
 * Starts a bench backend.
 *
 * @returns `undefined` when it runs, else why it cannot start here.
 */
export async function startBenchBackend(backend: string): Promise<string | undefined> {
  try {
    if (backend === "wasm+blas") {
      const { enableNativeBlas } = await import("@simple-nets/core/native");
      await useBackend("wasm");
      const blas = enableNativeBlas();
      return blas.enabled ? undefined : blas.reason;
    }
    await useBackend(backend as "cpu" | "wasm" | "webgpu");
    return undefined;
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}

/**
 * The child process of one (model, backend) pair: streams `{"lap": ms,
 * "warmup": bool}` per step, then `{"result": Measurement}`, or
 * `{"unavailable": reason}` when the backend does not start.
 */
export async function runChild(
  model: string,
  backend: string,
  plan: BenchPlan,
  profile = false,
): Promise<void> {
  const entry = BENCH_MODELS.find((m) => m.name === model);
  if (!entry) throw new RangeError(`Unknown bench model "${model}"`);
  const why = await startBenchBackend(backend);
  if (why !== undefined) return send({ unavailable: why });
  const timer = new StepTimer(plan);
  await entry.run(timer, (ms, warmup) => send({ lap: ms, warmup }));
  const result = summarize(timer.result(), ownPeakMB(), entry.per ?? 1);
  if (profile) send({ profile: await profileKernels(entry) });
  send({ result });
}

/** One kernel's share of a step, from `tf.profile`. */
export interface KernelShare {
  kernel: string;
  /** Milliseconds per step (kernel time only, no JavaScript between kernels). */
  ms: number;
  /** Calls per step. */
  calls: number;
}

/**
 * A second, short run of the model (1 warm-up step + 3 steps) under
 * `tf.profile`: the 10 kernels that take the most time per timed step, and
 * the kernels' total as `(all kernels)`.
 */
async function profileKernels(entry: BenchModel): Promise<KernelShare[]> {
  const timer = new StepTimer({ warmup: 1, steps: 3, budgetMs: 60_000 });
  // The engine's running profile (internal), to leave out the kernels of setup and the warm-up step.
  const active = () =>
    (tf.engine().state as unknown as { activeProfile: { kernels: unknown[] } }).activeProfile;
  let firstTimed = 0;
  const info = await tf.profile(() =>
    entry.run(timer, (_ms, warmup) => {
      if (warmup) firstTimed = active().kernels.length;
    })
  );
  const done = Math.max(timer.result().timedMs.length, 1);
  const kernels = info.kernels.slice(firstTimed);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms;
    entry.calls++;
    total += ms;
    byKernel.set(k.name, entry);
  }
  const per = (v: number) => Math.round((v / done) * 100) / 100;
  return [
    { kernel: "(all kernels)", ms: per(total), calls: per(kernels.length) },
    ...[...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)
      .map(([kernel, v]) => ({ kernel, ms: per(v.ms), calls: per(v.calls) })),
  ];
}

/**
 * Why the active backend cannot give a computed tensor's values back
 * synchronously, or `undefined` when it can. Every package's step reads its
 * losses with `dataSync()`; tfjs-backend-webgpu 4.22 reads a GPU-resident
 * tensor synchronously through a 2D canvas, which Deno lacks.
 */
function syncReadProblem(): string | undefined {
  try {
    tf.tidy(() => {
      const x = tf.ones([64, 64]);
      tf.matMul(x, x).sum().dataSync();
    });
    return undefined;
  } catch (e) {
    return `starts, but dataSync() of a computed tensor fails (${(e as Error).message.split("\n")[0]}), ` +
      "and every package's training step reads its loss with dataSync()";
  }
}

/**
 * The probe: which of `backends` start here (`{"unavailable": {name:
 * reason}}`) and what `auto` picks with the native module imported, as
 * every CLI does (`{"auto": "wasm+blas"}` when it turns the BLAS kernels on).
 */
export async function runProbe(backends: readonly string[]): Promise<void> {
  const { enableNativeBlas } = await import("@simple-nets/core/native");
  const info = await useBackend("auto");
  const blas = info.name === "wasm" ? enableNativeBlas() : undefined;
  const auto = blas?.enabled ? "wasm+blas" : info.name;
  const unavailable: Record<string, string> = {};
  for (const backend of backends) {
    if (backend === "cpu" || backend === auto) continue;
    if (backend === "webgpu") {
      const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } })?.gpu;
      const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
      if (!adapter) unavailable[backend] = gpu ? "no WebGPU adapter" : "no navigator.gpu";
      else {
        const why = (await startBenchBackend(backend)) ?? syncReadProblem();
        if (why !== undefined) unavailable[backend] = why;
      }
      continue;
    }
    const why = await startBenchBackend(backend);
    if (why !== undefined) unavailable[backend] = why;
  }
  // the libraries behind wasm+blas: OpenBLAS, and oneDNN when it runs the convolutions
  const libraries = blas?.enabled ? [blas.library, blas.dnnl ?? "no oneDNN"].join(" + ") : null;
  send({ auto, unavailable, notes: info.notes, blasLibrary: libraries });
}
