/** The job form's fields and defaults per kernel (the coordinator validates them with each kernel's schema). */
export type FieldSpec = { path: string; label: string; kind: 'number' | 'text' | 'code' | 'json'; hint?: string };

export const PRESETS: Record<string, { units: number; fields: FieldSpec[]; params: Record<string, unknown> }> = {
  mandelbrot: {
    units: 64,
    params: { width: 512, height: 512, maxIterations: 500, view: { centerX: -0.5, centerY: 0, scale: 3 } },
    fields: [
      { path: 'width', label: 'Width (px)', kind: 'number' },
      { path: 'height', label: 'Height (px)', kind: 'number' },
      { path: 'maxIterations', label: 'Iterations', kind: 'number' },
      { path: 'view.centerX', label: 'Centre x', kind: 'number' },
      { path: 'view.centerY', label: 'Centre y', kind: 'number' },
      { path: 'view.scale', label: 'View width', kind: 'number', hint: '3 shows the whole set' },
    ],
  },
  'montecarlo-pi': {
    units: 16,
    params: { samples: 20_000_000, seed: 42 },
    fields: [
      { path: 'samples', label: 'Samples', kind: 'number' },
      { path: 'seed', label: 'Seed', kind: 'number' },
    ],
  },
  'sha256-nonce': {
    units: 16,
    params: { prefix: 'swapmesh', difficulty: 18, start: 0, end: 4_000_000 },
    fields: [
      { path: 'prefix', label: 'Prefix', kind: 'text' },
      { path: 'difficulty', label: 'Leading zero bits', kind: 'number' },
      { path: 'start', label: 'First nonce', kind: 'number' },
      { path: 'end', label: 'End nonce', kind: 'number' },
    ],
  },
  'prime-sieve': {
    units: 16,
    params: { upTo: 20_000_000 },
    fields: [{ path: 'upTo', label: 'Count primes up to', kind: 'number' }],
  },
  'hash-join': {
    units: 8,
    params: { seed: 42, workingSetMb: 64, probePerBuild: 2 },
    fields: [
      { path: 'workingSetMb', label: 'Working set per unit (MB)', kind: 'number' },
      { path: 'probePerBuild', label: 'Fact rows per key', kind: 'number' },
      { path: 'seed', label: 'Dataset seed', kind: 'number' },
    ],
  },
  custom: {
    units: 4,
    params: { code: 'export function run(input) {\n  let sum = 0;\n  for (let i = 1; i <= input; i++) sum += i * i;\n  return sum;\n}\n', inputs: [1000, 2000, 3000, 4000] },
    fields: [
      { path: 'code', label: 'Your code (a module exporting run(input))', kind: 'code', hint: 'Runs in a sandbox with no network access' },
      { path: 'inputs', label: 'Inputs (JSON array, one unit each)', kind: 'json' },
    ],
  },
};

export function getPath(obj: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], obj);
}

export function setPath(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (!head) return obj;
  return { ...obj, [head]: rest.length ? setPath((obj[head] as Record<string, unknown>) ?? {}, rest.join('.'), value) : value };
}
