#!/usr/bin/env node
// Peer-to-peer transfer throughput between two Chromium browsers: the app's protocol (framed
// chunks, three 64 KiB chunks per 192 KiB message when both ends take it, per-chunk SHA-256 against
// the manifest in the storage worker, OPFS writes, acks, durable watermark, whole-file SHA-256 at the
// end) against, in the same run:
//   raw         a bare RTCDataChannel on its own RTCPeerConnection (no simple-peer): 64 KiB messages
//               (BENCH_RAW_KIB) from memory, the same window (4 MiB in flight, refilled on
//               `bufferedamountlow` at 1 MiB); the receiver only counts bytes. The ceiling.
// Every other rep runs the variants in the reverse order (a machine whose load drifts favours none).
//   sp send     the app's simple-peer connection, `peer.send` of the same file's chunks under the
//               same window; the receiver only counts bytes.
//   sp write    the same connection through simple-peer's stream `write()` (64 KiB in flight, its
//               MAX_BUFFERED_AMOUNT): what a sender gets without its own window.
// The app's frames travel on each connection's bulk channel, owned by the storage worker on both sides.
// Diagnostics, named in BENCH_VARIANTS only: app-page (the app with every frame through the pages, on
// simple-peer's channel, as with a peer without a bulk channel), app-single (the same with one chunk per
// message, as an older peer gets), raw-192 and raw-256 (the raw loop with 192 KiB + 16 and 256 KiB messages).
// on two networks: plain loopback, and loopback with a 5 ms round trip. This kernel has no netem,
// so the delay comes from a UDP relay in this process (a worker thread, one socket per side on
// 127.0.0.1, each datagram forwarded 2.5 ms after it arrived): the bench's signaling rewrites the
// ICE candidate in each SDP to the relay's socket for that side, so every packet between the two
// browsers goes through it. The measured round trip (ICE's STUN checks, getStats) is printed.
// Then a 500 MB file (at 5 ms by default), app and raw, with the receiving renderer's peak memory.
//
// Each browser has its own on-disk profile (OPFS on disk, as on a phone); the page code is the
// app's own modules, bundled here with esbuild.
//
//   node bench/transfer.mjs                              # 50 MB x 3 per variant per network, then 500 MB at 5 ms
//   BENCH_BIG_NETS=loopback,5ms node bench/transfer.mjs  # 500 MB on both networks
//   BENCH_MB=20 BENCH_BIG_MB=0 BENCH_REPS=1 node bench/transfer.mjs   # quick
//   BENCH_NETS=5ms BENCH_DELAY_MS=2.5 BENCH_VARIANTS=app,raw node bench/transfer.mjs
//   BENCH_PROFILE=1 BENCH_NETS=loopback BENCH_BIG_MB=0 node bench/transfer.mjs   # CPU per thread of both browsers
//   BENCH_JS_PROFILE=1 …   # V8 CPU profile of each page and worker around each app run, self time by function
//     (wall-clock samples: a call that wakes another thread, such as postMessage, looks dearer than it is)
//   unshare -n sh -c 'ip link set lo up && node bench/transfer.mjs'  # loopback only
import dgram from 'node:dgram';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

// ---- the delay relay (worker thread) ----------------------------------------------------------

/**
 * Pairs of UDP sockets on 127.0.0.1. Socket `A` stands for browser A in browser B's eyes (B's SDP
 * names it as A's candidate) and socket `B` for B in A's eyes: what A sends to socket B goes out of
 * socket A to B's real port after the delay, and the reverse, so each browser sees its peer at the
 * address it was told. One FIFO (every datagram waits the same time, so order is kept).
 */
function relayWorker({ delayMs }) {
  const pairs = new Map();
  const queue = [];
  let head = 0;
  let timer = null;
  let forwarded = 0;
  let forwardedBytes = 0;
  let lateMsTotal = 0;
  const flush = () => {
    timer = null;
    const now = performance.now();
    // Node's timers tick in whole milliseconds: send what is due within half of one
    while (head < queue.length && queue[head].due <= now + 0.5) {
      const p = queue[head];
      queue[head++] = undefined;
      lateMsTotal += now - p.due;
      p.socket.send(p.msg, p.port, '127.0.0.1');
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    if (head < queue.length) timer = setTimeout(flush, Math.max(1, Math.round(queue[head].due - now)));
  };
  const push = (socket, port, msg) => {
    if (!port) return; // the other side's SDP has not arrived yet: dropped, as a network would
    forwarded++;
    forwardedBytes += msg.length;
    queue.push({ due: performance.now() + delayMs, socket, port, msg });
    if (!timer) timer = setTimeout(flush, Math.max(1, Math.round(delayMs)));
  };
  const bind = () =>
    new Promise((resolve) => {
      const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
      socket.bind(0, '127.0.0.1', () => resolve(socket));
    });
  parentPort.on('message', async (m) => {
    if (m.cmd === 'open') {
      const pair = { a: await bind(), b: await bind(), targetA: 0, targetB: 0 };
      pair.b.on('message', (msg) => push(pair.a, pair.targetB, msg)); // from A, for B
      pair.a.on('message', (msg) => push(pair.b, pair.targetA, msg)); // from B, for A
      pairs.set(m.id, pair);
      parentPort.postMessage({ reply: m.seq, portA: pair.a.address().port, portB: pair.b.address().port });
    } else if (m.cmd === 'target') {
      pairs.get(m.id)[m.side === 'A' ? 'targetA' : 'targetB'] = m.port;
      parentPort.postMessage({ reply: m.seq });
    } else if (m.cmd === 'close') {
      // the kernel's drop counters of the relay's own sockets (last column of /proc/net/udp)
      const ports = new Set([...pairs.values()].flatMap((p) => [p.a.address().port, p.b.address().port]));
      const { readFileSync } = await import('node:fs');
      let relayDrops = 0;
      for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields.length > 5 && ports.has(parseInt(fields[1].split(':')[1], 16))) relayDrops += Number(fields.at(-1));
      }
      for (const pair of pairs.values()) {
        pair.a.close();
        pair.b.close();
      }
      pairs.clear();
      parentPort.postMessage({ reply: m.seq, forwarded, forwardedBytes, relayDrops, meanDelayMs: delayMs + (forwarded ? lateMsTotal / forwarded : 0) });
    }
  });
}

if (!isMainThread) relayWorker(workerData);
else
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });

/** The relay's handle on the main thread. */
function startRelay(delayMs) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { delayMs } });
  let seq = 0;
  const waiting = new Map();
  worker.on('message', (m) => {
    waiting.get(m.reply)?.(m);
    waiting.delete(m.reply);
  });
  const call = (message) =>
    new Promise((resolve) => {
      const s = ++seq;
      waiting.set(s, resolve);
      worker.postMessage({ ...message, seq: s });
    });
  const ports = new Map();
  return {
    /**
     * Rewrites the SDP side `side` sends on connection `id`: its one UDP 127.0.0.1 host candidate
     * becomes the relay's socket for that side (every other candidate is dropped).
     */
    async rewrite(id, side, sdp) {
      if (!ports.has(id)) ports.set(id, call({ cmd: 'open', id }));
      const { portA, portB } = await ports.get(id);
      const port = side === 'A' ? portA : portB;
      let real = 0;
      const lines = sdp.split('\r\n').flatMap((line) => {
        const m = /^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$/.exec(line);
        if (m) {
          if (m[2] !== '1' || m[3].toLowerCase() !== 'udp' || m[5] !== '127.0.0.1' || real) return [];
          real = Number(m[6]);
          return [`a=candidate:${m[1]} 1 udp ${m[4]} 127.0.0.1 ${port} typ ${m[7]}${m[8]}`];
        }
        if (line.startsWith('m=application ')) return [line.replace(/^m=application \d+/, `m=application ${port}`)];
        if (line.startsWith('c=IN IP')) return ['c=IN IP4 127.0.0.1'];
        return [line];
      });
      if (!real) throw new Error(`no UDP 127.0.0.1 candidate in the SDP from ${side} (is --allow-loopback-in-peer-connection set?)`);
      await call({ cmd: 'target', id, side, port: real });
      return lines.join('\r\n');
    },
    async stop() {
      const stats = await call({ cmd: 'close' });
      await worker.terminate();
      return stats;
    },
  };
}

// ---- the page code --------------------------------------------------------------------------

const harness = `
import { PeerLink } from './app/_lib/transfer/peer.ts';
import { openBulk } from './app/_lib/transfer/bulk.ts';
import { ReceiveSession, SendSession } from './app/_lib/transfer/session.ts';
import { OpfsIncoming, BlobChunkSource, importOffer, offerSource, storageWorkerSpent } from './app/_lib/transfer/storage.ts';
import { parseChunkFrame, parseControl } from './app/_lib/transfer/protocol.ts';
import { canSend, DEFAULT_WINDOW } from './app/_lib/transfer/window.ts';

let link = null;
let wire = null;
let mode = 'app';
const sessions = new Map();
let count = null;
let raw = null; // { pc, channel }

async function sourceFile() {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('bench', { create: true });
  return dir.getFileHandle('source.bin', { create: true });
}

const gathered = (pc) => pc.iceGatheringState === 'complete' ? Promise.resolve() : new Promise((resolve) => {
  pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
});

async function roundTrip(pc) {
  if (!pc) return null;
  const stats = await pc.getStats();
  let rtt = null;
  stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && s.currentRoundTripTime !== undefined) rtt = s.currentRoundTripTime * 1000; });
  return rtt;
}

function counter(total) {
  const t0 = performance.now();
  const done = new Promise((resolve) => {
    count = { total, got: 0, done: (bytes) => resolve({ ms: performance.now() - t0, bytes }) };
  });
  return done;
}
function counted(bytes) {
  if (!count) return;
  count.got += bytes;
  if (count.got >= count.total) { const c = count; count = null; c.done(c.got); }
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
  /** The app's link (simple-peer, signaled by the bench); a previous one is closed. */
  connect(selfId, remoteId) {
    link?.close();
    wire = null;
    return new Promise((resolve, reject) => {
      const current = new PeerLink({
        selfDeviceId: selfId,
        remoteDeviceId: remoteId,
        sendSignal: async (to, message) => { await window.signalOut('app', JSON.stringify(message)); },
        openBulk,
        events: {
          onOpen: (_l, w) => { wire = w; resolve(true); },
          onClose: (_l, error) => { if (link === current) wire = null; if (error) reject(new Error(error.message)); },
          onData: (_l, data) => onData(data),
        },
      });
      link = current;
      if (selfId < remoteId) link.connect();
    });
  },
  /** A bare RTCPeerConnection with one data channel; the sender offers. */
  async rawConnect(offerer) {
    raw?.pc.close();
    const pc = new RTCPeerConnection({ iceServers: [] });
    raw = { pc, channel: null };
    const opened = new Promise((resolve) => {
      const use = (channel) => {
        channel.binaryType = 'arraybuffer';
        channel.onmessage = (event) => counted(typeof event.data === 'string' ? event.data.length : event.data.byteLength);
        raw = { pc, channel };
        if (channel.readyState === 'open') resolve(true); else channel.onopen = () => resolve(true);
      };
      if (offerer) use(pc.createDataChannel('raw', { ordered: true }));
      else pc.ondatachannel = (event) => use(event.channel);
    });
    if (offerer) {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      await window.signalOut('raw', JSON.stringify({ type: 'offer', sdp: pc.localDescription.sdp }));
    }
    return opened;
  },
  async rtt() {
    return { app: await roundTrip(link?.peer?._pc), raw: await roundTrip(raw?.pc) };
  },
  // -- the app's protocol
  /** Creates the sending session (before the receiver asks); \`appSent\` resolves when it completes. */
  async serveApp(transferId, manifest, single = false) {
    const source = await offerSource(manifest.sha256, manifest.chunkSize, manifest.sizeBytes);
    let settle;
    const done = new Promise((resolve, reject) => (settle = { resolve, reject }));
    const session = new SendSession({ transferId, sizeBytes: manifest.sizeBytes, chunkSize: manifest.chunkSize, source,
      events: { onComplete: () => settle.resolve(session.bytesSent), onFailure: (e) => settle.reject(new Error(e.code + ' ' + e.message)) } });
    sessions.set(transferId, session);
    // single: one chunk per message (what a peer without run frames gets), for comparison
    session.attach(single ? { ...pageOnly(wire), maxMessageSize: 0 } : wire);
    mode = 'app';
    window.bench.appSent = done;
    return true;
  },
  receiveApp(transferId, manifest, page = false) {
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
          sessions.delete(transferId);
          resolve({ ms: done - t0, dataMs: (lastChunkAt || done) - t0 });
        },
        onFailure: (e) => { clearInterval(ticker); reject(new Error(e.code + ' ' + e.message)); },
      } });
      sessions.set(transferId, session);
      // page: every frame on simple-peer's channel through the page, as with a peer that has no bulk channel
      session.attach(page ? pageOnly(wire) : wire);
    });
  },
  async removeIncoming(transferId) {
    const dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('swapmesh')).getDirectoryHandle('incoming');
    for (const name of [transferId + '.part', transferId + '.json']) await dir.removeEntry(name).catch(() => {});
  },
  /** Receiver: count \`total\` bytes of whatever arrives (on the app's link or the raw channel). */
  arm(total) {
    mode = 'count';
    window.bench.counted = counter(total);
    return true;
  },
  countedSoFar: () => count?.got ?? null,
  takeOnDataMs() { const ms = onDataMs; onDataMs = 0; return ms; },
  takeFrames() { const n = frames; frames = 0; return n; },
  workerSpent: () => storageWorkerSpent(),
  /** simple-peer's send() under the app's window: the file's chunks, no header, no hash. */
  async spSend(chunkSize) {
    const file = await (await sourceFile()).getFile();
    const source = new BlobChunkSource(file, chunkSize);
    const n = Math.ceil(file.size / chunkSize);
    for (let i = 0; i < n; i++) {
      const bytes = (await source.readChunk(i)).slice();
      while (!canSend(wire.bufferedAmount, bytes.byteLength, wire.window)) await wire.drained();
      wire.send(bytes);
    }
    return file.size;
  },
  /** simple-peer's stream write(): it keeps 64 KiB in flight (MAX_BUFFERED_AMOUNT). */
  async spWrite(chunkSize) {
    const file = await (await sourceFile()).getFile();
    const source = new BlobChunkSource(file, chunkSize);
    const peer = link.peer;
    // simple-peer's own refill threshold (the app's window raised it on this channel)
    const threshold = peer._channel.bufferedAmountLowThreshold;
    peer._channel.bufferedAmountLowThreshold = 64 * 1024;
    const n = Math.ceil(file.size / chunkSize);
    try {
      for (let i = 0; i < n; i++) {
        const bytes = (await source.readChunk(i)).slice();
        if (!peer.write(bytes)) await new Promise((resolve) => peer.once('drain', resolve));
      }
      // the stream still holds the last chunks: wait until they reached the channel
      while (peer.writableLength > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      peer._channel.bufferedAmountLowThreshold = threshold;
    }
    return file.size;
  },
  /** The raw channel: 64 KiB messages from memory under a window of \`high\` bytes, refilled at \`low\`. */
  async rawSend(total, high, low, size) {
    const channel = raw.channel;
    channel.bufferedAmountLowThreshold = low;
    const message = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(message.subarray(at, at + 65536));
    let sent = 0;
    while (sent < total) {
      while (sent < total && channel.bufferedAmount + size <= high) {
        const n = Math.min(size, total - sent);
        channel.send(n === size ? message : message.subarray(0, n));
        sent += n;
      }
      if (sent < total) await new Promise((resolve) => { channel.onbufferedamountlow = resolve; });
    }
    return sent;
  },
  window: DEFAULT_WINDOW,
};

/** The app's wire without its bulk channel. */
function pageOnly(w) {
  return { get open() { return w.open; }, send: (d) => w.send(d), get bufferedAmount() { return w.bufferedAmount; }, drained: () => w.drained(), window: w.window, maxMessageSize: w.maxMessageSize };
}

window.signalIn = async (conn, json) => {
  const message = JSON.parse(json);
  if (conn === 'app') return link?.handleSignal(message);
  const pc = raw.pc;
  await pc.setRemoteDescription(message);
  if (message.type === 'offer') {
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await window.signalOut('raw', JSON.stringify({ type: 'answer', sdp: pc.localDescription.sdp }));
  }
};

/** Main-thread milliseconds spent handling arriving messages (the receiving page's share of the work). */
let onDataMs = 0;
/** Binary messages the app's receiver got (run frames carry several chunks each). */
let frames = 0;
function onData(data) {
  const t0 = performance.now();
  try { handleData(data); } finally { onDataMs += performance.now() - t0; }
}
function handleData(data) {
  if (typeof data === 'string') {
    const parsed = parseControl(data);
    if (!parsed.ok) return;
    const m = parsed.value;
    const s = m.transferId ? sessions.get(m.transferId) : null;
    s?.handleControl(m);
    return;
  }
  if (mode === 'count') return counted(data.byteLength);
  frames++;
  const frame = parseChunkFrame(data);
  if (!frame.ok) return;
  for (const s of sessions.values()) if (s.key === frame.value.key && s.handleFrame) { s.handleFrame(frame.value); return; }
}
`;

async function main() {
  const { mkdtemp, readdir, readFile, rm } = await import('node:fs/promises');
  const { createServer } = await import('node:http');
  const { tmpdir } = await import('node:os');
  const path = (await import('node:path')).default;
  const { fileURLToPath } = await import('node:url');
  const { chromium } = await import('@playwright/test');
  const { build } = await import('esbuild');

  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const MB = 1_000_000;
  const SIZE = Number(process.env.BENCH_MB ?? 50) * MB;
  const BIG = Number(process.env.BENCH_BIG_MB ?? 500) * MB;
  const REPS = Number(process.env.BENCH_REPS ?? 3);
  const CHUNK = Number(process.env.BENCH_CHUNK_KIB ?? 64) * 1024;
  const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 2.5);
  const NETS = (process.env.BENCH_NETS ?? 'loopback,5ms').split(',');
  // the 500 MB file on one network by default (it takes minutes on a loaded 2-core machine)
  const BIG_NETS = (process.env.BENCH_BIG_NETS ?? NETS.at(-1)).split(',');
  const VARIANTS = (process.env.BENCH_VARIANTS ?? 'app,raw,sp-send,sp-write').split(',');
  const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const RAW_MESSAGE = Number(process.env.BENCH_RAW_KIB ?? 64) * 1024;
  // BENCH_PROFILE=1: CPU time per thread of both browsers around each run (where the time goes)
  const PROFILE = Boolean(process.env.BENCH_PROFILE);
  // BENCH_JS_PROFILE=1: a V8 CPU profile of each page's main thread and workers around each app run, self time by function
  const JS_PROFILE = Boolean(process.env.BENCH_JS_PROFILE);

  // ---- bundle and serve the page ---------------------------------------------------------------

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
    logLevel: 'error',
  };
  const page = await build({
    ...common,
    stdin: { contents: `import process from 'process'; import { Buffer } from 'buffer'; globalThis.process = process; globalThis.Buffer = Buffer;\n${harness}`, resolveDir: root, loader: 'ts' },
  });
  const worker = await build({ ...common, entryPoints: [path.join(root, 'app/_lib/transfer/storage.worker.ts')] });
  const files = { page: page.outputFiles[0].text, worker: worker.outputFiles[0].text };
  const html = '<!doctype html><meta charset="utf-8"><title>transfer bench</title><script type="module" src="/harness.js"></script>';
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const body = url.pathname === '/' ? html : url.pathname === '/harness.js' ? files.page : url.pathname.endsWith('storage.worker.ts') ? files.worker : null;
    if (body === null) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': url.pathname === '/' ? 'text/html' : 'text/javascript', 'cache-control': 'no-store' });
    res.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;

  // ---- memory of the receiving page's renderer (from /proc) ----------------------------------

  async function rendererPids(userDataDir) {
    const info = new Map();
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      try {
        // zygote children rewrite their argv into one space-separated string
        const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
        const ppid = Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')[1]);
        info.set(Number(pid), { cmd, ppid });
      } catch {}
    }
    const ownedBy = (pid) => {
      for (let p = pid, hops = 0; p && hops < 6; p = info.get(p)?.ppid, hops++) if (info.get(p)?.cmd.includes(`--user-data-dir=${userDataDir}`)) return true;
      return false;
    };
    return [...info].filter(([pid, i]) => i.cmd.includes('--type=renderer') && ownedBy(pid)).map(([pid]) => pid);
  }
  const rssOf = async (pid) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  };
  /** CPU seconds (user + system) used so far by every process of one browser (its profile dir names it). */
  const TICKS = 100; // USER_HZ on Linux
  async function browserCpu(userDataDir) {
    const info = new Map();
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
        const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
        info.set(Number(pid), { cmd, ppid: Number(stat[1]), ticks: Number(stat[11]) + Number(stat[12]) });
      } catch {}
    }
    const ownedBy = (pid) => {
      for (let p = pid, hops = 0; p && hops < 6; p = info.get(p)?.ppid, hops++) if (info.get(p)?.cmd.includes(`--user-data-dir=${userDataDir}`)) return true;
      return false;
    };
    let ticks = 0;
    for (const [pid, i] of info) if (ownedBy(pid)) ticks += i.ticks;
    return ticks / TICKS;
  }

  /** CPU seconds per thread name (/proc/<pid>/task/<tid>/comm) of every process of one browser: where its time goes. */
  async function threadCpu(userDataDir) {
    const byName = {};
    const info = new Map();
    for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
      try {
        const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
        const ppid = Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')[1]);
        info.set(Number(pid), { cmd, ppid });
      } catch {}
    }
    const ownedBy = (pid) => {
      for (let p = pid, hops = 0; p && hops < 6; p = info.get(p)?.ppid, hops++) if (info.get(p)?.cmd.includes(`--user-data-dir=${userDataDir}`)) return true;
      return false;
    };
    for (const [pid, i] of info) {
      if (!ownedBy(pid)) continue;
      const type = /--type=(\S+)/.exec(i.cmd)?.[1] ?? 'browser';
      for (const tid of await readdir(`/proc/${pid}/task`).catch(() => [])) {
        try {
          const comm = (await readFile(`/proc/${pid}/task/${tid}/comm`, 'utf8')).trim().replace(/\d+$/, '');
          const stat = (await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8')).split(') ')[1].split(' ');
          const key = `${type}:${comm}`;
          byName[key] = (byName[key] ?? 0) + (Number(stat[11]) + Number(stat[12])) / TICKS;
        } catch {}
      }
    }
    return byName;
  }
  const diffThreads = (a, b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - (a[k] ?? 0)]).filter(([, v]) => v >= 0.05).sort((x, y) => y[1] - x[1]));

  function sampler(pids, cdp) {
    let peakRss = 0;
    let peakHeap = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        peakRss = Math.max(peakRss, ...(await Promise.all(pids.map(rssOf))));
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
  const udpRcvbufErrors = async () => {
    const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'));
    const [names, values] = lines.map((l) => l.trim().split(/\s+/));
    return Number(values[names.indexOf('RcvbufErrors')] ?? 0);
  };

  // ---- browsers --------------------------------------------------------------------------------

  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  ];
  async function launch(name) {
    const dir = await mkdtemp(path.join(tmpdir(), `xfer-bench-${name}-`));
    const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args, headless: true });
    await context.grantPermissions(['microphone', 'camera'], { origin });
    const p = context.pages()[0] ?? (await context.newPage());
    p.on('pageerror', (e) => console.error(`[${name}] ${e.message}`));
    p.on('crash', () => console.error(`[${name}] the page crashed`));
    p.on('close', () => console.error(`[${name}] the page closed`));
    context.on('close', () => console.error(`[${name}] the browser closed`));
    if (process.env.BENCH_CONSOLE) p.on('console', (m) => console.error(`[${name}] ${m.text()}`));
    await p.goto(origin);
    await p.waitForFunction(() => Boolean(window.bench));
    return { name, dir, context, page: p };
  }

  const mbps = (bytes, ms) => bytes / MB / (ms / 1000);
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const started = Date.now();
  const keepAlive = setInterval(() => {}, 1_000); // Playwright's pipes alone do not keep Node running
  const sender = await launch('sender');
  const receiver = await launch('receiver');
  let relay = null;
  const results = [];
  const memory = [];
  const rtts = {};
  const relayStats = [];
  try {
    // signaling: straight through, or with the candidates pointed at the relay (sender = A)
    for (const [from, to, side] of [[sender, receiver, 'A'], [receiver, sender, 'B']]) {
      await from.page.exposeFunction('signalOut', async (conn, json) => {
        let message = JSON.parse(json);
        if (relay && typeof message.sdp === 'string') message = { ...message, sdp: await relay.current.rewrite(`${conn}-${relay.generation}`, side, message.sdp) };
        else if (relay && message.type === 'candidate') return; // trickle is off; never bypass the relay
        await to.page.evaluate(([c, m]) => window.signalIn(c, m), [conn, JSON.stringify(message)]);
      });
    }

    let transfer = 0;
    const appRun = async (manifest, single = false, page = false) => {
      const id = `t${++transfer}`;
      await sender.page.evaluate(([i, m, s]) => window.bench.serveApp(i, m, s), [id, manifest, single]);
      const [sent, got] = await Promise.all([
        sender.page.evaluate(() => window.bench.appSent),
        receiver.page.evaluate(([i, m, p]) => window.bench.receiveApp(i, m, p), [id, manifest, page]),
      ]);
      await receiver.page.evaluate((i) => window.bench.removeIncoming(i), id);
      return { ms: got.ms, dataMs: got.dataMs, sent };
    };
    const countRun = async (total, send) => {
      await receiver.page.evaluate((t) => window.bench.arm(t), total);
      await send();
      const done = receiver.page.evaluate(() => window.bench.counted);
      // a receiver that stops getting bytes is reported, not waited for forever
      for (let last = -1; ; ) {
        const result = await Promise.race([done, new Promise((r) => setTimeout(() => r(null), 15_000))]);
        if (result) return result;
        const got = await receiver.page.evaluate(() => window.bench.countedSoFar());
        if (got === last) throw new Error(`the receiver stopped at ${got} of ${total} bytes`);
        last = got;
      }
    };
    const win = await sender.page.evaluate(() => window.bench.window);
    /** Runs one variant and adds the CPU seconds each browser spent on it (a busy machine slows the wall clock, not these). */
    /** Starts V8's sampling profiler on a page and its workers (through the page's CDP session, workers as child targets). */
    async function jsProfiler(name, browser) {
      const cdp = await browser.context.newCDPSession(browser.page);
      const targets = [{ label: `${name} page`, send: (method, params) => cdp.send(method, params) }];
      let seq = 0;
      const pending = new Map();
      cdp.on('Target.receivedMessageFromTarget', ({ message }) => {
        const m = JSON.parse(message);
        if (m.id && pending.has(m.id)) {
          pending.get(m.id)(m.result ?? {});
          pending.delete(m.id);
        }
      });
      const attached = new Promise((resolve) => {
        cdp.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => {
          if (targetInfo.type !== 'worker') return;
          targets.push({
            label: `${name} worker ${targetInfo.title || targetInfo.url.split('/').pop()}`,
            send: (method, params = {}) =>
              new Promise((done) => {
                const id = ++seq;
                pending.set(id, done);
                cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(() => done({}));
              }),
          });
          resolve();
        });
        setTimeout(resolve, 1000);
      });
      await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false }).catch(() => {});
      await attached;
      for (const t of targets) {
        await t.send('Profiler.enable');
        await t.send('Profiler.setSamplingInterval', { interval: 250 });
        await t.send('Profiler.start');
      }
      return {
        async stop() {
          for (const t of targets) {
            const { profile } = await t.send('Profiler.stop');
            if (!profile) continue;
            const self = new Map();
            const byId = new Map(profile.nodes.map((n) => [n.id, n]));
            profile.samples.forEach((id, i) => {
              const f = byId.get(id).callFrame;
              const key = `${f.functionName || '(anonymous)'} ${f.url ? f.url.split('/').pop() + ':' + (f.lineNumber + 1) : ''}`;
              self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
            });
            const top = [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 14);
            const busy = [...self].filter(([k]) => !k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
            console.error(`    JS profile, ${t.label}: busy ${busy.toFixed(0)} ms; ${top.map(([k, v]) => `${k.trim()} ${v.toFixed(0)}`).join('; ')}`);
          }
          await cdp.detach().catch(() => {});
        },
      };
    }
    const measured = async (run, variant) => {
      const profilers = JS_PROFILE && variant === 'app' ? await Promise.all([jsProfiler('sender', sender), jsProfiler('receiver', receiver)]) : [];
      const [s0, r0] = await Promise.all([browserCpu(sender.dir), browserCpu(receiver.dir)]);
      await receiver.page.evaluate(() => window.bench.takeOnDataMs());
      const threads0 = PROFILE ? await Promise.all([threadCpu(sender.dir), threadCpu(receiver.dir)]) : null;
      const result = await run();
      if (threads0) {
        const [st, rt] = await Promise.all([threadCpu(sender.dir), threadCpu(receiver.dir)]);
        const show = (d) => Object.entries(d).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
        console.error(`    threads, CPU s — sender: ${show(diffThreads(threads0[0], st))}`);
        console.error(`    threads, CPU s — receiver: ${show(diffThreads(threads0[1], rt))}`);
        const spent = await receiver.page.evaluate(() => window.bench.workerSpent());
        const frameCount = await receiver.page.evaluate(() => window.bench.takeFrames());
        if (spent.chunks) console.error(`    receiver's storage worker, ms: ${Object.entries(spent).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}; ${frameCount} messages`);
      }
      for (const p of profilers) await p.stop();
      const onDataMs = await receiver.page.evaluate(() => window.bench.takeOnDataMs());
      const [s1, r1] = await Promise.all([browserCpu(sender.dir), browserCpu(receiver.dir)]);
      return { ...result, cpuSender: s1 - s0, cpuReceiver: r1 - r0, onDataMs };
    };
    const runners0 = {
      app: (manifest) => appRun(manifest),
      raw: (manifest) => countRun(manifest.sizeBytes, () => sender.page.evaluate(([t, h, l, s]) => window.bench.rawSend(t, h, l, s), [manifest.sizeBytes, win.highWater, win.lowWater, RAW_MESSAGE])),
      'sp-send': (manifest) => countRun(manifest.sizeBytes, () => sender.page.evaluate((c) => window.bench.spSend(c), manifest.chunkSize)),
      // diagnostics, not in the default list: the app with one chunk per message; raw with 192 KiB messages
      'app-single': (manifest) => appRun(manifest, true, true),
      'app-page': (manifest) => appRun(manifest, false, true),
      'raw-192': (manifest) => countRun(manifest.sizeBytes, () => sender.page.evaluate(([t, h, l, s]) => window.bench.rawSend(t, h, l, s), [manifest.sizeBytes, win.highWater, win.lowWater, 192 * 1024 + 16])),
      'raw-256': (manifest) => countRun(manifest.sizeBytes, () => sender.page.evaluate(([t, h, l, s]) => window.bench.rawSend(t, h, l, s), [manifest.sizeBytes, win.highWater, win.lowWater, 256 * 1024])),
      'sp-write': (manifest) => countRun(manifest.sizeBytes, () => sender.page.evaluate((c) => window.bench.spWrite(c), manifest.chunkSize)),
    };
    const runners = Object.fromEntries(Object.entries(runners0).map(([k, run]) => [k, (manifest) => measured(() => run(manifest), k)]));

    const prepare = async (size, seed) => {
      console.error(`generating and importing ${size / MB} MB…`);
      await sender.page.evaluate(([s, x]) => window.bench.makeFile(s, x), [size, seed]);
      return sender.page.evaluate((c) => window.bench.importIt(c), CHUNK);
    };
    const connect = async (net) => {
      if (relay) {
        const s = await relay.current.stop();
        relayStats.push(s);
        console.error(`  relay: ${s.forwarded} datagrams, ${(s.forwardedBytes / MB).toFixed(0)} MB, mean one-way delay ${s.meanDelayMs.toFixed(2)} ms, ${s.relayDrops} dropped on its sockets`);
      }
      relay = net === 'loopback' ? null : { current: startRelay(DELAY_MS), generation: Date.now() };
      await Promise.all([sender.page.evaluate(() => window.bench.connect('a-sender', 'b-receiver')), receiver.page.evaluate(() => window.bench.connect('b-receiver', 'a-sender'))]);
      await Promise.all([receiver.page.evaluate(() => window.bench.rawConnect(false)), sender.page.evaluate(() => window.bench.rawConnect(true))]);
      await new Promise((r) => setTimeout(r, 1500)); // a few STUN checks for the round trip figure
      rtts[net] = await sender.page.evaluate(() => window.bench.rtt());
      console.error(`${net}: round trip app ${rtts[net].app?.toFixed(1)} ms, raw ${rtts[net].raw?.toFixed(1)} ms`);
    };

    const { manifest: small, ms: importMs } = await prepare(SIZE, 42);
    console.error(`  import ${mbps(SIZE, importMs).toFixed(0)} MB/s`);
    const bigPlan = BIG > 0;
    for (const net of NETS) {
      await connect(net);
      const runs = Object.fromEntries(VARIANTS.map((v) => [v, []]));
      const drops0 = await udpRcvbufErrors();
      for (let rep = 0; rep < REPS; rep++) {
        const line = [];
        // every other rep in the reverse order, so a machine whose load drifts favours no variant
        for (const v of rep % 2 ? [...VARIANTS].reverse() : VARIANTS) {
          const r = await runners[v](small);
          runs[v].push(r);
          line.push(`${v} ${mbps(SIZE, r.ms).toFixed(1)} (cpu s ${r.cpuSender.toFixed(1)}+r ${r.cpuReceiver.toFixed(1)}, page onData ${(r.onDataMs / 1000).toFixed(2)} s)`);
        }
        console.error(`  ${net} ${SIZE / MB} MB rep ${rep + 1}: ${line.join(', ')} MB/s`);
      }
      const drops = (await udpRcvbufErrors()) - drops0;
      const row = { net, what: `${SIZE / MB} MB`, drops, figures: {} };
      for (const v of VARIANTS) row.figures[v] = median(runs[v].map((r) => mbps(SIZE, r.ms)));
      row.cpu = Object.fromEntries(VARIANTS.map((v) => [v, { sender: median(runs[v].map((r) => (r.cpuSender * 1000) / (SIZE / MB))), receiver: median(runs[v].map((r) => (r.cpuReceiver * 1000) / (SIZE / MB))) }]));
      row.ratios = runs.app && runs.raw ? runs.app.map((r, i) => mbps(SIZE, r.ms) / mbps(SIZE, runs.raw[i].ms)) : [];
      if (runs.app?.length) row.appData = median(runs.app.map((r) => mbps(SIZE, r.dataMs)));
      results.push(row);
    }

    if (bigPlan) {
      const { manifest: big } = await prepare(BIG, 7);
      for (const net of BIG_NETS) {
        await connect(net);
        const pids = await rendererPids(receiver.dir);
        const cdp = await receiver.context.newCDPSession(receiver.page);
        await cdp.send('Performance.enable');
        const row = { net, what: `${BIG / MB} MB`, figures: {} };
        for (const v of ['app', 'raw']) {
          const s = sampler(pids, cdp);
          const r = await runners[v](big);
          const mem = await s.stop();
          row.figures[v] = mbps(BIG, r.ms);
          if (v === 'app') row.appData = mbps(BIG, r.dataMs);
          memory.push({ net, v, ...mem, pids });
          console.error(`  ${net} ${BIG / MB} MB: ${v} ${row.figures[v].toFixed(1)} MB/s, receiver peak RSS ${(mem.peakRss / MB).toFixed(0)} MB, CPU ms per MB ${((r.cpuSender * 1000) / (BIG / MB)).toFixed(0)}+${((r.cpuReceiver * 1000) / (BIG / MB)).toFixed(0)}`);
        }
        await cdp.detach();
        results.push(row);
      }
    }
    if (relay) relayStats.push(await relay.current.stop());
    relay = null;

    // ---- report ----------------------------------------------------------------------------------
    const pad = (s, n) => String(s).padEnd(n);
    const num = (x) => (x === undefined ? '—' : x.toFixed(1)).padStart(9);
    const agent = await receiver.page.evaluate(() => navigator.userAgent);
    const shown = ['app', 'app-page', 'raw', 'sp-send', 'sp-write'].filter((v) => results.some((r) => r.figures[v] !== undefined));
    console.log(`\nTwo Chromium browsers (${/(Headless)?Chrome\/[\d.]+/.exec(agent)?.[0] ?? 'Chromium'}), MB/s (MB = 10^6 bytes), median of ${REPS} for ${SIZE / MB} MB, one run for ${BIG / MB} MB`);
    console.log(`window: ${win.highWater / 1024 / 1024} MiB in flight, refilled at ${win.lowWater / 1024 / 1024} MiB; ${CHUNK / 1024} KiB chunks`);
    for (const net of NETS) console.log(`round trip on ${net}: app link ${rtts[net]?.app?.toFixed(2) ?? '?'} ms, raw link ${rtts[net]?.raw?.toFixed(2) ?? '?'} ms (ICE STUN checks)`);
    console.log(`\n${pad('network', 10)}${pad('file', 8)}${shown.map((v) => v.padStart(9)).join('')}${'app data'.padStart(10)}${'app/raw'.padStart(9)}${'target'.padStart(8)}`);
    for (const r of results) {
      const ratio = r.figures.app / r.figures.raw;
      const target = r.net === 'loopback' ? 0.9 : 0.8;
      const verdict = Number.isFinite(ratio) ? `${ratio >= target ? '≥' : '<'}${target}` : '';
      console.log(`${pad(r.net, 10)}${pad(r.what, 8)}${shown.map((v) => num(r.figures[v])).join('')}${num(r.appData)} ${Number.isFinite(ratio) ? ratio.toFixed(2).padStart(8) : '       —'}${verdict.padStart(8)}`);
    }
    for (const r of results.filter((x) => x.cpu)) {
      console.log(`  ${r.net} ${r.what}: app/raw per rep ${r.ratios.map((x) => x.toFixed(2)).join(', ')}; CPU ms per MB (sender + receiver browser, median): ${Object.entries(r.cpu).map(([v, c]) => `${v} ${c.sender.toFixed(0)}+${c.receiver.toFixed(0)}`).join(', ')}`);
    }
    console.log('  app = receiver asks → whole file SHA-256 verified on disk; app data = receiver asks → last chunk verified and stored;');
    console.log('  raw = bare RTCDataChannel, same window, 64 KiB messages from memory, receiver counts; sp send = simple-peer send() of the');
    console.log("  file's chunks under the same window; sp write = simple-peer's stream write() (64 KiB in flight). Receivers of raw/sp only count.");
    if (relayStats.length) {
      const sum = (k) => relayStats.reduce((a, r) => a + r[k], 0);
      console.log(`  relay: ${sum('forwarded')} datagrams, mean one-way delay ${(relayStats.reduce((a, r) => a + r.meanDelayMs * r.forwarded, 0) / Math.max(1, sum('forwarded'))).toFixed(2)} ms (asked ${DELAY_MS}), ${sum('relayDrops')} dropped on the relay's sockets`);
    }
    if (results.some((r) => r.drops)) console.log(`  UDP receive-buffer drops during the runs: ${results.map((r) => `${r.net} ${r.drops ?? 0}`).join(', ')}`);
    if (memory.length) {
      console.log(`\nReceiving renderer during the ${BIG / MB} MB transfers (peak; RSS from /proc, JS heap from CDP)`);
      for (const m of memory) console.log(`${pad(m.net, 10)}${pad(m.v, 8)}${((m.peakRss / MB).toFixed(0) + ' MB RSS').padStart(12)}${((m.peakHeap / MB).toFixed(0) + ' MB heap').padStart(14)}`);
    }
    console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    if (relay) await relay.current.stop().catch(() => {});
    await sender.context.close().catch(() => {});
    await receiver.context.close().catch(() => {});
    server.close();
    clearInterval(keepAlive);
    await rm(sender.dir, { recursive: true, force: true });
    await rm(receiver.dir, { recursive: true, force: true });
  }
}
