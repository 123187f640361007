import assert from "node:assert/strict";
import { codePoints, decodeText, EMBEDDED_TEXT, loadEmbeddedText, readTextFile } from "./text.ts";
import { DataError } from "./types.ts";

/** Runs `fn` with a temporary file holding `bytes`, removed afterwards. */
async function withFile(bytes: Uint8Array, fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeFile(path, bytes);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

async function assertDataError(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert(e instanceof DataError, `expected a DataError, got ${e}`);
    for (const part of parts) assert(e.message.includes(part), `"${e.message}" does not mention "${part}"`);
    return true;
  });
}

Deno.test("an empty file, a NUL byte and invalid UTF-8 each give a DataError naming the file", async () => {
  const cases: [number[], string][] = [
    [[], "it is empty"],
    [[0x68, 0x69, 0x00, 0x21], "byte 2 is NUL"],
    [[0x68, 0xff, 0x69], "not valid UTF-8"],
    [[0x61, 0xe2, 0x82], "not valid UTF-8"], // a sequence cut short at the end
    [[0xc0, 0xaf], "not valid UTF-8"], // an overlong encoding of "/"
    [[0xed, 0xa0, 0x80], "not valid UTF-8"], // an encoded surrogate
  ];
  for (const [bytes, why] of cases) {
    await withFile(Uint8Array.from(bytes), (path) => assertDataError(readTextFile(path), path, why));
  }
});

Deno.test("a missing text file gives a DataError naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await assertDataError(readTextFile(`${dir}/missing.txt`), `${dir}/missing.txt`, "does not exist");
  await assertDataError(readTextFile(dir), dir, "it is a folder, expected a UTF-8 text file");
  await assertDataError(readTextFile(dir), dir);
  await Deno.remove(dir);
});

Deno.test("non-ASCII text survives a round trip through a file", async () => {
  const text = "Café crème — «naïve» αβγδ Ωμέγα, 漢字かな, a whale 🐋 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢\nline two\r\n";
  await withFile(new TextEncoder().encode(text), async (path) => {
    const corpus = await readTextFile(path);
    assert.equal(corpus.text, text);
    assert.equal(corpus.source, path);
  });
});

Deno.test("a leading byte-order mark is dropped", () => {
  assert.equal(decodeText(Uint8Array.of(0xef, 0xbb, 0xbf, 0x68, 0x69), "bom.txt"), "hi");
});

Deno.test("codePoints counts code points, not UTF-16 units", () => {
  const text = "a🐋b€";
  assert.equal(text.length, 5);
  assert.deepEqual(codePoints(text), ["a", "🐋", "b", "€"]);
  // A combining accent is a code point of its own.
  assert.deepEqual(codePoints("e\u0301"), ["e", "\u0301"]);
  assert.deepEqual(codePoints(""), []);
});

Deno.test("the embedded novel has over a million characters and starts as expected", () => {
  const corpus = loadEmbeddedText();
  assert.equal(corpus.source, EMBEDDED_TEXT);
  const text = corpus.text;
  assert(codePoints(text).length > 1_000_000, `${codePoints(text).length} code points`);
  assert(text.startsWith("CONTENTS\n\n\nETYMOLOGY."), JSON.stringify(text.slice(0, 40)));
  assert(text.includes("\n\nCHAPTER 1. Loomings.\n\nCall me Ishmael. Some years ago—never mind how long"));
  assert(text.endsWith("only found another orphan."), JSON.stringify(text.slice(-40)));
  // Chapter headings 1 to 135, in order.
  let at = 0;
  for (let chapter = 1; chapter <= 135; chapter++) {
    const next = text.indexOf(`CHAPTER ${chapter}. `, at);
    assert(next > at, `chapter ${chapter} heading missing or out of order`);
    at = next;
  }
  assert(!text.includes("\0") && !text.includes("\r"));
  assert.equal(loadEmbeddedText().text, text);
});
