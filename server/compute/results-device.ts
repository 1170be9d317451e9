/**
 * A job's results sent to one of its owner's devices over WebRTC (issue 12, "results location: the buyer's own
 * device"). The coordinator holds the results file (results-rules.ts `resultsFile`); a device is what sends bytes
 * over a data channel, so the sending is done by another of the owner's devices:
 *
 * 1. When the job completes, `queueResultsToDevice` (inside `finishJob`'s transaction) records the file's SHA-256
 *    and size for the chosen device (PENDING) and tells the owner's devices through the live stream.
 * 2. Any other device of the owner that is online (`resultsToSend`) downloads the file from the coordinator, keeps it
 *    in its Origin Private File System with a chunk manifest, and offers it (`offerResults`): the coordinator checks
 *    the manifest's SHA-256 and size against the file's, and makes it a private gift to the chosen device. One device
 *    sends, whatever the number of devices or calls: a conditional claim (`senderDeviceId`) and a conditional write of
 *    the one gift (`itemId`, unique); a loser's gift is withdrawn.
 * 3. The chosen device takes the gift by itself (no tap) through the transfer manager: 64 KiB chunks checked against
 *    the manifest, the whole file's SHA-256 checked before it reports the transfer complete, which marks the results
 *    DELIVERED (`markResultsDelivered`, from `updateTransfer`). Either device being offline only delays it: the gift
 *    waits, and transfers resume from the last verified chunk.
 */
import { DomainError } from '../errors';
import type { Db, Tx } from '../db/client';
import type { ContentHeader } from '../content/header';
import { giveItem } from '../content/items';
import type { Outbox } from '../live/outbox';
import { withOutbox } from '../live/outbox';
import type { ResultsFile } from './results-rules';

export const RESULTS_MEDIA_TYPE = 'application/json';
/**
 * An offer whose gift has not started moving this long after it was made is taken over by another of the owner's
 * devices that is online (the sending device may be gone for good): its gift is withdrawn and a new one made.
 */
export const TAKEOVER_MS = 10 * 60_000;

/** The title the chosen device shows for the results item. */
export const resultsTitle = (jobTitle: string) => `Results of job "${jobTitle.length > 90 ? `${jobTitle.slice(0, 89)}…` : jobTitle}"`;

/** Inside `finishJob`'s transaction: a completed job whose results go to a device gets its row, and the owner's devices hear of it. */
export async function queueResultsToDevice(tx: Tx, job: { id: string; memberId: string }, toDeviceId: string, file: ResultsFile, outbox?: Outbox) {
  await tx.resultsToDevice.create({ data: { jobId: job.id, memberId: job.memberId, deviceId: toDeviceId, sha256: file.sha256, sizeBytes: file.bytes } });
  outbox?.add([job.memberId], { type: 'results', jobId: job.id, what: 'ready', toDeviceId });
}

const sendSelect = { jobId: true, deviceId: true, sha256: true, sizeBytes: true, status: true, senderDeviceId: true, itemId: true, offeredAt: true } as const;

/** Whether an offer can be taken over: made long enough ago, by another device, and its gift not moving (no transfer under way or done). */
async function stale(db: Db, row: { status: string; senderDeviceId: string | null; itemId: string | null; offeredAt: Date | null }, deviceId: string, now: Date) {
  if (row.status !== 'OFFERED' || row.senderDeviceId === deviceId || !row.itemId || !row.offeredAt) return false;
  if (row.offeredAt.getTime() > now.getTime() - TAKEOVER_MS) return false;
  return (await db.transfer.count({ where: { itemId: row.itemId, status: { in: ['ACTIVE', 'COMPLETED'] } } })) === 0;
}

/**
 * Results this device can send to another of the member's devices: those waiting for a sender, and those it offered
 * itself (so that after a reload it offers them again and serves the chosen device's request).
 */
export async function resultsToSend(db: Db, memberId: string, deviceId: string, now = new Date()) {
  const found = await db.resultsToDevice.findMany({
    where: {
      memberId,
      deviceId: { not: deviceId },
      OR: [
        { status: 'PENDING', OR: [{ senderDeviceId: null }, { senderDeviceId: deviceId }] },
        { status: 'OFFERED', senderDeviceId: deviceId },
        { status: 'OFFERED', offeredAt: { lt: new Date(now.getTime() - TAKEOVER_MS) } },
      ],
    },
    orderBy: { createdAt: 'asc' },
    take: 20,
    select: sendSelect,
  });
  const rows = [];
  for (const r of found) {
    if (r.status === 'OFFERED' && r.senderDeviceId !== deviceId) {
      if (!(await stale(db, r, deviceId, now))) continue;
      rows.push({ ...r, status: 'PENDING', itemId: null });
    } else rows.push(r);
  }
  const jobs = new Map((await db.job.findMany({ where: { id: { in: rows.map((r) => r.jobId) } }, select: { id: true, title: true } })).map((j) => [j.id, j.title]));
  return rows.map((r) => ({ jobId: r.jobId, title: resultsTitle(jobs.get(r.jobId) ?? r.jobId), toDeviceId: r.deviceId, sha256: r.sha256, sizeBytes: r.sizeBytes, itemId: r.status === 'OFFERED' ? r.itemId : null }));
}

/**
 * One of the owner's devices offers the results file it fetched (its manifest in `header`) to the chosen device, as a
 * private gift. Idempotent for the device that sends: a second call returns the same gift.
 */
export async function offerResults(db: Db, memberId: string, device: { id: string }, input: { jobId: string; header: ContentHeader }, now = new Date()) {
  const row = await db.resultsToDevice.findUnique({ where: { jobId: input.jobId }, select: { ...sendSelect, memberId: true } });
  if (!row || row.memberId !== memberId) throw new DomainError('NOT_FOUND', 'None of your jobs sends results to a device with that id.');
  if (row.deviceId === device.id) throw new DomainError('BAD_INPUT', 'The results go to this device: another of your devices sends them here.');
  if (row.status === 'DELIVERED') throw new DomainError('CONFLICT', 'The results already reached the device you chose.');
  if (input.header.sha256 !== row.sha256 || input.header.sizeBytes !== row.sizeBytes) {
    throw new DomainError('BAD_INPUT', "That file is not this job's results (its SHA-256 or size differs): download the results again and offer them.");
  }
  if (row.status === 'OFFERED' && row.senderDeviceId === device.id && row.itemId) return { itemId: row.itemId, toDeviceId: row.deviceId };
  if (row.status === 'OFFERED') {
    if (!(await stale(db, row, device.id, now))) throw new DomainError('CONFLICT', 'Another of your devices is sending these results.');
    // taken over: one device does it (a conditional write on the offer it read), and the old gift goes
    const { count } = await db.resultsToDevice.updateMany({
      where: { jobId: row.jobId, status: 'OFFERED', itemId: row.itemId, senderDeviceId: row.senderDeviceId },
      data: { status: 'PENDING', itemId: null, senderDeviceId: device.id, offeredAt: null },
    });
    if (count !== 1) return offeredBy(db, row.jobId, device.id);
    await db.contentItem.updateMany({ where: { id: row.itemId! }, data: { withdrawn: true } });
    // a request the gone device never answered is let go, so the chosen device takes the new gift instead
    await db.transfer.updateMany({ where: { itemId: row.itemId!, status: 'REQUESTED' }, data: { status: 'CANCELLED' } });
  }
  const claim = await db.resultsToDevice.updateMany({
    where: { jobId: row.jobId, status: 'PENDING', OR: [{ senderDeviceId: null }, { senderDeviceId: device.id }] },
    data: { senderDeviceId: device.id },
  });
  if (claim.count !== 1) return offeredBy(db, row.jobId, device.id);
  const job = await db.job.findUniqueOrThrow({ where: { id: row.jobId }, select: { title: true } });
  const item = await giveItem(db, memberId, {
    deviceId: device.id,
    toDeviceId: row.deviceId,
    header: { ...input.header, title: resultsTitle(job.title), description: `The results file of your compute job "${job.title}", sent by your other device.`, mediaType: RESULTS_MEDIA_TYPE },
    quiet: true,
  });
  const won = await withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.resultsToDevice.updateMany({
      where: { jobId: row.jobId, status: 'PENDING', senderDeviceId: device.id, itemId: null },
      data: { itemId: item.id, status: 'OFFERED', offeredAt: now },
    });
    if (count === 1) outbox.add([memberId], { type: 'results', jobId: row.jobId, what: 'offered', toDeviceId: row.deviceId });
    return count === 1;
  });
  if (won) return { itemId: item.id, toDeviceId: row.deviceId };
  // the same device offered twice at once: one gift stays, this one goes
  await db.contentItem.updateMany({ where: { id: item.id }, data: { withdrawn: true } });
  return offeredBy(db, row.jobId, device.id);
}

async function offeredBy(db: Db, jobId: string, deviceId: string) {
  const now = await db.resultsToDevice.findUniqueOrThrow({ where: { jobId }, select: { status: true, senderDeviceId: true, itemId: true, deviceId: true } });
  if (now.senderDeviceId === deviceId && now.itemId) return { itemId: now.itemId, toDeviceId: now.deviceId };
  throw new DomainError('CONFLICT', 'Another of your devices is sending these results.');
}

/** What the chosen device receives: results offered to it (to take), and those it already has, newest first. */
export async function resultsForDevice(db: Db, memberId: string, deviceId: string) {
  const rows = await db.resultsToDevice.findMany({
    where: { memberId, deviceId, status: { in: ['OFFERED', 'DELIVERED'] } },
    orderBy: { createdAt: 'desc' },
    take: 20,
    select: { jobId: true, itemId: true, status: true, sha256: true, sizeBytes: true, deliveredAt: true },
  });
  const jobs = new Map((await db.job.findMany({ where: { id: { in: rows.map((r) => r.jobId) } }, select: { id: true, title: true } })).map((j) => [j.id, j.title]));
  return rows.map((r) => ({ jobId: r.jobId, title: resultsTitle(jobs.get(r.jobId) ?? r.jobId), itemId: r.itemId!, status: r.status as 'OFFERED' | 'DELIVERED', sha256: r.sha256, sizeBytes: r.sizeBytes, deliveredAt: r.deliveredAt?.toISOString() ?? null }));
}

/** Inside `updateTransfer`'s transaction: the chosen device verified the whole results file, so the results are delivered (once). */
export async function markResultsDelivered(tx: Tx, transfer: { itemId: string; receiverDeviceId: string; receiverId: string }, outbox: Outbox, now: Date) {
  const row = await tx.resultsToDevice.findUnique({ where: { itemId: transfer.itemId }, select: { jobId: true, deviceId: true } });
  if (!row || row.deviceId !== transfer.receiverDeviceId) return;
  const { count } = await tx.resultsToDevice.updateMany({ where: { jobId: row.jobId, status: 'OFFERED' }, data: { status: 'DELIVERED', deliveredAt: now } });
  if (count === 1) outbox.add([transfer.receiverId], { type: 'results', jobId: row.jobId, what: 'delivered', toDeviceId: row.deviceId });
}

/** The job page's line: where the results to the device stand. */
export async function toDeviceView(db: Db, jobId: string, toDeviceId: string | null) {
  if (!toDeviceId) return null;
  const [row, device] = await Promise.all([
    db.resultsToDevice.findUnique({ where: { jobId }, select: { status: true, sha256: true, senderDeviceId: true, offeredAt: true, deliveredAt: true } }),
    db.device.findUnique({ where: { id: toDeviceId }, select: { name: true } }),
  ]);
  const sender = row?.senderDeviceId ? await db.device.findUnique({ where: { id: row.senderDeviceId }, select: { name: true } }) : null;
  // two devices of the same name (two phones of one model) are told apart by the end of their ids
  const same = sender && device && sender.name === device.name;
  const named = (name: string, id: string) => (same ? `${name} (…${id.slice(-4)})` : name);
  return {
    deviceId: toDeviceId,
    deviceName: device ? named(device.name, toDeviceId) : 'a device you removed',
    /** null until the job completes */
    status: (row?.status ?? null) as 'PENDING' | 'OFFERED' | 'DELIVERED' | null,
    sha256: row?.sha256 ?? null,
    senderName: sender && row?.senderDeviceId ? named(sender.name, row.senderDeviceId) : null,
    offeredAt: row?.offeredAt?.toISOString() ?? null,
    deliveredAt: row?.deliveredAt?.toISOString() ?? null,
  };
}
