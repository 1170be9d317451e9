import { pbkdf2, randomBytes, scrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashesWaiting, hashPassword, MAX_WAITING, verifyPassword } from '@/server/auth/password';
import { DomainError } from '@/server/errors';

/** A hash made the way the coordinator made them before hashing moved to its worker (libuv's scrypt). */
function legacyHash(password: string): Promise<string> {
  const salt = randomBytes(16);
  return new Promise((resolve, reject) =>
    scrypt(password, salt, 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(['scrypt', 2 ** 17, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$')),
    ),
  );
}

describe('password hashing in its own worker', () => {
  it('keeps the stored format: old hashes verify, new ones are scrypt N=2^17 and verify with libuv scrypt too', async () => {
    const old = await legacyHash('analytical engine');
    expect(await verifyPassword('analytical engine', old)).toBe(true);
    expect(await verifyPassword('analytical engine!', old)).toBe(false);
    const fresh = await hashPassword('difference engine');
    expect(fresh).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    const [, , , , salt, key] = fresh.split('$');
    const again = await new Promise<Buffer>((resolve, reject) =>
      scrypt('difference engine', Buffer.from(salt!, 'base64url'), 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 }, (e, k) => (e ? reject(e) : resolve(k))),
    );
    expect(again.toString('base64url')).toBe(key);
    expect(await verifyPassword('x', 'not a hash')).toBe(false);
  });

  it('leaves libuv’s threadpool free: work queued there finishes before the first of several hashes', async () => {
    const order: string[] = [];
    const hashes = Array.from({ length: 4 }, (_, i) => hashPassword(`password ${i}`).then(() => order.push(`hash ${i}`)));
    // the database drivers and file system share this pool; with hashing on it, these waited behind 4 hashes
    const pooled = Array.from({ length: 4 }, (_, i) =>
      new Promise<void>((resolve, reject) => pbkdf2('x', 'salt', 1_000, 32, 'sha256', (e) => (e ? reject(e) : resolve()))).then(() => order.push(`pool ${i}`)),
    );
    await Promise.all([...hashes, ...pooled]);
    expect(order.slice(0, 4).sort()).toEqual(['pool 0', 'pool 1', 'pool 2', 'pool 3']);
    expect(order.slice(4)).toEqual(['hash 0', 'hash 1', 'hash 2', 'hash 3']);
  });

  it(`refuses new work with RATE_LIMITED while ${MAX_WAITING} hashes wait, and recovers`, async () => {
    // cheap stored hashes (N=2^10), so the queue fills and drains quickly
    const cheap = ['scrypt', 1024, 8, 1, randomBytes(16).toString('base64url'), randomBytes(32).toString('base64url')].join('$');
    const queued = Array.from({ length: MAX_WAITING }, (_, i) => verifyPassword(`queued ${i}`, cheap));
    expect(hashesWaiting()).toBe(MAX_WAITING);
    const refused = await verifyPassword('one too many', cheap).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ kind: 'RATE_LIMITED', retryAfterSeconds: 5 });
    expect(await Promise.all(queued)).toEqual(Array.from({ length: MAX_WAITING }, () => false));
    expect(hashesWaiting()).toBe(0);
    await expect(hashPassword('after the rush')).resolves.toMatch(/^scrypt\$/);
  });
});
