import type { Random } from './values';
import { ALL_VALUES, nested, NUMBERS, STRINGS } from './values';

export type Path = (string | number)[];

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return value !== null && typeof value === 'object' && !(value instanceof Date);
}

/** Every path inside a JSON-like value (containers and leaves, not the root), at most `limit` of them. */
export function pathsOf(value: unknown, limit = 400): Path[] {
  const out: Path[] = [];
  const walk = (node: unknown, path: Path) => {
    if (!isContainer(node) || out.length >= limit) return;
    const entries: [string | number, unknown][] = Array.isArray(node) ? node.slice(0, 4).map((v, i) => [i, v]) : Object.entries(node);
    for (const [key, child] of entries) {
      if (out.length >= limit) return;
      out.push([...path, key]);
      walk(child, [...path, key]);
    }
  };
  walk(value, []);
  return out;
}

export function getAt(value: unknown, path: Path): unknown {
  let node = value;
  for (const key of path) node = isContainer(node) ? (node as Record<string | number, unknown>)[key] : undefined;
  return node;
}

function cloneShallowPath(value: unknown, path: Path): unknown {
  // copies only the containers along the path: a megabyte leaf elsewhere is shared, not copied
  const root: unknown = Array.isArray(value) ? [...value] : { ...(value as object) };
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) {
    const child = node[key];
    const copy = Array.isArray(child) ? [...child] : isContainer(child) ? { ...child } : {};
    node[key] = copy;
    node = copy as Record<string | number, unknown>;
  }
  return root;
}

/** A copy of `value` with the thing at `path` replaced (or removed, for `REMOVE`). */
export const REMOVE = Symbol('remove');
export function setAt(value: unknown, path: Path, replacement: unknown): unknown {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const root = cloneShallowPath(value, path);
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (replacement === REMOVE) {
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  } else parent[key] = replacement;
  return root;
}

/** Adds keys a schema does not know, including an own `__proto__` as JSON.parse would make it. */
export function withExtraKeys(value: unknown): unknown {
  if (!isContainer(value) || Array.isArray(value)) return value;
  const copy: Record<string, unknown> = { ...value, extra: 'surprise', constructor: { prototype: { polluted: true } } };
  Object.defineProperty(copy, '__proto__', { value: { polluted: true }, enumerable: true, configurable: true, writable: true });
  return copy;
}

/** The wrong type for what sits at a path: a number where a string was, and the other way round. */
function wrongTypeFor(current: unknown): unknown[] {
  if (typeof current === 'string') return [12345, 1e308, true, [current], { value: current }];
  if (typeof current === 'number') return [String(current), '1e308', 'NaN', true, [current]];
  if (typeof current === 'boolean') return ['true', 1, 'false'];
  if (Array.isArray(current)) return ['x', 1, { 0: current[0] }, Array.from({ length: 10_000 }, () => current[0] ?? 1)];
  if (isContainer(current)) return ['x', 1, [current], nested(64)];
  return ['x', 1, {}];
}

/** At every path: the core boundary values, the wrong types, and the key removed. */
export const CORE_VALUES: readonly unknown[] = [
  'ok\u0000',
  '\uD800',
  STRINGS.find((s) => s.length >= 1 << 20),
  1e308,
  -1e308,
  NaN,
  Infinity,
  -0,
  2 ** 53 + 1,
  '9007199254740993',
  null,
  'cm00000000000000000000000',
];

export type Case = { label: string; input: unknown };

/** The fixed cases; `full` gives every path every wrong type (a FUZZ_ITERATIONS run), else the first two. */
export function deterministicCases(base: unknown, full = false): Case[] {
  const cases: Case[] = [
    { label: 'the base input', input: base },
    { label: 'no input', input: undefined },
    { label: 'null', input: null },
    { label: 'a string', input: '\u0000' },
    { label: '1e308', input: 1e308 },
    { label: 'an array of 10k', input: Array.from({ length: 10_000 }, () => base) },
    { label: 'nested 5000 deep', input: nested(5_000) },
    { label: 'an empty object', input: {} },
    { label: 'extra keys', input: withExtraKeys(base) },
  ];
  for (const path of pathsOf(base)) {
    const current = getAt(base, path);
    const where = path.join('.');
    for (const value of [...CORE_VALUES, ...wrongTypeFor(current).slice(0, full ? undefined : 2)]) cases.push({ label: `${where} = ${String(typeof value === 'string' && value.length > 20 ? `${value.length} chars` : JSON.stringify(value) ?? value)}`, input: setAt(base, path, value) });
    cases.push({ label: `${where} removed`, input: setAt(base, path, REMOVE) });
    if (isContainer(current) && !Array.isArray(current)) cases.push({ label: `${where} with extra keys`, input: setAt(base, path, withExtraKeys(current)) });
  }
  return cases;
}

/** `count` random mutations of `base`: one to three paths set to any boundary value. */
export function randomCases(base: unknown, random: Random, count: number): Case[] {
  const paths = pathsOf(base);
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    let input = base;
    const labels: string[] = [];
    const changes = 1 + random.int(3);
    for (let c = 0; c < changes && paths.length > 0; c++) {
      const path = random.pick(paths);
      const value = random.next() < 0.15 ? REMOVE : random.next() < 0.5 ? random.pick(NUMBERS) : random.pick(ALL_VALUES);
      input = setAt(input, path, value);
      labels.push(`${path.join('.')}#${value === REMOVE ? 'removed' : ALL_VALUES.indexOf(value)}`);
    }
    if (paths.length === 0) input = random.pick(ALL_VALUES);
    cases.push({ label: `random ${labels.join(', ') || 'whole'}`, input });
  }
  return cases;
}
