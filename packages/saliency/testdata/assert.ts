// Test-only helpers on top of node:assert/strict (JSR's @std/assert is unreachable here).
import assert from "node:assert/strict";

/** Fails unless `actual` deep-equals `expected` (NaN equals NaN). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** Fails unless |actual − expected| <= tolerance. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tolerance = 1e-7,
  message?: string,
): void {
  if (!(Math.abs(actual - expected) <= tolerance)) {
    throw new assert.AssertionError({
      message: `${message ? message + ": " : ""}expected ${actual} to be within ${tolerance} of ${expected}`,
      actual,
      expected,
    });
  }
}

/** Fails unless `fn` throws an instance of `type` whose message includes `includes`. */
export function assertThrows(fn: () => unknown, type: new (...args: never[]) => Error, includes = ""): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(
      e instanceof type,
      `expected ${type.name}, got ${(e as Error)?.name}: ${(e as Error)?.message}`,
    );
    assert.ok(
      (e as Error).message.includes(includes),
      `"${(e as Error).message}" does not include "${includes}"`,
    );
    return true;
  });
}

/** Fails unless `condition` holds. */
export function assertOk(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}
