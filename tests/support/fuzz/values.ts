/**
 * Malformed and boundary values for the fuzz suite, and a seeded random source so that a failure
 * replays: the same seed gives the same calls in the same order.
 */
import { mulberry32 } from '../simulation/rng';

/** The simulation's mulberry32 generator, with the helpers the fuzz picks its cases with. */
export function seededRandom(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}
export type Random = ReturnType<typeof seededRandom>;

/** An object nested `depth` levels deep, with `leaf` at the bottom (built without recursion). */
export function nested(depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

export function nestedArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const MEGABYTE = 1 << 20;

/** Strings that a database, a regex or a number parser may choke on. */
export const STRINGS: readonly string[] = [
  '\u0000',
  'abc\u0000def',
  '\uD800',
  'x\uDFFFy',
  '\uDBFF\uDFFF',
  'x'.repeat(MEGABYTE),
  '\u00e9'.repeat(MEGABYTE / 2),
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e308',
  '-1e308',
  '9007199254740993',
  '0x1F',
  '2026-13-45T99:99:99Z',
  '💥'.repeat(40),
  "' OR 1=1 --",
  '%00',
  '__proto__',
  'constructor',
  '../../../etc/passwd',
  // ids that look real but name nothing
  'cm00000000000000000000000',
  '00000000-0000-0000-0000-000000000000',
  'a'.repeat(64),
  'a'.repeat(65),
];

/** Numbers at and past every edge: floats, infinities, the end of the safe integers. */
export const NUMBERS: readonly number[] = [
  1e308,
  -1e308,
  Infinity,
  -Infinity,
  NaN,
  -0,
  0,
  -1,
  0.5,
  2 ** 53 + 1,
  -(2 ** 53 + 1),
  Number.MAX_SAFE_INTEGER,
  2 ** 63,
  2 ** 31,
  1e15,
  1e15 + 1,
  1e9,
  Number.MIN_VALUE,
];

/** An array of 10k items, deep nesting, and values of the wrong type. */
export const SHAPES: readonly unknown[] = [
  null,
  undefined,
  true,
  {},
  [],
  Array.from({ length: 10_000 }, (_, i) => i),
  Array.from({ length: 10_000 }, () => 'x'),
  nested(64, '\u0000'),
  nested(5_000),
  nestedArray(5_000),
  // deeper than JSON.stringify can recurse: a 1 MB body of `{"a":` makes this
  nested(200_000),
  { length: 1e9 },
  new Date(0),
];

export const ALL_VALUES: readonly unknown[] = [...STRINGS, ...NUMBERS, ...SHAPES];

/** A short, printable description of a value for a failure report (never a megabyte of it). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 24 ? `${JSON.stringify(value.slice(0, 12))}…(${value.length} chars)` : JSON.stringify(value);
    return shown;
  }
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (Array.isArray(value)) return value.length > 4 ? `[array of ${value.length}]` : `[${value.length} items]`;
  if (value instanceof Date) return 'Date';
  if (value && typeof value === 'object') {
    let depth = 0;
    let cursor: unknown = value;
    while (cursor && typeof cursor === 'object' && 'a' in cursor && depth < 10_000) {
      cursor = (cursor as { a: unknown }).a;
      depth++;
    }
    if (depth > 3) return `{nested ${depth} deep}`;
    const text = JSON.stringify(value) ?? '';
    return text.length > 60 ? `${text.slice(0, 60)}…` : text;
  }
  return String(value);
}
