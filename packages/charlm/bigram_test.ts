import assert from "node:assert/strict";
import { bigramBitsPerChar } from "./bigram.ts";
import { Vocabulary } from "./vocab.ts";

Deno.test("bigramBitsPerChar() matches a hand computation with add-one smoothing", () => {
  // Pairs in "aab": a→a once, a→b once. With V = 2: p(b|a) = (1+1)/(2+2) = 1/2, p(a|a) = 1/2.
  assert.ok(Math.abs(bigramBitsPerChar("aab", "ab") - 1) < 1e-12);
  // "b" was never followed by anything: p(a|b) = (0+1)/(0+2).
  assert.ok(Math.abs(bigramBitsPerChar("aab", "ba") - 1) < 1e-12);
  const vocab = Vocabulary.fromText("abc");
  // With V = 3: p(b|a) = 2/5.
  assert.ok(Math.abs(bigramBitsPerChar("aab", "ab", { vocab }) + Math.log2(2 / 5)) < 1e-12);
});

Deno.test("bigramBitsPerChar() rejects bad input clearly", () => {
  assert.throws(() => bigramBitsPerChar("ab", "a"), /at least 2/);
  assert.throws(() => bigramBitsPerChar("ab", "ab", { smoothing: 0 }), /Smoothing 0/);
});
