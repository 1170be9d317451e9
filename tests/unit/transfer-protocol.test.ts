import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeChunkFrame,
  encodeControl,
  FRAME_HEADER_BYTES,
  MAX_CONTROL_LENGTH,
  parseChunkFrame,
  parseControl,
  transferKey,
  type ControlMessage,
} from '@/app/_lib/transfer/protocol';

const hex = 'ab'.repeat(32);

describe('control messages', () => {
  const valid: ControlMessage[] = [
    { type: 'want', transferId: 't1', from: 0 },
    { type: 'want', transferId: 't1', from: 799 },
    { type: 'ack', transferId: 't1', upTo: 16 },
    { type: 'resend', transferId: 't1', index: 3, code: 'ERR_BAD_CHUNK' },
    { type: 'complete', transferId: 't1', sha256: hex },
    { type: 'cancel', transferId: 't1', code: 'ERR_CANCELLED' },
    { type: 'error', transferId: null, code: 'ERR_NOT_FOUND', message: 'no such file' },
    { type: 'gift', itemId: 'i1', title: 'Holiday.mp4', sizeBytes: 12_345 },
  ];

  it('round-trip through encode and parse', () => {
    for (const message of valid) expect(parseControl(encodeControl(message))).toEqual({ ok: true, value: message });
  });

  it.each([
    ['not JSON', '{"type":'],
    ['an unknown type', JSON.stringify({ type: 'launch', transferId: 't1' })],
    ['no type', JSON.stringify({ transferId: 't1', from: 0 })],
    ['a negative index', JSON.stringify({ type: 'want', transferId: 't1', from: -1 })],
    ['a fractional index', JSON.stringify({ type: 'ack', transferId: 't1', upTo: 1.5 })],
    ['a string index', JSON.stringify({ type: 'resend', transferId: 't1', index: '3', code: 'ERR_BAD_CHUNK' })],
    ['an unknown error code', JSON.stringify({ type: 'cancel', transferId: 't1', code: 'ERR_WHATEVER' })],
    ['an uppercase hash', JSON.stringify({ type: 'complete', transferId: 't1', sha256: hex.toUpperCase() })],
    ['an empty transfer id', JSON.stringify({ type: 'want', transferId: '', from: 0 })],
    ['a huge transfer id', JSON.stringify({ type: 'want', transferId: 'x'.repeat(65), from: 0 })],
    ['an array', '[1,2,3]'],
    ['null', 'null'],
    ['an overlong message', JSON.stringify({ type: 'error', transferId: null, code: 'ERR_PROTOCOL', message: 'x'.repeat(MAX_CONTROL_LENGTH) })],
  ])('rejects %s with ERR_PROTOCOL', (_, text) => {
    const parsed = parseControl(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.code).toBe('ERR_PROTOCOL');
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.anything().map((v) => { try { return JSON.stringify(v) ?? ''; } catch { return ''; } })), (text) => {
        const parsed = parseControl(text);
        expect(typeof parsed.ok).toBe('boolean');
      }),
    );
  });

  it('refuses to encode an invalid message', () => {
    expect(() => encodeControl({ type: 'want', transferId: 't', from: -3 })).toThrow();
  });
});

describe('binary frames', () => {
  it('carry the transfer key, the chunk index and the payload', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.nat({ max: 0xffff_ffff }), fc.uint8Array({ maxLength: 2048 }), (id, index, payload) => {
        const frame = encodeChunkFrame(transferKey(id), index, payload);
        expect(frame.length).toBe(FRAME_HEADER_BYTES + payload.length);
        const parsed = parseChunkFrame(frame);
        expect(parsed.ok).toBe(true);
        if (parsed.ok) {
          expect(parsed.value.key).toBe(transferKey(id));
          expect(parsed.value.index).toBe(index);
          expect(Array.from(parsed.value.payload)).toEqual(Array.from(payload));
        }
      }),
    );
  });

  it('parse a frame that is a view into a larger buffer (as a Node Buffer from a pool is)', () => {
    const frame = encodeChunkFrame(42, 7, new Uint8Array([1, 2, 3]));
    const pool = new Uint8Array(100);
    pool.set(frame, 50);
    const parsed = parseChunkFrame(pool.subarray(50, 50 + frame.length));
    expect(parsed).toMatchObject({ ok: true, value: { key: 42, index: 7 } });
    if (parsed.ok) expect(Array.from(parsed.value.payload)).toEqual([1, 2, 3]);
  });

  it('reject short frames, a wrong magic, version or kind', () => {
    const frame = encodeChunkFrame(1, 2, new Uint8Array([9]));
    expect(parseChunkFrame(frame.subarray(0, FRAME_HEADER_BYTES - 1)).ok).toBe(false);
    for (const [at, value] of [[0, 0x00], [2, 99], [3, 7]] as const) {
      const bad = frame.slice();
      bad[at] = value;
      const parsed = parseChunkFrame(bad);
      expect(parsed).toMatchObject({ ok: false, code: 'ERR_PROTOCOL' });
    }
  });

  it('transfer keys are stable 32-bit numbers that differ for different ids', () => {
    expect(transferKey('cmf0transfer1')).toBe(transferKey('cmf0transfer1'));
    expect(transferKey('a')).not.toBe(transferKey('b'));
    fc.assert(fc.property(fc.string(), (s) => {
      const key = transferKey(s);
      expect(Number.isInteger(key) && key >= 0 && key <= 0xffff_ffff).toBe(true);
    }));
  });
});
