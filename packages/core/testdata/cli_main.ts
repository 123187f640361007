/**
 * A tiny command for cli_test.ts: runs core's flag parsing and runMain in
 * a real process so that exit codes, stdout and stderr can be checked.
 */
import { interruptSignal, parseFlags, printSummary, runMain } from "../cli.ts";
import { DataError } from "../data/types.ts";

const SPECS = {
  epochs: { type: "int", help: "passes over the data", default: 2, min: 1 },
  lr: { type: "number", help: "learning rate", default: 0.001, min: 0, exclusiveMin: true },
  mode: { type: "string", help: "what to do", default: "ok", choices: ["ok", "fail", "crash", "interrupt"] },
  json: { type: "boolean", help: "print the summary as JSON", default: false },
} as const;

await runMain(async () => {
  const flags = parseFlags(Deno.args, SPECS, {
    command: "demo:core",
    description: "A tiny command for tests.",
  });
  if (flags.mode === "fail") throw new DataError("Cannot read data folder /nowhere: it does not exist");
  if (flags.mode === "crash") throw new Error("boom");
  if (flags.mode === "interrupt") {
    const { signal, dispose } = interruptSignal();
    // One Ctrl-C under `deno task` can arrive as two SIGINTs: they must count as one.
    Deno.kill(Deno.pid, "SIGINT");
    Deno.kill(Deno.pid, "SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 300));
    dispose();
    await printSummary({ aborted: signal.aborted }, true);
    return 130;
  }
  await printSummary({ epochs: flags.epochs, lr: flags.lr, given: [...flags.given].join(",") }, flags.json);
  return 0;
});
