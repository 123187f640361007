import assert from "node:assert/strict";
import { createCnn } from "./model.ts";
import { saveCnn } from "./io.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
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

Deno.test("--help of every command lists its flags with defaults and exits 0", async () => {
  const expected: Record<string, string[]> = {
    train: [
      "--data",
      "--out",
      "--digits",
      "--epochs",
      "--batch-size",
      "--lr",
      "--dropout",
      "--filters",
      "--train-limit",
      "--resume",
      "--seed",
      "--backend",
      "--json",
    ],
    explain: [
      "--checkpoint",
      "--data",
      "--count",
      "--out",
      "--of",
      "--abs",
      "--samples",
      "--noise",
      "--squared",
      "--seed",
      "--backend",
      "--json",
    ],
    sanity: [
      "--checkpoint",
      "--data",
      "--images",
      "--out",
      "--of",
      "--samples",
      "--noise",
      "--squared",
      "--scale",
      "--panel-images",
      "--seed",
      "--json",
    ],
  };
  for (const [command, flags] of Object.entries(expected)) {
    const r = await run(command, "--help");
    assert.equal(r.code, 0, r.stderr);
    for (const flag of flags) assert.ok(r.stdout.includes(flag), `${command} --help lacks ${flag}`);
  }
  assert.match((await run("sanity", "--help")).stdout, /--of loss\|logit\s+.*\(default: logit\)/);
  assert.match((await run("explain", "--help")).stdout, /--of loss\|logit\s+.*\(default: loss\)/);
});

Deno.test("bad flags fail with one error line, exit 1 and no folder", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [["train", "--digits", "0,11"], /^error: --digits is 0,11, expected two or more distinct digits 0\.\.9$/],
    [["train", "--digits", "3"], /^error: --digits is 3, expected two or more distinct digits/],
    [["train", "--digits", "a,b"], /^error: --digits must be a number, got "a,b"$/],
    [["train", "--filters", "16"], /^error: --filters is 16, expected two whole numbers/],
    [["train", "--epochs", "0"], /^error: --epochs must be >= 1, got 0$/],
    [["train", "--dropout", "1"], /^error: --dropout must be <= 0.99, got 1$/],
    [["train", "--frobnicate"], /^error: unknown flag --frobnicate/],
    [["train", "--data", `${dir}/nope`], /^error: Cannot read data folder .*nope/],
    [["explain"], /^error: --checkpoint is required/],
    [["explain", "--checkpoint", `${dir}/nope`], /^error: Cannot find a checkpoint in .*nope/],
    [["sanity", "--checkpoint", dir, "--of", "probability"], /^error: --of must be one of loss, logit/],
    [["sanity", "--checkpoint", dir, "--images", "0"], /^error: --images must be >= 1, got 0$/],
    [["fly"], /^error: unknown command "fly"/],
  ];
  for (const [args, pattern] of cases) {
    const r = await run(...args, "--out", `${dir}/run`);
    assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], pattern);
    assert.equal(r.stdout, "");
    assert.equal(await exists(`${dir}/run`), false, `${args.join(" ")} created the folder`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a file where a folder is expected fails with one error line before any work", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/file`;
  await Deno.writeTextFile(file, "not a folder");
  const cnn = createCnn({ digits: [0, 1], filters: [2, 4] });
  await saveCnn(`${dir}/run`, cnn, { data: "embedded:mnist" });
  cnn.dispose();
  const cases: [string[], RegExp][] = [
    [["train", "--resume", file], /^error: --resume .*\/file is a file, expected a folder$/],
    [["explain", "--checkpoint", file], /^error: --checkpoint .*\/file is a file, expected a folder$/],
    [["sanity", "--checkpoint", file], /^error: --checkpoint .*\/file is a file, expected a folder$/],
    [
      ["train", "--out", `${file}/sub/run`, "--epochs", "1"],
      /^error: --out .*\/file\/sub\/run cannot be created: .*\/file is a file, expected a folder$/,
    ],
    [
      ["explain", "--checkpoint", `${dir}/run`, "--out", `${file}/sub`],
      /^error: --out .*\/file\/sub cannot be created: .*\/file is a file, expected a folder$/,
    ],
    [
      ["sanity", "--checkpoint", `${dir}/run`, "--out", `${file}/sub`],
      /^error: --out .*\/file\/sub cannot be created: .*\/file is a file, expected a folder$/,
    ],
  ];
  for (const [args, pattern] of cases) {
    const r = await run(...args);
    assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], pattern);
    assert.equal(r.stdout, "");
  }
  assert.deepEqual([...Deno.readDirSync(`${dir}/run`)].map((e) => e.name), ["checkpoint"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train, resume, explain and sanity work end to end on a tiny 0/1 model", async () => {
  const dir = await Deno.makeTempDir();
  // cpu backend and 2/4 filters keep this fast; the embedded 0/1 digits, 32 training images.
  const common = [
    "--digits",
    "0,1",
    "--filters",
    "2,4",
    "--train-limit",
    "32",
    "--batch-size",
    "16",
    "--backend",
    "cpu",
    "--json",
  ];
  const straight = await run("train", "--epochs", "2", "--out", `${dir}/a`, ...common);
  assert.equal(straight.code, 0, straight.stderr);
  const a = JSON.parse(straight.stdout);
  assert.equal(a.out, `${dir}/a`);
  assert.deepEqual([a.epochs, a.steps, a.digits, a.trainImages, a.backend], [2, 4, [0, 1], 32, "cpu"]);
  assert.ok(a.testAccuracy > 0.5 && a.testImages > 100, JSON.stringify(a));
  for (const f of ["config.json", "metrics.jsonl", "loss.png", "checkpoint/meta.json"]) {
    assert.ok(await exists(`${dir}/a/${f}`), `missing ${f}`);
  }

  const first = await run("train", "--epochs", "1", "--out", `${dir}/b`, ...common);
  assert.equal(first.code, 0, first.stderr);
  const resumed = await run("train", "--resume", `${dir}/b`, "--epochs", "2", "--json");
  assert.equal(resumed.code, 0, resumed.stderr);
  const b = JSON.parse(resumed.stdout);
  assert.equal(b.resumedFromStep, 2);
  assert.equal(b.steps, 4);
  assert.equal(b.testAccuracy, a.testAccuracy);
  assert.ok(Math.abs(b.testLoss - a.testLoss) < 1e-6, `${b.testLoss} vs ${a.testLoss}`);
  const changed = await run("train", "--resume", `${dir}/b`, "--digits", "0,2");
  assert.match(changed.stderr, /^error: --digits cannot be changed when resuming/);

  // The checkpoint folder itself works too; the pictures still go beside it, into the run folder.
  const ex = await run(
    "explain",
    "--checkpoint",
    `${dir}/a/checkpoint`,
    "--count",
    "3",
    "--samples",
    "2",
    "--json",
  );
  assert.equal(ex.code, 0, ex.stderr);
  const e = JSON.parse(ex.stdout);
  assert.equal(e.out, `${dir}/a/explain`);
  assert.deepEqual(e.files, ["explain_loss.png"]);
  assert.equal(e.labels.length, 3);
  assert.ok(e.labels.every((y: number) => y === 0 || y === 1));
  assert.deepEqual(Object.keys(e.zeroMaps), ["vanilla", "smoothgrad"]);
  const png = await Deno.readFile(`${dir}/a/explain/explain_loss.png`);
  assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71]); // "PNG"
  // With --out the PNG goes straight into that folder; the options are in its name.
  const exOut = `${dir}/maps`;
  const ex2 = await run(
    "explain",
    "--checkpoint",
    `${dir}/a`,
    "--count",
    "2",
    "--samples",
    "2",
    "--of",
    "logit",
    "--abs",
    "--squared",
    "--out",
    exOut,
    "--json",
  );
  assert.equal(ex2.code, 0, ex2.stderr);
  assert.deepEqual(JSON.parse(ex2.stdout).files, ["explain_logit_abs_squared.png"]);
  assert.deepEqual([...Deno.readDirSync(exOut)].map((f) => f.name), ["explain_logit_abs_squared.png"]);

  const out = `${dir}/sanity`;
  const sa = await run(
    "sanity",
    "--checkpoint",
    `${dir}/a`,
    "--images",
    "3",
    "--samples",
    "2",
    "--panel-images",
    "1",
    "--out",
    out,
    "--json",
  );
  assert.equal(sa.code, 0, sa.stderr);
  const s = JSON.parse(sa.stdout);
  assert.equal(s.of, "logit");
  assert.equal(s.images, 3);
  assert.deepEqual(s.cascading.map((c: { layers: string[] }) => c.layers), [["output"], ["output", "conv2"], [
    "output",
    "conv2",
    "conv1",
  ]]);
  assert.deepEqual(s.independent.map((c: { layers: string[] }) => c.layers), [["output"], ["conv2"], [
    "conv1",
  ]]);
  for (const step of [...s.cascading, ...s.independent]) {
    for (const method of ["vanilla", "smoothgrad"]) {
      const m = step[method];
      assert.deepEqual(Object.keys(m).sort(), [
        "images",
        "spearman",
        "spearmanAbs",
        "spearmanAbsStd",
        "spearmanStd",
        "total",
      ]);
      assert.equal(m.total, 3);
    }
  }
  assert.equal(s.original.vanilla.spearman, 1);
  assert.deepEqual(s.files, ["sanity.json", "sanity_maps.png", "sanity_correlations.png"]);
  for (const f of s.files) assert.ok(await exists(`${out}/${f}`), `missing ${f}`);
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${out}/sanity.json`)).cascading, s.cascading);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--out refuses a non-empty folder that is not this run's", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
  const r = await run("train", "--epochs", "1", "--out", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: --out .* is not empty and holds no checkpoint of this run/);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["notes.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Ctrl-C finishes the step, writes a checkpoint and exits 130; --resume continues from it", async () => {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--node-modules-dir=manual",
      MAIN,
      "train",
      "--digits",
      "0,1",
      "--filters",
      "2,4",
      "--train-limit",
      "16",
      "--batch-size",
      "8",
    ]
      .concat(["--epochs", "500", "--backend", "cpu", "--out", `${dir}/r`]),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/epoch 1 done/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  child.kill("SIGINT");
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  const status = await child.status;
  await child.stdout.cancel();
  assert.equal(status.code, 130, seen);
  assert.match(seen, /stopped at step \d+; continue with: deno task train:saliency --resume/);
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/r/checkpoint/meta.json`));
  assert.ok(meta.step >= 2 && meta.step < 1000, `checkpoint at step ${meta.step}`);
  const resumed = await run(
    "train",
    "--resume",
    `${dir}/r`,
    "--epochs",
    String(Math.ceil(meta.step / 2) + 1),
    "--json",
  );
  assert.equal(resumed.code, 0, resumed.stderr);
  const summary = JSON.parse(resumed.stdout);
  assert.equal(summary.resumedFromStep, meta.step);
  assert.equal(summary.steps, 2 * (Math.ceil(meta.step / 2) + 1));
  await Deno.remove(dir, { recursive: true });
});
