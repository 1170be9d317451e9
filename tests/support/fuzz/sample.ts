/**
 * A plausible input for any zod (v4) schema, for procedures the fuzz world has no hand-written base
 * input for: a new procedure is fuzzed from its schema the day it is added. Fields named like ids
 * take the world's real ids, so the call gets past "not found" where it can.
 */
type Def = { type: string; [key: string]: unknown };
type Schema = { _zod: { def: Def } };

const defOf = (schema: unknown): Def => (schema as Schema)._zod.def;

function checkValue(def: Def, name: string): number | undefined {
  for (const check of (def.checks as Schema[] | undefined) ?? []) {
    const d = check._zod.def as Def & { value?: number; minimum?: number; maximum?: number; length?: number };
    if (d.check === name) return (d.value ?? d.minimum ?? d.maximum ?? d.length) as number;
  }
  return undefined;
}

function checkFormat(def: Def): string | undefined {
  for (const check of (def.checks as Schema[] | undefined) ?? []) {
    const d = check._zod.def as Def & { format?: string };
    if (d.check === 'string_format') return d.format;
  }
  return (def as { format?: string }).format;
}

export function sampleFor(schema: unknown, ids: Record<string, string>, key = ''): unknown {
  const def = defOf(schema);
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, unknown>;
      return Object.fromEntries(Object.entries(shape).map(([k, s]) => [k, sampleFor(s, ids, k)]));
    }
    case 'optional':
    case 'nullable':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return sampleFor(def.innerType, ids, key);
    case 'default':
    case 'prefault':
      return sampleFor(def.innerType, ids, key);
    case 'pipe':
      return sampleFor(def.in, ids, key);
    case 'lazy':
      return sampleFor((def.getter as () => unknown)(), ids, key);
    case 'array': {
      const min = checkValue(def, 'min_length') ?? checkValue(def, 'length_equals') ?? 1;
      return Array.from({ length: Math.max(1, min) }, () => sampleFor(def.element, ids, key));
    }
    case 'enum':
      return Object.values(def.entries as Record<string, string>)[0];
    case 'literal':
      return (def.values as unknown[])[0];
    case 'union':
      return sampleFor((def.options as unknown[])[0], ids, key);
    case 'intersection':
      return { ...(sampleFor(def.left, ids, key) as object), ...(sampleFor(def.right, ids, key) as object) };
    case 'record':
      return {};
    case 'boolean':
      return false;
    case 'number': {
      const min = checkValue(def, 'greater_than');
      return min === undefined ? 1 : Math.max(1, Math.ceil(min));
    }
    case 'string': {
      if (ids[key] !== undefined) return ids[key];
      const format = checkFormat(def);
      if (format === 'datetime') return new Date(Date.now() + 3_600_000).toISOString();
      const min = checkValue(def, 'min_length') ?? 1;
      return 'sample'.padEnd(Math.max(min, 6), 'x');
    }
    default:
      return {};
  }
}
