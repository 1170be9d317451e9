import { describe, expect, it } from 'vitest';
import { bookKey, bookSeq, publishBook, version, waitForAny, wakeAll } from '@/server/live/bus';
import { keysOf, payloadsFor } from '@/server/live/remote';

describe('live bus', () => {
  it('a book change bumps its seq and wakes a waiter on any of its keys', async () => {
    const keys = [bookKey('c1', 'COMPUTE'), bookKey('c2', 'COMPUTE')];
    const seen = keys.map(version);
    let woke = false;
    const waiting = waitForAny(keys, seen, 60_000).then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    expect(publishBook('c2', 'COMPUTE')).toEqual({ communityId: 'c2', category: 'COMPUTE', seq: seen[1]! + 1 });
    await waiting;
    expect(bookSeq('c2', 'COMPUTE')).toBe(seen[1]! + 1);
    expect(version(keys[0]!)).toBe(seen[0]);
  });

  it('wakeAll wakes every waiter (after the listening connection came back)', async () => {
    const a = waitForAny(['m1'], [version('m1')], 60_000);
    const b = waitForAny([bookKey('c3', 'MEMORY')], [version(bookKey('c3', 'MEMORY'))], 60_000);
    wakeAll();
    await Promise.all([a, b]);
  });

  it('an aborted signal ends the wait', async () => {
    const controller = new AbortController();
    const waiting = waitForAny(['m2'], [version('m2')], 60_000, controller.signal);
    controller.abort();
    await waiting;
  });
});

describe('NOTIFY payloads', () => {
  it('carry keys, never events, in payloads under 8000 bytes, and round-trip', () => {
    const keys = [...Array.from({ length: 1_000 }, (_, i) => `member${i}xxxxxxxxxxxxxxxx`), bookKey('community1', 'COMPUTE'), 'device:abc'];
    const payloads = payloadsFor('origin1', keys);
    expect(payloads.length).toBeGreaterThan(1);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8_000);
    expect(payloads.flatMap((p) => keysOf(p, 'other')!)).toEqual(keys);
    expect(payloads[0]).toMatch(/^origin1 m:member0x+ /);
    expect(payloads.join(' ')).toContain('b:community1:COMPUTE');
    expect(payloads.join(' ')).toContain('m:device:abc');
  });

  it('a process ignores its own notifications (it woke its subscribers already)', () => {
    expect(keysOf('me m:x b:c:COMPUTE', 'me')).toBeNull();
    expect(keysOf('them m:x b:c:COMPUTE', 'me')).toEqual(['x', 'book:c:COMPUTE']);
  });
});
