/**
 * `deno task notebooks`: executes every notebook in `notebooks/` headlessly
 * on the Deno kernel, with Jupyter's own `python3 -m nbconvert --to notebook
 * --execute`, and fails on the first cell error of each, naming the notebook
 * and the cell.
 *
 * Each notebook runs in place (so the kernel starts in `notebooks/` and finds
 * the workspace's `deno.json`, which resolves `@simple-nets/vae` and the
 * rest), but its executed copy is written to a temporary folder: the
 * committed notebooks change only with `--write`, and only when they ran
 * without error.
 *
 * ```sh
 * deno task notebooks                      # run them all, change nothing
 * deno task notebooks --only vae,gan       # run two
 * deno task notebooks --write              # refresh the committed outputs
 * ```
 *
 * Needs Jupyter (`apt-get install jupyter-notebook python3-nbconvert`) and
 * the Deno kernel (`deno jupyter --install`); says so and exits 1 without.
 *
 * @module
 */
import { parseFlags, runMain, UserError } from "@simple-nets/core/cli";

const root = new URL("../", import.meta.url).pathname;
const notebooksDir = `${root}notebooks`;

/** What to type when Jupyter or the Deno kernel is missing. */
export const INSTALL_HINT = "install Jupyter and the Deno kernel with:\n" +
  "  apt-get install -y jupyter-notebook python3-nbconvert\n" +
  "  deno jupyter --install";

const FLAGS = {
  write: {
    type: "boolean",
    default: false,
    help: "replace each committed notebook by its executed copy when it ran without error",
  },
  only: { type: "string", placeholder: "NAME,NAME", help: "run only these notebooks (e.g. vae,gan)" },
  timeout: {
    type: "int",
    min: 1,
    default: 1800,
    help: "seconds one cell may run before it counts as failed",
  },
  python: {
    type: "string",
    placeholder: "PATH",
    help: "the Python with Jupyter's nbconvert (default: /usr/bin/python3, else python3)",
  },
} as const;

/** The parts of a notebook this runner reads. */
export interface Notebook {
  cells: {
    cell_type: string;
    source: string | string[];
    metadata?: Record<string, unknown>;
    outputs?: unknown[];
  }[];
  metadata?: { kernelspec?: { name?: string } };
}

/** Which cell failed and how, as read from nbconvert's error output. */
export interface CellFailure {
  /** Index of the failing cell among all cells, counting from 1 as they appear; undefined when unknown. */
  cell?: number;
  /** The first non-empty line of that cell's source. */
  firstLine?: string;
  /** What went wrong: the error and its trace, a timeout, or a dead kernel. */
  message: string;
}

const sourceOf = (cell: Notebook["cells"][number]): string =>
  Array.isArray(cell.source) ? cell.source.join("") : cell.source;

const firstLineOf = (source: string): string => source.split("\n").find((l) => l.trim() !== "")?.trim() ?? "";

// deno-lint-ignore no-control-regex -- ESC starts the colour codes being removed
const stripAnsi = (text: string): string => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** Finds the code cell whose source `block` shows: equal, or else containing its first line. */
function findCell(nb: Notebook, block: string): number | undefined {
  const code = nb.cells.map((c, i) => ({ c, i })).filter(({ c }) => c.cell_type === "code");
  const exact = code.find(({ c }) => sourceOf(c).trim() === block.trim());
  if (exact) return exact.i;
  const partial = code.find(({ c }) => {
    const line = firstLineOf(sourceOf(c));
    return line !== "" && block.includes(line);
  });
  return partial?.i;
}

/**
 * Reads nbconvert's stderr after a failed run and names the failing cell.
 * nbclient reports a cell error as "An error occurred while executing the
 * following cell:" followed by the cell's source between dashed lines and
 * the kernel's trace; a timeout as "A cell timed out ..." with a preview of
 * the source; a crashed kernel as "DeadKernelError".
 *
 * @param stderr nbconvert's standard error.
 * @param nb The notebook that was run.
 * @returns The failing cell (1-based) when it can be told, and what happened.
 */
export function parseFailure(stderr: string, nb: Notebook): CellFailure {
  const text = stripAnsi(stderr).replace(/\r\n/g, "\n");
  const located = (blockText: string, message: string): CellFailure => {
    const index = findCell(nb, blockText);
    if (index === undefined) {
      return { message: `${message}\n  in a cell starting: ${firstLineOf(blockText)}` };
    }
    return { cell: index + 1, firstLine: firstLineOf(sourceOf(nb.cells[index])), message };
  };
  const error = text.match(
    /An error occurred while executing the following cell:\n-{3,}\n([\s\S]*?)\n-{3,}\n\n?([\s\S]*)$/,
  );
  if (error) {
    const trace = error[2].split("\n").map((l) => l.trimEnd());
    // nbclient repeats "Name: message" after the trace; keep the kernel's own lines once.
    const lines = trace.filter((l, i) => l !== "" && !(i > 0 && trace.slice(0, i).includes(l)));
    return located(error[1], lines.slice(0, 20).join("\n"));
  }
  const timeout = text.match(
    /A cell timed out while it was being executed, after (\S+) seconds\.[\s\S]*?-{3,}\n([\s\S]*?)\n-{3,}/,
  );
  if (timeout) {
    return located(timeout[2], `timed out after ${timeout[1]} s (raise the limit with --timeout SECONDS)`);
  }
  if (/DeadKernelError|Kernel died/.test(text)) {
    return { message: "the Deno kernel died (out of memory, or killed)\n" + tail(text, 10) };
  }
  return { message: tail(text, 20) };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Seconds each code cell took, from the timing nbclient records in each
 * cell's `metadata.execution`.
 *
 * @returns `[cell (1-based), seconds]` pairs, slowest first.
 */
export function cellSeconds(nb: Notebook): [number, number][] {
  const out: [number, number][] = [];
  nb.cells.forEach((cell, i) => {
    const timing = cell.metadata?.execution as Record<string, string> | undefined;
    const start = Date.parse(timing?.["iopub.execute_input"] ?? "");
    const end = Date.parse(timing?.["shell.execute_reply"] ?? "");
    if (Number.isFinite(start) && Number.isFinite(end)) out.push([i + 1, (end - start) / 1000]);
  });
  return out.sort((a, b) => b[1] - a[1]);
}

/**
 * Prepares an executed notebook for committing: drops the per-cell timing
 * metadata (timestamps that would change every run and say nothing to a
 * reader). Changes `nb` in place.
 */
export function stripTiming(nb: Notebook): Notebook {
  for (const cell of nb.cells) {
    if (cell.metadata && "execution" in cell.metadata) delete cell.metadata.execution;
  }
  return nb;
}

/** The notebooks to run: every `*.ipynb` in `dir`, by name, or those named in `only`. */
export function selectNotebooks(names: string[], only?: string): string[] {
  const all = names.filter((n) => n.endsWith(".ipynb")).sort();
  if (only === undefined) return all;
  const wanted = only.split(",").map((s) => s.trim()).filter((s) => s !== "")
    .map((s) => s.endsWith(".ipynb") ? s : `${s}.ipynb`);
  const missing = wanted.filter((w) => !all.includes(w));
  if (missing.length) {
    throw new UserError(
      `--only names ${missing.join(", ")}, expected some of: ${
        all.map((n) => n.replace(/\.ipynb$/, "")).join(", ")
      }`,
    );
  }
  return wanted;
}

async function output(cmd: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { ok: out.success, text: (dec.decode(out.stdout) + dec.decode(out.stderr)).trim() };
  } catch (e) {
    return { ok: false, text: (e as Error).message };
  }
}

async function findPython(given: string | undefined): Promise<string> {
  if (given !== undefined) return given;
  try {
    await Deno.stat("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

/** Checks for nbconvert and the Deno kernel; throws a UserError saying how to install what is missing. */
async function checkTools(python: string): Promise<void> {
  const nbconvert = await output(python, ["-m", "nbconvert", "--version"]);
  if (!nbconvert.ok) {
    throw new UserError(
      `Jupyter's nbconvert is not available (${python} -m nbconvert failed); ${INSTALL_HINT}`,
    );
  }
  const spec = await output(python, [
    "-c",
    "from jupyter_client.kernelspec import find_kernel_specs; print(find_kernel_specs().get('deno', ''))",
  ]);
  if (!spec.ok || spec.text.split("\n").at(-1)!.trim() === "") {
    throw new UserError(`the Deno Jupyter kernel is not installed; ${INSTALL_HINT}`);
  }
}

async function runNotebook(
  python: string,
  name: string,
  options: { timeout: number; write: boolean },
): Promise<boolean> {
  const path = `${notebooksDir}/${name}`;
  const nb: Notebook = JSON.parse(await Deno.readTextFile(path));
  const kernel = nb.metadata?.kernelspec?.name;
  if (kernel !== "deno") {
    console.error(`FAIL notebooks/${name}: its kernel is "${kernel ?? "not set"}", expected "deno"`);
    return false;
  }
  const tmp = await Deno.makeTempDir({ prefix: "notebooks-" });
  try {
    console.error(`...  notebooks/${name}`);
    const started = performance.now();
    const out = await new Deno.Command(python, {
      args: [
        "-m",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        `--ExecutePreprocessor.timeout=${options.timeout}`,
        "--ExecutePreprocessor.startup_timeout=300",
        "--ExecutePreprocessor.kernel_name=deno",
        "--output-dir",
        tmp,
        "--output",
        name,
        path,
      ],
      cwd: notebooksDir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - started) / 1000;
    if (!out.success) {
      const failure = parseFailure(new TextDecoder().decode(out.stderr), nb);
      const where = failure.cell === undefined
        ? "a cell failed"
        : `cell ${failure.cell} of ${nb.cells.length} (${failure.firstLine}) failed`;
      console.error(`FAIL notebooks/${name}: ${where} after ${seconds.toFixed(0)} s`);
      console.error(failure.message.split("\n").map((l) => `     ${l}`).join("\n"));
      return false;
    }
    const executed: Notebook = JSON.parse(await Deno.readTextFile(`${tmp}/${name}`));
    const slowest = cellSeconds(executed)[0];
    console.error(
      `ok   notebooks/${name} (${seconds.toFixed(0)} s` +
        (slowest ? `; slowest: cell ${slowest[0]}, ${slowest[1].toFixed(0)} s` : "") + ")",
    );
    if (options.write) {
      // nbformat's layout: one-space indent, keys as nbconvert wrote them, a final newline.
      await Deno.writeTextFile(`${tmp}/${name}`, JSON.stringify(stripTiming(executed), null, 1) + "\n");
      await Deno.rename(`${tmp}/${name}`, path).catch(() => Deno.copyFile(`${tmp}/${name}`, path));
      console.error(`     wrote notebooks/${name}`);
    }
    return true;
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(Deno.args, FLAGS, {
    command: "notebooks",
    description: "Execute every notebook in notebooks/ on the Deno kernel; fail on any cell error.",
  });
  const names: string[] = [];
  for await (const entry of Deno.readDir(notebooksDir)) if (entry.isFile) names.push(entry.name);
  const selected = selectNotebooks(names, flags.only);
  if (selected.length === 0) throw new UserError(`no notebooks in ${notebooksDir}`);
  const python = await findPython(flags.python);
  await checkTools(python);
  let failed = 0;
  for (const name of selected) {
    if (!(await runNotebook(python, name, { timeout: flags.timeout, write: flags.write }))) failed++;
  }
  console.error(
    failed ? `${failed} of ${selected.length} notebooks failed` : `all ${selected.length} notebooks ran`,
  );
  return failed ? 1 : 0;
}

if (import.meta.main) runMain(main);
