/** --cheat: a wrong output that still passes the kernel's output schema (for trust tests and demos). */
import type { AnyKernel } from '../workers/kernels';
import type { Json } from '../workers/kernels/types';

function* mutations(value: Json, replace: (v: Json) => Json): Generator<Json> {
  if (typeof value === 'number') {
    if (value > 0) yield replace(value - 1);
    yield replace(value + 1);
  } else if (typeof value === 'string') {
    for (let i = 0; i < Math.min(value.length, 8); i++) {
      const c = value[i]!;
      const swap = /[0-8]/.test(c) ? String(Number(c) + 1) : c === '9' ? '8' : /[A-Ya-y]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 1) : /[Zz]/.test(c) ? String.fromCharCode(c.charCodeAt(0) - 1) : 'x';
      if (swap !== c) yield replace(value.slice(0, i) + swap + value.slice(i + 1));
    }
  } else if (typeof value === 'boolean') {
    yield replace(!value);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* mutations(value[i]!, (v) => replace(value.map((x, j) => (j === i ? v : x))));
    yield replace([...value, 0]);
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) yield* mutations(value[key]!, (v) => replace({ ...value, [key]: v }));
  } else if (value === null) {
    yield replace(0);
  }
}

/** A well-formed output that differs from the honest one, or null when none is found. */
export function corrupt(kernel: AnyKernel, output: Json): Json | null {
  const honest = kernel.canonical(output);
  for (const candidate of mutations(output, (v) => v)) {
    const parsed = kernel.outputSchema.safeParse(candidate);
    if (parsed.success && kernel.canonical(parsed.data) !== honest) return parsed.data;
  }
  return null;
}
