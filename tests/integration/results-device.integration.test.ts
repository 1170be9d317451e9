/**
 * Results sent to one of the owner's devices (server/compute/results-device.ts): queued when the job completes,
 * offered by exactly one other device of the owner as a private gift carrying the results file's SHA-256, taken by
 * the chosen device, and delivered when its transfer completes with the whole file verified.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { resultsFileOf } from '@/server/compute/results';
import { offerResults, resultsToSend, TAKEOVER_MS } from '@/server/compute/results-device';
import { getKernel, type AnyKernel } from '@/workers/kernels';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const CHUNK = 64 * 1024;
const sha = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const mandelbrot: AnyKernel = getKernel('mandelbrot');

/** The manifest a device makes of these bytes (chunk hashes and the whole file's). */
function header(bytes: Buffer) {
  const chunkHashes: string[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  return { title: 'results', description: '', audience: '', purpose: '', environment: '', mediaType: 'application/json', sizeBytes: bytes.length, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes };
}

describe.each(databaseKinds)("results sent to one of the owner's devices on %s", (kind) => {
  let t: TestDatabase;
  let seq = 0;

  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  async function setup(slug: string) {
    const o = await signUp(t.db, `rd-owner-${kind}-${++seq}`);
    const owner = o.caller;
    const { id: communityId } = await owner.community.create({ name: `Results ${slug}`, slug, commissionBps: 100, startingGrant: 100 * CREDIT, inviteOnly: false });
    const [phone, tablet, laptop] = await Promise.all(['phone', 'tablet', 'laptop'].map(async (name) => (await owner.device.register({ name, profile: phoneProfile })).device.id));
    const donors: { caller: Caller; deviceId: string }[] = [];
    for (let i = 0; i < 2; i++) {
      const d = await signUp(t.db, `rd-donor-${kind}-${++seq}`);
      await d.caller.community.join({ slug });
      const { device } = await d.caller.device.register({ name: 'tab', profile: phoneProfile });
      await d.caller.compute.donate({ communityId, deviceId: device.id, on: true, floorPrice: 1_000 });
      donors.push({ caller: d.caller, deviceId: device.id });
    }
    return { owner, ownerId: o.member.id, communityId, phone: phone!, tablet: tablet!, laptop: laptop!, donors };
  }

  async function runJob(s: Awaited<ReturnType<typeof setup>>, results: { keepFile: boolean; toDeviceId?: string }) {
    const params = { width: 32, height: 32, maxIterations: 200, view: { centerX: -0.5, centerY: 0, scale: 3 } };
    const job = await s.owner.compute.submitJob({ communityId: s.communityId, kernel: 'mandelbrot', params, units: 2, replication: 2, quorum: 2, deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 2_000, results });
    for (let round = 0; round < 20; round++) {
      for (const d of s.donors) for (const l of await d.caller.compute.lease({ deviceId: d.deviceId, max: 4 })) await d.caller.compute.submitResult({ leaseId: l.leaseId, output: mandelbrot.run(l.input) });
      if ((await s.owner.compute.job({ jobId: job.id })).status !== 'OPEN') break;
    }
    expect((await s.owner.compute.job({ jobId: job.id })).status).toBe('COMPLETED');
    return job.id;
  }

  it('exactly one of 24 concurrent offers from two other devices becomes the gift; the chosen device takes it and its verified transfer delivers the results once', async () => {
    const s = await setup('rd-a');
    const jobId = await runJob(s, { keepFile: false, toDeviceId: s.tablet });
    const file = (await resultsFileOf(t.db, jobId))!;
    const bytes = Buffer.from(file.body);
    expect((await s.owner.compute.placement({ jobId })).toDevice).toMatchObject({ deviceId: s.tablet, deviceName: 'tablet', status: 'PENDING', sha256: sha(bytes), senderName: null });

    // the other devices see it to send; the chosen one does not
    expect(await s.owner.compute.resultsToSend({ deviceId: s.phone })).toEqual([{ jobId, title: expect.stringMatching(/^Results of job "/), toDeviceId: s.tablet, sha256: sha(bytes), sizeBytes: bytes.length, itemId: null }]);
    expect(await s.owner.compute.resultsToSend({ deviceId: s.tablet })).toEqual([]);

    // refusals change nothing: the chosen device itself, other bytes, someone else's job
    const items = () => t.db.contentItem.count({ where: { recipientDeviceId: s.tablet, withdrawn: false } });
    await rejects(s.owner.compute.offerResults({ deviceId: s.tablet, jobId, header: header(bytes) }), 'BAD_REQUEST', /go to this device/);
    await rejects(s.owner.compute.offerResults({ deviceId: s.phone, jobId, header: header(Buffer.from(file.body.replace('results', 'resulta'))) }), 'BAD_REQUEST', /not this job's results/);
    await rejects(s.donors[0]!.caller.compute.offerResults({ deviceId: s.donors[0]!.deviceId, jobId, header: header(bytes) }), 'NOT_FOUND');
    expect(await items()).toBe(0);
    expect(await t.db.resultsToDevice.findUniqueOrThrow({ where: { jobId }, select: { status: true, senderDeviceId: true } })).toEqual({ status: 'PENDING', senderDeviceId: null });

    // 24 offers at once from the phone and the laptop: one device sends, one gift
    const offers = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => s.owner.compute.offerResults({ deviceId: i % 2 ? s.phone : s.laptop, jobId, header: header(bytes) })));
    const ok = offers.filter((o): o is PromiseFulfilledResult<{ itemId: string; toDeviceId: string }> => o.status === 'fulfilled');
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(ok.map((o) => o.value.itemId)).size).toBe(1);
    for (const o of offers) if (o.status === 'rejected') expect(String(o.reason)).toMatch(/Another of your devices is sending/);
    expect(await items()).toBe(1);
    const row = await t.db.resultsToDevice.findUniqueOrThrow({ where: { jobId } });
    expect(row).toMatchObject({ status: 'OFFERED', itemId: ok[0]!.value.itemId });
    const item = await t.db.contentItem.findUniqueOrThrow({ where: { id: row.itemId! }, select: { deviceId: true, sha256: true, communityId: true, recipientDeviceId: true } });
    expect(item).toEqual({ deviceId: row.senderDeviceId, sha256: sha(bytes), communityId: null, recipientDeviceId: s.tablet });
    // the loser device is no longer asked to send; the sender is (to offer it again after a reload)
    const loser = row.senderDeviceId === s.phone ? s.laptop : s.phone;
    expect(await s.owner.compute.resultsToSend({ deviceId: loser })).toEqual([]);
    expect((await s.owner.compute.resultsToSend({ deviceId: row.senderDeviceId! }))[0]!.itemId).toBe(row.itemId);

    // a stranger cannot see the gift
    await rejects(s.donors[0]!.caller.content.get({ itemId: row.itemId! }), 'NOT_FOUND');

    // the chosen device takes it and reports the whole file verified
    expect(await s.owner.compute.resultsForDevice({ deviceId: s.tablet })).toEqual([expect.objectContaining({ jobId, itemId: row.itemId, status: 'OFFERED', sha256: sha(bytes) })]);
    const { transfer } = await s.owner.content.request({ deviceId: s.tablet, itemId: row.itemId! });
    expect(transfer.senderDeviceId).toBe(row.senderDeviceId);
    const chunks = header(bytes).chunkHashes.length;
    // only the receiver completes it
    await rejects(s.owner.content.updateTransfer({ deviceId: row.senderDeviceId!, transferId: transfer.id, verifiedChunks: chunks, status: 'COMPLETED' }), 'FORBIDDEN');
    expect((await s.owner.compute.placement({ jobId })).toDevice?.status).toBe('OFFERED');
    const completes = await Promise.allSettled(Array.from({ length: 20 }, () => s.owner.content.updateTransfer({ deviceId: s.tablet, transferId: transfer.id, verifiedChunks: chunks, status: 'COMPLETED' })));
    expect(completes.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    const view = (await s.owner.compute.placement({ jobId })).toDevice!;
    expect(view).toMatchObject({ status: 'DELIVERED', sha256: sha(bytes), deliveredAt: expect.any(String) });
    expect(await s.owner.compute.resultsForDevice({ deviceId: s.tablet })).toEqual([expect.objectContaining({ jobId, status: 'DELIVERED' })]);
    expect(await s.owner.compute.resultsToSend({ deviceId: row.senderDeviceId! })).toEqual([]);
    await rejects(s.owner.compute.offerResults({ deviceId: s.phone, jobId, header: header(bytes) }), 'CONFLICT', /already reached/);
    const events = await t.db.liveEvent.findMany({ where: { memberId: s.ownerId, type: 'results' }, select: { payload: true } });
    expect(events.map((e) => (typeof e.payload === 'string' ? JSON.parse(e.payload) : e.payload).what).sort()).toEqual(['delivered', 'offered', 'ready']);
    // the chosen device takes it by itself: no "take this gift" toast, the results events say it all
    expect(await t.db.liveEvent.count({ where: { memberId: s.ownerId, type: 'gift' } })).toBe(0);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it("a sending device gone for good is taken over after a while: once, by one of 20 concurrent offers, the old gift withdrawn and its unanswered request let go", async () => {
    const s = await setup('rd-c');
    const jobId = await runJob(s, { keepFile: false, toDeviceId: s.tablet });
    const bytes = Buffer.from((await resultsFileOf(t.db, jobId))!.body);
    const first = await s.owner.compute.offerResults({ deviceId: s.phone, jobId, header: header(bytes) });
    // the tablet asks the phone, which never answers (gone)
    const { transfer: stuck } = await s.owner.content.request({ deviceId: s.tablet, itemId: first.itemId });
    const device = { id: s.laptop };
    // too early: the phone is still the sender
    expect(await resultsToSend(t.db, s.ownerId, s.laptop)).toEqual([]);
    await expect(offerResults(t.db, s.ownerId, device, { jobId, header: header(bytes) })).rejects.toThrow(/Another of your devices is sending/);

    const later = new Date(Date.now() + TAKEOVER_MS + 60_000);
    expect(await resultsToSend(t.db, s.ownerId, s.laptop, later)).toEqual([expect.objectContaining({ jobId, itemId: null })]);
    const offers = await Promise.allSettled(Array.from({ length: 20 }, () => offerResults(t.db, s.ownerId, device, { jobId, header: header(bytes) }, later)));
    const ok = offers.filter((o): o is PromiseFulfilledResult<{ itemId: string; toDeviceId: string }> => o.status === 'fulfilled');
    expect(new Set(ok.map((o) => o.value.itemId)).size).toBe(1);
    const second = ok[0]!.value.itemId;
    expect(second).not.toBe(first.itemId);
    expect(await t.db.contentItem.findMany({ where: { recipientDeviceId: s.tablet, withdrawn: false }, select: { id: true, deviceId: true } })).toEqual([{ id: second, deviceId: s.laptop }]);
    expect((await t.db.transfer.findUniqueOrThrow({ where: { id: stuck.id }, select: { status: true } })).status).toBe('CANCELLED');
    // the phone, back, is no longer the sender
    expect(await s.owner.compute.resultsToSend({ deviceId: s.phone })).toEqual([]);
    const { transfer } = await s.owner.content.request({ deviceId: s.tablet, itemId: second });
    await s.owner.content.updateTransfer({ deviceId: s.tablet, transferId: transfer.id, verifiedChunks: header(bytes).chunkHashes.length, status: 'COMPLETED' });
    expect((await s.owner.compute.placement({ jobId })).toDevice).toMatchObject({ status: 'DELIVERED', senderName: 'laptop' });
  });

  it('the device must be one of the owner\'s; a job that sends results to a device lets its other devices download the file, and a job without one queues nothing', async () => {
    const s = await setup('rd-b');
    const params = { width: 32, height: 32, maxIterations: 200, view: { centerX: -0.5, centerY: 0, scale: 3 } };
    await rejects(s.owner.compute.submitJob({ communityId: s.communityId, kernel: 'mandelbrot', params, units: 2, replication: 2, quorum: 2, deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 2_000, results: { keepFile: false, toDeviceId: s.donors[0]!.deviceId } }), 'NOT_FOUND', /your own devices/);
    const jobId = await runJob(s, { keepFile: true });
    expect(await t.db.resultsToDevice.count({ where: { jobId } })).toBe(0);
    expect((await s.owner.compute.placement({ jobId })).toDevice).toBeNull();
  });
});
