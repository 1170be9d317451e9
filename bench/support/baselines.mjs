// Baselines for the HTTP benches, measured in the same run as the figures they frame: bare `node:http`
// answering {"ok":true} in its own process (what the hardware and Node allow), and the cheapest signed-in
// tRPC procedure (`auth.me`) of the app under test. Used by bench/api-http.mjs; the other HTTP benches can
// import them the same way.
import { spawn } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { freePort, killGroup, sleep } from './app-process.mjs';

const BARE = `
const http = require('node:http');
const body = JSON.stringify({ ok: true });
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
`;

/** Bare node:http in its own process group on a free loopback port; `started` tracks it for cleanup. */
export async function startBareNode(started) {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', BARE], { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PORT: String(port) } });
  started?.add(child);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`bare node:http exited (${code}) before it listened`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: async () => {
      killGroup(child, 'SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
      killGroup(child, 'SIGKILL');
      started?.delete(child);
    },
  };
}

/**
 * Closed-loop load with autocannon: requests/s, latency p50/p99 (ms), failures (non-2xx, errors,
 * timeouts), and the 1-minute load average before it started (other work on the machine).
 */
export async function measure(url, { connections = 64, duration = 10, headers = {} } = {}) {
  const load = loadavg()[0];
  const result = await autocannon({ url, connections, duration, headers });
  return {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
    load,
  };
}

/** GET auth.me as a tRPC client sends it (plain JSON, no transformer). */
export const AUTH_ME_PATH = `/api/trpc/auth.me?input=${encodeURIComponent('{}')}`;

/**
 * The disk's ceiling for answering after a durable write: in directory `dir` (where the database lives), a bare
 * group-commit loop offered `rate` records a second open-loop for `seconds`. Each turn takes every record due by
 * then, writes them into a preallocated 8 MiB file (circularly, overwriting in place as SQLite's log does after
 * a checkpoint) and fdatasyncs it; a record's latency runs from when it was due to the end of the sync that
 * covered it. Nothing else runs meanwhile. What its p99 is, no durable-ack server on this disk can beat.
 */
export async function durableLoop(dir, { rate, seconds }) {
  const file = `${dir}/durable-baseline-${process.pid}.bin`;
  const SIZE = 8 << 20;
  const RECORD = 256;
  const handle = await open(file, 'w+');
  try {
    await handle.write(Buffer.alloc(SIZE), 0, SIZE, 0);
    await handle.sync();
    const latencies = [];
    const syncs = [];
    const total = Math.round(rate * seconds);
    const start = performance.now();
    const dueAt = (i) => start + (i * 1000) / rate;
    let offset = 0;
    for (let i = 0; i < total; ) {
      const now = performance.now();
      const due = [];
      for (; i < total && dueAt(i) <= now; i++) due.push(dueAt(i));
      if (due.length === 0) {
        await sleep(Math.max(0, dueAt(i) - now));
        continue;
      }
      const bytes = Math.min(due.length * RECORD, SIZE);
      if (offset + bytes > SIZE) offset = 0;
      await handle.write(Buffer.alloc(bytes, 1), 0, bytes, offset);
      offset += bytes;
      const synced = performance.now();
      await handle.datasync();
      const done = performance.now();
      syncs.push(done - synced);
      for (const d of due) latencies.push(done - d);
    }
    const at = (list, q) => {
      const sorted = [...list].sort((a, b) => a - b);
      return Math.round(10 * sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]) / 10;
    };
    return { rate, p50: at(latencies, 0.5), p99: at(latencies, 0.99), max: at(latencies, 1), syncs: syncs.length, syncP99: at(syncs, 0.99), syncMax: at(syncs, 1) };
  } finally {
    await handle.close();
    await rm(file, { force: true });
  }
}
