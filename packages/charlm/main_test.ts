import assert from "node:assert/strict";
import { saveCheckpoint } from "@simple-nets/core";
import { createCharLM } from "./model.ts";
import { saveCharLM } from "./io.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const TINY = new URL("./testdata/tiny.txt", import.meta.url).pathname;

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    // manual: use the installed node_modules without taking its lock (parallel runs would print "Blocking waiting…").
    args: ["run", "-A", "--node-modules-dir=manual", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function exists(path: string) {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("--help lists every flag with its default and exits 0", async () => {
  const train = await run("train", "--help");
  assert.equal(train.code, 0);
  for (
    const flag of [
      "--data",
      "--out",
      "--cell",
      "--layers",
      "--hidden",
      "--dropout",
      "--init",
      "--seq-len",
      "--steps",
      "--batch-size",
      "--lr",
      "--clip",
      "--clip-mode",
      "--eval-every",
      "--seed",
      "--backend",
      "--resume",
      "--json",
    ]
  ) {
    assert.ok(train.stdout.includes(flag), `train help lacks ${flag}`);
  }
  assert.match(train.stdout, /--hidden N\s+hidden units per layer \(default: 512\)/);
  assert.match(train.stdout, /--cell rnn\|lstm\|gru\s+recurrent cell \(default: lstm\)/);
  const sample = await run("sample", "--help");
  assert.equal(sample.code, 0);
  for (
    const flag of ["--checkpoint", "--length", "--temperature", "--prime", "--top-k", "--argmax", "--seed"]
  ) {
    assert.ok(sample.stdout.includes(flag), `sample help lacks ${flag}`);
  }
  const evaluate = await run("eval", "--help");
  assert.equal(evaluate.code, 0);
  assert.match(evaluate.stdout, /--checkpoint DIR/);
});

Deno.test("bad flags and bad files fail with one error line, exit 1 and no run folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/empty.txt`, "");
  await Deno.writeTextFile(`${dir}/short.txt`, "abc".repeat(9));
  await Deno.writeFile(`${dir}/binary.dat`, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]));
  await Deno.writeFile(`${dir}/latin1.txt`, new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
  const cases: [string[], RegExp][] = [
    [["train", "--steps", "x"], /^error: --steps must be a number, got "x"$/],
    [["train", "--cell", "tree"], /^error: --cell must be one of rnn, lstm, gru, got "tree"$/],
    [["train", "--dropout", "1"], /^error: --dropout must be <= 0.99, got 1$/],
    [["train", "--layers", "0"], /^error: --layers must be >= 1, got 0$/],
    [["train", "--frobnicate"], /^error: unknown flag --frobnicate/],
    [["train", "--data", `${dir}/nope.txt`], /^error: Cannot read text file .*nope\.txt: it does not exist$/],
    [["train", "--data", `${dir}/empty.txt`], /^error: Cannot use text file .*empty\.txt: it is empty$/],
    [["train", "--data", `${dir}/binary.dat`], /^error: Cannot use text file .*binary\.dat: byte 4 is NUL/],
    [
      ["train", "--data", `${dir}/latin1.txt`],
      /^error: Cannot use text file .*latin1\.txt: it is not valid UTF-8$/,
    ],
    [
      ["train", "--data", `${dir}/short.txt`],
      /^error: text .*short\.txt has 27 characters, expected at least 30 /,
    ],
    [["eval"], /^error: --checkpoint is required/],
    [["eval", "--checkpoint", `${dir}/nope`], /^error: Cannot find a checkpoint in .*nope/],
    [["sample", "--checkpoint", dir], /^error: Cannot find a checkpoint in /],
    [["sample", "--temperature", "0"], /^error: --temperature must be > 0, got 0$/],
    [["fly"], /^error: unknown command "fly"/],
  ];
  const results = await Promise.all(
    cases.map(([args]) => run(...args, ...(args[0] === "train" ? ["--out", `${dir}/run`] : []))),
  );
  for (const [i, [args, pattern]] of cases.entries()) {
    const r = results[i];
    assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], pattern);
    assert.equal(r.stdout, "");
    assert.equal(await exists(`${dir}/run`), false, `${args.join(" ")} created the run folder`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint of another package is refused clearly", async () => {
  const dir = await Deno.makeTempDir();
  await saveCheckpoint(dir, {
    meta: {
      package: "@simple-nets/vae",
      version: "0.1.0",
      config: {},
      step: 1,
      seed: 1,
      backend: "cpu",
      data: "x",
      metrics: {},
    },
    networks: {},
    optimizers: {},
  });
  for (const command of ["eval", "sample"]) {
    const r = await run(command, "--checkpoint", dir);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr.trim(),
      /^error: Cannot use checkpoint .*: it was written by @simple-nets\/vae, expected @simple-nets\/charlm$/,
    );
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train, resume, sample and eval run end to end with --json", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/run`;
  const common = [
    "--data",
    TINY,
    "--hidden",
    "8",
    "--batch-size",
    "4",
    "--seq-len",
    "10",
    "--backend",
    "cpu",
  ];
  const trained = await run("train", ...common, "--steps", "6", "--eval-every", "3", "--out", out, "--json");
  assert.equal(trained.code, 0, trained.stderr);
  const summary = JSON.parse(trained.stdout);
  assert.deepEqual(Object.keys(summary), ["out", "steps", "trainLoss", "valBitsPerChar", "seconds"]);
  assert.equal(summary.out, out);
  assert.equal(summary.steps, 6);
  assert.ok(summary.trainLoss > 0 && summary.valBitsPerChar > 0);
  for (const file of ["checkpoint/meta.json", "config.json", "metrics.jsonl", "loss.png", "samples.txt"]) {
    assert.ok(await exists(`${out}/${file}`), `missing ${file}`);
  }
  assert.match(await Deno.readTextFile(`${out}/samples.txt`), /----- step 3 -----\n[^]+----- step 6 -----/);
  assert.match(trained.stderr, /bigram [\d.]+ bits\/char/);

  const resumed = await run("train", "--resume", out, "--steps", "8", "--json");
  assert.equal(resumed.code, 0, resumed.stderr);
  const again = JSON.parse(resumed.stdout);
  assert.equal(again.resumedFromStep, 6);
  assert.equal(again.steps, 8);
  const conflict = await run("train", "--resume", out, "--hidden", "16");
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /^error: --hidden cannot be changed when resuming/);

  const sample = (...args: string[]) => run("sample", "--checkpoint", out, "--length", "40", ...args);
  const a = await sample("--prime", "Call ", "--seed", "3");
  assert.equal(a.code, 0, a.stderr);
  assert.ok(a.stdout.startsWith("Call "));
  assert.equal([...a.stdout].length, 45);
  assert.equal((await sample("--prime", "Call ", "--seed", "3")).stdout, a.stdout);
  assert.notEqual((await sample("--prime", "Call ", "--seed", "4")).stdout, a.stdout);
  const bad = await sample("--prime", "Call Ω");
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, "");
  assert.match(
    bad.stderr.trim(),
    /^error: --prime: The prime's character "Ω" \(U\+03A9\) is not in the model's vocabulary$/,
  );

  await Deno.writeTextFile(`${dir}/other.txt`, "Call me Ishmael!!! ½ ✓ the sea.");
  const evaluated = await run("eval", "--checkpoint", out, "--data", `${dir}/other.txt`, "--json");
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const e = JSON.parse(evaluated.stdout);
  assert.equal(e.unknownChars, 5);
  assert.equal(e.chars, 26);
  assert.ok(e.bitsPerChar > 0);
  const own = JSON.parse((await run("eval", "--checkpoint", out, "--json")).stdout);
  assert.match(own.data, /tiny\.txt \(validation split\)/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--out refuses a non-empty folder that is not this run's", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
  const r = await run("train", "--data", TINY, "--hidden", "8", "--steps", "1", "--out", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: --out .* is not empty and holds no checkpoint of this run/);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["notes.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("sample stops quietly with exit 0 when its reader goes away (| head)", async () => {
  const dir = await Deno.makeTempDir();
  const model = createCharLM("abcdefgh", { hidden: 8 });
  await saveCharLM(model, dir, { backend: "cpu" });
  model.dispose();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--node-modules-dir=manual",
      MAIN,
      "sample",
      "--checkpoint",
      dir,
      "--length",
      "10000000",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  const first = await reader.read();
  assert.ok(first.value && first.value.length > 0);
  await reader.cancel();
  const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
  assert.equal(stderr, "");
  assert.equal(status.code, 0);
  await Deno.remove(dir, { recursive: true });
});
