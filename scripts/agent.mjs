#!/usr/bin/env node
// The headless donor: a device with no screen that donates compute from Node.
//
//   npm run agent -- --url http://127.0.0.1:3000 --handle H --password P [--community SLUG] [--threads 2]
//
// It signs in over HTTP (plain JSON tRPC, keeping the `swapmesh_session` cookie), measures itself
// (MIPS/MFLOPS and memory with workers/benchmark.ts, RTT and throughput against /api/ping) and
// registers as a device, switches donating on in its communities, then loops: lease work units
// (as many as it has free threads), run each in a Node worker thread, submit the result. With no
// work it asks again after 2 s, 4 s, 8 s, then every 10 s. SIGINT/SIGTERM stop it cleanly: running
// units are abandoned, every lease is given back and donating is switched off.
//
// Kernels: the TypeScript kernel catalog is bundled once at start with esbuild (a dependency of the
// project) into one temporary ES module, which every thread imports as plain JavaScript; no TypeScript
// loader runs in the threads. The WebAssembly builds are read from workers/kernels/wasm/*.wasm and
// calibrated in each thread (runUnitFast uses them where they agree and are faster).
//
// Members' own code (kernel `custom`) is NOT run unless --allow-custom is given: Node has no sandbox
// like the browser's (CSP + stripped worker). With the flag, the code is fetched from
// /api/compute/sandbox/JOB?part=code, checked against the unit's SHA-256, compiled by esbuild to a
// script and run in a fresh `vm` context per unit (no require/import/process, no eval, no timers,
// inputs and outputs passed as JSON text) inside a worker thread with a memory limit and the lease's
// time limit. `vm` is not a security boundary: only use it for code you trust.
//
// Options:
//   --url URL            coordinator (default http://127.0.0.1:3000)
//   --handle H --password P   the member to donate as (--sign-up creates the member if needed)
//   --community SLUG     donate in this community (repeatable; joins it if needed, --invite CODE);
//                        default: every community the member belongs to
//   --threads N          worker threads (default: 2, at most the processors)
//   --floor CREDITS      the least a unit must pay (default 0.001)
//   --name NAME          device name (default "agent@HOSTNAME"); --device-id ID re-measures that device
//   --max-units N        exit after N units have been computed
//   --idle-exit S        exit after S seconds with no work
//   --max-time S         exit after S seconds in all
//   --cheat              corrupt every output (still well-formed) before submitting, for tests and demos
//   --allow-custom       run members' own code (see above)
//   --quiet              print only errors and the summary
// The last line printed is `AGENT_SUMMARY {json}` (units computed, submitted, failed, skipped...).
// Exit codes: 0 done or stopped, 1 fatal error, 2 bad arguments.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, platform, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WASM_DIR = join(ROOT, 'workers/kernels/wasm');
const MICRO_PER_CREDIT = 1_000_000;
const REQUEST_TIMEOUT_MS = 30_000;
/** A unit is abandoned this long before its lease expires (a late result is refused anyway). */
const LEASE_MARGIN_MS = 3_000;
const THREAD_MEMORY_MB = 512;
/** At most this many units the agent will not run are held at once (see the loop). */
const MAX_HELD = 32;

// =============================================================================================
// Worker thread: runs units

async function threadMain({ bundle }) {
  const k = await import(pathToFileURL(bundle).href);
  const sources = {};
  for (const name of k.WASM_KERNEL_NAMES) {
    try {
      sources[name] = readFileSync(join(WASM_DIR, `${name}.wasm`));
    } catch {
      // not built: that kernel runs in JavaScript
    }
  }
  const loaded = await k.loadKernelWasm(sources).catch(() => null);
  const usesWasm = (name) => {
    const m = loaded?.modules[name];
    return m !== undefined && m.agrees !== false && (m.speedup ?? 0) >= k.PREFER_WASM_SPEEDUP;
  };

  parentPort.on('message', async (msg) => {
    if (msg?.type !== 'run') return;
    const t0 = performance.now();
    try {
      let output;
      let engine;
      if (msg.kernel === 'custom') {
        output = await runCustom(msg.script, msg.input);
        engine = 'vm';
      } else {
        const kernel = k.findKernel(msg.kernel);
        if (!kernel) throw new Error(`unknown kernel "${msg.kernel}"`);
        output = k.runUnitFast(kernel.name, msg.input, loaded?.modules);
        engine = usesWasm(kernel.name) ? 'wasm' : 'js';
      }
      parentPort.postMessage({ type: 'result', id: msg.id, ok: true, output, engine, ms: performance.now() - t0 });
    } catch (err) {
      parentPort.postMessage({ type: 'result', id: msg.id, ok: false, error: describe(err) });
    }
  });
}

/** Runs a member's code (compiled to a script defining `__member`) in a fresh context; JSON in, JSON out. */
async function runCustom(script, input) {
  const vm = await import('node:vm');
  const context = vm.createContext(Object.create(null), { name: 'swapmesh-custom', codeGeneration: { strings: false, wasm: false } });
  vm.runInContext(script, context, { timeout: 60_000 });
  context.__input = JSON.stringify(input);
  const text = await vm.runInContext(
    `(async () => {
      const m = typeof __member === 'object' && __member !== null ? __member : {};
      const f = typeof m.run === 'function' ? m.run
        : typeof m.default === 'function' ? m.default
        : m.default && typeof m.default.run === 'function' ? m.default.run.bind(m.default) : null;
      if (!f) throw new Error('The code exports no run(input) function.');
      const out = await f(JSON.parse(__input));
      if (out === undefined) throw new Error('run(input) returned nothing.');
      return JSON.stringify(out);
    })()`,
    context,
    { timeout: 60_000 },
  );
  if (typeof text !== 'string') throw new Error('The code returned something that is not JSON.');
  return JSON.parse(text);
}

function describe(err) {
  try {
    return String(err instanceof Error || (err && typeof err.message === 'string') ? err.message : err).slice(0, 500);
  } catch {
    return 'failed';
  }
}

// =============================================================================================
// Main thread

function usage(message) {
  if (message) console.error(`agent: ${message}`);
  console.error('usage: npm run agent -- --url URL --handle H --password P [--community SLUG] [--threads N] [--floor CREDITS]\n' +
    '       [--max-units N] [--idle-exit S] [--max-time S] [--cheat] [--allow-custom] [--sign-up] [--invite CODE] [--name NAME] [--device-id ID] [--quiet]');
  process.exit(2);
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:3000' },
        handle: { type: 'string' },
        password: { type: 'string' },
        community: { type: 'string', multiple: true },
        invite: { type: 'string' },
        threads: { type: 'string' },
        floor: { type: 'string', default: '0.001' },
        name: { type: 'string' },
        'device-id': { type: 'string' },
        'max-units': { type: 'string' },
        'idle-exit': { type: 'string' },
        'max-time': { type: 'string' },
        cheat: { type: 'boolean', default: false },
        'allow-custom': { type: 'boolean', default: false },
        'sign-up': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    usage(err.message);
  }
  if (parsed.help) usage();
  if (!parsed.handle || !parsed.password) usage('--handle and --password are required');
  const positive = (name, text, { integer = true } = {}) => {
    if (text === undefined) return null;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) usage(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
    return n;
  };
  let url;
  try {
    url = new URL(parsed.url);
  } catch {
    usage('--url is not a URL');
  }
  const floor = positive('floor', parsed.floor, { integer: false });
  const floorPrice = Math.round(floor * MICRO_PER_CREDIT);
  if (floorPrice < 1) usage('--floor must be at least 0.000001 credits');
  const cpus = availableParallelism();
  return {
    base: url.origin,
    handle: parsed.handle,
    password: parsed.password,
    communities: parsed.community ?? [],
    invite: parsed.invite ?? undefined,
    threads: Math.min(positive('threads', parsed.threads) ?? Math.min(2, cpus), 64),
    floorPrice,
    name: (parsed.name ?? `agent@${hostname()}`).slice(0, 60),
    deviceId: parsed['device-id'] ?? undefined,
    maxUnits: positive('max-units', parsed['max-units']),
    idleExitMs: (positive('idle-exit', parsed['idle-exit'], { integer: false }) ?? 0) * 1000 || null,
    maxTimeMs: (positive('max-time', parsed['max-time'], { integer: false }) ?? 0) * 1000 || null,
    cheat: parsed.cheat,
    allowCustom: parsed['allow-custom'],
    signUp: parsed['sign-up'],
    quiet: parsed.quiet,
  };
}

/** A tRPC error answer, with its code (UNAUTHORIZED, CONFLICT...) and HTTP status. */
class RemoteError extends Error {
  constructor(message, code, status) {
    super(message);
    this.name = 'RemoteError';
    this.code = code;
    this.status = status;
  }
}

/** Plain JSON tRPC over HTTP (no batching, no transformer), with the session cookie. */
function makeClient(base) {
  let cookie = null;
  async function request(method, path, input) {
    const url = new URL(`/api/trpc/${path}`, base);
    if (method === 'GET' && input !== undefined) url.searchParams.set('input', JSON.stringify(input));
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: { ...(method === 'POST' ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie } : {}) },
        body: method === 'POST' && input !== undefined ? JSON.stringify(input) : undefined,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (err) {
      throw new RemoteError(`cannot reach ${base}: ${describe(err.cause ?? err)}`, 'NETWORK', 0);
    }
    for (const line of res.headers.getSetCookie?.() ?? []) {
      const match = /^swapmesh_session=([^;]*)/.exec(line);
      if (match) cookie = `swapmesh_session=${match[1]}`;
    }
    const text = await res.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new RemoteError(`${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, 'BAD_RESPONSE', res.status);
    }
    if (body.error) throw new RemoteError(`${path}: ${body.error.message}`, body.error.data?.code ?? 'ERROR', res.status);
    return body.result?.data;
  }
  return {
    query: (path, input) => request('GET', path, input),
    mutate: (path, input) => request('POST', path, input),
    /** GET a same-origin path with the session cookie, as text. */
    async text(path) {
      const res = await fetch(new URL(path, base), { headers: cookie ? { cookie } : {}, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      const text = await res.text();
      if (!res.ok) throw new RemoteError(`${path}: HTTP ${res.status} ${text.slice(0, 200)}`, 'HTTP', res.status);
      return text;
    },
    get signedIn() {
      return cookie !== null;
    },
  };
}

async function bundleKernels() {
  const esbuild = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'swapmesh-agent-'));
  const outfile = join(dir, 'kernels.mjs');
  const file = (p) => JSON.stringify(join(ROOT, p));
  await esbuild.build({
    stdin: {
      contents: [
        `export { findKernel } from ${file('workers/kernels/index.ts')};`,
        `export { loadKernelWasm, runUnitFast, PREFER_WASM_SPEEDUP, WASM_KERNEL_NAMES } from ${file('workers/kernels/wasm.ts')};`,
        `export { measureCompute, measureMemory } from ${file('workers/benchmark.ts')};`,
        `export { deviceProfileSchema, PROFILE_VERSION } from ${file('server/device/profile.ts')};`,
      ].join('\n'),
      resolveDir: ROOT,
      sourcefile: 'agent-kernels.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  return { dir, outfile, esbuild };
}

// ---------------------------------------------------------------------------------------------
// the device profile, measured in Node

const clamp = (x, lo, hi) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(Math.min(hi, Math.max(lo, x)) * 1000) / 1000 : null);

async function measureNetwork(base) {
  const ping = async (query) => {
    const t0 = performance.now();
    const res = await fetch(new URL(`/api/ping?${query}`, base), { cache: 'no-store', signal: AbortSignal.timeout(10_000) });
    const bytes = (await res.arrayBuffer()).byteLength;
    if (!res.ok) throw new Error(`ping ${res.status}`);
    return { ms: performance.now() - t0, bytes };
  };
  try {
    await ping('warm=1');
    const samples = [];
    for (let i = 0; i < 5; i++) samples.push((await ping(`n=${i}${Date.now()}`)).ms);
    samples.sort((a, b) => a - b);
    const rtt = samples[2];
    const download = await ping(`bytes=${1024 * 1024}&n=${Date.now()}`);
    const transferMs = Math.max(download.ms - rtt, download.ms / 2, 0.1);
    return { rtt, mbps: (download.bytes * 8) / (transferMs * 1000), bytes: download.bytes };
  } catch {
    return { rtt: null, mbps: null, bytes: null };
  }
}

async function measureProfile(k, base) {
  const compute = k.measureCompute();
  const memory = k.measureMemory({ bufferMb: 32 });
  const net = await measureNetwork(base);
  let freeMb = null;
  try {
    const s = statfsSync(tmpdir());
    freeMb = (s.bavail * s.bsize) / 2 ** 20;
  } catch {
    // statfs is not everywhere
  }
  const os = { linux: 'linux', darwin: 'macos', win32: 'windows', android: 'android' }[platform()] ?? 'other';
  return k.deviceProfileSchema.parse({
    version: k.PROFILE_VERSION,
    measuredAt: new Date().toISOString(),
    compute: { cores: Math.min(1024, availableParallelism()), mips: clamp(compute.mips, 0, 1e6), mflops: clamp(compute.mflops, 0, 1e6), durationMs: clamp(compute.durationMs, 0, 60_000) },
    memory: { deviceMemoryGb: clamp(totalmem() / 2 ** 30, 0, 4096), readNs: clamp(memory.readNs, 0, 1e6), writeNs: clamp(memory.writeNs, 0, 1e6), testedMb: clamp(memory.testedMb, 0, 65_536) },
    storage: { quotaMb: clamp(freeMb, 0, 1e9), usageMb: null, persisted: true, readMs: null, writeMs: null, testedBytes: null, method: null },
    peripherals: { screenWidth: null, screenHeight: null, pixelRatio: null, colorDepth: null, refreshHz: null, cameras: null, microphones: null, speakers: null, maxTouchPoints: 0 },
    network: {
      effectiveType: null,
      downlinkMbps: null,
      rttMs: null,
      type: null,
      saveData: null,
      measuredRttMs: clamp(net.rtt, 0, 60_000),
      measuredThroughputMbps: clamp(net.mbps, 0, 100_000),
      measuredBytes: net.bytes === null ? null : Math.min(net.bytes, 4 * 1024 * 1024),
    },
    platform: { os, browser: 'other', browserVersion: null, mobile: false, battery: null },
  });
}

// ---------------------------------------------------------------------------------------------
// --cheat: a wrong output that still passes the kernel's output schema

function* mutations(value, replace) {
  if (typeof value === 'number') {
    if (value > 0) yield replace(value - 1);
    yield replace(value + 1);
  } else if (typeof value === 'string') {
    for (let i = 0; i < Math.min(value.length, 8); i++) {
      const c = value[i];
      const swap = /[0-8]/.test(c) ? String(Number(c) + 1) : c === '9' ? '8' : /[A-Ya-y]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 1) : /[Zz]/.test(c) ? String.fromCharCode(c.charCodeAt(0) - 1) : 'x';
      if (swap !== c) yield replace(value.slice(0, i) + swap + value.slice(i + 1));
    }
  } else if (typeof value === 'boolean') {
    yield replace(!value);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* mutations(value[i], (v) => replace(value.map((x, j) => (j === i ? v : x))));
    yield replace([...value, 0]);
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) yield* mutations(value[key], (v) => replace({ ...value, [key]: v }));
  } else if (value === null) {
    yield replace(0);
  }
}

function corrupt(kernel, output) {
  const honest = kernel.canonical(output);
  for (const candidate of mutations(output, (v) => v)) {
    const parsed = kernel.outputSchema.safeParse(candidate);
    if (parsed.success && kernel.canonical(parsed.data) !== honest) return parsed.data;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// threads

class Thread {
  constructor(bundle) {
    this.bundle = bundle;
    this.worker = null;
    this.pending = null;
    this.nextId = 1;
  }

  spawn() {
    const worker = new Worker(new URL(import.meta.url), { workerData: { bundle: this.bundle }, resourceLimits: { maxOldGenerationSizeMb: THREAD_MEMORY_MB } });
    worker.on('message', (msg) => {
      const p = this.pending;
      if (!p || msg?.type !== 'result' || msg.id !== p.id) return;
      this.settle(msg.ok ? { value: msg } : { error: new Error(msg.error) });
    });
    worker.on('error', (err) => this.settle({ error: new Error(`thread crashed: ${describe(err)}`) }, true));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = null;
      this.settle({ error: new Error('thread exited') }, false);
    });
    this.worker = worker;
  }

  /** Runs one unit; rejects past `timeoutMs` (the thread is terminated and made anew next time). */
  run(message, timeoutMs) {
    if (!this.worker) this.spawn();
    return new Promise((resolvePromise, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => this.settle({ error: new Error(`ran past its time limit (${Math.round(timeoutMs / 1000)} s)`) }, true), timeoutMs);
      this.pending = { id, resolve: resolvePromise, reject, timer };
      this.worker.postMessage({ ...message, type: 'run', id });
    });
  }

  settle(outcome, kill = false) {
    const p = this.pending;
    if (kill) this.terminate();
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    if ('value' in outcome) p.resolve(outcome.value);
    else p.reject(outcome.error);
  }

  terminate() {
    const worker = this.worker;
    this.worker = null;
    if (worker) void worker.terminate();
  }

  get busy() {
    return this.pending !== null;
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = options();
  const startedAt = Date.now();
  const log = (...args) => {
    if (!opts.quiet) console.log(`[agent ${new Date().toISOString().slice(11, 19)}]`, ...args);
  };
  const warn = (...args) => console.error(`[agent ${new Date().toISOString().slice(11, 19)}]`, ...args);
  const api = makeClient(opts.base);
  const summary = { computed: 0, submitted: 0, validated: 0, failed: 0, skipped: 0, abandoned: 0, cheated: 0, deviceId: null, communities: [] };
  let tmp = null;
  let threads = [];
  let stopping = false;
  let donating = [];
  let cleanedUp = false;

  const cleanup = async () => {
    if (cleanedUp) return;
    cleanedUp = true;
    for (const t of threads) t.terminate();
    if (summary.deviceId && api.signedIn) {
      try {
        const { returned } = await api.mutate('compute.returnLeases', { deviceId: summary.deviceId });
        if (returned) log(`gave back ${returned} unfinished unit${returned === 1 ? '' : 's'}`);
      } catch (err) {
        warn(`could not give the leases back: ${err.message}`);
      }
      for (const c of donating) {
        try {
          await api.mutate('compute.donate', { communityId: c.id, deviceId: summary.deviceId, on: false });
        } catch (err) {
          warn(`could not switch donating off in ${c.slug}: ${err.message}`);
        }
      }
      if (donating.length) log('donating switched off');
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
  const finish = async (code) => {
    await cleanup();
    console.log(`AGENT_SUMMARY ${JSON.stringify({ ...summary, seconds: Math.round((Date.now() - startedAt) / 100) / 10 })}`);
    process.exit(code);
  };
  let wake = () => undefined;
  const stop = (why) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    wake();
  };
  let signals = 0;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      signals++;
      if (signals > 1) process.exit(130);
      stop(signal);
    });
  }

  try {
    // 1. kernels
    const bundled = await bundleKernels();
    tmp = bundled.dir;
    const k = await import(pathToFileURL(bundled.outfile).href);

    // 2. sign in
    if (opts.signUp) {
      try {
        await api.mutate('auth.signUp', { handle: opts.handle, password: opts.password });
        log(`signed up as ${opts.handle}`);
      } catch (err) {
        if (err.code !== 'CONFLICT') throw err;
      }
    }
    if (!api.signedIn) await api.mutate('auth.signIn', { handle: opts.handle, password: opts.password });
    log(`signed in to ${opts.base} as ${opts.handle}`);

    // 3. communities
    let communities = [];
    if (opts.communities.length) {
      for (const slug of opts.communities) {
        const c = await api.query('community.get', { slug });
        if (!c.role) {
          await api.mutate('community.join', { slug, ...(opts.invite ? { inviteCode: opts.invite } : {}) });
          log(`joined ${slug}`);
        }
        communities.push({ id: c.id, slug: c.slug });
      }
    } else {
      const mine = await api.query('community.list', { mine: true, limit: 100 });
      communities = mine.items.map((c) => ({ id: c.id, slug: c.slug }));
      if (!communities.length) throw new Error('this member belongs to no community: pass --community SLUG');
    }
    summary.communities = communities.map((c) => c.slug);

    // 4. the device
    log('measuring this machine…');
    const profile = await measureProfile(k, opts.base);
    const registered = await api.mutate('device.register', { name: opts.name, profile, ...(opts.deviceId ? { deviceId: opts.deviceId } : {}) });
    summary.deviceId = registered.device.id;
    log(`device ${registered.device.id} (${Math.round(profile.compute.mips)} MIPS, ${Math.round(profile.compute.mflops)} MFLOPS per thread)`);

    // 5. donate
    for (const c of communities) {
      await api.mutate('compute.donate', { communityId: c.id, deviceId: summary.deviceId, on: true, floorPrice: opts.floorPrice });
      donating.push(c);
    }
    log(`donating in ${summary.communities.join(', ')} at ${opts.floorPrice / MICRO_PER_CREDIT} credits per unit or more, ${opts.threads} thread${opts.threads === 1 ? '' : 's'}${opts.cheat ? ' — CHEATING' : ''}`);

    // 6. the loop
    threads = Array.from({ length: opts.threads }, () => new Thread(bundled.outfile));
    const kernelsWanted = ['mandelbrot', 'montecarlo-pi', 'sha256-nonce', 'prime-sieve', ...(opts.allowCustom ? ['custom'] : [])];
    const scripts = new Map(); // jobId -> Promise<script>
    const scriptFor = (lease) => {
      if (!scripts.has(lease.jobId)) {
        scripts.set(lease.jobId, (async () => {
          const code = await api.text(`/api/compute/sandbox/${encodeURIComponent(lease.jobId)}?part=code`);
          if (createHash('sha256').update(code).digest('hex') !== lease.input.codeSha256) throw new Error("the job's code does not match the unit's hash");
          const { code: script } = await bundled.esbuild.transform(code, { format: 'iife', globalName: '__member', target: 'es2022', loader: 'js' });
          return script;
        })());
        scripts.get(lease.jobId).catch(() => scripts.delete(lease.jobId));
      }
      return scripts.get(lease.jobId);
    };

    let emptyPolls = 0;
    let nextPollAt = 0;
    let lastWorkAt = Date.now();
    const inflight = new Set();
    const waitFor = (ms) =>
      new Promise((r) => {
        const timer = ms === undefined ? null : setTimeout(r, Math.max(0, ms));
        wake = () => {
          if (timer) clearTimeout(timer);
          r();
        };
      });
    const reachedMax = () => opts.maxUnits !== null && summary.computed + summary.failed >= opts.maxUnits;

    const runLease = async (lease, thread) => {
      const label = `unit ${lease.unitIndex} · ${lease.kernel} · job ${lease.jobId.slice(-8)}`;
      try {
        const timeoutMs = Math.max(1_000, Date.parse(lease.expiresAt) - Date.now() - LEASE_MARGIN_MS);
        // a custom unit is { codeSha256, index, input }: the member's run() gets the input alone
        const message = lease.kernel === 'custom' ? { kernel: 'custom', input: lease.input.input, script: await scriptFor(lease) } : { kernel: lease.kernel, input: lease.input };
        const result = await thread.run(message, timeoutMs);
        summary.computed++;
        let output = result.output;
        if (opts.cheat) {
          const kernel = k.findKernel(lease.kernel);
          const bad = kernel ? corrupt(kernel, output) : null;
          if (bad === null) warn(`${label}: found no well-formed wrong output, sending the right one`);
          else {
            output = bad;
            summary.cheated++;
          }
        }
        if (stopping && !reachedMax()) {
          summary.abandoned++;
          return;
        }
        const verdict = await api.mutate('compute.submitResult', { leaseId: lease.leaseId, output });
        summary.submitted++;
        if (verdict.status === 'VALID') summary.validated++;
        log(`${label} · ${Math.round(result.ms)} ms (${result.engine}) → ${verdict.status.toLowerCase()}, unit ${verdict.unitStatus.toLowerCase()}`);
      } catch (err) {
        if (stopping && !reachedMax()) {
          summary.abandoned++; // stopped by a signal or --max-time: the lease is given back
          return;
        }
        summary.failed++;
        warn(`${label} failed: ${err.message}`);
      } finally {
        if (reachedMax()) stop(`${opts.maxUnits} units done`);
      }
    };

    if (opts.maxTimeMs) setTimeout(() => stop(`${opts.maxTimeMs / 1000} s elapsed`), opts.maxTimeMs).unref();

    // Units this agent will not run (members' code without --allow-custom) are held while it looks for
    // other work: the coordinator does not lease a device the same unit twice, so the next lease reaches
    // past them. Once there is nothing else (or too many are held), they are given back together;
    // returnLeases gives back all of the device's leases, so only when nothing else is in flight.
    let held = []; // expiry times of held leases
    const warnedJobs = new Set();
    const giveBackHeld = async () => {
      held = [];
      await api.mutate('compute.returnLeases', { deviceId: summary.deviceId }).catch((err) => warn(`could not give units back: ${err.message}`));
    };
    while (!stopping) {
      held = held.filter((t) => t > Date.now());
      const free = threads.filter((t) => !t.busy && ![...inflight].some((f) => f.thread === t));
      const allowed = opts.maxUnits === null ? free.length : Math.min(free.length, opts.maxUnits - summary.computed - summary.failed - inflight.size);
      const now = Date.now();
      if (allowed <= 0 || now < nextPollAt) {
        if (opts.idleExitMs && inflight.size === 0 && now - lastWorkAt >= opts.idleExitMs) {
          stop(`no work for ${opts.idleExitMs / 1000} s`);
          break;
        }
        await waitFor(allowed <= 0 ? undefined : Math.min(nextPollAt - now, opts.idleExitMs ? lastWorkAt + opts.idleExitMs - now : Infinity));
        continue;
      }
      let leases;
      try {
        leases = await api.mutate('compute.lease', { deviceId: summary.deviceId, max: Math.min(allowed, 16), kernels: kernelsWanted });
      } catch (err) {
        if (err.code === 'UNAUTHORIZED' || err.code === 'PRECONDITION_FAILED' || err.code === 'NOT_FOUND') throw err;
        warn(`lease failed: ${err.message}`);
        leases = [];
      }
      if (stopping) break;
      const runnable = [];
      for (const lease of leases) {
        if (lease.kernel === 'custom' && !opts.allowCustom) {
          summary.skipped++;
          held.push(Date.parse(lease.expiresAt));
          if (!warnedJobs.has(lease.jobId)) {
            warnedJobs.add(lease.jobId);
            warn(`job ${lease.jobId} runs a member's own code: its units are skipped (pass --allow-custom to run them)`);
          }
        } else runnable.push(lease);
      }
      if (runnable.length === 0) {
        if (leases.length > 0 && held.length < MAX_HELD) continue; // all skipped: look past them at once
        if (held.length > 0 && inflight.size === 0) await giveBackHeld();
        emptyPolls++;
        nextPollAt = Date.now() + Math.min(10_000, 2_000 * 2 ** Math.min(emptyPolls - 1, 10));
        continue;
      }
      emptyPolls = 0;
      nextPollAt = 0;
      lastWorkAt = Date.now();
      for (const lease of runnable) {
        const thread = threads.find((t) => !t.busy && ![...inflight].some((f) => f.thread === t));
        const entry = { thread, promise: null };
        entry.promise = runLease(lease, thread).finally(() => {
          inflight.delete(entry);
          lastWorkAt = Date.now();
          wake();
        });
        inflight.add(entry);
      }
    }
    // --max-units: let the units in flight finish and submit; a signal abandons them
    if (opts.maxUnits !== null && reachedMax()) await Promise.all([...inflight].map((f) => f.promise));
    await finish(0);
  } catch (err) {
    warn(`fatal: ${err.message}`);
    await finish(1);
  }
}

// (at the end, so that every module-level constant above is initialised first)
if (isMainThread) await main();
else await threadMain(workerData);
