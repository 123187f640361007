import { deepEqual as assertEquals, match as assertMatch, throws } from "node:assert/strict";
import { cellSeconds, type Notebook, parseFailure, selectNotebooks, stripTiming } from "./notebooks.ts";

const code = (source: string, metadata: Record<string, unknown> = {}) => ({
  cell_type: "code",
  source,
  metadata,
  outputs: [],
});
const markdown = (source: string) => ({ cell_type: "markdown", source, metadata: {} });

const NB: Notebook = {
  cells: [
    markdown("# Title"),
    code('console.log("a")'),
    markdown("Some words."),
    code('const y = 1;\nthrow new TypeError("bad thing")'),
    code("for (let i = 0; i < 20; i++) {\n" + "  step(i);\n".repeat(12) + "}"),
  ],
  metadata: { kernelspec: { name: "deno" } },
};

// nbconvert 6.5 / nbclient 0.7 stderr, trimmed to the end that matters.
const ERROR_STDERR = `Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/nbclient/client.py", line 915, in _check_raise_for_error
    raise CellExecutionError.from_cell_and_msg(cell, exec_reply_content)
nbclient.exceptions.CellExecutionError: An error occurred while executing the following cell:
------------------
const y = 1;
throw new TypeError("bad thing")
------------------

TypeError: bad thing
    at <anonymous>:2:7
TypeError: bad thing

`;

const TIMEOUT_STDERR =
  `nbclient.exceptions.CellTimeoutError: A cell timed out while it was being executed, after 3 seconds.
The message was: Cell execution timed out.
Here is a preview of the cell contents:
-------------------
['for (let i = 0; i < 20; i++) {', '  step(i);', '  step(i);', '  step(i);', '  step(i);']
...
['  step(i);', '  step(i);', '  step(i);', '  step(i);', '}']
-------------------
`;

Deno.test("parseFailure() names the failing cell, counting all cells from 1, and keeps the trace once", () => {
  const failure = parseFailure(ERROR_STDERR, NB);
  assertEquals(failure.cell, 4);
  assertEquals(failure.firstLine, "const y = 1;");
  assertEquals(failure.message, "TypeError: bad thing\n    at <anonymous>:2:7");
});

Deno.test("parseFailure() finds a timed-out cell from nbclient's preview of a long cell", () => {
  const failure = parseFailure(TIMEOUT_STDERR, NB);
  assertEquals(failure.cell, 5);
  assertEquals(failure.firstLine, "for (let i = 0; i < 20; i++) {");
  assertMatch(failure.message, /timed out after 3 s/);
});

Deno.test("parseFailure() reports a dead kernel and unknown failures without a cell", () => {
  const dead = parseFailure("...\nnbclient.exceptions.DeadKernelError: Kernel died\n", NB);
  assertEquals(dead.cell, undefined);
  assertMatch(dead.message, /kernel died/);
  const other = parseFailure("\x1b[31mSomething else\x1b[0m went wrong\n", NB);
  assertEquals(other, { message: "Something else went wrong" });
});

Deno.test("cellSeconds() reads nbclient's timing, slowest first; stripTiming() removes it", () => {
  const nb: Notebook = {
    cells: [
      markdown("x"),
      code("a", {
        execution: {
          "iopub.execute_input": "2026-12-03T18:00:00.000Z",
          "shell.execute_reply": "2026-12-03T18:00:02.500Z",
        },
      }),
      code("b", {
        tags: ["t"],
        execution: {
          "iopub.execute_input": "2026-12-03T18:00:03.000Z",
          "shell.execute_reply": "2026-12-03T18:01:03.000Z",
        },
      }),
    ],
  };
  assertEquals(cellSeconds(nb), [[3, 60], [2, 2.5]]);
  stripTiming(nb);
  assertEquals(nb.cells.map((c) => c.metadata), [{}, {}, { tags: ["t"] }]);
  assertEquals(cellSeconds(nb), []);
});

Deno.test("selectNotebooks() takes every notebook by name, or those --only names, with or without .ipynb", () => {
  const names = ["vae.ipynb", "README.md", "charlm.ipynb", "gan.ipynb"];
  assertEquals(selectNotebooks(names), ["charlm.ipynb", "gan.ipynb", "vae.ipynb"]);
  assertEquals(selectNotebooks(names, "vae, gan.ipynb"), ["vae.ipynb", "gan.ipynb"]);
  throws(() => selectNotebooks(names, "vae,saliency"), /--only names saliency\.ipynb/);
});
