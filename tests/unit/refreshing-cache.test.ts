import { describe, expect, it } from 'vitest';
import { RefreshingCache } from '@/server/db/refreshing-cache';

/** A read the test finishes by hand, counting how many were started. */
function reads<V>() {
  const started: { resolve: (v: V | null) => void; reject: (e: Error) => void }[] = [];
  const read = () => new Promise<V | null>((resolve, reject) => void started.push({ resolve, reject }));
  return { started, read };
}

function cache(maxSize = 100) {
  let now = 1_000;
  const c = new RefreshingCache<string>({ freshMs: 400, maxAgeMs: 500, maxSize, now: () => now });
  return { c, at: (ms: number) => void (now = ms), later: (ms: number) => void (now += ms) };
}

describe('RefreshingCache', () => {
  it('answers a fresh entry at once, a stale one at once while it reads again, and waits past the maximum age', async () => {
    const { c, later } = cache();
    const r = reads<string>();
    const first = c.get('k', r.read);
    r.started[0]!.resolve('v1');
    expect(await first).toBe('v1');

    later(399);
    expect(await c.get('k', r.read)).toBe('v1');
    expect(r.started).toHaveLength(1);

    later(50); // stale: the old value now, one read in the background however many callers
    expect(await c.get('k', r.read)).toBe('v1');
    expect(await c.get('k', r.read)).toBe('v1');
    expect(r.started).toHaveLength(2);
    r.started[1]!.resolve('v2');
    await Promise.resolve();
    expect(await c.get('k', r.read)).toBe('v2');

    later(501); // too old: the caller waits for a read
    let answered = false;
    const waiting = c.get('k', r.read).then((v) => ((answered = true), v));
    await Promise.resolve();
    expect(answered).toBe(false);
    r.started[2]!.resolve('v3');
    expect(await waiting).toBe('v3');
  });

  it('shares one read among callers that miss together', async () => {
    const { c } = cache();
    const r = reads<string>();
    const all = Promise.all(Array.from({ length: 20 }, () => c.get('k', r.read)));
    expect(r.started).toHaveLength(1);
    r.started[0]!.resolve('v');
    expect(await all).toEqual(Array(20).fill('v'));
  });

  it('keeps nothing for a read that found nothing or failed', async () => {
    const { c } = cache();
    const r = reads<string>();
    const none = c.get('k', r.read);
    r.started[0]!.resolve(null);
    expect(await none).toBeNull();
    const failing = c.get('k', r.read);
    r.started[1]!.reject(new Error('database down'));
    await expect(failing).rejects.toThrow('database down');
    const again = c.get('k', r.read);
    expect(r.started).toHaveLength(3);
    r.started[2]!.resolve('v');
    expect(await again).toBe('v');
    expect(c.size).toBe(1);
  });

  it('a pin wins over a read under way: its callers get the pinned value, and it is never replaced until its time', async () => {
    const { c, later } = cache();
    const r = reads<string>();
    const before = c.get('k', r.read);
    c.pin('k', 'signed out', 500);
    r.started[0]!.resolve('signed in');
    expect(await before).toBe('signed out');
    later(450); // older than freshMs: a pinned entry is not read again
    expect(await c.get('k', r.read)).toBe('signed out');
    expect(r.started).toHaveLength(1);
    later(100);
    const after = c.get('k', r.read);
    r.started[1]!.resolve(null);
    expect(await after).toBeNull();
  });

  it('delete and clear drop reads under way: what they find is not kept', async () => {
    const { c } = cache();
    const r = reads<string>();
    const a = c.get('a', r.read);
    const b = c.get('b', r.read);
    c.delete('a');
    c.clear();
    r.started[0]!.resolve('old a');
    r.started[1]!.resolve('old b');
    expect([await a, await b]).toEqual(['old a', 'old b']);
    expect(c.size).toBe(0);
    const fresh = c.get('a', r.read);
    expect(r.started).toHaveLength(3);
    r.started[2]!.resolve('new a');
    expect(await fresh).toBe('new a');
  });

  it('holds at most maxSize entries, dropping the oldest', async () => {
    const { c } = cache(3);
    for (const key of ['a', 'b', 'c', 'd']) await c.get(key, async () => key);
    expect(c.size).toBe(3);
    let reread = false;
    await c.get('a', async () => ((reread = true), 'a'));
    expect(reread).toBe(true);
  });
});
