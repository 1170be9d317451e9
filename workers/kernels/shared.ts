/**
 * Helpers shared by the kernels: base64 of byte arrays, a stable JSON stringify, a bounded JSON
 * schema, unit-count clamping and the error kernels throw on inputs or outputs that do not fit.
 * Plain TypeScript with no DOM or Node APIs, like the kernels themselves.
 */
import { z } from 'zod';
import type { Json } from './types';

/** Thrown by a kernel when a unit input, an output or a set of outputs breaks the kernel's rules. */
export class KernelError extends Error {
  override name = 'KernelError';
}

/** Clamps the number of units a caller asked for to `[1, max]` (non-integers round down). */
export function clampUnits(units: number, max: number): number {
  if (!Number.isFinite(units) || units < 1) return 1;
  return Math.min(Math.floor(units), max);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64.length; i++) table[B64.charCodeAt(i)] = i;
  return table;
})();

/** Length of the padded base64 text of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

const B64_CODES = Uint8Array.from(B64, (c) => c.charCodeAt(0));
const ASCII = new TextDecoder();

/** Standard padded base64 (RFC 4648 §4): written as ASCII bytes, made text in one call (an image's counts are megabytes). */
export function encodeBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(base64Length(bytes.length));
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = B64_CODES[n >>> 18]!;
    out[o++] = B64_CODES[(n >>> 12) & 63]!;
    out[o++] = B64_CODES[(n >>> 6) & 63]!;
    out[o++] = B64_CODES[n & 63]!;
  }
  if (bytes.length - i === 1) {
    const n = bytes[i]! << 16;
    out.set([B64_CODES[n >>> 18]!, B64_CODES[(n >>> 12) & 63]!, 61, 61], o);
  } else if (bytes.length - i === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out.set([B64_CODES[n >>> 18]!, B64_CODES[(n >>> 12) & 63]!, B64_CODES[(n >>> 6) & 63]!, 61], o);
  }
  return ASCII.decode(out);
}

/** Decodes standard padded base64; throws `KernelError` on anything else (no whitespace, no URL alphabet). */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new KernelError('base64: length is not a multiple of 4');
  let pad = 0;
  if (text.endsWith('==')) pad = 2;
  else if (text.endsWith('=')) pad = 1;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const c0 = sextet(text, i);
    const c1 = sextet(text, i + 1);
    const c2 = last && pad === 2 ? 0 : sextet(text, i + 2);
    const c3 = last && pad >= 1 ? 0 : sextet(text, i + 3);
    const n = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3;
    out[o++] = n >>> 16;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
    if (last && ((pad === 2 && (c1 & 15) !== 0) || (pad === 1 && (c2 & 3) !== 0))) {
      throw new KernelError('base64: non-canonical padding bits');
    }
  }
  return out;
}

function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i);
  const v = code < 128 ? B64_INDEX[code]! : -1;
  if (v < 0) throw new KernelError(`base64: invalid character at ${i}`);
  return v;
}

/** True when `text` is canonical padded base64 of exactly `bytes` bytes (checked without decoding; `bytes` > 0). */
export function isBase64OfLength(text: string, bytes: number): boolean {
  if (text.length !== base64Length(bytes)) return false;
  const pad = (3 - (bytes % 3)) % 3;
  const body = text.length - pad;
  for (let i = 0; i < body; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || B64_INDEX[code]! < 0) return false;
  }
  for (let i = body; i < text.length; i++) if (text.charCodeAt(i) !== 61) return false;
  // the bits below the last byte must be zero, as `decodeBase64` requires
  if (pad === 2) return (B64_INDEX[text.charCodeAt(body - 1)]! & 15) === 0;
  if (pad === 1) return (B64_INDEX[text.charCodeAt(body - 1)]! & 3) === 0;
  return true;
}

/**
 * JSON text with object keys sorted (by UTF-16 code units), no whitespace: equal values give equal
 * text on every engine. Numbers use ECMAScript's shortest round-trip form, -0 prints as 0.
 * Throws `KernelError` on values that are not JSON (undefined, functions, non-finite numbers...).
 */
export function stableStringify(value: Json): string {
  const out: string[] = [];
  write(value, out);
  return out.join('');
}

function write(value: unknown, out: string[]): void {
  if (value === null) out.push('null');
  else if (typeof value === 'boolean') out.push(value ? 'true' : 'false');
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new KernelError('JSON numbers must be finite');
    out.push(JSON.stringify(value));
  } else if (typeof value === 'string') out.push(JSON.stringify(value));
  else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out);
    }
    out.push(']');
  } else if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      write(value[key], out);
    }
    out.push('}');
  } else {
    throw new KernelError(`not a JSON value: ${typeof value}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export type JsonBounds = { maxBytes: number; maxDepth: number };

/**
 * Checks that `value` is a JSON value (plain objects, arrays, strings, finite numbers, booleans,
 * null) nested at most `maxDepth` deep whose compact JSON text is at most `maxBytes` UTF-8 bytes.
 * Iterative, so hostile nesting cannot overflow the stack. Returns an error message or null.
 */
export function checkJson(value: unknown, { maxBytes, maxDepth }: JsonBounds): string | null {
  let bytes = 0;
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    const v = top.value;
    if (v === null) bytes += 4;
    else if (typeof v === 'boolean') bytes += v ? 4 : 5;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'numbers must be finite';
      bytes += JSON.stringify(v).length;
    } else if (typeof v === 'string') bytes += utf8JsonStringBytes(v);
    else if (Array.isArray(v) || isPlainObject(v)) {
      if (top.depth >= maxDepth) return `nested deeper than ${maxDepth}`;
      if (Array.isArray(v)) {
        bytes += 2 + Math.max(0, v.length - 1);
        for (let i = 0; i < v.length; i++) stack.push({ value: v[i], depth: top.depth + 1 });
      } else {
        const keys = Object.keys(v);
        bytes += 2 + Math.max(0, keys.length - 1) + keys.length;
        for (const key of keys) {
          bytes += utf8JsonStringBytes(key);
          stack.push({ value: v[key], depth: top.depth + 1 });
        }
      }
    } else return `not a JSON value (${typeof v})`;
    if (bytes > maxBytes) return `larger than ${maxBytes} bytes`;
  }
  return null;
}

/** UTF-8 byte length of a string's JSON text (quotes and escapes included; lone surrogates escaped). */
function utf8JsonStringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) n += 2;
    else if (c < 0x20) n += c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
    else if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) n += 6;
    else n += 3;
  }
  return n;
}

/** A zod schema for a JSON value within `bounds` (see `checkJson`). */
export function boundedJsonSchema(bounds: JsonBounds): z.ZodType<Json> {
  return z.custom<Json>().superRefine((value, ctx) => {
    const problem = checkJson(value, bounds);
    if (problem) ctx.addIssue({ code: 'custom', message: `invalid JSON value: ${problem}` });
  });
}

/** UTF-8 byte length of a string as `TextEncoder` encodes it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
