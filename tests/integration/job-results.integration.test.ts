import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { attemptDelivery, deliverDueResults, resultsFileOf, sendResultsNow } from '@/server/compute/results';
import { JOB_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyResultsSignature } from '@/server/compute/results-rules';
import { customUnitSchema } from '@/workers/kernels/custom';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const CHUNK = 64 * 1024;
const sha = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** A header for these bytes, as a device would publish it. */
function header(title: string, bytes: Buffer, mediaType: string) {
  const chunkHashes: string[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  return { title, description: 'job source', audience: 'donors', purpose: 'compute', environment: 'browser', mediaType, sizeBytes: bytes.length, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes };
}

const CODE = Buffer.from('export function run(x) { return x * x; }\n');
const square = (x: number) => x * x;

type Received = { jobId: string; body: string; verified: boolean; at: number };

/** The buyer's results receiver, on loopback: checks every POST's signature with the job's secret; fails the next `failNext` POSTs with 500. */
class Receiver {
  server!: Server;
  url = '';
  received: Received[] = [];
  secrets = new Map<string, string>();
  failNext = 0;
  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const jobId = String(req.headers[JOB_HEADER] ?? '');
        const secret = this.secrets.get(jobId) ?? '';
        const verified = verifyResultsSignature(secret, { timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined, signature: req.headers[SIGNATURE_HEADER] as string | undefined }, body, new Date());
        if (this.failNext > 0) {
          this.failNext--;
          res.writeHead(500).end('try later');
          return;
        }
        this.received.push({ jobId, body, verified, at: Date.now() });
        res.writeHead(verified ? 204 : 401).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/results`;
  }
  forJob(jobId: string) {
    return this.received.filter((r) => r.jobId === jobId);
  }
}

describe.each(databaseKinds)('job code and data from content items, results locations on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let otherCommunityId: string;
  let owner: Caller;
  let ownerDevice: string;
  const receiver = new Receiver();
  let seq = 0;
  /** the bytes of each item, as the owner's device holds them (what a donor gets peer to peer) */
  const bytesOf = new Map<string, Buffer>();

  type Donor = { caller: Caller; deviceId: string };
  async function donor(): Promise<Donor> {
    const m = await signUp(t.db, `donor-${kind}-${++seq}`);
    await m.caller.community.join({ slug: 'results-test' });
    const { device } = await m.caller.device.register({ name: 'tab', profile: phoneProfile });
    await m.caller.compute.donate({ communityId, deviceId: device.id, on: true, floorPrice: 1_000 });
    return { caller: m.caller, deviceId: device.id };
  }

  async function publish(bytes: Buffer, title: string, mediaType: string, jobOnly = true, inCommunity = communityId) {
    const h = header(title, bytes, mediaType);
    const made = jobOnly
      ? await owner.compute.publishSource({ communityId: inCommunity, deviceId: ownerDevice, header: h })
      : await owner.content.publish({ communityId: inCommunity, deviceId: ownerDevice, header: h });
    bytesOf.set(made.id, bytes);
    return made.id;
  }

  /** Donors lease units, fetch the items they name (asking the coordinator for a copy, as a device does before the peer-to-peer transfer), check their SHA-256 and run. */
  async function work(donors: Donor[], jobId: string) {
    for (let round = 0; round < 50; round++) {
      for (const d of donors) {
        const leases = await d.caller.compute.lease({ deviceId: d.deviceId, max: 4 });
        for (const lease of leases) {
          const unit = customUnitSchema.parse(lease.input);
          const code = bytesOf.get(unit.source!.codeItem!.itemId)!;
          const data = bytesOf.get(unit.source!.dataItem!.itemId)!;
          expect(sha(code)).toBe(unit.codeSha256);
          expect(sha(data)).toBe(unit.source!.dataItem!.sha256);
          const inputs = JSON.parse(data.toString('utf8')) as number[];
          await d.caller.compute.submitResult({ leaseId: lease.leaseId, output: square(inputs[unit.index]!) });
        }
      }
      const job = await owner.compute.job({ jobId });
      if (job.status !== 'OPEN') return job;
    }
    throw new Error('the job did not finish');
  }

  async function meshJob(count: number, results: { keepFile?: boolean; url?: string; toDeviceId?: string } = {}) {
    const codeItemId = await publish(CODE, `square ${++seq}`, 'text/javascript');
    const inputs = Array.from({ length: count }, (_, i) => i + 1 + seq);
    const dataItemId = await publish(Buffer.from(JSON.stringify(inputs)), `numbers ${seq}`, 'application/json');
    const job = await owner.compute.submitJob({
      communityId, kernel: 'custom', params: {}, units: count, replication: 2, quorum: 2,
      deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 10_000,
      source: { codeItemId, dataItemId, count }, results: { keepFile: results.keepFile ?? true, ...(results.url ? { url: results.url } : {}), ...(results.toDeviceId ? { toDeviceId: results.toDeviceId } : {}) },
    });
    const placement = await owner.compute.placement({ jobId: job.id });
    if (placement.secret) receiver.secrets.set(job.id, placement.secret);
    return { job, codeItemId, dataItemId, inputs, placement };
  }

  beforeAll(async () => {
    process.env.SWAPMESH_RESULTS_ALLOW_PRIVATE = '1';
    await receiver.start();
    t = await freshDatabase(kind);
    const o = await signUp(t.db, `owner-${kind}`);
    owner = o.caller;
    ({ id: communityId } = await owner.community.create({ name: 'Results test', slug: 'results-test', commissionBps: 100, startingGrant: 1_000 * CREDIT, inviteOnly: false }));
    ({ id: otherCommunityId } = await owner.community.create({ name: 'Elsewhere', slug: 'elsewhere', commissionBps: 100, startingGrant: 0, inviteOnly: false }));
    ({ device: { id: ownerDevice } } = await owner.device.register({ name: 'laptop', profile: phoneProfile }));
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.server?.close(resolve));
    await t?.drop();
  });

  it('runs a job whose code and data are job-only content items (only its donors may fetch them) and POSTs its results file, signed, to a loopback receiver', async () => {
    const [a, b] = [await donor(), await donor()];
    const outsider = await donor();
    const { job, codeItemId, dataItemId, inputs, placement } = await meshJob(4, { url: receiver.url });
    expect(placement).toMatchObject({ codeItem: { itemId: codeItemId, sha256: sha(CODE) }, dataItem: { itemId: dataItemId }, keepFile: true, resultsUrl: receiver.url, delivery: null });
    expect(placement.secret).toMatch(/^[0-9a-f]{64}$/);
    // the units carry the items' ids and SHA-256, never their bytes
    const units = await t.db.workUnit.findMany({ where: { jobId: job.id }, select: { input: true } });
    expect(units.every((u) => customUnitSchema.parse(u.input).input === null)).toBe(true);

    // before it was leased a unit, a member may not fetch a job-only item
    await rejects(a.caller.content.request({ itemId: dataItemId, deviceId: a.deviceId }), 'FORBIDDEN');
    await work([a, b], job.id).catch(() => undefined);
    const done = await owner.compute.job({ jobId: job.id });
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toEqual(inputs.map(square));
    // the job's donors may now ask for a copy (the bytes then travel device to device); a member who never ran it still may not
    const copy = await a.caller.content.request({ itemId: dataItemId, deviceId: a.deviceId });
    expect(copy.transfer).toMatchObject({ status: 'REQUESTED', senderDeviceId: ownerDevice, receiverDeviceId: a.deviceId });
    await rejects(outsider.caller.content.request({ itemId: codeItemId, deviceId: outsider.deviceId }), 'FORBIDDEN');

    // the delivery was queued with the job's completion, and the sweep posts it
    expect(await deliverDueResults(t.db)).toMatchObject({ delivered: 1 });
    const got = receiver.forJob(job.id);
    expect(got).toHaveLength(1);
    expect(got[0]!.verified).toBe(true);
    const file = await resultsFileOf(t.db, job.id);
    expect(got[0]!.body).toBe(file!.body);
    expect(JSON.parse(got[0]!.body)).toMatchObject({ format: 'swapmesh.results/1', job: { id: job.id, units: 4 }, result: inputs.map(square) });
    const after = await owner.compute.placement({ jobId: job.id });
    expect(after.delivery).toMatchObject({ status: 'DELIVERED', attempts: 1, bodySha256: file!.sha256, log: [{ attempt: 1, ok: true, httpStatus: 204, error: null }] });
    expect(after.fileReady).toBe(true);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('retries with backoff after the receiver fails twice, and shows every attempt', async () => {
    const [a, b] = [await donor(), await donor()];
    const { job } = await meshJob(2, { url: receiver.url, keepFile: false });
    await work([a, b], job.id);
    receiver.failNext = 2;
    const t0 = new Date(Date.now() + 1_000);
    expect(await attemptDelivery(t.db, job.id, t0)).toBe('retry');
    // not due again before its wait (5 s after the first failure)
    expect(await attemptDelivery(t.db, job.id, new Date(t0.getTime() + 4_999))).toBe('skipped');
    const t1 = new Date(t0.getTime() + 5_000);
    expect(await attemptDelivery(t.db, job.id, t1)).toBe('retry');
    expect(await deliverDueResults(t.db, new Date(t1.getTime() + 9_999))).toEqual({ attempted: 0, delivered: 0 });
    const t2 = new Date(t1.getTime() + 10_000);
    expect(await deliverDueResults(t.db, t2)).toEqual({ attempted: 1, delivered: 1 });
    expect(receiver.forJob(job.id)).toHaveLength(1);
    expect(receiver.forJob(job.id)[0]!.verified).toBe(true);
    const view = await owner.compute.placement({ jobId: job.id });
    expect(view.delivery).toMatchObject({ status: 'DELIVERED', attempts: 3 });
    expect(view.delivery!.log.map((l) => [l.attempt, l.ok, l.httpStatus])).toEqual([[1, false, 500], [2, false, 500], [3, true, 204]]);
    expect(view.delivery!.log[0]!.error).toMatch(/answered 500/);
    expect(view.delivery!.log.map((l) => Date.parse(l.at) - t0.getTime())).toEqual([0, 5_000, 15_000]);
    // kept elsewhere only: no file to download from the job page
    expect(view.fileReady).toBe(false);
  });

  it('gives up after the last attempt, and "send now" tries once more', async () => {
    const [a, b] = [await donor(), await donor()];
    const { job } = await meshJob(1, { url: receiver.url.replace('/results', '/closed').replace(/:\d+\//, ':9/') });
    await work([a, b], job.id);
    let at = Date.now();
    let outcome = '';
    for (let i = 0; i < 20 && outcome !== 'failed'; i++) {
      outcome = await attemptDelivery(t.db, job.id, new Date(at));
      at += 3_600_000;
    }
    expect(outcome).toBe('failed');
    const view = await owner.compute.placement({ jobId: job.id });
    expect(view.delivery).toMatchObject({ status: 'FAILED', attempts: 8, nextAttemptAt: null });
    expect(view.delivery!.lastError).toMatch(/Could not connect to the receiver/);
    // "send now" on a given-up delivery makes one more attempt, counted on
    expect(await owner.compute.sendResults({ jobId: job.id })).toEqual({ outcome: 'failed' });
    expect((await owner.compute.placement({ jobId: job.id })).delivery).toMatchObject({ status: 'FAILED', attempts: 9 });
    await rejects(owner.compute.sendResults({ jobId: (await meshJob(1)).job.id }), 'PRECONDITION_FAILED', /no results to send yet/);
  });

  it('refuses bad sources and results locations with clear errors, and records a donor that found other bytes', async () => {
    const submit = (extra: object) =>
      owner.compute.submitJob({ communityId, kernel: 'custom', params: { code: 'export const run = (x) => x' }, units: 1, replication: 2, quorum: 2, deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 10_000, ...extra });
    const jobsBefore = await t.db.job.count();
    await rejects(submit({ source: { dataItemId: 'no-such-item', count: 1 } }), 'NOT_FOUND', /no content item "no-such-item"/);
    const elsewhere = await publish(Buffer.from('[1]'), 'elsewhere', 'application/json', false, otherCommunityId);
    await rejects(submit({ source: { dataItemId: elsewhere, count: 1 } }), 'BAD_REQUEST', /another community/);
    const here = await publish(Buffer.from('[1]'), 'here', 'application/json', false);
    await rejects(submit({ source: { dataItemId: here } }), 'BAD_REQUEST', /how many inputs/);
    await rejects(
      owner.compute.submitJob({ communityId, kernel: 'montecarlo-pi', params: { samples: 1000, seed: 1 }, units: 1, replication: 2, quorum: 2, deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 10_000, source: { dataItemId: here, count: 1 } }),
      'BAD_REQUEST',
    );
    await rejects(submit({ params: { inputs: [1] }, source: { codeItemId: 'nope' } }), 'NOT_FOUND');
    await rejects(submit({ params: { code: 'x', inputs: [1] }, results: { keepFile: true, url: 'not a url' } }), 'BAD_REQUEST', /complete web address/);
    await rejects(submit({ params: { code: 'x', inputs: [1] }, results: { keepFile: true, url: 'ftp://example.org/in' } }), 'BAD_REQUEST', /only to http/);
    await rejects(submit({ params: { code: 'x', inputs: [1] }, results: { keepFile: false } }), 'BAD_REQUEST', /Choose where the results go/);
    const stranger = await donor();
    const { device: theirs } = await stranger.caller.device.register({ name: 'other', profile: phoneProfile });
    await rejects(submit({ params: { code: 'x', inputs: [1] }, results: { keepFile: false, toDeviceId: theirs.id } }), 'NOT_FOUND', /your own devices/);
    process.env.SWAPMESH_RESULTS_ALLOW_PRIVATE = '0';
    try {
      await rejects(submit({ params: { code: 'x', inputs: [1] }, results: { keepFile: true, url: receiver.url } }), 'BAD_REQUEST', /private network/);
    } finally {
      process.env.SWAPMESH_RESULTS_ALLOW_PRIVATE = '1';
    }
    expect(await t.db.job.count()).toBe(jobsBefore);

    // a donor whose copy of the data hashes otherwise reports it; its leases go back for others
    const [a, b] = [await donor(), await donor()];
    const { job, dataItemId, codeItemId } = await meshJob(2);
    await rejects(a.caller.compute.reportSource({ deviceId: a.deviceId, jobId: job.id, itemId: dataItemId, sha256: 'f'.repeat(64) }), 'FORBIDDEN', /given this job's units/);
    const leased = await a.caller.compute.lease({ deviceId: a.deviceId, max: 4 });
    const ours = leased.find((l) => l.jobId === job.id);
    expect(ours).toBeDefined();
    const unit = customUnitSchema.parse(ours!.input);
    await rejects(a.caller.compute.reportSource({ deviceId: a.deviceId, jobId: job.id, itemId: dataItemId, sha256: unit.source!.dataItem!.sha256 }), 'BAD_REQUEST', /the item is fine/);
    await rejects(a.caller.compute.reportSource({ deviceId: a.deviceId, jobId: job.id, itemId: here, sha256: 'f'.repeat(64) }), 'NOT_FOUND', /takes nothing from that item/);
    const report = await a.caller.compute.reportSource({ deviceId: a.deviceId, jobId: job.id, itemId: dataItemId, sha256: 'f'.repeat(64) });
    expect(report).toMatchObject({ recorded: true, reports: 1, returned: leased.length });
    expect(await t.db.replica.count({ where: { jobId: job.id, deviceId: a.deviceId, status: 'LEASED' } })).toBe(0);
    // the same report again is the same report
    expect(await a.caller.compute.reportSource({ deviceId: a.deviceId, jobId: job.id, itemId: dataItemId, sha256: 'e'.repeat(64) })).toMatchObject({ reports: 1 });
    const view = await owner.compute.placement({ jobId: job.id });
    expect(view.dataItem).toMatchObject({ itemId: dataItemId, mismatchReports: 1 });
    expect(view.codeItem).toMatchObject({ itemId: codeItemId, mismatchReports: 0 });
    // the units went back to the pool: another donor takes them
    expect((await b.caller.compute.lease({ deviceId: b.deviceId, max: 4 })).filter((l) => l.jobId === job.id)).toHaveLength(2);
  });

  it('20 concurrent deliveries of one result set: one POST, one delivered record, one attempt', async () => {
    const [a, b] = [await donor(), await donor()];
    const { job } = await meshJob(2, { url: receiver.url });
    await work([a, b], job.id);
    const now = new Date();
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 3 === 0 ? deliverDueResults(t.db, now) : i % 3 === 1 ? attemptDelivery(t.db, job.id, now) : sendResultsNow(t.db, job.id, now).catch((e: Error) => e.message),
    );
    await Promise.all(calls);
    expect(receiver.forJob(job.id)).toHaveLength(1);
    expect(receiver.forJob(job.id)[0]!.verified).toBe(true);
    expect(await t.db.resultDelivery.count({ where: { jobId: job.id } })).toBe(1);
    expect(await t.db.resultDelivery.findUnique({ where: { jobId: job.id }, select: { status: true, attempts: true } })).toEqual({ status: 'DELIVERED', attempts: 1 });
    expect(await t.db.resultDeliveryAttempt.count({ where: { delivery: { jobId: job.id } } })).toBe(1);
    await rejects(owner.compute.sendResults({ jobId: job.id }), 'CONFLICT', /already delivered/);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
