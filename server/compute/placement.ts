/**
 * Where a job's code and data come from, and where its results go (issue 12, the capacity seed's LOC_S and LOC_R).
 *
 * Source: a `custom` job may name a content item in its community for its code (a JavaScript module) and/or for
 * its inputs (a JSON array, with how many it holds), instead of carrying them inline. The coordinator keeps only
 * the items' ids and SHA-256; donors fetch the bytes peer to peer and check the hash before running, and a donor
 * that finds other bytes reports it (`reportSource`). An item can be private to jobs (`publishJobOnly`): then
 * only the owner and the devices leased its units may fetch it (server/compute/job-only.ts).
 *
 * Results: kept as one file to download from the job page (`keepFile`), sent to one of the owner's devices
 * (`toDeviceId`), and/or POSTed, signed, to a results URL (server/compute/results.ts).
 */
import { DomainError } from '../errors';
import type { Db, Queryable, Tx } from '../db/client';
import { maySee, publishItem } from '../content/items';
import type { ContentHeader } from '../content/header';
import type { MarketCommunity } from '../market/fills';
import { returnLeases } from './leases';
import type { JobResultsInput, JobSourceInput } from './placement-input';
import { toDeviceView } from './results-device';
import { allowPrivateResults, newResultsSecret, resultsUrlProblem } from './results-rules';

/** Largest code item (a module a phone must load) and data item (a JSON array a phone must parse) a job may name. */
export const MAX_CODE_ITEM_BYTES = 4 * 1024 * 1024;
export const MAX_DATA_ITEM_BYTES = 64 * 1024 * 1024;

export { jobResultsInput, jobSourceInput, type JobResultsInput, type JobSourceInput } from './placement-input';

type SourceRow = { itemId: string; sha256: string };
export type PlacementPlan = {
  /** the custom kernel's parameters with the items in place of inline code or inputs */
  params: Record<string, unknown>;
  row: { codeItemId: string | null; codeSha256: string | null; dataItemId: string | null; dataSha256: string | null; keepFile: boolean; toDeviceId: string | null; resultsUrl: string | null; secret: string | null };
};

async function sourceItem(db: Queryable, memberId: string, communityId: string, itemId: string, what: 'code' | 'data'): Promise<SourceRow> {
  const item = await db.contentItem.findUnique({
    where: { id: itemId },
    select: { id: true, memberId: true, communityId: true, recipientId: true, withdrawn: true, sha256: true, sizeBytes: true },
  });
  if (!item || !(await maySee(db, memberId, item))) throw new DomainError('NOT_FOUND', `There is no content item "${itemId}" that you can use for the job's ${what}: check the id on the item's page.`);
  if (item.withdrawn) throw new DomainError('NOT_FOUND', `The ${what} item was withdrawn by its owner: publish it again.`);
  if (item.communityId !== communityId) {
    throw new DomainError('BAD_INPUT', `The ${what} item is offered ${item.communityId === null ? 'as a private gift' : 'in another community'}: donors here could not fetch it. Publish it in this job's community.`);
  }
  const limit = what === 'code' ? MAX_CODE_ITEM_BYTES : MAX_DATA_ITEM_BYTES;
  if (item.sizeBytes > BigInt(limit)) throw new DomainError('TOO_LARGE', `The ${what} item is larger than ${limit / 1024 / 1024} MiB, more than a phone can take for one job.`);
  return { itemId: item.id, sha256: item.sha256 };
}

/**
 * Checks a job's source items and results location (before its transaction) and returns the kernel's
 * parameters and the placement row to write. Null when the job names neither (it keeps its result inline, as before).
 */
export async function planPlacement(
  db: Db,
  memberId: string,
  communityId: string,
  input: { kernel: string; params: unknown; source?: JobSourceInput; results?: JobResultsInput },
): Promise<PlacementPlan | null> {
  if (!input.source && !input.results) return null;
  let params: Record<string, unknown> = typeof input.params === 'object' && input.params !== null && !Array.isArray(input.params) ? { ...(input.params as Record<string, unknown>) } : {};
  let code: SourceRow | null = null;
  let data: SourceRow | null = null;
  if (input.source) {
    if (input.kernel !== 'custom') throw new DomainError('BAD_INPUT', 'Only a job of your own code can take its code or data from a content item.');
    if (input.source.codeItemId) {
      code = await sourceItem(db, memberId, communityId, input.source.codeItemId, 'code');
      delete params.code;
      params = { ...params, codeItem: code };
    }
    if (input.source.dataItemId) {
      data = await sourceItem(db, memberId, communityId, input.source.dataItemId, 'data');
      delete params.inputs;
      params = { ...params, dataItem: data, count: input.source.count };
    }
  }
  const results = input.results ?? { keepFile: true };
  const url = results.url ? results.url : null;
  if (url !== null) {
    const problem = resultsUrlProblem(url, { allowPrivate: allowPrivateResults() });
    if (problem) throw new DomainError('BAD_INPUT', problem);
  }
  const toDeviceId = results.toDeviceId ?? null;
  if (toDeviceId !== null) {
    const device = await db.device.findUnique({ where: { id: toDeviceId }, select: { memberId: true } });
    if (!device || device.memberId !== memberId) throw new DomainError('NOT_FOUND', 'The results can go only to one of your own devices: pick one from your devices.');
  }
  if (!results.keepFile && toDeviceId === null && url === null) {
    throw new DomainError('BAD_INPUT', 'Choose where the results go: keep them for download, send them to one of your devices, or give a results URL.');
  }
  return {
    params,
    row: {
      codeItemId: code?.itemId ?? null,
      codeSha256: code?.sha256 ?? null,
      dataItemId: data?.itemId ?? null,
      dataSha256: data?.sha256 ?? null,
      keepFile: results.keepFile,
      toDeviceId,
      resultsUrl: url,
      secret: url === null ? null : newResultsSecret(),
    },
  };
}

/** Writes the placement in the job's own transaction. */
export async function writePlacement(tx: Tx, jobId: string, plan: PlacementPlan | null) {
  if (plan) await tx.jobPlacement.create({ data: { jobId, ...plan.row } });
}

/** The owner's view of where the job's parts come from and where its results go, with the results URL's delivery and its attempts. */
export async function placementView(db: Db, job: { id: string; status: string }) {
  const [placement, delivery, reports] = await Promise.all([
    db.jobPlacement.findUnique({ where: { jobId: job.id } }),
    db.resultDelivery.findUnique({
      where: { jobId: job.id },
      select: { status: true, url: true, attempts: true, nextAttemptAt: true, deliveredAt: true, lastError: true, bodySha256: true, log: { orderBy: { attempt: 'asc' }, take: 50, select: { attempt: true, at: true, ok: true, httpStatus: true, error: true, ms: true } } },
    }),
    db.jobSourceReport.groupBy({ by: ['itemId'], where: { jobId: job.id }, _count: true }),
  ]);
  const result = await db.job.findUniqueOrThrow({ where: { id: job.id }, select: { result: true } });
  const mismatches = (itemId: string | null) => (itemId ? (reports.find((r) => r.itemId === itemId)?._count ?? 0) : 0);
  return {
    codeItem: placement?.codeItemId ? { itemId: placement.codeItemId, sha256: placement.codeSha256, mismatchReports: mismatches(placement.codeItemId) } : null,
    dataItem: placement?.dataItemId ? { itemId: placement.dataItemId, sha256: placement.dataSha256, mismatchReports: mismatches(placement.dataItemId) } : null,
    keepFile: placement?.keepFile ?? true,
    /** whether the results file can be downloaded now */
    fileReady: (placement?.keepFile ?? true) && result.result !== null,
    toDeviceId: placement?.toDeviceId ?? null,
    /** the results sent to that device over WebRTC: where they stand */
    toDevice: await toDeviceView(db, job.id, placement?.toDeviceId ?? null),
    resultsUrl: placement?.resultsUrl ?? null,
    /** the key the receiver checks the signature with (shown to the owner only) */
    secret: placement?.secret ?? null,
    delivery: delivery
      ? {
          status: delivery.status,
          attempts: delivery.attempts,
          nextAttemptAt: delivery.status === 'PENDING' ? delivery.nextAttemptAt.toISOString() : null,
          deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
          lastError: delivery.lastError,
          bodySha256: delivery.bodySha256,
          log: delivery.log.map((a) => ({ attempt: a.attempt, at: a.at.toISOString(), ok: a.ok, httpStatus: a.httpStatus, error: a.error, ms: a.ms })),
        }
      : null,
  };
}

/**
 * A donor's report that a source item's bytes did not hash to what the job names. Only a device that was
 * leased a unit of the job may report; the report is kept once per device and item, and the device's leases
 * are given back so that its units go to others (it cannot run them). The owner sees the count on the job page.
 */
export async function reportSource(db: Db, memberId: string, device: { id: string; memberId: string }, input: { jobId: string; itemId: string; sha256: string }) {
  const placement = await db.jobPlacement.findUnique({ where: { jobId: input.jobId }, select: { codeItemId: true, codeSha256: true, dataItemId: true, dataSha256: true } });
  const expected = placement?.codeItemId === input.itemId ? placement.codeSha256 : placement?.dataItemId === input.itemId ? placement.dataSha256 : null;
  if (!placement || expected === null) throw new DomainError('NOT_FOUND', 'This job takes nothing from that item.');
  const count = () => db.jobSourceReport.count({ where: { jobId: input.jobId, itemId: input.itemId } });
  // its leases were given back with its first report: a second report is the same report
  if ((await db.jobSourceReport.count({ where: { jobId: input.jobId, itemId: input.itemId, deviceId: device.id } })) > 0) return { recorded: true, reports: await count(), returned: 0 };
  const leased = await db.replica.count({ where: { jobId: input.jobId, deviceId: device.id } });
  if (leased === 0) throw new DomainError('FORBIDDEN', "Only a device that was given this job's units can report on its items.");
  if (input.sha256 === expected) throw new DomainError('BAD_INPUT', 'That is the SHA-256 the job names: the item is fine, run the unit.');
  try {
    await db.jobSourceReport.create({ data: { jobId: input.jobId, itemId: input.itemId, deviceId: device.id, memberId, sha256: input.sha256 } });
  } catch (err) {
    // the unique index: a second report of the same device is the same report
    if ((await db.jobSourceReport.count({ where: { jobId: input.jobId, itemId: input.itemId, deviceId: device.id } })) === 0) throw err;
  }
  const { returned } = await returnLeases(db, device);
  return { recorded: true, reports: await count(), returned };
}

/**
 * Publishes a content item only the owner and the donors of jobs naming it may fetch: a gift (no price, no
 * order) in the community, marked job-only in the same breath; it stays job-only or is withdrawn.
 */
export async function publishJobOnly(db: Db, memberId: string, community: MarketCommunity & { valuationRates: unknown }, input: { deviceId: string; header: ContentHeader }) {
  const made = await publishItem(db, memberId, community, { deviceId: input.deviceId, header: input.header, pricing: { mode: 'GIFT' } });
  try {
    await db.jobOnlyItem.create({ data: { itemId: made.id, memberId } });
  } catch (err) {
    await db.contentItem.update({ where: { id: made.id }, data: { withdrawn: true } });
    throw err;
  }
  return made;
}
