import assert, { deepEqual as assertEquals } from "node:assert/strict";
import {
  checkFolderPath,
  checkOutDir,
  checkOutFile,
  defaultRunDir,
  type FlagSpecs,
  formatNumber,
  helpText,
  isUserError,
  MetricsLog,
  parseFlags,
  readMetrics,
  UserError,
  writeFileAtomic,
} from "./cli.ts";
import { CheckpointError, type CheckpointMeta, saveCheckpoint } from "./checkpoint.ts";
import { DataError } from "./data/types.ts";
import { NonFiniteLossError } from "./train.ts";

const SPECS = {
  epochs: { type: "int", help: "passes over the data", default: 5, min: 1, max: 1000 },
  lr: { type: "number", help: "learning rate", default: 0.001, min: 0, exclusiveMin: true },
  backend: { type: "string", help: "backend", default: "auto", choices: ["auto", "cpu", "wasm"] },
  data: { type: "string", help: "dataset folder", placeholder: "DIR" },
  digits: { type: "ints", help: "digits to keep", default: [0, 1], min: 0, max: 9 },
  json: { type: "boolean", help: "print the summary as JSON", default: false },
} satisfies FlagSpecs;

const USAGE = { command: "train:test", description: "Train a test model." };

const parse = (...args: string[]) => parseFlags(args, SPECS, USAGE);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cli_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("parseFlags gives defaults and an empty `given` when no flag is set", () => {
  const flags = parse();
  assertEquals(
    [flags.epochs, flags.lr, flags.backend, flags.data, flags.digits, flags.json],
    [5, 0.001, "auto", undefined, [0, 1], false],
  );
  assertEquals([...flags.given], []);
  flags.digits.push(7);
  assertEquals(SPECS.digits.default, [0, 1], "the default list was shared with the result");
});

Deno.test("parseFlags types each value and `given` names the flags on the command line", () => {
  const flags = parse(
    "--epochs",
    "12",
    "--lr=3e-4",
    "--backend",
    "wasm",
    "--data",
    "/x y",
    "--digits",
    "3,1,4",
    "--json",
  );
  assertEquals(
    [flags.epochs, flags.lr, flags.backend, flags.data, flags.digits, flags.json],
    [12, 3e-4, "wasm", "/x y", [3, 1, 4], true],
  );
  assertEquals([...flags.given].sort(), ["backend", "data", "digits", "epochs", "json", "lr"]);
  assertEquals([...parse("--epochs", "5").given], ["epochs"]);
});

Deno.test("bad flags give a UserError naming the flag, the value and what was expected", () => {
  const cases: [string[], string][] = [
    [["--epoch", "3"], "unknown flag --epoch (see --help)"],
    [["--lr", "fast"], '--lr must be a number, got "fast"'],
    [["--lr="], '--lr must be a number, got ""'],
    [["--lr", "Infinity"], '--lr must be a number, got "Infinity"'],
    [["--epochs", "2.5"], '--epochs must be a whole number, got "2.5"'],
    [["--epochs", "0"], "--epochs must be >= 1, got 0"],
    [["--epochs", "1001"], "--epochs must be <= 1000, got 1001"],
    [["--lr", "0"], "--lr must be > 0, got 0"],
    [["--lr=-1"], "--lr must be > 0, got -1"],
    [["--backend", "gpu"], '--backend must be one of auto, cpu, wasm, got "gpu"'],
    [["--digits", ""], '--digits must be a comma-separated list of whole numbers, got ""'],
    [["--digits", "1,,2"], '--digits must be a number, got "1,,2"'],
    [["--digits", "1,10"], "--digits must be <= 9, got 1,10"],
    [["train.txt"], 'unexpected argument "train.txt" (flags start with --, see --help)'],
    // negative numbers after a flag are its value, so the range check names them
    [["--lr", "-1"], "--lr must be > 0, got -1"],
    [["--epochs", "-3"], "--epochs must be >= 1, got -3"],
    [["--lr", "-.5"], "--lr must be > 0, got -.5"],
    [["--data", "--json"], "--data needs a value, got the flag --json"],
    [["--epochs"], "--epochs needs a value (see --help)"],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => parse(...args), new UserError(message), args.join(" "));
  }
  assert.throws(
    () => parse("--json=yes"),
    (e: unknown) => e instanceof UserError && e.message.includes("--json"),
  );
});

Deno.test("--help stops parsing with the help text, even next to other flags", () => {
  for (const args of [["--help"], ["--epochs", "3", "--help"]]) {
    assert.throws(
      () => parse(...args),
      (e: unknown) => (e as { text?: string }).text === helpText(USAGE.command, USAGE.description, SPECS),
    );
  }
});

Deno.test("the help text lists every flag with its default", () => {
  const text = helpText(USAGE.command, USAGE.description, SPECS);
  assert(text.startsWith("Train a test model.\n\nUsage: deno task train:test [flags]\n\nFlags:\n"), text);
  const lines = text.split("\n");
  const line = (flag: string) => lines.find((l) => l.startsWith(`  --${flag} `) || l === `  --${flag}`) ?? "";
  assert.match(line("epochs"), /^ {2}--epochs N +passes over the data \(default: 5\)$/);
  assert.match(line("lr"), /^ {2}--lr N +learning rate \(default: 0\.001\)$/);
  assert.match(line("backend"), /^ {2}--backend auto\|cpu\|wasm +backend \(default: auto\)$/);
  assert.match(line("data"), /^ {2}--data DIR +dataset folder$/);
  assert.match(line("digits"), /^ {2}--digits N,N +digits to keep \(default: 0,1\)$/);
  assert.match(line("json"), /^ {2}--json +print the summary as JSON$/);
  assert.match(line("help"), /^ {2}--help +show this help and exit$/);
  // The help column is aligned.
  const columns = lines.filter((l) => l.startsWith("  --")).map((l) =>
    l.match(/^ {2}--\S+( \S+)? +/)![0].length
  );
  assert.equal(columns.length, 7);
  assert.equal(new Set(columns).size, 1, text);
});

Deno.test("runMain: exit 0 with help on stdout, 1 with one error line, 130 when interrupted", async () => {
  const script = new URL("./testdata/cli_main.ts", import.meta.url).pathname;
  const run = async (...args: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--node-modules-dir=manual", "--quiet", script, ...args],
      cwd: new URL(".", import.meta.url).pathname,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
  };
  const [help, badFlag, badValue, dataError, crash, ok, json, interrupted] = await Promise.all([
    run("--help"),
    run("--epochs", "3", "--speed", "9"),
    run("--epochs", "2.5"),
    run("--mode", "fail"),
    run("--mode", "crash"),
    run("--epochs", "3"),
    run("--json", "--lr", "0.5"),
    run("--mode", "interrupt"),
  ]);
  assertEquals([help.code, help.stderr], [0, ""]);
  for (
    const flag of [
      "--epochs N",
      "(default: 2)",
      "--lr N",
      "(default: 0.001)",
      "--mode ok|fail|crash|interrupt",
      "--json",
      "--help",
    ]
  ) {
    assert(help.stdout.includes(flag), `help lacks ${flag}:\n${help.stdout}`);
  }
  assertEquals(badFlag, { code: 1, stdout: "", stderr: "error: unknown flag --speed (see --help)\n" });
  assertEquals(badValue, {
    code: 1,
    stdout: "",
    stderr: 'error: --epochs must be a whole number, got "2.5"\n',
  });
  assertEquals(dataError, {
    code: 1,
    stdout: "",
    stderr: "error: Cannot read data folder /nowhere: it does not exist\n",
  });
  assertEquals([crash.code, crash.stdout], [1, ""]);
  assert(
    crash.stderr.startsWith("error: unexpected failure, please report it:\nError: boom\n"),
    crash.stderr,
  );
  assertEquals(ok, { code: 0, stdout: "epochs: 3\nlr:     0.001\ngiven:  epochs\n", stderr: "" });
  assertEquals([json.code, json.stderr], [0, ""]);
  assertEquals(json.stdout.split("\n"), [JSON.stringify({ epochs: 2, lr: 0.5, given: "json,lr" }), ""]);
  // Two SIGINTs in quick succession abort once and do not quit at once.
  assertEquals([interrupted.code, interrupted.stdout], [130, '{"aborted":true}\n']);
  assertEquals(interrupted.stderr.match(/^interrupted: /gm)?.length, 1, interrupted.stderr);
});

Deno.test("isUserError is true for the errors a user can fix and false for bugs", () => {
  for (
    const e of [
      new UserError("x"),
      new DataError("x"),
      new CheckpointError("x"),
      new NonFiniteLossError("loss", NaN, 3),
    ]
  ) {
    assert(isUserError(e), e.name);
  }
  for (const e of [new TypeError("x"), new RangeError("x"), "text", undefined]) {
    assert(!isUserError(e), String(e));
  }
});

const META: CheckpointMeta = {
  package: "@simple-nets/test",
  version: "0.1.0",
  config: {},
  step: 3,
  seed: 1,
  backend: "cpu",
  data: "embedded:mnist",
  metrics: {},
};

Deno.test("checkOutDir accepts a missing or empty folder and refuses a non-empty one that is not a checkpoint", async () => {
  await withDir(async (dir) => {
    const never = () => {
      throw new Error("isSameRun called without a checkpoint");
    };
    assert.equal(await checkOutDir(`${dir}/new`, never), undefined);
    assert.equal(await checkOutDir(dir, never), undefined);
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
    await assert.rejects(
      checkOutDir(dir, () => true),
      new UserError(
        `--out ${dir} is not empty and holds no checkpoint of this run; choose a new folder or use --resume ${dir}`,
      ),
    );
    await assert.rejects(
      checkOutDir(`${dir}/notes.txt`, never),
      new UserError(`--out ${dir}/notes.txt is a file, expected a folder`),
    );
    await assert.rejects(
      checkOutDir(`${dir}/notes.txt/run`, never),
      new UserError(
        `--out ${dir}/notes.txt/run cannot be created: ${dir}/notes.txt is a file, expected a folder`,
      ),
    );
    assertEquals(await listDir(dir), ["notes.txt"], "a refused folder was changed");
  });
});

Deno.test("checkFolderPath refuses a file, and with create a file where a parent folder would be made", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "x");
    await checkFolderPath(undefined, "resume");
    await checkFolderPath(dir, "resume");
    await checkFolderPath(`${dir}/missing/run`, "out", { create: true });
    await checkFolderPath(`${dir}/f/run`, "checkpoint"); // not created: missing is for the caller to report
    await assert.rejects(
      checkFolderPath(`${dir}/f`, "resume"),
      new UserError(`--resume ${dir}/f is a file, expected a folder`),
    );
    await assert.rejects(
      checkFolderPath(`${dir}/f/a/b`, "out", { create: true }),
      new UserError(`--out ${dir}/f/a/b cannot be created: ${dir}/f is a file, expected a folder`),
    );
  });
});

Deno.test("checkOutFile wants an existing folder and a path that is not a folder", async () => {
  await withDir(async (dir) => {
    await checkOutFile(`${dir}/a.png`);
    await assert.rejects(
      checkOutFile(`${dir}/missing/a.png`),
      new UserError(
        `--out ${dir}/missing/a.png: folder ${dir}/missing does not exist, expected an existing folder`,
      ),
    );
    await Deno.mkdir(`${dir}/b.png`);
    await assert.rejects(
      checkOutFile(`${dir}/b.png`),
      new UserError(`--out ${dir}/b.png is a folder, expected a file`),
    );
  });
});

Deno.test("checkOutDir returns the folder of a checkpoint of the same run and refuses another run's", async () => {
  await withDir(async (dir) => {
    await saveCheckpoint(dir, { meta: META, networks: {}, optimizers: {} });
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, "");
    const seen: CheckpointMeta[] = [];
    assert.equal(await checkOutDir(dir, (meta) => seen.push(meta) > 0 && meta.seed === 1), dir);
    assertEquals([seen.length, seen[0].package, seen[0].step], [1, META.package, 3]);
    await assert.rejects(checkOutDir(dir, (meta) => meta.seed === 2), UserError);
    // A checkpoint with unreadable metadata is refused too.
    await Deno.writeTextFile(`${dir}/checkpoint/meta.json`, "{");
    await assert.rejects(checkOutDir(dir, () => true), UserError);
  });
});

Deno.test("writeFileAtomic writes or replaces a file and leaves no temporary file", async () => {
  await withDir(async (dir) => {
    await writeFileAtomic(`${dir}/config.json`, "{}\n");
    await writeFileAtomic(`${dir}/image.bin`, Uint8Array.of(1, 2, 3));
    await writeFileAtomic(`${dir}/config.json`, '{"a":1}\n');
    assertEquals(await listDir(dir), ["config.json", "image.bin"]);
    assert.equal(await Deno.readTextFile(`${dir}/config.json`), '{"a":1}\n');
    assertEquals(await Deno.readFile(`${dir}/image.bin`), Uint8Array.of(1, 2, 3));
  });
});

Deno.test("writeFileAtomic keeps the old file when writing fails", async () => {
  await withDir(async (dir) => {
    // The longest name a file may have: its temporary name is too long to create.
    const path = `${dir}/${"m".repeat(250)}.json`;
    await Deno.writeTextFile(path, "old");
    await assert.rejects(writeFileAtomic(path, "new"));
    assert.equal(await Deno.readTextFile(path), "old");
    assertEquals(await listDir(dir), [`${"m".repeat(250)}.json`]);
    // Writing into a missing folder fails and creates nothing.
    await assert.rejects(writeFileAtomic(`${dir}/missing/file.txt`, "x"), Deno.errors.NotFound);
    assertEquals(await listDir(dir), [`${"m".repeat(250)}.json`]);
  });
});

Deno.test("MetricsLog.open without a step starts a new log; with a step it drops the records after it", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/metrics.jsonl`;
    const log = await MetricsLog.open(path);
    for (const step of [10, 20, 30]) await log.append({ step, kind: "train", loss: 1 / step });
    await log.append({ step: 20, kind: "eval", score: 2 });
    await log.append({ kind: "note" });
    // A crash in the middle of a line leaves a torn last line.
    await Deno.writeTextFile(path, '{"step":40,"lo', { append: true });
    assertEquals((await readMetrics(path)).map((r) => r.step), [10, 20, 30, 20, undefined]);

    const resumed = await MetricsLog.open(path, 20);
    const kept = [
      { step: 10, kind: "train", loss: 0.1 },
      { step: 20, kind: "train", loss: 0.05 },
      { step: 20, kind: "eval", score: 2 },
      { kind: "note" },
    ];
    assertEquals(resumed.records(), kept);
    await resumed.append({ step: 30, kind: "train", loss: 0.5 });
    assertEquals(await readMetrics(path), [...kept, { step: 30, kind: "train", loss: 0.5 }]);
    assertEquals(resumed.records(), await readMetrics(path));
    assertEquals(await listDir(dir), ["metrics.jsonl"]);

    await MetricsLog.open(path);
    assertEquals(await readMetrics(path), []);
    assertEquals(await readMetrics(`${dir}/missing.jsonl`), []);
    assertEquals((await MetricsLog.open(`${dir}/other.jsonl`, 5)).records(), []);
  });
});

Deno.test("defaultRunDir is runs/<package>-<YYYYMMDD-HHMMSS> in local time", () => {
  assert.equal(defaultRunDir("vae", new Date(2026, 0, 2, 3, 4, 5)), "runs/vae-20260102-030405");
  assert.equal(defaultRunDir("charlm", new Date(2026, 11, 31, 23, 59, 58)), "runs/charlm-20261231-235958");
  assert.match(defaultRunDir("gan"), /^runs\/gan-\d{8}-\d{6}$/);
});

Deno.test("formatNumber prints about five significant digits", () => {
  assertEquals(
    [3, -12, 0, 0.5, 1234.5678, 0.000123456, 2.5e7, 1 / 3].map(formatNumber),
    ["3", "-12", "0", "0.5", "1234.6", "1.235e-4", "25000000", "0.33333"],
  );
  assert.equal(formatNumber(2.5e7 + 0.5), "2.500e+7");
});
