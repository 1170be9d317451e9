import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { answer, decrypt, encrypt, importRecoveryKey, join, newKey, pack, prepareChallenges, split, unpack } from '@/app/_lib/storage/bundle';

const files = [
  { path: 'photos/b.jpg', bytes: new Uint8Array(randomBytes(70_000)) },
  { path: 'notes.txt', bytes: new TextEncoder().encode('hello') },
  { path: 'photos/a.jpg', bytes: new Uint8Array(randomBytes(130_001)) },
];

describe('bundles', () => {
  it('pack gives the same bytes whatever the files’ order, and unpack gives the files back', () => {
    const one = pack(files);
    const two = pack([...files].reverse());
    expect(Buffer.from(one).equals(Buffer.from(two))).toBe(true);
    const back = unpack(one);
    expect(back.map((f) => f.path)).toEqual(['notes.txt', 'photos/a.jpg', 'photos/b.jpg']);
    for (const f of back) expect(Buffer.from(f.bytes).equals(Buffer.from(files.find((x) => x.path === f.path)!.bytes))).toBe(true);
  });

  it('encrypts, splits, joins and decrypts back to the same bytes, with the recovery key on another device', async () => {
    const bundle = pack(files);
    const { key, recoveryKey } = await newKey();
    const { iv, ciphertext } = await encrypt(bundle, key);
    expect(Buffer.from(ciphertext).includes(Buffer.from('hello'))).toBe(false);
    const shards = split(ciphertext, 64 * 1024);
    expect(shards.length).toBe(Math.ceil(ciphertext.length / (64 * 1024)));
    expect(Math.max(...shards.map((s) => s.length)) - Math.min(...shards.map((s) => s.length))).toBeLessThanOrEqual(1);
    const elsewhere = await importRecoveryKey(recoveryKey);
    const plain = await decrypt(join(shards), elsewhere, iv);
    expect(createHash('sha256').update(plain).digest('hex')).toBe(createHash('sha256').update(bundle).digest('hex'));
  });

  it('a wrong key or a damaged shard does not decrypt', async () => {
    const { key } = await newKey();
    const { iv, ciphertext } = await encrypt(pack(files), key);
    const other = (await newKey()).key;
    await expect(decrypt(ciphertext, other, iv)).rejects.toThrow(/does not open/);
    const damaged = ciphertext.slice();
    damaged[100]! ^= 1;
    await expect(decrypt(damaged, key, iv)).rejects.toThrow(/does not open/);
    await expect(importRecoveryKey('short')).rejects.toThrow(/43 characters/);
  });

  it('prepares challenges a keeper of the shard answers and nobody else does', async () => {
    const shards = [new Uint8Array(randomBytes(10_000)), new Uint8Array(randomBytes(3_000))];
    const challenges = await prepareChallenges(shards, 5);
    expect(challenges).toHaveLength(10);
    for (const c of challenges) {
      const shard = shards[c.shardIndex]!;
      expect(c.offset + c.length).toBeLessThanOrEqual(shard.length);
      expect(await answer(c.nonce, shard.subarray(c.offset, c.offset + c.length))).toBe(c.expected);
      expect(createHash('sha256').update(Buffer.from(c.nonce, 'hex')).update(shard.subarray(c.offset, c.offset + c.length)).digest('hex')).toBe(c.expected);
      expect(await answer(c.nonce, new Uint8Array(c.length))).not.toBe(c.expected);
    }
    expect(new Set(challenges.map((c) => c.nonce)).size).toBe(10);
  });
});
