/**
 * Several files and snippets as one private gift to several devices at once (issue 11, part 4): `content.give`
 * and `content.giveMany` with a bundle manifest. One item per receiving device, all made or none; every bad
 * manifest (too many files, a path that leaves the folder, an oversized list, sizes that do not add up) is
 * refused with a reason and changes nothing.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BUNDLE_ENTRIES, type BundleEntry } from '@/server/content/bundle-manifest';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CHUNK = 64 * 1024;
const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A bundle of files (and snippets) and the header of its byte stream. */
function bundleOf(parts: { path: string; kind?: 'file' | 'text'; size?: number; text?: string }[]) {
  const buffers = parts.map((p, i) => (p.text !== undefined ? Buffer.from(p.text) : Buffer.alloc(p.size ?? 1000, i + 1)));
  const entries: BundleEntry[] = parts.map((p, i) => ({ kind: p.kind ?? 'file', path: p.path, mediaType: p.kind === 'text' ? 'text/plain' : 'image/jpeg', sizeBytes: buffers[i]!.length, sha256: sha(buffers[i]!) }));
  const stream = Buffer.concat(buffers);
  const chunkHashes: string[] = [];
  for (let at = 0; at < stream.length; at += CHUNK) chunkHashes.push(sha(stream.subarray(at, at + CHUNK)));
  const header = { title: 'Trip (3 files) + 1 snippet', description: '', audience: '', purpose: '', environment: '', mediaType: 'application/x-swapmesh-bundle', sizeBytes: stream.length, sha256: sha(stream), chunkSize: CHUNK, chunkHashes };
  return { entries, header };
}

const trip = () =>
  bundleOf([
    { path: 'Trip/day 1/a.jpg', size: 150_000 },
    { path: 'Trip/day 1/b.jpg', size: 70_000 },
    { path: 'Trip/c.jpg', size: 10 },
    { path: 'Snippet 1', kind: 'text', text: 'Meet at https://example.org/map at 6' },
  ]);

describe.each(databaseKinds)('bundles to several devices on %s', (kind) => {
  let t: TestDatabase;
  let seq = 0;
  type Peer = { caller: Caller; memberId: string; handle: string; deviceId: string };

  async function peer(): Promise<Peer> {
    const m = await signUp(t.db, `bun-${kind.slice(0, 2)}-${++seq}`);
    const { device } = await m.caller.device.register({ name: `phone ${seq}`, profile: phoneProfile });
    return { caller: m.caller, memberId: m.member.id, handle: m.member.handle, deviceId: device.id };
  }

  async function pair(a: Peer, b: Peer) {
    const { code } = await a.caller.signal.pairCode({ deviceId: a.deviceId });
    await b.caller.signal.pair({ deviceId: b.deviceId, code });
  }

  const counts = async () => ({ items: await t.db.contentItem.count(), bundles: await t.db.contentBundle.count() });

  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('one send of a folder and a snippet to two paired devices: one private gift each, with its manifest, each taken on its own', async () => {
    const [sender, r1, r2, third] = [await peer(), await peer(), await peer(), await peer()];
    await pair(sender, r1);
    await pair(sender, r2);
    await pair(sender, third);
    const { entries, header } = trip();
    const { items } = await sender.caller.content.giveMany({ deviceId: sender.deviceId, toDeviceIds: [r1.deviceId, r2.deviceId], header, bundle: entries });
    expect(items).toHaveLength(2);
    expect(items.map((i) => [i.recipientDeviceId, i.recipientId])).toEqual([[r1.deviceId, r1.memberId], [r2.deviceId, r2.memberId]]);
    for (const item of items) expect(item).toMatchObject({ communityId: null, privateGift: true, pricing: 'GIFT', mediaType: 'application/x-swapmesh-bundle', sizeBytes: header.sizeBytes, sha256: header.sha256, bundle: { fileCount: 3, textCount: 1 } });

    for (const [receiver, item] of [[r1, items[0]!], [r2, items[1]!]] as const) {
      // the offer shows what it carries; the item's page gives the whole manifest
      const gifts = await receiver.caller.content.gifts({ deviceId: receiver.deviceId });
      expect(gifts.map((g) => [g.id, g.bundle])).toEqual([[item.id, { fileCount: 3, textCount: 1 }]]);
      const got = await receiver.caller.content.get({ itemId: item.id });
      expect(got.bundle?.entries).toEqual(entries);
      // the other receiver's copy stays private to it
      const other = item === items[0] ? items[1]! : items[0]!;
      await rejects(receiver.caller.content.get({ itemId: other.id }), 'NOT_FOUND', /No such item/);
      await rejects(third.caller.content.get({ itemId: item.id }), 'NOT_FOUND', /No such item/);
      await rejects(third.caller.content.request({ itemId: item.id, deviceId: third.deviceId }), 'NOT_FOUND');
      // one accept: one transfer of the whole stream, with the manifest the receiver checks every file against
      const { transfer } = await receiver.caller.content.request({ itemId: item.id, deviceId: receiver.deviceId });
      expect(transfer.item.bundle?.entries).toEqual(entries);
      expect(transfer.item.chunkCount).toBe(header.chunkHashes.length);
    }
    const sending = await sender.caller.content.transfers({ deviceId: sender.deviceId });
    expect(sending.map((s) => s.receiverDeviceId).sort()).toEqual([r1.deviceId, r2.deviceId].sort());
    // each receiver completes its own copy; the other goes on
    const first = sending.find((s) => s.receiverDeviceId === r1.deviceId)!;
    await r1.caller.content.updateTransfer({ transferId: first.id, deviceId: r1.deviceId, verifiedChunks: header.chunkHashes.length, status: 'COMPLETED' });
    const after = await sender.caller.content.transfers({ deviceId: sender.deviceId });
    expect(Object.fromEntries(after.map((s) => [s.receiverDeviceId, s.status]))).toEqual({ [r1.deviceId]: 'COMPLETED', [r2.deviceId]: 'REQUESTED' });
    // a single receiver through content.give works the same
    const single = await sender.caller.content.give({ deviceId: sender.deviceId, toDeviceId: third.deviceId, header, bundle: entries });
    expect(single.bundle).toEqual({ fileCount: 3, textCount: 1 });
  });

  it('refuses a bad manifest or a bad list of receivers with a reason, and changes nothing', async () => {
    const [sender, r1, r2, stranger] = [await peer(), await peer(), await peer(), await peer()];
    await pair(sender, r1);
    await pair(sender, r2);
    const { entries, header } = trip();
    const to = { deviceId: sender.deviceId, toDeviceIds: [r1.deviceId, r2.deviceId], header };
    const before = await counts();

    const tooMany = Array.from({ length: MAX_BUNDLE_ENTRIES + 1 }, (_, i) => ({ ...entries[0]!, path: `f/${i}.jpg`, sizeBytes: 0 }));
    await rejects(sender.caller.content.giveMany({ ...to, bundle: tooMany }), 'BAD_REQUEST', /at most 1000 files and snippets/);
    for (const path of ['../escape.jpg', 'Trip/../../etc/passwd', '/abs.jpg', 'a\\b.jpg', 'Trip//c.jpg', 'Trip/./c.jpg']) {
      await rejects(sender.caller.content.giveMany({ ...to, bundle: [{ ...entries[0]!, path }, ...entries.slice(1)] }), 'BAD_REQUEST');
    }
    await rejects(sender.caller.content.giveMany({ ...to, bundle: [{ ...entries[0]!, path: '../escape.jpg' }, ...entries.slice(1)] }), 'BAD_REQUEST', /cannot leave the folder/);
    const longNames = Array.from({ length: 900 }, (_, i) => ({ ...entries[0]!, path: `${'n'.repeat(240)}/${'m'.repeat(60)}${i}.jpg`, sizeBytes: 0 }));
    await rejects(sender.caller.content.giveMany({ ...to, bundle: longNames }), 'BAD_REQUEST', /list of files is too long/);
    await rejects(sender.caller.content.giveMany({ ...to, bundle: [entries[0]!, entries[0]!] }), 'BAD_REQUEST', /both called/);
    await rejects(sender.caller.content.giveMany({ ...to, bundle: entries.slice(1) }), 'BAD_REQUEST', /add up to/);
    await rejects(sender.caller.content.giveMany({ ...to, bundle: [...entries.slice(0, 3), { ...entries[3]!, sizeBytes: 70_000 }] }), 'BAD_REQUEST', /snippet can be at most|add up to/);
    // receivers: one unreachable among them makes none; too many; itself
    await rejects(sender.caller.content.giveMany({ ...to, toDeviceIds: [r1.deviceId, stranger.deviceId], bundle: entries }), 'NOT_FOUND', /pair with it first/);
    await rejects(sender.caller.content.giveMany({ ...to, toDeviceIds: Array.from({ length: 9 }, (_, i) => `device-${i}`), bundle: entries }), 'BAD_REQUEST', /at most 8 devices/);
    await rejects(sender.caller.content.giveMany({ ...to, toDeviceIds: [sender.deviceId], bundle: entries }), 'BAD_REQUEST', /this one already has the file/);
    await rejects(sender.caller.content.giveMany({ ...to, toDeviceIds: [] }), 'BAD_REQUEST', /at least one device/);
    // a device that is not the caller's cannot send
    await rejects(r1.caller.content.giveMany({ ...to, bundle: entries }), 'NOT_FOUND');
    expect(await counts()).toEqual(before);
    expect(await r1.caller.content.gifts({ deviceId: r1.deviceId })).toEqual([]);

    // the same device twice is one gift
    const { items } = await sender.caller.content.giveMany({ ...to, toDeviceIds: [r1.deviceId, r1.deviceId], bundle: entries });
    expect(items).toHaveLength(1);
  });

  it('twenty concurrent accepts of one bundle gift make exactly one transfer', async () => {
    const [sender, receiver] = [await peer(), await peer()];
    await pair(sender, receiver);
    const { entries, header } = trip();
    const { items } = await sender.caller.content.giveMany({ deviceId: sender.deviceId, toDeviceIds: [receiver.deviceId], header, bundle: entries });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => receiver.caller.content.request({ itemId: items[0]!.id, deviceId: receiver.deviceId })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/already getting this file/);
    expect(await t.db.transfer.count({ where: { itemId: items[0]!.id } })).toBe(1);
  });
});
