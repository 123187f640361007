import assert from "node:assert/strict";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const TINY = new URL("./testdata/tiny-mnist", import.meta.url).pathname;
/** 96 training digits (16 held out) and 40 test digits, with small networks: a few seconds per run. */
const SMALL = [
  "--data",
  TINY,
  "--val",
  "16",
  "--batch-size",
  "32",
  "--generator-sizes",
  "32",
  "--discriminator-sizes",
  "32",
  "--pieces",
  "2",
];

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

Deno.test("train --help lists every flag with its default and exits 0", async () => {
  const r = await run("train", "--help");
  assert.equal(r.code, 0);
  for (
    const flag of [
      "--data",
      "--out",
      "--epochs",
      "--batch-size",
      "--lr",
      "--d-steps",
      "--discriminator",
      "--pieces",
      "--dropout",
      "--val",
      "--seed",
      "--backend",
      "--resume",
      "--json",
    ]
  ) {
    assert.ok(r.stdout.includes(flag), `help lacks ${flag}`);
  }
  assert.match(r.stdout, /--discriminator maxout\|fc\s+discriminator units \(default: maxout\)/);
  assert.match(r.stdout, /--lr N\s+Adam learning rate of G and D \(default: 0.0001\)/);
  const ev = await run("eval", "--help");
  assert.equal(ev.code, 0);
  assert.match(ev.stdout, /--test-limit N/);
  assert.match(ev.stdout, /--samples N .*\(default: 10000\)/);
});

Deno.test("bad flags fail with one error line, exit 1 and no run folder", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [["train", "--epochs", "0"], /^error: --epochs must be >= 1, got 0$/],
    [["train", "--discriminator", "conv"], /^error: --discriminator must be one of maxout, fc, got "conv"$/],
    [["train", "--pieces", "1.5"], /^error: --pieces must be a whole number, got "1.5"$/],
    [["train", "--d-steps", "0"], /^error: --d-steps must be >= 1, got 0$/],
    [["train", "--dropout", "1"], /^error: --dropout must be <= 0.99, got 1$/],
    [["train", "--generator-sizes", "32,x"], /^error: --generator-sizes must be a number, got "32,x"$/],
    [["train", "--val", "9000"], /^error: --val must be below the 9000 training images, got 9000$/],
    [["train", "--frobnicate"], /^error: unknown flag --frobnicate/],
    [["train", "--data", `${dir}/nope`], /^error: Cannot read data folder .*nope: it does not exist$/],
    [["eval"], /^error: --checkpoint is required/],
    [["eval", "--checkpoint", `${dir}/nope`], /^error: Cannot find a checkpoint in .*nope/],
    [["eval", "--checkpoint", dir, "--test-limit", "0"], /^error: --test-limit must be >= 1, got 0$/],
    [["sample", "--checkpoint", dir, "--out", `${dir}/run`], /^error: --out must name a \.png file/],
    [["fly"], /^error: unknown command "fly"/],
  ];
  for (const [args, pattern] of cases) {
    const r = await run(...args, ...(args[0] === "train" ? ["--out", `${dir}/run`] : []));
    assert.equal(r.code, 1, `${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(lines[0], pattern);
    assert.equal(r.stdout, "");
    assert.equal(await exists(`${dir}/run`), false, `${args.join(" ")} created the run folder`);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train, resume, eval and sample work end to end on tiny data", async () => {
  const dir = await Deno.makeTempDir();
  const straight = await run("train", "--epochs", "2", "--out", `${dir}/a`, ...SMALL, "--json");
  assert.equal(straight.code, 0, straight.stderr);
  const a = JSON.parse(straight.stdout);
  assert.deepEqual(Object.keys(a).sort(), [
    "dFake",
    "dLoss",
    "dReal",
    "epochs",
    "gLoss",
    "out",
    "seconds",
    "steps",
  ]);
  assert.equal(a.epochs, 2);
  assert.equal(a.steps, 6); // 80 images in batches of 32
  assert.ok(a.dReal > 0 && a.dReal < 1 && a.dFake > 0 && a.dFake < 1);
  for (
    const f of [
      "config.json",
      "metrics.jsonl",
      "loss.png",
      "samples.png",
      "progress/epoch-001.png",
      "progress/epoch-002.png",
      "checkpoint/generator/weights.bin",
      "checkpoint/discriminator/weights.bin",
      "checkpoint/optimizer-generator/weights.bin",
      "checkpoint/meta.json",
    ]
  ) {
    assert.ok(await exists(`${dir}/a/${f}`), `missing ${f}`);
  }
  const records = (await Deno.readTextFile(`${dir}/a/metrics.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const train = records.find((r) => r.kind === "train");
  assert.deepEqual(Object.keys(train).sort(), ["dFake", "dLoss", "dReal", "epoch", "gLoss", "kind", "step"]);

  const first = await run("train", "--epochs", "1", "--out", `${dir}/b`, ...SMALL);
  assert.equal(first.code, 0, first.stderr);
  const resumed = await run("train", "--resume", `${dir}/b`, "--epochs", "2", "--json");
  assert.equal(resumed.code, 0, resumed.stderr);
  const b = JSON.parse(resumed.stdout);
  assert.equal(b.resumedFromStep, 3);
  assert.deepEqual({ ...b, out: a.out, seconds: 0, resumedFromStep: undefined }, {
    ...a,
    seconds: 0,
    resumedFromStep: undefined,
  });

  // Resuming a finished run trains nothing and reports the same run; fewer epochs than done is refused.
  const again = await run("train", "--resume", `${dir}/b`, "--json");
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual({ ...JSON.parse(again.stdout), seconds: 0 }, { ...b, seconds: 0, resumedFromStep: 6 });
  const fewer = await run("train", "--resume", `${dir}/b`, "--epochs", "1");
  assert.equal(fewer.code, 1);
  assert.match(
    fewer.stderr,
    /^error: --epochs 1 \(3 steps\) is below the 6 steps \(2 epochs\) already done in /,
  );
  assert.equal(fewer.stderr.trim().split("\n").length, 1, fewer.stderr);

  const changed = await run("train", "--resume", `${dir}/b`, "--pieces", "3");
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /^error: --pieces cannot be changed when resuming/);

  const ev = await run(
    "eval",
    "--checkpoint",
    `${dir}/a`,
    "--samples",
    "300",
    "--test-limit",
    "25",
    "--json",
  );
  assert.equal(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assert.equal(e.testImages, 25);
  assert.equal(e.valImages, 16);
  assert.equal(e.samples, 300);
  assert.ok(Number.isFinite(e.parzenLogLikelihood) && e.parzenStdErr > 0, ev.stdout);
  assert.match(ev.stderr, /parzen σ on held-out images: 0\.1000: /);

  const png = `${dir}/s.png`;
  const s = await run("sample", "--checkpoint", `${dir}/a`, "--count", "9", "--out", png, "--json");
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(JSON.parse(s.stdout), { out: png, count: 9, seed: 1 });
  const bytes = await Deno.readFile(png);
  assert.deepEqual([...bytes.subarray(1, 4)], [80, 78, 71]); // "PNG"
  const nowhere = await run("sample", "--checkpoint", `${dir}/a`, "--out", `${dir}/nowhere/s.png`);
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /^error: --out .*nowhere\/s\.png: folder .*nowhere does not exist[^\n]*\n$/);
  await Deno.mkdir(`${dir}/folder.png`);
  const folder = await run("sample", "--checkpoint", `${dir}/a`, "--out", `${dir}/folder.png`);
  assert.equal(folder.code, 1);
  assert.match(folder.stderr, /^error: --out .*folder\.png is a folder, expected a file\n$/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a diverging run stops with one error line and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  // Adam moves every weight by about lr per step: at 6e17 the first step's losses are finite and
  // a later step's logits overflow float32 (found by trying; seeded, so the same every time).
  const r = await run(
    "train",
    "--epochs",
    "2",
    "--lr",
    "6e17",
    "--checkpoint-every",
    "1",
    "--out",
    `${dir}/r`,
    ...SMALL,
  );
  assert.equal(r.code, 1, r.stderr);
  const m = r.stderr.match(
    /\nerror: Training diverged: loss "[dg]Loss" is (?:NaN|-?Infinity) at step (\d+); the last checkpoint is kept\n$/,
  );
  assert.ok(m, r.stderr);
  assert.ok(Number(m[1]) >= 2, r.stderr);
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/r/checkpoint/meta.json`));
  assert.equal(meta.step, Number(m[1]) - 1);
  const ev = await run("sample", "--checkpoint", `${dir}/r`, "--count", "4", "--out", `${dir}/s.png`);
  assert.equal(ev.code, 0, ev.stderr);

  // Diverging before the first checkpoint (one per epoch here) keeps nothing: the folder it made is gone.
  const early = await run("train", "--epochs", "1", "--lr", "6e17", "--out", `${dir}/early`, ...SMALL);
  assert.equal(early.code, 1, early.stderr);
  assert.match(
    early.stderr,
    /\nerror: Training diverged: loss "[dg]Loss" is (?:NaN|-?Infinity) at step \d+, before the first checkpoint: nothing was kept in \S+early \(try a lower --lr\)\n$/,
  );
  assert.equal(await exists(`${dir}/early`), false, "the run folder is left behind");
  await Deno.remove(dir, { recursive: true });
});
