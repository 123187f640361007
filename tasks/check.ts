/**
 * `deno task check`: every static check the project keeps clean, in one
 * command: fmt --check, lint, type check, doc lint of every exported
 * module of every package, and `deno publish --dry-run` for the workspace.
 *
 * `deno doc --lint` counts a type from an npm package (tf.Tensor2D) as
 * "private" when a public signature uses it (denoland/deno#27364): those
 * diagnostics, and only those, are left out. Every package's exported
 * modules are linted together, so types one package takes from another
 * (core's ImageSet in vae) are public as they should be.
 *
 * @module
 */

const root = new URL("../", import.meta.url).pathname;

async function run(label: string, args: string[], filter?: (output: string) => string): Promise<boolean> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), { args, cwd: root, stdout: "piped", stderr: "piped" })
    .output();
  let text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  let ok = out.success;
  if (filter) {
    text = filter(text);
    ok = text.trim() === "";
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`${ok ? "ok  " : "FAIL"} ${label} (${seconds} s)`);
  if (!ok) console.error(text.trim().split("\n").map((l) => `     ${l}`).join("\n"));
  return ok;
}

async function exportedModules(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const modules: string[] = [];
  for (const member of config.workspace as string[]) {
    const pkg = JSON.parse(await Deno.readTextFile(`${root}${member}/deno.json`));
    const exports = typeof pkg.exports === "string" ? { ".": pkg.exports } : pkg.exports;
    for (const path of Object.values(exports) as string[]) {
      modules.push(`${member}/${path}`.replace("/./", "/"));
    }
  }
  return modules;
}

async function localTypeNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory && e.name !== "node_modules" && !e.name.startsWith(".")) await walk(path);
      else if (e.isFile && e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(path);
        for (
          const m of text.matchAll(/^(?:export\s+)?(?:declare\s+)?(?:type|interface|class|enum)\s+(\w+)/gm)
        ) {
          names.add(m[1]);
        }
      }
    }
  };
  await walk(`${root}packages`);
  return names;
}

/** Drops `private-type-ref` diagnostics whose referenced type is not declared in our own code. */
function withoutNpmTypeRefs(local: Set<string>) {
  return (output: string): string => {
    // deno-lint-ignore no-control-regex
    const clean = output.replace(/\x1b\[[0-9;]*m/g, "");
    const blocks = clean.split(/\n(?=error)/).map((b) => b.trim()).filter((b) => b.startsWith("error"));
    const kept = blocks.filter((block) => {
      if (/^error: Found \d+ documentation lint errors?\.$/.test(block.split("\n")[0])) return false;
      const m = block.match(/^error\[private-type-ref\]: .* references private type '(\w+)'/);
      return !(m && !local.has(m[1]));
    });
    return kept.join("\n");
  };
}

const modules = await exportedModules();
const results = [
  await run("deno fmt --check", ["fmt", "--check"]),
  await run("deno lint", ["lint"]),
  await run("deno check", ["check", "packages", "tasks"]),
  await run(
    `deno doc --lint (${modules.length} exported modules)`,
    ["doc", "--lint", ...modules],
    withoutNpmTypeRefs(await localTypeNames()),
  ),
  await run("deno publish --dry-run", ["publish", "--dry-run", "--allow-dirty"]),
];
const failed = results.filter((ok) => !ok).length;
console.error(failed ? `${failed} check(s) failed` : "all checks passed");
Deno.exit(failed ? 1 : 0);
