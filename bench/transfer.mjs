#!/usr/bin/env node
// Peer-to-peer transfer throughput over loopback in Chromium: the app's protocol (framed chunks,
// per-chunk SHA-256 against the manifest, OPFS writes through the storage worker, acks, durable
// watermark, whole-file SHA-256 at the end) side by side, in the same run and on the same
// connection, with a bare simple-peer loop that pushes the same bytes (read from the same file,
// same bufferedAmount cap) into a receiver that only counts them. Then the receiving page's peak
// memory while it takes a 500 MB file with the app's protocol.
//
// Two Chromium browsers (sender, receiver), each with its own on-disk profile (so OPFS is on
// disk, as on a phone). The page code is the app's own modules, bundled here with esbuild.
//
//   node bench/transfer.mjs                       # 50 MB x 3 per variant, chunk sizes, then 500 MB
//   BENCH_MB=20 BENCH_BIG_MB=100 BENCH_REPS=1 node bench/transfer.mjs
//   unshare -n sh -c 'ip link set lo up && node bench/transfer.mjs'   # guarantee loopback only
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MB = 1_000_000;
const SIZE = Number(process.env.BENCH_MB ?? 50) * MB;
const BIG = Number(process.env.BENCH_BIG_MB ?? 500) * MB;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CHUNK_SIZES = (process.env.BENCH_CHUNKS ?? '16,64,256').split(',').map((k) => Number(k) * 1024);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// ---- the page code --------------------------------------------------------------------------

const harness = `
import { PeerLink } from './app/_lib/transfer/peer.ts';
import { ReceiveSession, SendSession } from './app/_lib/transfer/session.ts';
import { OpfsIncoming, BlobChunkSource, importOffer, offerSource } from './app/_lib/transfer/storage.ts';
import { parseChunkFrame, parseControl, HIGH_WATER_BYTES } from './app/_lib/transfer/protocol.ts';

let link = null;
let wire = null;
let mode = 'app';
const sessions = new Map();
let bare = null;

async function sourceFile() {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('bench', { create: true });
  return dir.getFileHandle('source.bin', { create: true });
}

window.bench = {
  /** Writes size deterministic bytes into OPFS bench/source.bin, 4 MiB at a time. */
  async makeFile(size, seed) {
    const handle = await sourceFile();
    const writable = await handle.createWritable();
    const block = new Uint32Array(1 << 20);
    let x = seed >>> 0 || 1;
    for (let at = 0; at < size; at += block.byteLength) {
      for (let i = 0; i < block.length; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; block[i] = x >>> 0; }
      const n = Math.min(block.byteLength, size - at);
      await writable.write(new Uint8Array(block.buffer, 0, n).slice());
    }
    await writable.close();
    return (await handle.getFile()).size;
  },
  /** The app's import: copy into offers/ and build the manifest in one pass (storage worker). */
  async importIt(chunkSize) {
    const file = await (await sourceFile()).getFile();
    const t0 = performance.now();
    const manifest = await importOffer(file, { chunkSize });
    return { manifest, ms: performance.now() - t0 };
  },
  connect(selfId, remoteId) {
    return new Promise((resolve, reject) => {
      link = new PeerLink({
        selfDeviceId: selfId,
        remoteDeviceId: remoteId,
        sendSignal: async (to, message) => { await window.signalOut(JSON.stringify(message)); },
        events: {
          onOpen: (_l, w) => { wire = w; resolve(true); },
          onClose: (_l, error) => { wire = null; if (error) reject(new Error(error.message)); },
          onData: (_l, data) => onData(data),
        },
      });
      window.signalIn = (json) => link.handleSignal(JSON.parse(json));
      if (selfId < remoteId) link.connect();
    });
  },
  // -- the app's protocol
  /** Creates the sending session (before the receiver asks); \`appSent\` resolves when it completes. */
  async serveApp(transferId, manifest, framePayload) {
    const source = await offerSource(manifest.sha256, manifest.chunkSize, manifest.sizeBytes);
    let settle;
    const done = new Promise((resolve, reject) => (settle = { resolve, reject }));
    const session = new SendSession({ transferId, sizeBytes: manifest.sizeBytes, chunkSize: manifest.chunkSize, source, framePayload,
      events: { onComplete: () => settle.resolve(session.bytesSent), onFailure: (e) => settle.reject(new Error(e.code + ' ' + e.message)) } });
    sessions.set(transferId, session);
    session.attach(wire);
    mode = 'app';
    window.bench.appSent = done;
    return true;
  },
  receiveApp(transferId, manifest) {
    return new Promise(async (resolve, reject) => {
      mode = 'app';
      const meta = { transferId, itemId: 'bench', title: 'bench', mediaType: 'application/octet-stream', sizeBytes: manifest.sizeBytes, sha256: manifest.sha256, chunkSize: manifest.chunkSize };
      const { sink } = await OpfsIncoming.open(meta, manifest);
      const t0 = performance.now();
      let lastChunkAt = 0;
      const ticker = setInterval(() => session.tick(), 1000);
      const session = new ReceiveSession({ transferId, manifest, sink, events: {
        onProgress: (n) => { if (n === session.chunkCount) lastChunkAt = performance.now(); },
        onComplete: async () => {
          const done = performance.now();
          clearInterval(ticker);
          await sink.markComplete();
          resolve({ ms: done - t0, dataMs: (lastChunkAt || done) - t0 });
        },
        onFailure: (e) => { clearInterval(ticker); reject(new Error(e.code + ' ' + e.message)); },
      } });
      sessions.set(transferId, session);
      session.attach(wire);
    });
  },
  async removeIncoming(transferId) {
    const dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('swapmesh')).getDirectoryHandle('incoming');
    for (const name of [transferId + '.part', transferId + '.json']) await dir.removeEntry(name).catch(() => {});
  },
  // -- the bare loop: same file, same bufferedAmount cap, no header, no hash, no disk on arrival
  async bareSend(chunkSize) {
    const file = await (await sourceFile()).getFile();
    const source = new BlobChunkSource(file, chunkSize);
    const count = Math.ceil(file.size / chunkSize);
    for (let i = 0; i < count; i++) {
      const bytes = await source.readChunk(i);
      if (wire.bufferedAmount > HIGH_WATER_BYTES) await wire.drained();
      wire.send(bytes.slice());
    }
    return file.size;
  },
  /** Switches the receiver to counting raw bytes; \`bareDone\` resolves when \`total\` arrived. */
  bareArm(total) {
    mode = 'bare';
    const t0 = performance.now();
    window.bench.bareDone = new Promise((resolve) => {
      bare = { total, got: 0, done: (bytes) => resolve({ ms: performance.now() - t0, bytes }) };
    });
    return true;
  },
};

function onData(data) {
  if (typeof data === 'string') {
    if (data === 'bare-go') return;
    const parsed = parseControl(data);
    if (!parsed.ok) return;
    const m = parsed.value;
    const s = m.transferId ? sessions.get(m.transferId) : null;
    s?.handleControl(m);
    return;
  }
  if (mode === 'bare' && bare) {
    bare.got += data.byteLength;
    if (bare.got >= bare.total) { const b = bare; bare = null; b.done(b.got); }
    return;
  }
  const frame = parseChunkFrame(data);
  if (!frame.ok) return;
  for (const s of sessions.values()) if (s.key === frame.value.key && s.handleFrame) { s.handleFrame(frame.value); return; }
}
`;

async function bundle() {
  const common = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    absWorkingDir: root,
    define: { global: 'globalThis', 'process.env.NODE_DEBUG': 'false', __dirname: '"/"' },
    alias: {
      events: path.join(root, 'node_modules/next/dist/compiled/events/events.js'),
      process: path.join(root, 'node_modules/next/dist/compiled/process/browser.js'),
    },
    inject: [],
    logLevel: 'error',
  };
  const page = await build({
    ...common,
    stdin: { contents: `import process from 'process'; import { Buffer } from 'buffer'; globalThis.process = process; globalThis.Buffer = Buffer;\n${harness}`, resolveDir: root, loader: 'ts' },
  });
  const worker = await build({ ...common, entryPoints: [path.join(root, 'app/_lib/transfer/storage.worker.ts')] });
  return { page: page.outputFiles[0].text, worker: worker.outputFiles[0].text };
}

function serve(files) {
  const html = '<!doctype html><meta charset="utf-8"><title>transfer bench</title><script type="module" src="/harness.js"></script>';
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const body = url.pathname === '/' ? html : url.pathname === '/harness.js' ? files.page : url.pathname.endsWith('storage.worker.ts') ? files.worker : null;
    if (body === null) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': url.pathname === '/' ? 'text/html' : 'text/javascript', 'cache-control': 'no-store' });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---- memory of the receiving page's renderer (from /proc) ----------------------------------

async function rendererPids(userDataDir) {
  const pids = (await readdir('/proc')).filter((p) => /^\d+$/.test(p));
  const info = new Map();
  for (const pid of pids) {
    try {
      // zygote children rewrite their argv into one space-separated string
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
      const ppid = Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')[1]);
      info.set(Number(pid), { cmd, ppid });
    } catch {}
  }
  const ownedBy = (pid) => {
    for (let p = pid, hops = 0; p && hops < 6; p = info.get(p)?.ppid, hops++) {
      if (info.get(p)?.cmd.includes(`--user-data-dir=${userDataDir}`)) return true;
    }
    return false;
  };
  return [...info].filter(([pid, i]) => i.cmd.includes('--type=renderer') && ownedBy(pid)).map(([pid]) => pid);
}

async function rssOf(pid) {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function sampler(pids, cdp) {
  let peakRss = 0;
  let peakHeap = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const rss = Math.max(0, ...(await Promise.all(pids.map(rssOf))));
      peakRss = Math.max(peakRss, rss);
      const { metrics } = await cdp.send('Performance.getMetrics').catch(() => ({ metrics: [] }));
      peakHeap = Math.max(peakHeap, metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0);
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peakRss, peakHeap };
    },
  };
}

// ---- run --------------------------------------------------------------------------------------

const args = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
];

async function launch(name, origin) {
  const dir = await mkdtemp(path.join(tmpdir(), `xfer-bench-${name}-`));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args, headless: true });
  await context.grantPermissions(['microphone', 'camera'], { origin });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error(`[${name}] ${e.message}`));
  page.on('crash', () => console.error(`[${name}] the page crashed`));
  context.on('close', () => console.error(`[${name}] browser closed`));
  await page.goto(origin);
  await page.waitForFunction(() => Boolean(window.bench));
  return { dir, context, page };
}

const mbps = (bytes, ms) => bytes / MB / (ms / 1000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const files = await bundle();
  const server = await serve(files);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const sender = await launch('sender', origin);
  const receiver = await launch('receiver', origin);
  const rows = [];
  try {
    for (const [from, to] of [[sender, receiver], [receiver, sender]]) {
      await from.page.exposeFunction('signalOut', (json) => to.page.evaluate((m) => window.signalIn(m), json));
    }
    await Promise.all([sender.page.evaluate(() => window.bench.connect('a-sender', 'b-receiver')), receiver.page.evaluate(() => window.bench.connect('b-receiver', 'a-sender'))]);

    let transfer = 0;
    const appRun = async (manifest, framePayload) => {
      const id = `t${++transfer}`;
      await sender.page.evaluate(([i, m, f]) => window.bench.serveApp(i, m, f), [id, manifest, framePayload]);
      const [sent, got] = await Promise.all([
        sender.page.evaluate(() => window.bench.appSent),
        receiver.page.evaluate(([i, m]) => window.bench.receiveApp(i, m), [id, manifest]),
      ]);
      await receiver.page.evaluate((i) => window.bench.removeIncoming(i), id);
      return { ...got, sent };
    };
    const bareRun = async (chunkSize, total) => {
      await receiver.page.evaluate((t) => window.bench.bareArm(t), total);
      await sender.page.evaluate((c) => window.bench.bareSend(c), chunkSize);
      return receiver.page.evaluate(() => window.bench.bareDone);
    };

    console.error(`generating ${SIZE / MB} MB…`);
    await sender.page.evaluate(([s, seed]) => window.bench.makeFile(s, seed), [SIZE, 42]);
    for (const chunkSize of CHUNK_SIZES) {
      const { manifest, ms: importMs } = await sender.page.evaluate((c) => window.bench.importIt(c), chunkSize);
      const app = [];
      const bare = [];
      for (let rep = 0; rep < REPS; rep++) {
        app.push(await appRun(manifest));
        bare.push(await bareRun(Math.min(chunkSize, 64 * 1024), SIZE));
        console.error(`  ${chunkSize / 1024} KiB rep ${rep + 1}: app ${mbps(SIZE, app.at(-1).ms).toFixed(1)} MB/s, bare ${mbps(SIZE, bare.at(-1).ms).toFixed(1)} MB/s`);
      }
      rows.push({
        what: `${SIZE / MB} MB, ${chunkSize / 1024} KiB chunks`,
        app: median(app.map((r) => mbps(SIZE, r.ms))),
        appData: median(app.map((r) => mbps(SIZE, r.dataMs))),
        bare: median(bare.map((r) => mbps(SIZE, r.ms))),
        importMBps: mbps(SIZE, importMs),
      });
    }

    // the 500 MB file, with the chosen chunk size; memory of the receiving renderer
    console.error(`generating ${BIG / MB} MB…`);
    await sender.page.evaluate(([s, seed]) => window.bench.makeFile(s, seed), [BIG, 7]);
    const { manifest: big, ms: bigImportMs } = await sender.page.evaluate(() => window.bench.importIt(64 * 1024));
    const pids = await rendererPids(receiver.dir);
    const cdp = await receiver.context.newCDPSession(receiver.page);
    await cdp.send('Performance.enable');
    const heapNow = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
    const baseline = { rss: Math.max(0, ...(await Promise.all(pids.map(rssOf)))), heap: await heapNow() };
    const s1 = sampler(pids, cdp);
    const bigApp = await appRun(big);
    const appMem = await s1.stop();
    const s2 = sampler(pids, cdp);
    const bigBare = await bareRun(64 * 1024, BIG);
    const bareMem = await s2.stop();
    rows.push({ what: `${BIG / MB} MB, 64 KiB chunks`, app: mbps(BIG, bigApp.ms), appData: mbps(BIG, bigApp.dataMs), bare: mbps(BIG, bigBare.ms), importMBps: mbps(BIG, bigImportMs) });

    const pad = (s, n) => String(s).padEnd(n);
    const num = (x) => x.toFixed(1).padStart(8);
    const agent = await receiver.page.evaluate(() => navigator.userAgent);
    console.log(`\nThroughput over loopback, ${/(Headless)?Chrome\/[\d.]+/.exec(agent)?.[0] ?? 'Chromium'} (median of ${REPS} for ${SIZE / MB} MB; MB = 10^6 bytes)`);
    console.log(`${pad('file', 26)}${'app MB/s'.padStart(10)}${'app data'.padStart(10)}${'bare MB/s'.padStart(11)}${'app/bare'.padStart(10)}${'import'.padStart(9)}`);
    for (const r of rows) console.log(`${pad(r.what, 26)}${num(r.app)}  ${num(r.appData)}  ${num(r.bare)}   ${(r.app / r.bare).toFixed(2).padStart(6)}  ${num(r.importMBps)}`);
    console.log('  app = want → whole-file SHA-256 verified; app data = want → last chunk stored; bare = raw sends, receiver only counts;');
    console.log('  import = copy into OPFS + manifest (per-chunk and whole-file SHA-256) on the sender');
    console.log(`\nReceiving page during the ${BIG / MB} MB transfer (renderer ${pids.join(',')}; baseline RSS ${(baseline.rss / MB).toFixed(0)} MB, JS heap ${((baseline.heap ?? 0) / MB).toFixed(0)} MB)`);
    console.log(`${pad('', 26)}${'peak RSS'.padStart(10)}${'peak JS heap'.padStart(14)}`);
    console.log(`${pad('app protocol', 26)}${((appMem.peakRss / MB).toFixed(0) + ' MB').padStart(10)}${((appMem.peakHeap / MB).toFixed(0) + ' MB').padStart(14)}`);
    console.log(`${pad('bare loop', 26)}${((bareMem.peakRss / MB).toFixed(0) + ' MB').padStart(10)}${((bareMem.peakHeap / MB).toFixed(0) + ' MB').padStart(14)}`);
    console.log(`  sender bytes on the wire for the ${BIG / MB} MB app run: ${(bigApp.sent / MB).toFixed(1)} MB`);
  } finally {
    await sender.context.close().catch(() => {});
    await receiver.context.close().catch(() => {});
    server.close();
    await rm(sender.dir, { recursive: true, force: true });
    await rm(receiver.dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
