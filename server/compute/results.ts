/**
 * A completed job's results leave the coordinator: as one file to download (`resultsFileOf`), and POSTed to the
 * job's results URL, signed with its secret (results-rules.ts), retried with exponential backoff until the
 * receiver answers 2xx or `MAX_DELIVERY_ATTEMPTS` have failed. Every attempt is recorded for the job page.
 *
 * Exactly once: a job has one delivery row (unique `jobId`); an attempt first claims the row with a conditional
 * write (still PENDING, due, not claimed, the attempt count it read), so however many processes or callers try at
 * once, one of them posts; the others see it claimed and leave it.
 */
import { lookup } from 'node:dns/promises';
import { DomainError } from '../errors';
import type { Db, Tx } from '../db/client';
import { transaction } from '../db/transaction';
import type { Json } from '../../workers/kernels/types';
import type { Outbox } from '../live/outbox';
import { queueResultsToDevice } from './results-device';
import {
  allowPrivateResults, delivered, isPrivateAddress, MAX_DELIVERY_ATTEMPTS, resultsFile, retryDelayMs, signatureHeaders, type ResultsFile,
} from './results-rules';

/** How long a claimed attempt may take before another process may try again. */
const CLAIM_MS = 60_000;
const POST_TIMEOUT_MS = 15_000;
const DUE_BATCH = 20;

export type Poster = (url: string, init: { headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{ status: number }>;

const fetchPoster: Poster = async (url, init) => {
  const response = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal: init.signal, redirect: 'manual' });
  await response.body?.cancel().catch(() => undefined);
  return { status: response.status };
};

/** The results file of a completed job, or null when it has none (yet). */
export async function resultsFileOf(db: Db | Tx, jobId: string): Promise<ResultsFile | null> {
  const job = await db.job.findUnique({ where: { id: jobId }, select: { id: true, title: true, kernel: true, unitCount: true, completedAt: true, status: true, result: true } });
  if (!job || job.status !== 'COMPLETED' || job.result === null) return null;
  return resultsFile(job, job.result as Json);
}

/** Inside `finishJob`'s transaction: a completed job with a results URL gets its delivery row, due at once; one with a device, its row for the device. */
export async function queueResults(tx: Tx, jobId: string, now: Date, outbox?: Outbox): Promise<void> {
  const placement = await tx.jobPlacement.findUnique({ where: { jobId }, select: { resultsUrl: true, toDeviceId: true } });
  if (!placement?.resultsUrl && !placement?.toDeviceId) return;
  const file = await resultsFileOf(tx, jobId);
  if (!file) return;
  if (placement.resultsUrl) await tx.resultDelivery.create({ data: { jobId, url: placement.resultsUrl, bodySha256: file.sha256, nextAttemptAt: now } });
  if (placement.toDeviceId) {
    // to one of the owner's devices, over WebRTC from another of them (results-device.ts)
    const job = await tx.job.findUniqueOrThrow({ where: { id: jobId }, select: { id: true, memberId: true } });
    await queueResultsToDevice(tx, job, placement.toDeviceId, file, outbox);
  }
}

const describe = (err: unknown) => {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `No answer within ${POST_TIMEOUT_MS / 1000} s.`;
  if (e?.cause?.code || e?.cause?.message) return `Could not connect to the receiver (${(e.cause.code ?? e.cause.message ?? '').slice(0, 120)}).`;
  return (e?.message ?? String(err)).slice(0, 200);
};

/** Refuses at send time a host that resolves to a private address (a public name can point anywhere). */
async function addressProblem(url: string): Promise<string | null> {
  if (allowPrivateResults()) return null;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  try {
    const addresses = await lookup(host, { all: true });
    if (addresses.some((a) => isPrivateAddress(a.address))) return `${host} resolves to a private address: results are not sent there.`;
  } catch {
    return `${host} could not be resolved.`;
  }
  return null;
}

/**
 * One attempt at the job's delivery, if it is due and nobody else is making it: 'delivered', 'retry' (failed, tried
 * again later), 'failed' (given up), or 'skipped' (not due, already done, or claimed by another caller).
 */
export async function attemptDelivery(db: Db, jobId: string, now = new Date(), post: Poster = fetchPoster): Promise<'delivered' | 'retry' | 'failed' | 'skipped'> {
  const row = await db.resultDelivery.findUnique({ where: { jobId }, select: { id: true, url: true, attempts: true, status: true } });
  if (!row || row.status !== 'PENDING') return 'skipped';
  const attempt = row.attempts + 1;
  const { count } = await db.resultDelivery.updateMany({
    where: { id: row.id, status: 'PENDING', attempts: row.attempts, nextAttemptAt: { lte: now }, OR: [{ claimedUntil: null }, { claimedUntil: { lt: now } }] },
    data: { attempts: attempt, claimedUntil: new Date(now.getTime() + CLAIM_MS) },
  });
  if (count !== 1) return 'skipped';

  const [file, placement] = await Promise.all([resultsFileOf(db, jobId), db.jobPlacement.findUnique({ where: { jobId }, select: { secret: true } })]);
  const started = Date.now();
  let ok = false;
  let httpStatus: number | null = null;
  let error: string | null = null;
  if (!file || !placement?.secret) error = 'The job has no results to send.';
  else {
    error = await addressProblem(row.url);
    if (error === null) {
      try {
        const answer = await post(row.url, { headers: signatureHeaders(placement.secret, jobId, file.body, now), body: file.body, signal: AbortSignal.timeout(POST_TIMEOUT_MS) });
        httpStatus = answer.status;
        ok = delivered(answer.status);
        if (!ok) error = answer.status >= 300 && answer.status < 400 ? `The receiver answered ${answer.status} (a redirect; results are not forwarded).` : `The receiver answered ${answer.status}.`;
      } catch (err) {
        error = describe(err);
      }
    }
  }
  const ms = Date.now() - started;
  const gaveUp = !ok && attempt >= MAX_DELIVERY_ATTEMPTS;
  await transaction(db, async (tx) => {
    await tx.resultDeliveryAttempt.create({ data: { deliveryId: row.id, attempt, at: now, ok, httpStatus, error, ms } });
    await tx.resultDelivery.updateMany({
      where: { id: row.id, attempts: attempt, status: 'PENDING' },
      data: ok
        ? { status: 'DELIVERED', deliveredAt: now, claimedUntil: null, lastError: null }
        : { status: gaveUp ? 'FAILED' : 'PENDING', claimedUntil: null, lastError: error, nextAttemptAt: new Date(now.getTime() + retryDelayMs(attempt)) },
    });
  });
  return ok ? 'delivered' : gaveUp ? 'failed' : 'retry';
}

/** The sweeper's part: every delivery that is due gets one attempt. */
export async function deliverDueResults(db: Db, now = new Date(), post: Poster = fetchPoster) {
  const due = await db.resultDelivery.findMany({
    where: { status: 'PENDING', nextAttemptAt: { lte: now }, OR: [{ claimedUntil: null }, { claimedUntil: { lt: now } }] },
    orderBy: { nextAttemptAt: 'asc' },
    take: DUE_BATCH,
    select: { jobId: true },
  });
  const outcomes = await Promise.all(due.map((d) => attemptDelivery(db, d.jobId, now, post)));
  return { attempted: outcomes.filter((o) => o !== 'skipped').length, delivered: outcomes.filter((o) => o === 'delivered').length };
}

/** The owner's "Send now": a pending delivery is made due at once and attempted; a delivered or given-up one is left as it is. */
export async function sendResultsNow(db: Db, jobId: string, now = new Date(), post: Poster = fetchPoster) {
  const row = await db.resultDelivery.findUnique({ where: { jobId }, select: { status: true } });
  if (!row) throw new DomainError('PRECONDITION', 'This job has no results to send yet: they go out when it completes.');
  if (row.status === 'DELIVERED') throw new DomainError('CONFLICT', 'The results were already delivered.');
  if (row.status === 'FAILED') {
    // another round of attempts, counted on from the last
    await db.resultDelivery.updateMany({ where: { jobId, status: 'FAILED' }, data: { status: 'PENDING', nextAttemptAt: now, claimedUntil: null } });
  } else {
    await db.resultDelivery.updateMany({ where: { jobId, status: 'PENDING', OR: [{ claimedUntil: null }, { claimedUntil: { lt: now } }] }, data: { nextAttemptAt: now } });
  }
  return { outcome: await attemptDelivery(db, jobId, now, post) };
}
