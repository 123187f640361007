import assert from "node:assert/strict";
import { splitText, Vocabulary } from "./vocab.ts";

Deno.test("Vocabulary.fromText() sorts unique code points, astral characters included", () => {
  const vocab = Vocabulary.fromText("b😀a—ωa\uffe0é日");
  // By code point: U+FFE0 comes before U+1F600, although its UTF-16 unit is larger than 0xD83D.
  assert.deepEqual(vocab.chars, ["a", "b", "é", "ω", "—", "日", "\uffe0", "😀"]);
  assert.equal(vocab.size, 8);
  assert.equal(vocab.id("😀"), 7);
  assert.equal(vocab.id("z"), undefined);
});

Deno.test("encode() and decode() round-trip non-ASCII text one code point per character", () => {
  const text = "Καλημέρα — 你好 😀!";
  const vocab = Vocabulary.fromText(text);
  const { ids, unknown } = vocab.encode(text);
  assert.equal(ids.length, [...text].length);
  assert.equal(unknown, 0);
  assert.equal(vocab.decode(ids), text);
});

Deno.test("encode() counts and leaves out characters outside the vocabulary", () => {
  const vocab = Vocabulary.fromText("abc");
  const e = vocab.encode("a😀bxxc");
  assert.deepEqual([...e.ids], [0, 1, 2]);
  assert.equal(e.unknown, 3);
  assert.deepEqual(e.unknownExamples, ["x", "😀"]);
  assert.equal(vocab.covers("cab"), true);
  assert.equal(vocab.covers("cat"), false);
});

Deno.test("a vocabulary rejects empty, unsorted, repeated or multi-character entries", () => {
  assert.throws(() => Vocabulary.fromText(""), RangeError);
  assert.throws(() => new Vocabulary([]), /non-empty list/);
  assert.throws(() => new Vocabulary(["b", "a"]), /out of order/);
  assert.throws(() => new Vocabulary(["a", "a"]), /out of order or repeated/);
  assert.throws(() => new Vocabulary(["ab"]), /expected one character/);
  assert.throws(() => Vocabulary.fromText("ab").decode([5]), /outside the vocabulary/);
});

Deno.test("splitText() splits at code point floor(9n/10)", () => {
  assert.deepEqual(splitText("0123456789"), { train: "012345678", val: "9" });
  // 11 code points, 12 UTF-16 units: the split counts code points.
  assert.deepEqual(splitText("abcdefghi😀j"), { train: "abcdefghi", val: "😀j" });
});
