import assert from "node:assert/strict";

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
      "--hidden",
      "--latent",
      "--seed",
      "--backend",
      "--resume",
      "--json",
    ]
  ) {
    assert.ok(r.stdout.includes(flag), `help lacks ${flag}`);
  }
  assert.match(r.stdout, /--batch-size N\s+images per step \(default: 128\)/);
});

Deno.test("bad flags fail with one error line, exit 1 and no run folder", async () => {
  const dir = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [["train", "--epochs", "x"], /^error: --epochs must be a number, got "x"$/],
    [["train", "--epochs", "0"], /^error: --epochs must be >= 1, got 0$/],
    [["train", "--lr", "0"], /^error: --lr must be > 0, got 0$/],
    [["train", "--latent", "2.5"], /^error: --latent must be a whole number, got "2.5"$/],
    [["train", "--frobnicate"], /^error: unknown flag --frobnicate/],
    [["train", "--backend", "tpu"], /^error: --backend must be one of auto, cpu, wasm, webgpu, got "tpu"$/],
    [["train", "--data", `${dir}/nope`], /^error: Cannot read data folder .*nope: it does not exist$/],
    [["eval"], /^error: --checkpoint is required/],
    [["eval", "--checkpoint", `${dir}/nope`], /^error: Cannot find a checkpoint in .*nope/],
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

Deno.test("--out refuses a non-empty folder that is not this run's", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
  const r = await run("train", "--epochs", "1", "--hidden", "8", "--out", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: --out .* is not empty and holds no checkpoint of this run/);
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["notes.txt"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train, resume, eval and sample work end to end; a resumed run ends where a straight run ends", async () => {
  const dir = await Deno.makeTempDir();
  const common = ["--hidden", "16", "--latent", "2", "--batch-size", "256", "--seed", "3", "--json"];
  // one straight run of 2 epochs
  const straight = await run("train", "--epochs", "2", "--out", `${dir}/a`, ...common);
  assert.equal(straight.code, 0, straight.stderr);
  const a = JSON.parse(straight.stdout);
  assert.deepEqual(Object.keys(a).sort(), [
    "epochs",
    "out",
    "seconds",
    "steps",
    "testNegElbo",
    "trainNegElbo",
  ]);
  assert.equal(a.epochs, 2);
  assert.equal(a.steps, 72);
  for (
    const f of [
      "config.json",
      "metrics.jsonl",
      "loss.png",
      "samples.png",
      "manifold.png",
      "checkpoint/meta.json",
    ]
  ) {
    assert.ok(await exists(`${dir}/a/${f}`), `missing ${f}`);
  }
  const names = [...Deno.readDirSync(`${dir}/a`)].map((e) => e.name);
  assert.ok(names.some((n) => /^original_\[\d(,\d){9}\]\.png$/.test(n)), names.join(" "));
  assert.ok(names.some((n) => /^reconstructed_\[\d(,\d){9}\]\.png$/.test(n)), names.join(" "));

  // one epoch, then resumed to two
  const first = await run("train", "--epochs", "1", "--out", `${dir}/b`, ...common);
  assert.equal(first.code, 0, first.stderr);
  const resumed = await run("train", "--resume", `${dir}/b`, "--epochs", "2", "--json");
  assert.equal(resumed.code, 0, resumed.stderr);
  const b = JSON.parse(resumed.stdout);
  assert.equal(b.resumedFromStep, 36);
  assert.equal(b.steps, 72);
  assert.ok(Math.abs(b.trainNegElbo - a.trainNegElbo) < 1e-3, `${b.trainNegElbo} vs ${a.trainNegElbo}`);
  assert.ok(Math.abs(b.testNegElbo - a.testNegElbo) < 1e-3, `${b.testNegElbo} vs ${a.testNegElbo}`);
  const steps = (await Deno.readTextFile(`${dir}/b/metrics.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((r) => r.kind === "epoch").map((r) => r.step);
  assert.deepEqual(steps, [36, 72]);

  // --resume refuses changed settings
  const changed = await run("train", "--resume", `${dir}/b`, "--hidden", "32");
  assert.equal(changed.code, 1);
  assert.match(changed.stderr, /^error: --hidden cannot be changed when resuming/);

  const ev = await run("eval", "--checkpoint", `${dir}/a`, "--json");
  assert.equal(ev.code, 0, ev.stderr);
  const e = JSON.parse(ev.stdout);
  assert.equal(e.images, 1000);
  assert.ok(Math.abs(e.negElbo - a.testNegElbo) < 1e-3, `${e.negElbo} vs ${a.testNegElbo}`);
  assert.ok(e.negElboMean > 0 && e.kl > 0);

  const png = `${dir}/s.png`;
  const s = await run("sample", "--checkpoint", `${dir}/a`, "--count", "9", "--out", png, "--json");
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual(JSON.parse(s.stdout), { out: png, count: 9, seed: 1 });
  const bytes = await Deno.readFile(png);
  assert.deepEqual([...bytes.subarray(1, 4)], [80, 78, 71]); // "PNG"
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Ctrl-C finishes the step, writes a checkpoint and exits 130; --resume then completes the run", async () => {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--node-modules-dir=manual",
      MAIN,
      "train",
      "--epochs",
      "50",
      "--hidden",
      "16",
      "--batch-size",
      "256",
      "--out",
      `${dir}/r`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/step \d+\/1800/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  child.kill("SIGINT");
  child.kill("SIGINT"); // deno task can deliver one Ctrl-C twice: counts as one
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  const status = await child.status;
  await child.stdout.cancel();
  assert.equal(status.code, 130, seen);
  assert.match(seen, /stopped at step \d+; continue with: deno task train:vae --resume/);
  const meta = JSON.parse(await Deno.readTextFile(`${dir}/r/checkpoint/meta.json`));
  assert.ok(meta.step > 0 && meta.step < 1800, `checkpoint at step ${meta.step}`);
  const resumed = await run("train", "--resume", `${dir}/r`, "--epochs", "1", "--json");
  // the run is already past epoch 1 or exactly at it: it ends at once, keeping its step
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout).resumedFromStep, meta.step);
  await Deno.remove(dir, { recursive: true });
});
