/**
 * Command-line helpers shared by every package's `main.ts`: flag parsing
 * with `--help`, one-line user errors and exit codes, run folders,
 * progress on stderr, `metrics.jsonl`, Ctrl-C handling and atomic writes.
 *
 * This is the only core module besides the I/O modules that prints or
 * exits; libraries never import it.
 *
 * @module
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { CheckpointError, type CheckpointMeta, findCheckpoint, readCheckpointMeta } from "./checkpoint.ts";
import { DataError } from "./data/types.ts";
import { NonFiniteLossError, type TrainEvent } from "./train.ts";
import { type BackendName, useBackend } from "./backend.ts";

/** A mistake of the user's (bad flag, file, value): printed as one `error:` line, exit code 1. */
export class UserError extends Error {
  /** Creates the error; the message names the thing, the value and what was expected. */
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

class HelpRequested extends Error {
  constructor(readonly text: string) {
    super("help");
  }
}

/** How one flag is parsed and described. */
export interface FlagSpec {
  /** Value type: whole number, number, text, on/off switch, or comma-separated whole numbers. */
  type: "int" | "number" | "string" | "boolean" | "ints";
  /** Help text, one line. */
  help: string;
  /** Default value; a flag without one is optional and `undefined` when absent. */
  default?: number | string | boolean | number[];
  /** Smallest allowed value (numbers). */
  min?: number;
  /** Largest allowed value (numbers). */
  max?: number;
  /** True when the minimum itself is not allowed (e.g. a learning rate > 0). */
  exclusiveMin?: boolean;
  /** Allowed values (text). */
  choices?: readonly string[];
  /** Name of the value in the help, e.g. `DIR`. */
  placeholder?: string;
}

/** Flag specs by kebab-case name. */
export type FlagSpecs = Record<string, FlagSpec>;

/** The parsed value type of one flag spec. */
export type ValueOf<F extends FlagSpec> = F["type"] extends "boolean" ? boolean
  : F["type"] extends "int" | "number" ? number
  : F["type"] extends "ints" ? number[]
  : F extends { choices: readonly (infer C)[] } ? C
  : string;

/** Parsed flag values, typed from the specs; `given` names the flags set on the command line. */
export type FlagValues<S extends FlagSpecs> =
  & { [K in keyof S]: S[K] extends { default: unknown } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined }
  & { given: Set<string> };

/** Flags every command understands. */
export const HELP_FLAG: FlagSpecs = {
  help: { type: "boolean", help: "show this help and exit", default: false },
};

function describeDefault(spec: FlagSpec): string {
  if (spec.default === undefined || spec.type === "boolean") return "";
  const value = Array.isArray(spec.default) ? spec.default.join(",") : String(spec.default);
  return ` (default: ${value})`;
}

/** The `--help` text for a command. */
export function helpText(command: string, description: string, specs: FlagSpecs): string {
  const rows = Object.entries({ ...specs, ...HELP_FLAG }).map(([name, spec]) => {
    const placeholder = spec.type === "boolean"
      ? ""
      : ` ${
        spec.placeholder ?? (spec.choices
          ? spec.choices.join("|")
          : spec.type === "string"
          ? "TEXT"
          : spec.type === "ints"
          ? "N,N"
          : "N")
      }`;
    return [`  --${name}${placeholder}`, spec.help + describeDefault(spec)];
  });
  const width = Math.max(...rows.map((r) => r[0].length)) + 2;
  return `${description}\n\nUsage: deno task ${command} [flags]\n\nFlags:\n` +
    rows.map(([a, b]) => a.padEnd(width) + b).join("\n") + "\n";
}

function parseValue(name: string, raw: string, spec: FlagSpec): number | string | number[] {
  const number = (text: string) => {
    const value = text.trim() === "" ? NaN : Number(text);
    if (!Number.isFinite(value)) {
      throw new UserError(`--${name} must be a number, got "${raw}"`);
    }
    if (spec.type !== "number" && !Number.isInteger(value)) {
      throw new UserError(`--${name} must be a whole number, got "${raw}"`);
    }
    if (spec.min !== undefined && (value < spec.min || (spec.exclusiveMin && value === spec.min))) {
      throw new UserError(`--${name} must be ${spec.exclusiveMin ? ">" : ">="} ${spec.min}, got ${raw}`);
    }
    if (spec.max !== undefined && value > spec.max) {
      throw new UserError(`--${name} must be <= ${spec.max}, got ${raw}`);
    }
    return value;
  };
  if (spec.type === "int" || spec.type === "number") return number(raw);
  if (spec.type === "ints") {
    if (raw.trim() === "") {
      throw new UserError(`--${name} must be a comma-separated list of whole numbers, got ""`);
    }
    return raw.split(",").map(number);
  }
  if (spec.choices && !spec.choices.includes(raw)) {
    throw new UserError(`--${name} must be one of ${spec.choices.join(", ")}, got "${raw}"`);
  }
  return raw;
}

/**
 * Parses command-line flags; `--help` prints the help (via {@linkcode runMain}) and exits 0.
 *
 * @throws {UserError} on an unknown flag, a missing value, a bad number or an impossible value.
 */
export function parseFlags<S extends FlagSpecs>(
  args: string[],
  specs: S,
  usage: { command: string; description: string },
): FlagValues<S> {
  const all: FlagSpecs = { ...specs, ...HELP_FLAG };
  // node's parseArgs takes "-1" after "--lr" for a flag: join negative numbers to their flag (so that the
  // range check names them), and name a flag whose value is missing
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i].match(/^--([^=]+)$/)?.[1];
    const next = args[i + 1];
    if (flag && all[flag] && all[flag].type !== "boolean" && next !== undefined && next.startsWith("-")) {
      if (!/^-(\d|\.\d|Infinity)/.test(next)) {
        throw new UserError(`--${flag} needs a value, got the flag ${next}`);
      }
      joined.push(`--${flag}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: joined,
      options: Object.fromEntries(
        Object.entries(all).map(([k, s]) => [k, { type: s.type === "boolean" ? "boolean" : "string" }]),
      ) as Record<string, { type: "string" | "boolean" }>,
      strict: true,
      allowPositionals: false,
    });
  } catch (e) {
    const message = (e as Error).message;
    const unknown = message.match(/Unknown option '([^']+)'/);
    if (unknown) throw new UserError(`unknown flag ${unknown[1]} (see --help)`);
    const positional = message.match(/Unexpected argument '([^']+)'/);
    if (positional) {
      throw new UserError(`unexpected argument "${positional[1]}" (flags start with --, see --help)`);
    }
    const missing = message.match(/^Option '--([^ ']+) <value>' argument missing/);
    if (missing) throw new UserError(`--${missing[1]} needs a value (see --help)`);
    throw new UserError(message.split("\n")[0].replace(/^Option '([^']+)'/, "flag $1"));
  }
  if (parsed.values.help) throw new HelpRequested(helpText(usage.command, usage.description, specs));
  const out: Record<string, unknown> = { given: new Set(Object.keys(parsed.values)) };
  for (const [name, spec] of Object.entries(specs)) {
    const raw = parsed.values[name];
    if (raw === undefined) out[name] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
    else if (typeof raw === "boolean") out[name] = raw;
    else out[name] = parseValue(name, raw as string, spec);
  }
  return out as FlagValues<S>;
}

/**
 * Runs a command's main function: prints user errors as one `error:` line
 * and exits 1; `--help` exits 0; an interrupted run returns 130.
 */
export async function runMain(main: () => Promise<number | void>): Promise<never> {
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (e) {
    if (e instanceof HelpRequested) {
      await writeStdout(e.text);
      code = 0;
    } else if (isUserError(e)) {
      console.error(`error: ${(e as Error).message}`);
      code = 1;
    } else {
      console.error(`error: unexpected failure, please report it:\n${(e as Error)?.stack ?? e}`);
      code = 1;
    }
  }
  Deno.exit(code);
}

/** True for the errors {@linkcode runMain} reports as one line. */
export function isUserError(e: unknown): boolean {
  return e instanceof UserError || e instanceof DataError || e instanceof CheckpointError ||
    e instanceof NonFiniteLossError;
}

/** Writes text to stdout completely. */
export async function writeStdout(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

/** Prints the run's summary: one JSON line with `json`, else `key: value` lines. */
export async function printSummary(summary: Record<string, unknown>, json: boolean): Promise<void> {
  if (json) {
    await writeStdout(JSON.stringify(summary) + "\n");
  } else {
    const width = Math.max(...Object.keys(summary).map((k) => k.length)) + 1;
    await writeStdout(
      Object.entries(summary).map(([k, v]) =>
        `${(k + ":").padEnd(width)} ${
          typeof v === "number" ? formatNumber(v) : typeof v === "string" ? v : JSON.stringify(v)
        }`
      ).join("\n") + "\n",
    );
  }
}

/** A number with about 5 significant digits, as printed in progress lines. */
export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : v.toPrecision(5).replace(/\.?0+$/, "");
}

/** `runs/<package>-<YYYYMMDD-HHMMSS>`, the default run folder. */
export function defaultRunDir(pkg: string, now: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `runs/${pkg}-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-` +
    `${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  await checkFolderPath(dir, "out", { create: true });
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw new UserError(`--out ${dir} cannot be used as a folder: ${(e as Error).message.split("\n")[0]}`);
  }
}

/**
 * Checks a folder flag's path before any work starts: it must not name a
 * file, and with `create` no file may stand where one of the folders
 * leading to it would be made (`mkdir` would fail later, after the work).
 * A missing path is fine.
 *
 * @param path The folder (nothing is checked when `undefined`).
 * @param flag The flag that named it, for the message.
 * @throws {UserError} naming the path and the file in the way.
 */
export async function checkFolderPath(
  path: string | undefined,
  flag: string,
  options: { create?: boolean } = {},
): Promise<void> {
  if (path === undefined) return;
  for (let p = path;; p = dirname(p)) {
    const info = await Deno.stat(p).catch((e) => {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return undefined;
      throw e;
    });
    if (info?.isDirectory) return;
    if (info) {
      throw new UserError(
        p === path
          ? `--${flag} ${path} is a file, expected a folder`
          : `--${flag} ${path} cannot be created: ${p} is a file, expected a folder`,
      );
    }
    if (!options.create || p === dirname(p)) return;
  }
}

/**
 * Checks an output file's path (`--out FILE.png` of sample commands) before
 * any work starts: its folder must exist, and it must not be a folder.
 *
 * @param path The file to write.
 * @param flag The flag that named it, for the message.
 * @throws {UserError} naming the path and what was expected.
 */
export async function checkOutFile(path: string, flag = "out"): Promise<void> {
  const folder = dirname(path);
  const info = await Deno.stat(folder).catch(() => undefined);
  if (!info?.isDirectory) {
    throw new UserError(`--${flag} ${path}: folder ${folder} does not exist, expected an existing folder`);
  }
  if ((await Deno.stat(path).catch(() => undefined))?.isDirectory) {
    throw new UserError(`--${flag} ${path} is a folder, expected a file`);
  }
}

/**
 * Checks a new run's `--out` folder before any work starts. A missing or
 * empty folder is fine (`undefined`); a folder holding a checkpoint of the
 * same run (`isSameRun` says so) is returned as the folder to resume;
 * anything else is refused.
 *
 * @throws {UserError} for a non-empty folder that is not a checkpoint of this run.
 */
export async function checkOutDir(
  dir: string,
  isSameRun: (meta: CheckpointMeta) => boolean,
): Promise<string | undefined> {
  if (await isEmptyOrMissing(dir)) return undefined;
  try {
    await findCheckpoint(dir);
    const meta = await readCheckpointMeta(dir);
    if (isSameRun(meta)) return dir;
  } catch {
    // not a checkpoint: refused below
  }
  throw new UserError(
    `--out ${dir} is not empty and holds no checkpoint of this run; choose a new folder or use --resume ${dir}`,
  );
}

/**
 * Writes a file atomically (a temporary file, then a rename), so a failed
 * run never leaves a partial file or destroys an existing one.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${Date.now().toString(36)}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Appends records to a run's `metrics.jsonl`. When resuming at step `s`,
 * lines logged after `s` (after the checkpoint that is resumed) are dropped
 * first, so the log reads like one uninterrupted run.
 */
export class MetricsLog {
  #path: string;
  #lines: string[] = [];

  private constructor(path: string) {
    this.#path = path;
  }

  /** Opens (and when resuming trims) a metrics log. */
  static async open(path: string, resumeStep?: number): Promise<MetricsLog> {
    const log = new MetricsLog(path);
    if (resumeStep !== undefined) {
      const kept = (await readMetrics(path)).filter((r) =>
        typeof r.step !== "number" || r.step <= resumeStep
      );
      log.#lines = kept.map((r) => JSON.stringify(r));
      await writeFileAtomic(path, log.#lines.map((l) => l + "\n").join(""));
    } else {
      await Deno.writeTextFile(path, "");
    }
    return log;
  }

  /** Appends one record as a JSON line. */
  async append(record: Record<string, unknown>): Promise<void> {
    const line = JSON.stringify(record);
    this.#lines.push(line);
    await Deno.writeTextFile(this.#path, line + "\n", { append: true });
  }

  /** Every record written so far (including the kept ones of a resumed run). */
  records(): Record<string, number | string>[] {
    return this.#lines.map((l) => JSON.parse(l));
  }
}

/** Reads a `metrics.jsonl` file; a missing file reads as no records. */
export async function readMetrics(path: string): Promise<Record<string, number | string>[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return [];
  }
  return text.split("\n").filter((l) => l.trim()).flatMap((l) => {
    try {
      return [JSON.parse(l)];
    } catch {
      return [];
    }
  });
}

/**
 * An AbortSignal that Ctrl-C (SIGINT) or SIGTERM aborts. Two SIGINTs
 * within a second count as one (`deno task` can forward one Ctrl-C
 * twice); a second Ctrl-C later than that exits at once with 130.
 */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let first = 0;
  const onSignal = () => {
    const now = performance.now();
    if (!controller.signal.aborted) {
      first = now;
      console.error(
        "\ninterrupted: finishing the current step and writing a checkpoint (Ctrl-C again to quit now)",
      );
      controller.abort();
    } else if (now - first > 1000) {
      Deno.exit(130);
    }
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const s of signals) Deno.removeSignalListener(s, onSignal);
    },
  };
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? `${h}:${String(m).padStart(2, "0")}` : String(m)) + `:${String(r).padStart(2, "0")}`;
}

/**
 * Progress on stderr: a live bar on a terminal, else a plain line about
 * every 5% of the run or every 30 seconds. Evaluations and notes are
 * printed as lines in both cases.
 */
export class Progress {
  #tty: boolean;
  #lastLine = 0;
  #lastFraction = -1;
  #barShown = false;
  #label: string;

  /** Creates a reporter; `label` starts every line (e.g. `"vae"`). */
  constructor(label: string, tty: boolean = Deno.stderr.isTerminal()) {
    this.#label = label;
    this.#tty = tty;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(new TextEncoder().encode(text));
  }

  /** Prints a line (clearing a live bar first). */
  note(text: string): void {
    if (this.#barShown) this.#write("\r\x1b[2K");
    this.#barShown = false;
    this.#write(`${this.#label}: ${text}\n`);
  }

  /** Handles a training loop event. */
  event = (event: TrainEvent): void => {
    if (event.type === "step") {
      const losses = Object.entries(event.losses).map(([k, v]) => `${k} ${formatNumber(v)}`).join("  ");
      const fraction = event.totalSteps ? event.step / event.totalSteps : 1;
      const rate = `${event.stepsPerSecond.toFixed(event.stepsPerSecond < 10 ? 2 : 1)} steps/s`;
      if (this.#tty) {
        const width = 24;
        const filled = Math.round(fraction * width);
        this.#write(
          `\r\x1b[2K${this.#label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
            `${event.step}/${event.totalSteps}  ${losses}  ${rate}  ${clock(event.secondsLeft)} left`,
        );
        this.#barShown = true;
      } else {
        const now = performance.now();
        if (fraction - this.#lastFraction >= 0.05 || now - this.#lastLine > 30_000 || fraction === 1) {
          this.#lastFraction = fraction;
          this.#lastLine = now;
          this.note(
            `step ${event.step}/${event.totalSteps} (epoch ${event.epoch + 1})  ${losses}  ${rate}  ` +
              `${clock(event.secondsLeft)} left`,
          );
        }
      }
    } else if (event.type === "eval") {
      this.note(
        `step ${event.step} eval  ` +
          Object.entries(event.metrics).map(([k, v]) => `${k} ${formatNumber(v)}`).join("  "),
      );
    } else if (event.type === "epoch") {
      this.note(
        `epoch ${event.epoch + 1} done  ` +
          Object.entries(event.metrics).map(([k, v]) => `${k} ${formatNumber(v)}`).join("  "),
      );
    }
  };

  /** Ends the live bar, if any. */
  done(): void {
    if (this.#barShown) this.#write("\n");
    this.#barShown = false;
  }
}

/**
 * Starts a backend for a command (`--backend`), printing any notes (such
 * as a native library that is missing) as `label: note` lines on stderr.
 *
 * @returns The backend that runs.
 * @throws {UserError} when the named backend cannot start here.
 */
export async function startBackend(name: string, label: string): Promise<string> {
  try {
    const info = await useBackend(name as BackendName);
    for (const note of info.notes) console.error(`${label}: ${note}`);
    return info.name;
  } catch (e) {
    throw new UserError(`--backend ${name} cannot start here: ${(e as Error).message}`);
  }
}

/**
 * A flag's value, or a user error saying the flag is required.
 *
 * @throws {UserError} when `value` is undefined.
 */
export function requireFlag<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new UserError(`--${flag} is required (see --help)`);
  return value;
}

/** True when two JSON-like values (configs, run options) serialise alike. */
export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Runs a package's command line: the first argument names the subcommand
 * (`train`, `eval`, ...), the rest are its flags. Exits the process (see
 * {@linkcode runMain}).
 */
export function runCommands(commands: Record<string, (args: string[]) => Promise<number>>): Promise<never> {
  return runMain(() => {
    const [command, ...rest] = Deno.args;
    const run = Object.hasOwn(commands, command ?? "") ? commands[command] : undefined;
    if (!run) {
      throw new UserError(
        `unknown command "${command ?? ""}", expected one of: ${Object.keys(commands).join(", ")}`,
      );
    }
    return run(rest);
  });
}

/** What a `train:*` command decided before any work starts: a new run, or one to continue. */
export interface RunPlan<C, O> {
  /** The run folder. */
  outDir: string;
  /** The checkpoint metadata of the run being continued, if any. */
  resumed?: CheckpointMeta;
  /** The architecture (the checkpoint's when continuing). */
  config: C;
  /** The run settings (the checkpoint's when continuing, with the length flag applied). */
  options: O;
  /** The seed. */
  seed: number;
  /** The data source (`undefined`: the embedded data). */
  data: string | undefined;
  /** The backend to start. */
  backend: string;
}

/**
 * Decides a training run from its flags, before any folder is created:
 * with `--resume DIR` the run's own settings come back from its checkpoint
 * (only `--json` and the length flag, `--epochs` or `--steps`, may be
 * given with it); otherwise `--out` (default `runs/<label>-<timestamp>`)
 * must be empty, or hold a checkpoint of this same run, which is continued.
 *
 * @throws {UserError} for a flag that cannot change on resume, or an unusable `--out`.
 * @throws {CheckpointError} for a missing or foreign checkpoint.
 */
export async function planRun<C, O extends object>(
  flags: {
    resume?: string;
    out?: string;
    data?: string;
    seed: number;
    backend: string;
    given: Set<string>;
  },
  run: {
    /** Package name written into checkpoints. */
    package: string;
    /** Short name for the default run folder. */
    label: string;
    /** The data source name a run without `--data` records (e.g. `embedded:mnist`). */
    embedded: string;
    /** The config and options a new run would use. */
    config: C;
    options: O;
    /** The length flag that may extend a resumed run, and its value. */
    length: { flag: "epochs" | "steps"; value: number };
  },
): Promise<RunPlan<C, O>> {
  let outDir: string;
  let resumed: CheckpointMeta | undefined;
  if (flags.resume !== undefined) {
    const allowed = new Set(["resume", "json", run.length.flag]);
    const conflict = [...flags.given].find((f) => !allowed.has(f));
    if (conflict) {
      throw new UserError(`--${conflict} cannot be changed when resuming: the run's own settings are used`);
    }
    await checkFolderPath(flags.resume, "resume");
    resumed = await readCheckpointMeta(flags.resume, { package: run.package });
    outDir = flags.resume;
  } else {
    outDir = flags.out ?? defaultRunDir(run.label);
    const same = await checkOutDir(
      outDir,
      (meta) =>
        meta.package === run.package && sameJson(meta.config, run.config) && meta.seed === flags.seed &&
        meta.data === (flags.data ?? run.embedded) && sameJson(meta.options, run.options),
    );
    if (same) resumed = await readCheckpointMeta(same, { package: run.package });
  }
  if (!resumed) {
    return {
      outDir,
      config: run.config,
      options: run.options,
      seed: flags.seed,
      data: flags.data,
      backend: flags.backend,
    };
  }
  const options = { ...(resumed.options as O) };
  if (flags.given.has(run.length.flag)) {
    (options as Record<string, unknown>)[run.length.flag] = run.length.value;
  }
  return {
    outDir,
    resumed,
    config: resumed.config as unknown as C,
    options,
    seed: resumed.seed,
    data: resumed.data,
    backend: resumed.backend,
  };
}
