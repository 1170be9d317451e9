#!/usr/bin/env node
/**
 * Scheduler capacity: units leased and validated per second with 1,000 simulated donors over HTTP,
 * against the production build, on SQLite and on PostgreSQL.
 *
 *   node bench/scheduler-http.mjs [--duration 15] [--donors 1000] [--members donors/10] [--in-flight 64] [--max 2]
 *                                 [--jobs 8] [--units 1024] [--baseline-seconds 5] [--only sqlite|postgres]
 *                                 [--pg-url postgresql://…] [--keep-pg] [--timeout 600] [--next]
 *
 * In the same run, before the load, it measures the baselines the figures are read against (bare
 * `node:http` and `auth.me` signed in, 64 connections, --baseline-seconds each; bench/support/baselines.mjs),
 * and afterwards how long each completed job took to settle (from its completion to its last contract's
 * settlement, read from the database) and how many units of other jobs were leased meanwhile. Donors are
 * devices: --members members sign up (scrypt, slow by design) and own the --donors devices between them.
 *
 * It builds nothing: run `npm run build` first (it refuses to start without .next/BUILD_ID). For each
 * database it starts the app as `npm start` would (`node scripts/start.mjs`: migrations, then
 * `next start`) on a free loopback port, in its own process group, and waits for /api/health. Then,
 * over plain-JSON tRPC HTTP (session from the `swapmesh_session` cookie):
 *   - a job owner signs up and creates a community (a large starting grant, so every job's BUY is
 *     covered); the donors sign up (bounded concurrency: scrypt is deliberately slow, and this part
 *     is not timed), join it, register a device each (`device.register`, a phone profile) and switch
 *     donating on (`compute.donate`, floor price below the jobs' price);
 *   - a few `compute.lease` calls while there is no work, to warm the routes up;
 *   - the owner posts a small job (64 units, served first, so that a job completes and is settled
 *     during the run), then --jobs jobs of --units units (1024, the cap, by default); all replication
 *     2, quorum 2, alternately Monte Carlo pi (4096 samples a unit) and Mandelbrot (1024×1024, 64
 *     iterations, in square tiles of at least 32×32: as many units as asked, at most 1024);
 *   - every donor loops: `compute.lease({deviceId, max})` → run each leased unit with the real kernel
 *     (workers/kernels, bundled with esbuild into a temporary file and imported) →
 *     `compute.submitResult` for each; an empty lease backs off (200 ms doubling to 2 s, jittered).
 *     Every donor runs its own loop, and at most --in-flight requests are in flight at any time (a
 *     gate shared by all donors: first come first served, submissions before new leases). The run
 *     stops leasing once every unit is validated (the donors still answer what they hold) or after
 *     --duration seconds: then requests still waiting for a slot are not sent (leased units left
 *     unanswered are counted), and it ends when the requests in flight have been answered.
 * Rates are over the run's wall time: units leased/s (units handed out by `compute.lease`), replicas
 * submitted/s (successful `compute.submitResult`), units validated/s (distinct units a submitResult
 * answered VALIDATED). Latencies are per HTTP request (the gate's queueing excluded). "stale" counts
 * submissions refused because the job finished meanwhile (finishJob drops unanswered leases): that
 * is by design, not an error. New donors are not trusted yet (scheduler.isTrusted: TRUST_STREAK = 10
 * results in a row confirmed by another device), so a unit first leased to one needs replication + 1 = 3
 * replicas (initialReplicas), of which 2 agreeing validate it: in a 15 s run a donor returns about a dozen
 * results, so nearly every unit is leased 3 times and units validated/s is at most a third of replicas
 * submitted/s (the table's "validated per replica", ~0.34). That is this bench's ceiling, not the
 * scheduler's: 1,000 validated/s needs ~3,000 replicas/s here; trusted donors need ~1.2–1.5 per unit.
 * The app's CPU over the load (every thread, from /proc) is printed per unit leased and per replica
 * submitted (each figure charges all of it), with the app's and the bench's CPU share: on a shared
 * machine the rates follow the load, the CPU per unit does not.
 * --next: a donor's last answer of a batch asks for its next work in the same call (submitResult `next`),
 * one request and one batch for both; lease latencies are then those of the plain `compute.lease` calls
 * only (a donor's first, and after running dry).
 * Then the owner reads every job back (`compute.job`): a completed job's result must equal the one the
 * kernels give in the bench process, unit by unit. Afterwards it stops the app and reads the database
 * directly: the ledger (SUM(balance) of "Account" must be 0 and every account must equal the sum of
 * its postings), no unit with two replicas from one device or from one member, no validated unit
 * short of its quorum of VALID replicas, no contract with more replicas than units, no finished job
 * with an open BUY or an unsettled contract, every settled contract of a completed job paying exactly
 * its VALID replicas; and how many jobs, units and replicas ended in which state.
 *
 * SQLite: a temporary file, deleted afterwards. PostgreSQL: a fresh database on the server named by
 * --pg-url, else $BENCH_PG_URL, else $TEST_POSTGRES_URL, else the test cluster of
 * scripts/test-postgres.sh (used as is when it is already running; started otherwise, and then
 * stopped again unless --keep-pg); the database is dropped afterwards. Every process the bench starts
 * is stopped (process group). The whole run is bounded by --timeout seconds: a database that would
 * not fit in what is left (judging by the one before) is skipped, and when the time is up the bench
 * stops everything it started, drops the database, prints what it has and exits.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
// times read back from PostgreSQL (timestamp without time zone) are UTC, as Prisma writes them
process.env.TZ = 'UTC';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { appLauncher, killGroup, sleep } from './support/app-process.mjs';
import { AUTH_ME_PATH, measure, startBareNode } from './support/baselines.mjs';
import { benchDatabases } from './support/databases.mjs';
import { cpuNs } from './support/cpu-time.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CREDIT = 1_000_000;
const PASSWORD = 'correct horse battery staple';
const SIGNUP_CONCURRENCY = 4;
const SETUP_CONCURRENCY = 8;
const JOB_PRICE = 2_000; // micro-credits per unit, above the donors' floor
const FLOOR_PRICE = 1_000;
const MAX_UNITS_PER_JOB = 1024; // the cap of compute.submitJob
const SMALL_JOB_UNITS = 64;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    donors: { type: 'string', default: '1000' },
    members: { type: 'string' },
    'in-flight': { type: 'string', default: '64' },
    'baseline-seconds': { type: 'string', default: '5' },
    max: { type: 'string', default: '2' },
    jobs: { type: 'string', default: '8' },
    units: { type: 'string', default: '1024' },
    timeout: { type: 'string', default: '600' },
    only: { type: 'string' },
    'pg-url': { type: 'string' },
    'keep-pg': { type: 'boolean', default: false },
    next: { type: 'boolean', default: false },
  },
});
const DURATION = Number(args.duration);
const DONORS = Number(args.donors);
// members sign up over HTTP (scrypt, ~0.3 s of CPU each): a member may own several donating devices
const MEMBERS = args.members === undefined ? Math.max(3, Math.ceil(DONORS / 10)) : Number(args.members);
const BASELINE_SECONDS = Number(args['baseline-seconds']);
const IN_FLIGHT = Number(args['in-flight']);
const MAX = Number(args.max);
const JOBS = Number(args.jobs);
const UNITS_PER_JOB = Number(args.units);
const TIMEOUT = Number(args.timeout);
const NEXT = args.next;
for (const [name, value, min, max] of [
  ['duration', DURATION, 1, 120],
  ['donors', DONORS, 3, 5000],
  ['members', MEMBERS, 3, DONORS],
  ['baseline-seconds', BASELINE_SECONDS, 1, 60],
  ['in-flight', IN_FLIGHT, 1, 256],
  ['max', MAX, 1, 16],
  ['jobs', JOBS, 1, 16],
  ['units', UNITS_PER_JOB, 16, MAX_UNITS_PER_JOB],
  ['timeout', TIMEOUT, 30, 1800],
]) {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
}
if (args.only && !['sqlite', 'postgres'].includes(args.only)) throw new Error('--only is sqlite or postgres');
if (!existsSync(path.join(root, '.next', 'BUILD_ID'))) {
  console.error(`No production build in ${root}/.next: run \`npm run build\` first (this bench builds nothing).`);
  process.exit(1);
}

// ------------------------------------------------------------------------------------------------
// processes and databases we create, so that every exit path removes them

const benchStarted = Date.now();
const results = []; // one per database benched, printed even when the run is cut short
const { started, startApp, stopApp } = appLauncher(root); // child processes, each leading its own process group
let currentDatabase = null; // dropped on an interrupt or a timeout too
let kernelDir = null;
const databases = benchDatabases({ root, prefix: 'sched', pgUrl: args['pg-url'], keepPg: args['keep-pg'] });
const { stopClusterIfOurs } = databases;
process.on('exit', () => {
  for (const child of started) killGroup(child, 'SIGKILL');
  if (kernelDir) rmSync(kernelDir, { recursive: true, force: true });
});
function abort(why, code) {
  console.error(`\n${why}: stopping what the bench started`);
  for (const child of started) killGroup(child, 'SIGKILL');
  const drop = currentDatabase ? currentDatabase.drop().catch(() => {}) : Promise.resolve();
  Promise.race([drop, sleep(5_000)]).finally(() => {
    stopClusterIfOurs();
    if (results.length) {
      console.log('\nResults so far:\n');
      printTable(results);
    }
    process.exit(code);
  });
}
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => abort(signal, 130));
setTimeout(() => abort(`--timeout ${TIMEOUT} s reached`, 2), TIMEOUT * 1_000).unref();


// the kernels, bundled from workers/kernels (TypeScript) into a temporary ES module

async function loadKernels() {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [path.join(root, 'workers/kernels/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  kernelDir = mkdtempSync(path.join(tmpdir(), 'swapmesh-sched-kernels-'));
  const file = path.join(kernelDir, 'kernels.mjs');
  writeFileSync(file, out.outputFiles[0].contents);
  try {
    const { KERNELS } = await import(pathToFileURL(file).href);
    return KERNELS;
  } finally {
    rmSync(kernelDir, { recursive: true, force: true });
    kernelDir = null;
  }
}

// ------------------------------------------------------------------------------------------------
// tRPC over HTTP, plain JSON (no transformer)

class RpcError extends Error {
  constructor(procedure, status, code, message) {
    super(`${procedure} → ${status} ${code}: ${message}`);
    this.status = status;
    this.code = code;
  }
}

/**
 * Kept-alive connections for every call: node:http costs the load generator a fraction of what global
 * fetch (undici) does per request, and the bench shares the machine's two cores with the app it measures.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One request; resolves with the status, the body as text and the session cookie it set, if any. */
function send(url, method, body, cookie) {
  return new Promise((resolve, reject) => {
    const headers = { ...(cookie ? { cookie } : {}), ...(body !== null ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) };
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const session = (res.headers['set-cookie'] ?? []).find((c) => c.startsWith('swapmesh_session='));
        resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString(), cookie: session ? session.split(';')[0] : null });
      });
    });
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

/** A mutation (POST), or a query (GET, `?input=`) when `method` is 'GET'. */
async function call(base, procedure, input, cookie, method = 'POST') {
  let res;
  try {
    res =
      method === 'GET'
        ? await send(`${base}/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, 'GET', null, cookie)
        : await send(`${base}/api/trpc/${procedure}`, 'POST', JSON.stringify(input), cookie);
  } catch (error) {
    // no answer: the connection failed or was closed (status 0)
    throw new RpcError(procedure, 0, error.code ?? error.name, error.message);
  }
  let body;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new RpcError(procedure, res.status, 'NOT_JSON', res.text.slice(0, 300));
  }
  if (res.status < 200 || res.status >= 300 || body.error) {
    const e = body.error ?? {};
    throw new RpcError(procedure, res.status, e.data?.code ?? 'UNKNOWN', String(e.message ?? JSON.stringify(body)).slice(0, 300));
  }
  return { data: body.result.data, cookie: res.cookie };
}

/**
 * `call` for the set-up, which is not measured: a request that got no answer at all (the server closed
 * a kept-alive connection as it was reused, say) is sent again (a sign-up that did go through the
 * first time becoming a sign-in, a join that did becoming a no-op; registering a device again just
 * leaves an unused device; donating again replaces the donation).
 */
async function setupCall(base, procedure, input, cookie, method = 'POST') {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(base, procedure, input, cookie, method);
    } catch (error) {
      if (error.status === 0 && attempt < 3) {
        console.error(`  (set-up: ${error.message}; sending it again)`);
        await sleep(200);
        continue;
      }
      if (attempt > 1 && error.code === 'CONFLICT') {
        if (procedure === 'auth.signUp') return call(base, 'auth.signIn', input);
        if (procedure === 'community.join') return { data: null, cookie: null }; // it did join the first time
      }
      throw error;
    }
  }
}

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * At most `n` calls of the returned function run at once; the others wait their turn, first come first
 * served, except that urgent calls (submissions of leased units) go before the others (new leases):
 * a donor answers the work it holds before anyone asks for more.
 */
function gate(n) {
  let active = 0;
  const urgent = [];
  const waiting = [];
  return async (fn, isUrgent = false) => {
    if (active < n) active++;
    else await new Promise((resolve) => (isUrgent ? urgent : waiting).push(resolve)); // the slot is handed over, `active` unchanged
    try {
      return await fn();
    } finally {
      const next = urgent.shift() ?? waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

// a phone, as tests/support/fixtures.ts `phoneProfile`
const PHONE_PROFILE = {
  version: 1,
  measuredAt: '2026-11-22T10:00:00.000Z',
  compute: { cores: 8, mips: 1_500, mflops: 800, durationMs: 420 },
  memory: { deviceMemoryGb: 4, readNs: 3.2, writeNs: 4.1, testedMb: 32 },
  storage: { quotaMb: 20_000, usageMb: 120, persisted: false, readMs: 2.5, writeMs: 6.0, testedBytes: 1_048_576, method: 'sync-access-handle' },
  peripherals: { screenWidth: 412, screenHeight: 915, pixelRatio: 2.625, colorDepth: 24, refreshHz: 60, cameras: 2, microphones: 1, speakers: 1, maxTouchPoints: 5 },
  network: { effectiveType: '4g', downlinkMbps: 10, rttMs: 50, type: 'wifi', saveData: false, measuredRttMs: 35, measuredThroughputMbps: 80, measuredBytes: 1_048_576 },
  platform: { os: 'android', browser: 'chrome', browserVersion: '156', mobile: true, battery: { level: 0.8, charging: true } },
};

// ------------------------------------------------------------------------------------------------
// setting up: owner, community, donors with devices donating, jobs

async function setUp(base) {
  const tag = randomBytes(3).toString('hex');
  const signUp = async (handle) => {
    const { data, cookie } = await setupCall(base, 'auth.signUp', { handle, password: PASSWORD });
    if (!cookie) throw new Error('auth.signUp set no swapmesh_session cookie');
    return { id: data.member.id, handle, cookie };
  };
  const owner = await signUp(`sched-${tag}-owner`);
  const slug = `sched-${tag}`;
  const { data: community } = await call(
    base,
    'community.create',
    { name: `Scheduler bench ${tag}`, slug, commissionBps: 100, startingGrant: 1_000_000 * CREDIT, inviteOnly: false },
    owner.cookie,
  );
  const t0 = Date.now();
  const members = await mapLimit(Array.from({ length: MEMBERS }, (_, i) => `sched-${tag}-${i}`), SIGNUP_CONCURRENCY, signUp);
  const signUpSeconds = (Date.now() - t0) / 1_000;
  await mapLimit(members, SETUP_CONCURRENCY, (m) => setupCall(base, 'community.join', { slug }, m.cookie));
  const donors = await mapLimit(Array.from({ length: DONORS }, (_, i) => members[i % MEMBERS]), SETUP_CONCURRENCY, async (m, i) => {
    const { data: registered } = await setupCall(base, 'device.register', { name: `Phone ${i}`, profile: PHONE_PROFILE, communityId: community.id }, m.cookie);
    await setupCall(base, 'compute.donate', { communityId: community.id, deviceId: registered.device.id, on: true, floorPrice: FLOOR_PRICE }, m.cookie);
    return { ...m, deviceId: registered.device.id };
  });
  return { owner, communityId: community.id, donors, signUpSeconds };
}

/**
 * A small job first (served first: same price, older), so that a job completes during the run and its
 * settlement is part of what is measured and audited; then --jobs jobs of --units units.
 */
function jobSpecs(kernels, communityId) {
  const deadline = new Date(Date.now() + 3_600_000).toISOString();
  const montecarlo = (units, seed) => ({ kernel: 'montecarlo-pi', params: { samples: units * 4096, seed }, units });
  const mandelbrot = (units, i) => ({ kernel: 'mandelbrot', params: { width: 1024, height: 1024, maxIterations: 64, view: { centerX: -0.5, centerY: 0.1 * i, scale: 3 } }, units });
  const jobs = [montecarlo(SMALL_JOB_UNITS, 999), ...Array.from({ length: JOBS }, (_, i) => (i % 2 === 0 ? montecarlo(UNITS_PER_JOB, 1_000 + i) : mandelbrot(UNITS_PER_JOB, i)))];
  return jobs.map((spec, i) => {
    const expectUnits = kernels[spec.kernel].split(spec.params, spec.units).length;
    if (expectUnits > MAX_UNITS_PER_JOB) throw new Error(`${spec.kernel} splits into ${expectUnits} units, more than ${MAX_UNITS_PER_JOB}`);
    return { communityId, title: `bench ${i} ${spec.kernel}`, ...spec, replication: 2, quorum: 2, deadline, pricePerUnit: JOB_PRICE, expectUnits };
  });
}

const stableJson = (value) =>
  JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));

/** The owner's view of each job; a completed job's result must be what the kernels give here, locally. */
async function checkJobs(base, kernels, owner, jobs) {
  const out = { completed: 0, open: 0, other: 0, wrongResults: 0, samples: [] };
  for (const { id, spec } of jobs) {
    const { data: job } = await setupCall(base, 'compute.job', { jobId: id }, owner.cookie, 'GET');
    if (job.status === 'COMPLETED') {
      out.completed++;
      const kernel = kernels[spec.kernel];
      const expected = kernel.assemble(spec.params, kernel.split(spec.params, spec.units).map((unit) => kernel.run(unit)));
      // compared with sorted keys: PostgreSQL stores JSON as jsonb, which does not keep key order
      if (stableJson(job.result) !== stableJson(expected)) {
        out.wrongResults++;
        out.samples.push(`${spec.kernel} job ${id}: got ${stableJson(job.result).slice(0, 200)}, expected ${stableJson(expected).slice(0, 200)}`);
      }
    } else if (job.status === 'OPEN') out.open++;
    else out.other++;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// the load

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

async function run(base, kernels, setup, totalUnits, appPid) {
  const through = gate(IN_FLIGHT);
  const s = {
    leaseCalls: 0,
    emptyLeases: 0,
    leased: 0,
    submitted: 0,
    stale: 0,
    unanswered: 0,
    errors: 0,
    errorKinds: new Map(),
    samples: [],
    replicaStatus: new Map(),
    validated: new Set(),
    leaseMs: [],
    submitMs: [],
    computeMs: 0,
    perSecond: [],
    leaseTimes: [],
    nextLeased: 0,
    carriedSet: new WeakSet(),
  };
  // the app's CPU (every thread, from /proc) and this process's own over the load: what a lease and a
  // replica cost the app, however busy the shared machine was
  const appCpu0 = cpuNs([appPid]);
  const benchCpu0 = process.cpuUsage();
  const t0 = performance.now();
  const stopAt = t0 + DURATION * 1_000;
  const pastDeadline = () => performance.now() >= stopAt;
  const stopping = () => pastDeadline() || s.validated.size >= totalUnits;
  const fail = (procedure, error) => {
    const key = `${procedure} ${error.code ?? error.cause?.code ?? error.name}`;
    s.errorKinds.set(key, (s.errorKinds.get(key) ?? 0) + 1);
    if (s.samples.length < 5) s.samples.push(String(error.message).slice(0, 300));
  };
  const timed = async (list, fn) => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      list.push(performance.now() - started);
    }
  };

  /** Runs and answers one leased unit; with `askNext`, asks for more work in the same call and returns what came. */
  async function submit(donor, lease, askNext = false) {
    const c0 = performance.now();
    const output = kernels[lease.kernel].run(lease.input);
    s.computeMs += performance.now() - c0;
    try {
      const input = askNext && !stopping() ? { leaseId: lease.leaseId, output, next: { deviceId: donor.deviceId, max: MAX } } : { leaseId: lease.leaseId, output };
      // an answer that also asks for work waits its turn with the other requests for work (else the donors
      // holding the slots would keep all the work to themselves)
      const answer = await through(() => (pastDeadline() ? null : timed(s.submitMs, () => call(base, 'compute.submitResult', input, donor.cookie))), !input.next);
      if (answer === null) {
        s.unanswered++; // still waiting for a slot at the deadline: not sent
        return null;
      }
      const { data } = answer;
      if (data.leases?.length) {
        s.leased += data.leases.length;
        s.nextLeased += data.leases.length;
        s.leaseTimes.push([Date.now(), data.leases.length]);
      }
      s.submitted++;
      s.replicaStatus.set(data.status, (s.replicaStatus.get(data.status) ?? 0) + 1);
      if (data.unitStatus === 'VALIDATED') s.validated.add(`${lease.jobId}:${lease.unitIndex}`);
      const second = Math.floor((performance.now() - t0) / 1_000);
      s.perSecond[second] = (s.perSecond[second] ?? 0) + 1;
      return data.leases ?? null;
    } catch (error) {
      // a job that completed meanwhile dropped this (surplus) lease: by design. When the job finishes
      // between submitResult's check of the lease and its transaction, the answer is CONFLICT
      // "already submitted" (the bench submits every lease once): counted here too.
      if ((error.code === 'NOT_FOUND' && /no lease/.test(error.message)) || (error.code === 'CONFLICT' && /already submitted/.test(error.message))) s.stale++;
      else {
        s.errors++;
        fail('submitResult', error);
      }
      return null;
    }
  }

  async function donorLoop(donor) {
    let empty = 0;
    let carried = null; // work that came with the last answer (--next)
    while (!stopping()) {
      let leases;
      if (carried?.length) {
        leases = carried;
        carried = null;
      } else try {
        s.leaseCalls++;
        const answer = await through(() => (stopping() ? null : timed(s.leaseMs, () => call(base, 'compute.lease', { deviceId: donor.deviceId, max: MAX }, donor.cookie))));
        if (answer === null) {
          s.leaseCalls--; // still waiting for a slot when the run stopped: not sent
          break;
        }
        leases = answer.data;
      } catch (error) {
        s.errors++;
        fail('lease', error);
        leases = [];
      }
      if (leases.length === 0) {
        s.emptyLeases++;
        empty++;
        const wait = Math.min(2_000, 200 * 2 ** (empty - 1)) * (0.5 + Math.random());
        await sleep(Math.max(0, Math.min(wait, stopAt - performance.now())));
        continue;
      }
      empty = 0;
      if (!s.carriedSet.has(leases)) {
        s.leased += leases.length;
        s.leaseTimes.push([Date.now(), leases.length]);
      }
      // like app/_lib/donor.ts: every leased unit runs and is answered on its own (with --next, the last
      // answer of a batch asks for the next work, as one call)
      const answers = await Promise.all(leases.map((lease, i) => submit(donor, lease, NEXT && i === leases.length - 1)));
      carried = answers.at(-1) ?? null;
      if (carried) s.carriedSet.add(carried);
    }
    if (carried?.length) s.unanswered += carried.length;
  }

  await Promise.all(setup.donors.map(donorLoop));
  const seconds = (performance.now() - t0) / 1_000;
  const appCpuUs = (cpuNs([appPid]) - appCpu0) / 1_000;
  const benchCpu = process.cpuUsage(benchCpu0);
  const benchCpuUs = benchCpu.user + benchCpu.system;
  const lease = s.leaseMs.sort((a, b) => a - b);
  const sub = s.submitMs.sort((a, b) => a - b);
  return {
    seconds,
    leasedPerSecond: s.leased / seconds,
    appCpuShare: appCpuUs / 1e6 / seconds,
    benchCpuShare: benchCpuUs / 1e6 / seconds,
    // the app's CPU over the load per unit leased and per replica submitted (each figure charges it all: leases and results are served together)
    appCpuPerLease: s.leased > 0 ? appCpuUs / s.leased : NaN,
    appCpuPerReplica: s.submitted > 0 ? appCpuUs / s.submitted : NaN,
    appCpuPerCycle: s.submitted > 0 ? appCpuUs / ((s.leased + s.submitted) / 2) : NaN,
    submittedPerSecond: s.submitted / seconds,
    validatedPerSecond: s.validated.size / seconds,
    leaseP50: percentile(lease, 50),
    leaseP99: percentile(lease, 99),
    submitP50: percentile(sub, 50),
    submitP99: percentile(sub, 99),
    leaseMax: lease.at(-1) ?? NaN,
    submitMax: sub.at(-1) ?? NaN,
    ...s,
    validated: s.validated.size,
    allDone: s.validated.size >= totalUnits,
    perSecond: Array.from({ length: Math.ceil(seconds) }, (_, i) => s.perSecond[i] ?? 0),
  };
}

// ------------------------------------------------------------------------------------------------
// reading the database back

const AUDIT = {
  balances: 'SELECT COALESCE(SUM("balance"), 0) AS n FROM "Account"',
  postings: 'SELECT COALESCE(SUM("amount"), 0) AS n FROM "Posting"',
  accountsOff: `SELECT COUNT(*) AS n FROM "Account" a
    LEFT JOIN (SELECT "accountId", SUM("amount") AS s FROM "Posting" GROUP BY "accountId") p ON p."accountId" = a."id"
    WHERE a."balance" <> COALESCE(p.s, 0)`,
  sameDevice: `SELECT COUNT(*) AS n FROM (SELECT "unitId" FROM "Replica" GROUP BY "unitId", "deviceId" HAVING COUNT(*) > 1) x`,
  sameMember: `SELECT COUNT(*) AS n FROM (SELECT "unitId" FROM "Replica" GROUP BY "unitId", "memberId" HAVING COUNT(*) > 1) x`,
  // the quorum a unit needs (scheduler.quorumFor): one for a trusted device's single replica, else the job's
  shortOfQuorum: `SELECT COUNT(*) AS n FROM "WorkUnit" u JOIN "Job" j ON j."id" = u."jobId"
    WHERE u."status" = 'VALIDATED' AND (SELECT COUNT(*) FROM "Replica" r WHERE r."unitId" = u."id" AND r."status" = 'VALID')
      < (CASE WHEN u."requiredReplicas" <= 1 THEN 1 ELSE j."quorum" END)`,
  // units validated on a trusted device's single replica (adaptive replication)
  single: `SELECT COUNT(*) AS n FROM "WorkUnit" WHERE "status" = 'VALIDATED' AND "requiredReplicas" <= 1`,
  overContract: `SELECT COUNT(*) AS n FROM "Contract" c
    JOIN (SELECT "contractId", COUNT(*) AS k FROM "Replica" GROUP BY "contractId") r ON r."contractId" = c."id" WHERE r.k > c."quantity"`,
  // a finished job has its BUY closed and every contract settled for exactly its VALID replicas (or refunded)
  openOrdersOfFinished: `SELECT COUNT(*) AS n FROM "Order" o JOIN "Job" j ON j."id" = o."jobId" WHERE j."status" <> 'OPEN' AND o."status" = 'OPEN'`,
  unsettled: `SELECT COUNT(*) AS n FROM "Contract" c JOIN "Order" o ON o."id" = c."buyOrderId" JOIN "Job" j ON j."id" = o."jobId"
    WHERE j."status" <> 'OPEN' AND c."state" IN ('MATCHED', 'ACTIVE', 'DELIVERED')`,
  paidOff: `SELECT COUNT(*) AS n FROM "Contract" c JOIN "Order" o ON o."id" = c."buyOrderId" JOIN "Job" j ON j."id" = o."jobId"
    WHERE j."status" = 'COMPLETED' AND c."state" = 'SETTLED'
      AND c."quantity" <> (SELECT COUNT(*) FROM "Replica" r WHERE r."contractId" = c."id" AND r."status" = 'VALID')`,
  contracts: `SELECT COUNT(*) AS n FROM "Contract" c WHERE EXISTS (SELECT 1 FROM "Replica" r WHERE r."contractId" = c."id")`,
  units: `SELECT "status" AS k, COUNT(*) AS n FROM "WorkUnit" GROUP BY "status"`,
  replicas: `SELECT "status" AS k, COUNT(*) AS n FROM "Replica" GROUP BY "status"`,
  jobs: `SELECT "status" AS k, COUNT(*) AS n FROM "Job" GROUP BY "status"`,
  // how long each completed job took to settle: from its completion to its last contract's settlement
  settles: `SELECT j."unitCount" AS units, j."completedAt" AS "completedAt", MAX(c."updatedAt") AS "settledAt", COUNT(c."id") AS contracts
    FROM "Job" j JOIN "Order" o ON o."jobId" = j."id" JOIN "Contract" c ON c."buyOrderId" = o."id"
    WHERE j."status" = 'COMPLETED' GROUP BY j."id", j."unitCount", j."completedAt"`,
};

const timeOf = (v) => (v instanceof Date ? v.getTime() : typeof v === 'number' || typeof v === 'bigint' ? Number(v) : /^\d+$/.test(String(v)) ? Number(v) : Date.parse(String(v).replace(' ', 'T') + (/[zZ+]/.test(String(v)) ? '' : 'Z')));

function shape(key, rows) {
  if (key === 'settles') return rows.map((r) => ({ units: Number(r.units), contracts: Number(r.contracts), completedAt: timeOf(r.completedAt), settledAt: timeOf(r.settledAt) }));
  if (['units', 'replicas', 'jobs'].includes(key)) return Object.fromEntries(rows.map((r) => [String(r.k), Number(r.n)]));
  return Number(rows[0].n);
}

async function auditSqlite(url) {
  const { createClient } = await import('@libsql/client');
  const db = createClient({ url });
  try {
    const out = {};
    for (const [key, sql] of Object.entries(AUDIT)) out[key] = shape(key, (await db.execute(sql)).rows);
    return out;
  } finally {
    db.close();
  }
}

async function auditPostgres(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out = {};
    for (const [key, sql] of Object.entries(AUDIT)) out[key] = shape(key, (await client.query(sql)).rows);
    return out;
  } finally {
    await client.end();
  }
}

const sound = (a) =>
  a.balances === 0 && a.postings === 0 && a.accountsOff === 0 && a.sameDevice === 0 && a.sameMember === 0 && a.shortOfQuorum === 0 &&
  a.overContract === 0 && a.openOrdersOfFinished === 0 && a.unsettled === 0 && a.paidOff === 0;

// ------------------------------------------------------------------------------------------------
// databases

// ------------------------------------------------------------------------------------------------

async function benchDatabase(database, kernels) {
  const t0 = Date.now();
  const baselines = {};
  const app = await startApp(database.url);
  let result;
  let setup;
  try {
    setup = await setUp(app.base);
    // the baselines of this run: bare node:http, and the cheapest signed-in procedure of this app
    const bare = await startBareNode(started);
    try {
      await measure(bare.base, { connections: 8, duration: 1 });
      baselines.bare = await measure(bare.base, { connections: 64, duration: BASELINE_SECONDS });
    } finally {
      await bare.stop();
    }
    await measure(`${app.base}${AUTH_ME_PATH}`, { connections: 8, duration: 1, headers: { cookie: setup.owner.cookie } });
    baselines.authMe = await measure(`${app.base}${AUTH_ME_PATH}`, { connections: 64, duration: BASELINE_SECONDS, headers: { cookie: setup.owner.cookie } });
    // warm up the lease route (and the scheduler's queries) while there is no work yet
    await Promise.all(setup.donors.slice(0, 8).map((d) => setupCall(app.base, 'compute.lease', { deviceId: d.deviceId, max: MAX }, d.cookie)));
    const jobs = [];
    let totalUnits = 0;
    for (const { expectUnits, ...spec } of jobSpecs(kernels, setup.communityId)) {
      const { data: job } = await call(app.base, 'compute.submitJob', spec, setup.owner.cookie);
      if (job.unitCount !== expectUnits) throw new Error(`job ${job.id} has ${job.unitCount} units, expected ${expectUnits}`);
      totalUnits += job.unitCount;
      jobs.push({ id: job.id, spec });
    }
    result = await run(app.base, kernels, setup, totalUnits, app.child.pid);
    if (result.errors > 0 || process.env.BENCH_APP_LOG) console.error(`app output (the last 8 kB):\n${app.log()}`);
    result.totalUnits = totalUnits;
    result.jobs = await checkJobs(app.base, kernels, setup.owner, jobs);
  } catch (error) {
    console.error(`app output:\n${app.log()}`);
    throw error;
  } finally {
    await stopApp(app);
  }
  const audit = await database.audit(database.url);
  // each completed job's settlement, and what was leased meanwhile (other jobs keep leasing)
  audit.settles = (audit.settles ?? []).map((j) => {
    const during = result.leaseTimes.filter(([at]) => at >= j.completedAt && at <= j.settledAt).reduce((sum, [, n]) => sum + n, 0);
    return { ...j, ms: j.settledAt - j.completedAt, leasedDuring: during };
  });
  return { database: database.kind, signUpSeconds: setup.signUpSeconds, result, audit, baselines, seconds: (Date.now() - t0) / 1_000 };
}

const pad = (value, width, right) => (right ? String(value).padStart(width) : String(value).padEnd(width));
const ms = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');

function printTable(results) {
  const head = ['database', 'donors', 'in-flight', 'units leased/s', 'replicas submitted/s', 'units validated/s', 'validated per replica', 'app CPU µs/lease', 'app CPU µs/replica', 'app CPU', 'bench CPU', 'lease p50 ms', 'lease p99 ms', 'submit p50 ms', 'submit p99 ms', 'errors'];
  const rows = results.map(({ database, result: r }) => [
    database,
    DONORS,
    IN_FLIGHT,
    r.leasedPerSecond.toFixed(1),
    r.submittedPerSecond.toFixed(1),
    r.validatedPerSecond.toFixed(1),
    r.submitted > 0 ? (r.validated / r.submitted).toFixed(2) : '-',
    ms(r.appCpuPerLease),
    ms(r.appCpuPerReplica),
    `${(r.appCpuShare * 100).toFixed(0)}%`,
    `${(r.benchCpuShare * 100).toFixed(0)}%`,
    ms(r.leaseP50),
    ms(r.leaseP99),
    ms(r.submitP50),
    ms(r.submitP99),
    r.errors,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => pad(c, widths[i], i >= 1)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i >= 1 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log('');
  const rate = (m) => (m ? `${Math.round(m.rps).toLocaleString('en-US')} req/s (p50 ${m.p50} ms, p99 ${m.p99} ms, ${m.failed} failed)` : '-');
  const met = (ok) => (ok ? 'met' : 'NOT met');
  for (const { database, result: r, audit: a, baselines: b } of results) {
    const big = (a.settles ?? []).filter((j) => j.units >= 1024);
    console.log(
      `${database} baselines in this run, 64 connections: bare node:http ${rate(b.bare)}; auth.me signed in ${rate(b.authMe)}` +
        (b.bare && b.authMe ? ` (${((b.authMe.rps / b.bare.rps) * 100).toFixed(1)}% of bare)` : ''),
    );
    console.log(
      `${database} targets: ≥ 2,000 units leased/s ${met(r.leasedPerSecond >= 2_000)} (${r.leasedPerSecond.toFixed(0)}); ` +
        `≥ 1,000 validated/s ${met(r.validatedPerSecond >= 1_000)} (${r.validatedPerSecond.toFixed(0)}); lease p99 ≤ 50 ms ${met(r.leaseP99 <= 50)} (${ms(r.leaseP99)} ms); ` +
        `1,024-unit job settled in < 1 s ${big.length ? met(big.every((j) => j.ms < 1_000)) : 'not measured (no 1,024-unit job completed)'}`,
    );
    for (const j of a.settles ?? []) {
      console.log(`  ${database} job of ${j.units} units completed: ${j.contracts} contracts settled in ${j.ms} ms; ${j.leasedDuring} units of other jobs leased meanwhile`);
    }
  }
  console.log('');
  for (const { database, result: r, audit: a, signUpSeconds, seconds } of results) {
    const kinds = (o) => Object.entries(o).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    console.log(
      `${database}: ${r.seconds.toFixed(1)} s of load (${r.allDone ? 'every job completed' : `stopped after ${DURATION} s`}), lease max ${MAX}; ` +
        `${r.leaseCalls} lease calls (${r.emptyLeases} empty), ${r.leased} units leased${NEXT ? ` (${r.nextLeased} of them with a result: --next)` : ''}, ${r.submitted} replicas submitted, ` +
        `${r.validated}/${r.totalUnits} units validated; stale submissions (job finished) ${r.stale}; leased units left unanswered at the deadline ${r.unanswered}; kernel time ${(r.computeMs / 1_000).toFixed(2)} s; slowest lease ${ms(r.leaseMax)} ms, slowest submitResult ${ms(r.submitMax)} ms; ` +
        `submitResult answered: ${kinds(Object.fromEntries(r.replicaStatus))}; ` +
        `jobs completed ${r.jobs.completed} (results differing from the local computation: ${r.jobs.wrongResults}), open ${r.jobs.open}, other ${r.jobs.other}`,
    );
    console.log(`  ${database} replicas submitted per second over the run: ${r.perSecond.join(' ')}`);
    for (const [k, n] of r.errorKinds) console.log(`  ${database} errors: ${k} ×${n}`);
    for (const e of r.samples) console.log(`  ${database} sample error: ${e}`);
    for (const e of r.jobs.samples) console.log(`  ${database} WRONG RESULT: ${e}`);
    console.log(
      `  ${database} database: jobs ${kinds(a.jobs)}; units ${kinds(a.units)}; replicas ${kinds(a.replicas)}; ${a.contracts} compute contracts; ` +
        `ledger SUM(balance) = ${a.balances}, SUM(postings) = ${a.postings}, accounts off their postings: ${a.accountsOff}; ` +
        `units with two replicas of one device: ${a.sameDevice}, of one member: ${a.sameMember}; validated units short of quorum: ${a.shortOfQuorum} (validated on a trusted single replica: ${a.single}); ` +
        `contracts with more replicas than units: ${a.overContract}; finished jobs with an open BUY: ${a.openOrdersOfFinished}, ` +
        `with an unsettled contract: ${a.unsettled}, with a settled contract not of its VALID replicas: ${a.paidOff} → ${sound(a) ? 'sound' : 'NOT SOUND'} ` +
        `(sign-ups ${signUpSeconds.toFixed(0)} s, ${seconds.toFixed(0)} s in all)`,
    );
  }
}

const kinds = args.only ? [args.only] : ['sqlite', 'postgres'];
console.log(
  `Scheduler over HTTP: ${DONORS} donors (devices of ${MEMBERS} members), ${IN_FLIGHT} requests in flight, lease max ${MAX}, ` +
    `jobs of ${SMALL_JOB_UNITS} + ${JOBS} × ${UNITS_PER_JOB} units (replication 2), up to ${DURATION} s per database (${root})`,
);
const kernels = await loadKernels();
let failed = false;
for (const kind of kinds) {
  // a database takes about as long as the one before (sign-ups mostly): skip it rather than be cut short
  const spent = (Date.now() - benchStarted) / 1_000;
  const needs = results.length ? results.at(-1).seconds + 10 : 0;
  if (spent + needs > TIMEOUT) {
    console.error(`${kind}: skipped — ${spent.toFixed(0)} s spent, about ${needs.toFixed(0)} s more needed, over --timeout ${TIMEOUT} s`);
    failed = true;
    continue;
  }
  let database;
  try {
    database = kind === 'sqlite' ? await databases.sqliteDatabase(auditSqlite) : await databases.postgresDatabase(auditPostgres);
  } catch (error) {
    console.error(`${kind}: skipped — ${error.message}`);
    failed = true;
    continue;
  }
  currentDatabase = database;
  try {
    results.push(await benchDatabase(database, kernels));
  } catch (error) {
    console.error(`${kind}: failed — ${error.stack ?? error}`);
    failed = true;
  } finally {
    await database.drop().catch((error) => console.error(`${kind}: could not drop the database: ${error.message}`));
    currentDatabase = null;
  }
}
stopClusterIfOurs();
console.log('');
printTable(results);
process.exit(failed || results.some((r) => !sound(r.audit) || r.result.errors > 0 || r.result.jobs.wrongResults > 0) ? 1 : 0);
