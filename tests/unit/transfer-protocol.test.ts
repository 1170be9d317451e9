import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chunksPerFrame,
  encodeChunkFrame,
  encodeControl,
  encodeRunFrame,
  FRAME_HEADER_BYTES,
  MAX_CONTROL_LENGTH,
  MAX_RUN_CHUNKS,
  MAX_RUN_FRAME,
  parseChunkFrame,
  parseControl,
  SendSchedule,
  splitRun,
  transferKey,
  type ControlMessage,
} from '@/app/_lib/transfer/protocol';

const hex = 'ab'.repeat(32);

describe('control messages', () => {
  const valid: ControlMessage[] = [
    { type: 'want', transferId: 't1', from: 0 },
    { type: 'want', transferId: 't1', from: 799 },
    { type: 'want', transferId: 't1', from: 3, maxFrame: MAX_RUN_FRAME },
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

describe('run frames', () => {
  it('carry several whole chunks back to back, read back as views without a copy', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 1_000_000 }), fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: MAX_RUN_CHUNKS }), (key, first, chunks) => {
        const frame = encodeRunFrame(key, first, chunks);
        expect(frame.length).toBe(FRAME_HEADER_BYTES + chunks.reduce((n, c) => n + c.length, 0));
        const parsed = parseChunkFrame(frame);
        if (!parsed.ok) throw new Error(parsed.reason);
        expect(parsed.value).toMatchObject({ key, index: first, run: chunks.length, offset: 0 });
        const events = splitRun(parsed.value, (i) => chunks[i - first]!.length);
        expect(events.map((e) => e.kind === 'chunk' && [e.index, Array.from(e.bytes)])).toEqual(chunks.map((c, k) => [first + k, Array.from(c)]));
        for (const e of events) if (e.kind === 'chunk') expect(e.bytes.buffer).toBe(frame.buffer);
      }),
    );
  });

  it('can be built in a scratch buffer, reused frame after frame', () => {
    const scratch = new Uint8Array(1000);
    const a = encodeRunFrame(5, 0, [new Uint8Array([1, 2]), new Uint8Array([3])], scratch);
    expect(a.buffer).toBe(scratch.buffer);
    expect(a.length).toBe(FRAME_HEADER_BYTES + 3);
    const b = encodeRunFrame(5, 2, [new Uint8Array([9]), new Uint8Array([8])], scratch);
    const parsed = parseChunkFrame(b.slice());
    expect(parsed.ok && [parsed.value.index, parsed.value.run, Array.from(parsed.value.payload)]).toEqual([2, 2, [9, 8]]);
    // too small a scratch buffer: a new one
    expect(encodeRunFrame(5, 0, [new Uint8Array(2000), new Uint8Array(1)], scratch).buffer).not.toBe(scratch.buffer);
  });

  it('refuse a run of no chunks or of more than MAX_RUN_CHUNKS', () => {
    for (const run of [0, MAX_RUN_CHUNKS + 1]) {
      const frame = encodeRunFrame(1, 0, [new Uint8Array(4)]);
      new DataView(frame.buffer).setUint32(12, run);
      expect(parseChunkFrame(frame)).toMatchObject({ ok: false, code: 'ERR_PROTOCOL' });
    }
  });

  it('chunksPerFrame: as many whole chunks as both ends take, one when either end names no limit', () => {
    expect(chunksPerFrame(MAX_RUN_FRAME, 262_144, 64 * 1024)).toBe(3); // 3 × 64 KiB + header ≤ 256 KiB
    expect(chunksPerFrame(MAX_RUN_FRAME, 65_536 * 2 + 16, 64 * 1024)).toBe(2);
    expect(chunksPerFrame(MAX_RUN_FRAME, 2 ** 30, 16 * 1024)).toBe(MAX_RUN_CHUNKS - 1); // the receiver's 256 KiB
    expect(chunksPerFrame(2 ** 30, 2 ** 30, 1024)).toBe(MAX_RUN_CHUNKS);
    expect(chunksPerFrame(undefined, 262_144, 64 * 1024)).toBe(1); // an older receiver
    expect(chunksPerFrame(MAX_RUN_FRAME, 0, 64 * 1024)).toBe(1); // the connection's limit is unknown
    expect(chunksPerFrame(MAX_RUN_FRAME, 262_144, 256 * 1024)).toBe(1);
  });

  it('SendSchedule.takeRun: consecutive chunks within the window, a resend alone', () => {
    const s = new SendSchedule(10, 0, 5);
    expect(s.takeRun(3)).toEqual({ first: 0, count: 3 });
    expect(s.takeRun(3)).toEqual({ first: 3, count: 2 }); // the window ends at 5
    expect(s.takeRun(3)).toBeNull();
    expect(s.resend(1)).toBe(true);
    expect(s.takeRun(3)).toEqual({ first: 1, count: 1 });
    s.ack(5);
    expect(s.takeRun(3)).toEqual({ first: 5, count: 3 });
    expect(s.takeRun(3)).toEqual({ first: 8, count: 2 }); // the file ends at 10
    expect(s.takeRun(3)).toBeNull();
    expect(s.allSent).toBe(true);
  });
});
