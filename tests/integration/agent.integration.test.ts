/**
 * The headless agent (`npm run agent`, agent/main.ts) against a real coordinator: the API server of `npm start`
 * over HTTP on a loopback port, serving the test database. The agent runs as its own process, exactly as
 * a person starts it.
 *  - compute: it signs in, registers, leases units, computes them in Node worker threads with the kernels'
 *    own registry, submits them; once a second device confirms them it is paid.
 *  - storage: with --storage-dir it lends room; a buyer's device (this test, on the same WebRTC links and
 *    storage agent as a browser, in Node) stores a shard on it; the shard lands on disk, the agent passes a
 *    challenge from the file, and fails the next one once the file is altered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageAgent, trpcStorageApi, type ShardStore } from '@/app/_lib/storage/agent';
import { connect } from '@/agent/http';
import { NodeLinks, nodeWrtc } from '@/agent/node-links';
import { shardFileName } from '@/agent/disk-shards';
import { ledgerTotals } from '@/server/ledger/repository';
import { createApiHandler } from '@/server/http/api-server';
import { challengesNeeded } from '@/server/storage/domain';
import { sweepStorage } from '@/server/storage/proofs';
import { getKernel } from '@/workers/kernels';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CREDIT = 1_000_000;
const PASSWORD = 'correct horse battery';
const mandelbrot = getKernel('mandelbrot');
const params = { width: 96, height: 96, maxIterations: 150, view: { centerX: -0.5, centerY: 0, scale: 3 } };

type Run = { code: number | null; output: string; summary: Record<string, unknown> };

/** Starts `node scripts/agent.mjs …`; `done` resolves when it exits (SIGINT after 150 s at most). */
function startAgent(origin: string, args: string[]): { child: ChildProcess; output: () => string; done: Promise<Run> } {
  const child = spawn(process.execPath, ['scripts/agent.mjs', '--url', origin, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGINT'), 150_000);
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = /^AGENT_SUMMARY (\{".*)$/m.exec(output);
      resolve({ code, output, summary: line ? (JSON.parse(line[1]!) as Record<string, unknown>) : {} });
    });
  });
  return { child, output: () => output, done };
}

/** Polls `read` until `accept` holds (at most 60 s). */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await read();
    if (accept(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(databaseKinds)('the headless agent on %s', (kind) => {
  let t: TestDatabase;
  let server: Server;
  let origin = '';
  let owner: Caller;
  let seq = 0;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    server = createServer(createApiHandler({ db: t.db, trustProxy: 0 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    owner = (await signUp(t.db, 'agent-owner')).caller;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await t?.drop();
  });

  const community = async () => {
    const slug = `agents-${++seq}`;
    const { id } = await owner.community.create({ name: `Agents ${seq}`, slug, commissionBps: 100, startingGrant: 100 * CREDIT, inviteOnly: false });
    return { id, slug };
  };

  it('leases units, computes them in worker threads, submits them, and is paid once a second device confirms them', { timeout: 180_000 }, async () => {
    const c = await community();
    const agentMember = await signUp(t.db, `agent-${seq}`, PASSWORD);
    const job = await owner.compute.submitJob({
      communityId: c.id, kernel: 'mandelbrot', params, units: 6, replication: 2, quorum: 2,
      deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 10_000,
    });
    const units = job.unitCount; // the kernel splits into whole tiles

    const run = await startAgent(origin, ['--handle', agentMember.member.handle, '--password', PASSWORD, '--community', c.slug, '--threads', '2', '--max-units', String(units), '--max-time', '120']).done;
    expect(run.code, run.output).toBe(0);
    expect(run.summary).toMatchObject({ computed: units, submitted: units, failed: 0, cheated: 0, abandoned: 0, communities: [c.slug] });
    const deviceId = run.summary.deviceId as string;
    // its units wait for a second replica; donating was switched off on the way out
    expect(await agentMember.caller.compute.donorStats({ deviceId })).toMatchObject({ earned: 0 });
    expect(run.output).toMatch(/donating switched off/);

    // a second device computes the other replica of each unit: they agree, the job completes
    const second = await signUp(t.db, `second-${seq}`);
    await second.caller.community.join({ slug: c.slug });
    const { device } = await second.caller.device.register({ name: 'tab', profile: phoneProfile });
    await second.caller.compute.donate({ communityId: c.id, deviceId: device.id, on: true, floorPrice: 1_000 });
    for (let round = 0; round < 20 && (await owner.compute.job({ jobId: job.id })).status === 'OPEN'; round++) {
      for (const lease of await second.caller.compute.lease({ deviceId: device.id, max: 8 })) {
        await second.caller.compute.submitResult({ leaseId: lease.leaseId, output: mandelbrot.run(lease.input as Parameters<typeof mandelbrot.run>[0]) });
      }
    }
    // the job completes, and its contracts settle, just after the last result's commit
    const done = await eventually(() => owner.compute.job({ jobId: job.id }), (j) => j.status !== 'OPEN', 'the job to end');
    expect(done).toMatchObject({ status: 'COMPLETED', progress: { validated: units, failed: 0 } });
    expect(done.result).toEqual(mandelbrot.assemble(params, mandelbrot.split(params, units).map((u) => mandelbrot.run(u))));

    // the agent was paid for every unit, through its settled contract
    const stats = await eventually(() => agentMember.caller.compute.donorStats({ deviceId }), (s) => s.earned > 0, 'the agent to be paid');
    expect(stats).toMatchObject({ validResults: units, invalidResults: 0 });
    expect(stats.earned).toBeGreaterThan(0);
    const contracts = await t.db.contract.findMany({ where: { sellerId: agentMember.member.id } });
    expect(contracts.map((k) => k.state)).toEqual(['SETTLED']);
    expect((await agentMember.caller.ledger.balance({ communityId: c.id })).available).toBe(100 * CREDIT + stats.earned);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses a bad command line with exit code 2 and says why', async () => {
    const run = await startAgent(origin, ['--handle', 'x', '--password', 'y', '--storage-dir', '/tmp/nowhere']).done;
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/--storage-dir and --storage-mb go together/);
  });

  it('sells storage from a folder: a shard sent over WebRTC lands on disk, passes a challenge from the file, and fails once the file is altered', { timeout: 180_000 }, async () => {
    const c = await community();
    const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-agent-disk-'));
    const lender = await signUp(t.db, `lender-${seq}`, PASSWORD);
    const node = startAgent(origin, ['--handle', lender.member.handle, '--password', PASSWORD, '--community', c.slug, '--no-compute', '--storage-dir', dir, '--storage-mb', '5', '--storage-price', '0.5', '--storage-hours', '24', '--max-time', '150']);
    let buyerAgent: StorageAgent | null = null;
    let buyerLinks: NodeLinks | null = null;
    let run: Run;
    try {
      // the node registers its device and lends 5 MB (an ask on the STORAGE book)
      const lending = await eventually(() => t.db.order.findMany({ where: { memberId: lender.member.id, side: 'SELL', category: 'STORAGE', status: 'OPEN' } }), (o) => o.length === 1, `the agent's storage ask\n${node.output()}`);
      const lenderDevice = lending[0]!.deviceId!;

      // the buyer's device: signed in over HTTP, the browser's storage agent on Node WebRTC links, shards in memory
      const buyer = await signUp(t.db, `buyer-${seq}`, PASSWORD);
      await buyer.caller.community.join({ slug: c.slug });
      const { device: buyerDevice } = await buyer.caller.device.register({ name: 'laptop', profile: phoneProfile });
      const http = connect(origin);
      await http.client.auth.signIn.mutate({ handle: buyer.member.handle, password: PASSWORD });
      const memory = new Map<string, Uint8Array<ArrayBuffer>>();
      const store: ShardStore = {
        read: async (id, start, end) => memory.get(id)?.slice(start ?? 0, end) ?? null,
        write: async (id, bytes) => void memory.set(id, bytes),
        remove: async (id) => void memory.delete(id),
      };
      buyerLinks = new NodeLinks(buyerDevice.id, http.client, await nodeWrtc());
      buyerAgent = new StorageAgent(buyerDevice.id, { store, links: buyerLinks, api: trpcStorageApi(http.client) });
      buyerAgent.start();

      const bytes = new Uint8Array(randomBytes(300_000));
      const sha = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');
      const periods = 3;
      const challenges = Array.from({ length: challengesNeeded(periods, 1) }, () => {
        const offset = Math.floor(Math.random() * (bytes.length - 4096));
        const nonce = randomBytes(16);
        return { shardIndex: 0, offset, length: 4096, nonce: nonce.toString('hex'), expected: sha(nonce, bytes.subarray(offset, offset + 4096)) };
      });
      const plan = await buyer.caller.storage.store({
        communityId: c.id, deviceId: buyerDevice.id, name: 'backup', meta: { iv: 'x' }, replicas: 1, periodSeconds: 60, periods,
        maxPrice: CREDIT, shards: [{ index: 0, sizeBytes: bytes.length, sha256: sha(bytes) }], challenges,
      });
      const shardId = plan.shards[0]!.id;
      await buyerAgent.keepForUpload([{ id: shardId, bytes }]);

      // the node fetches the copy from the buyer's device, checks it, writes it to its folder and confirms
      const placement = await eventually(() => t.db.storagePlacement.findFirst({ where: { shardId, deviceId: lenderDevice } }), (p) => p?.status === 'STORED', `the copy stored\n${node.output()}`);
      const file = path.join(dir, shardFileName(shardId));
      expect(sha(readFileSync(file))).toBe(sha(bytes));
      expect(buyerAgent.getSnapshot().served).toBe(1);

      // period 0's challenge: answered from the file, passed
      const start = Date.parse(plan.windowStart);
      const issue = (p: number) => sweepStorage(t.db, new Date(start + p * 60_000 + 30_000));
      expect((await issue(0)).challengesIssued).toBe(1);
      const first = await eventually(() => t.db.storageChallenge.findMany({ where: { placementId: placement!.id, period: 0 } }), (cs) => cs.some((x) => x.status === 'PASSED'), `a passed challenge\n${node.output()}`);
      expect(first.filter((x) => x.status === 'PASSED')).toHaveLength(1);

      // the file is altered on disk: period 1's challenge fails, and the copy is lost
      writeFileSync(file, randomBytes(bytes.length));
      expect((await issue(1)).challengesIssued).toBe(1);
      await eventually(() => t.db.storageChallenge.findMany({ where: { placementId: placement!.id, period: 1 } }), (cs) => cs.some((x) => x.status === 'FAILED'), `a failed challenge\n${node.output()}`);
      expect((await t.db.storagePlacement.findUnique({ where: { id: placement!.id } }))?.status).not.toBe('STORED');
      // the agent has its answer back (the database may say FAILED a moment before the reply reaches it)
      await eventually(async () => node.output(), (out) => out.includes('answered a storage challenge (2 so far)'), 'the second answer');
    } finally {
      buyerAgent?.stop();
      buyerLinks?.stop();
      node.child.kill('SIGINT');
      run = await node.done;
    }
    // stopped by SIGINT: a clean exit, with what it did
    expect(run.code, run.output).toBe(0);
    expect(run.summary, run.output).toMatchObject({ storage: { answered: 2, fetched: 1, served: 0 } });

    // started again on the same folder, it is the same device and keeps its one ask
    const again = await startAgent(origin, ['--handle', lender.member.handle, '--password', PASSWORD, '--community', c.slug, '--no-compute', '--storage-dir', dir, '--storage-mb', '5', '--idle-exit', '1']).done;
    expect(again.code, again.output).toBe(0);
    expect(again.summary.deviceId).toBe(run.summary.deviceId);
    expect(await t.db.order.count({ where: { memberId: lender.member.id, side: 'SELL', category: 'STORAGE', status: 'OPEN' } })).toBe(1);
    rmSync(dir, { recursive: true, force: true });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
