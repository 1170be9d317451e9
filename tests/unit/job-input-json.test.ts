import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exactJsonProblem, jsonProblem, MAX_JSON_DEPTH } from '@/server/compute/job-input';

const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);

describe('jsonProblem (a cheap bound first, the exact check near the limit)', () => {
  it('says what the exact check says, for any JSON value and any limit', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('\u0000', 'a\uD800', '\uDC00b', '😀', '"\\'));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.double(), fc.integer(), text, fc.array(tie('node'), { maxLength: 6 }), fc.dictionary(text, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 400 }), (v, maxBytes) => {
        expect(jsonProblem(v, maxBytes)).toBe(exactJsonProblem(v, maxBytes));
      }),
      { numRuns: 1_000 },
    );
  });

  it('refuses NUL, broken characters, numbers that are not finite, deep nesting, oversized values and non-JSON objects', () => {
    expect(jsonProblem({ a: 'x\u0000' }, 1_000)).toMatch(/NUL/);
    expect(jsonProblem(['\uD800'], 1_000)).toMatch(/NUL|half/);
    expect(jsonProblem({ ['k\uDC00']: 1 }, 1_000)).toMatch(/NUL|half/);
    expect(jsonProblem([Number.NaN], 1_000)).toMatch(/finite/);
    expect(jsonProblem(nested(MAX_JSON_DEPTH + 1), 1_000_000)).toMatch(/deeper/);
    expect(jsonProblem(nested(MAX_JSON_DEPTH - 1), 1_000_000)).toBeNull();
    expect(jsonProblem('x'.repeat(100), 50)).toMatch(/larger/);
    expect(jsonProblem({ at: new Date() }, 1_000)).toMatch(/not a JSON value|larger|JSON/);
    expect(jsonProblem(undefined, 1_000)).toMatch(/missing/);
  });

  it('accepts a value whose cheap bound is over the limit but whose exact size is not', () => {
    // 60 plain characters: bounded at 6 bytes each (362), exactly 62 bytes
    const v = 'a'.repeat(60);
    expect(jsonProblem(v, 100)).toBeNull();
    expect(jsonProblem(v, 61)).toMatch(/larger/);
  });
});
