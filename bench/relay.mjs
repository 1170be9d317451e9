#!/usr/bin/env node
// The relay hop, measured in Chromium pages on loopback (one browser, fake camera), in one run:
//   data      BENCH_MB through a bare RTCDataChannel A → B, against the same bytes relayed A → R → B (R forwards each
//             64 KiB message from its inbound channel to its outbound one, 4 MiB windows): throughput of each
//   media     a 320×240 canvas stream at 15 frames/s whose pixels carry the sender's clock, sent A → B directly and
//             A → R → C with R forwarding the received track over its own connection (what a broadcast relay does):
//             first connection → first frame, end-to-end latency (the clock read back from the decoded frames) and bytes
//             received per second, direct against relayed; and what R re-sends against what it receives
//   app       through the app (production build, SQLite): a broadcaster (fanOut 1), one relay and one viewer behind it;
//             from opening the watch page to the first frame, for the broadcaster's direct child and for the relayed one
//
//   npm run build && node bench/relay.mjs
//   BENCH_MB=20 BENCH_REPS=1 node bench/relay.mjs     # quick
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { appLauncher, sleep, stopOnExit } from './support/app-process.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MB = Number(process.env.BENCH_MB ?? 40);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const MEDIA_S = Number(process.env.BENCH_MEDIA_S ?? 12);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
];
const profile = {
  version: 1, measuredAt: '2026-11-22T10:00:00.000Z',
  compute: { cores: 8, mips: 1_500, mflops: 800, durationMs: 420 },
  memory: { deviceMemoryGb: 4, readNs: 3.2, writeNs: 4.1, testedMb: 32 },
  storage: { quotaMb: 20_000, usageMb: 120, persisted: false, readMs: 2.5, writeMs: 6.0, testedBytes: 1_048_576, method: 'sync-access-handle' },
  peripherals: { screenWidth: 412, screenHeight: 915, pixelRatio: 2.625, colorDepth: 24, refreshHz: 60, cameras: 2, microphones: 1, speakers: 1, maxTouchPoints: 5 },
  network: { effectiveType: '4g', downlinkMbps: 10, rttMs: 50, type: 'wifi', saveData: false, measuredRttMs: 35, measuredThroughputMbps: 80, measuredBytes: 1_048_576 },
  platform: { os: 'android', browser: 'chrome', browserVersion: '156', mobile: true, battery: { level: 0.8, charging: true } },
};

const { started, startApp, stopApp } = appLauncher(root);
const dir = mkdtempSync(path.join(tmpdir(), 'bench-relay-'));
stopOnExit(started, async () => rmSync(dir, { recursive: true, force: true }));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '—');

async function api(request, procedure, input, method = 'POST') {
  const response =
    method === 'POST'
      ? await request.post(`/api/trpc/${procedure}`, { data: input })
      : await request.get(`/api/trpc/${procedure}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`);
  if (!response.ok()) throw new Error(`${procedure}: ${await response.text()}`);
  return (await response.json()).result.data;
}

// Helpers installed in every bench page: peer connections by name, non-trickle offers and answers.
const PAGE_HELPERS = () => {
  const w = window;
  w.pcs = {};
  w.waitIce = (pc) => new Promise((resolve) => (pc.iceGatheringState === 'complete' ? resolve() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve())));
  w.makeOffer = async (name, setup) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    w.pcs[name] = pc;
    pc.createdAt = performance.now();
    await setup?.(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await w.waitIce(pc);
    return { type: 'offer', sdp: pc.localDescription.sdp };
  };
  w.makeAnswer = async (name, offer, setup) => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    w.pcs[name] = pc;
    pc.createdAt = performance.now();
    await setup?.(pc);
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await w.waitIce(pc);
    return { type: 'answer', sdp: pc.localDescription.sdp };
  };
  w.accept = (name, answer) => w.pcs[name].setRemoteDescription(answer);
};

/** Connects page `a` (offering, running `setupA` on its connection) to page `b` (answering, `setupB`). */
async function connect(a, b, name, setupA, setupB) {
  const offer = await a.evaluate(([n, s]) => window.makeOffer(n, s ? new Function(`return ${s}`)() : undefined), [name, setupA?.toString() ?? null]);
  const answer = await b.evaluate(([n, o, s]) => window.makeAnswer(n, o, s ? new Function(`return ${s}`)() : undefined), [name, offer, setupB?.toString() ?? null]);
  await a.evaluate(([n, ans]) => window.accept(n, ans), [name, answer]);
}

// ---------- data: direct against relayed ----------
async function dataRun(A, R, B, relayed, tag) {
  await B.evaluate(() => {
    window.got = 0;
    window.done = null;
  });
  // B: counts what arrives on any channel named `${tag}`
  const countOnB = `async (pc) => { pc.ondatachannel = (e) => { const ch = e.channel; ch.binaryType = 'arraybuffer'; ch.onmessage = (m) => { window.got += m.data.byteLength; if (window.got >= window.want) window.done = performance.now(); }; }; }`;
  await B.evaluate((want) => (window.want = want), MB * 1_000_000);
  if (!relayed) {
    await connect(A, B, `${tag}-ab`, `async (pc) => { window.out = pc.createDataChannel('${tag}', { ordered: true }); }`, countOnB);
  } else {
    // R: forwards every message from its inbound channel (from A) to its outbound one (to B), keeping a window
    await connect(R, B, `${tag}-rb`, `async (pc) => { window.fwd = pc.createDataChannel('${tag}', { ordered: true }); window.fwd.bufferedAmountLowThreshold = 1 << 20; }`, countOnB);
    await connect(
      A,
      R,
      `${tag}-ar`,
      `async (pc) => { window.out = pc.createDataChannel('${tag}', { ordered: true }); }`,
      `async (pc) => { pc.ondatachannel = (e) => { const ch = e.channel; ch.binaryType = 'arraybuffer'; const queue = []; let waiting = false; const pump = () => { while (queue.length && window.fwd.bufferedAmount < 8 * 1024 * 1024) window.fwd.send(queue.shift()); if (queue.length && !waiting) { waiting = true; window.fwd.addEventListener('bufferedamountlow', () => { waiting = false; pump(); }, { once: true }); } }; ch.onmessage = (m) => { queue.push(m.data); pump(); }; }; }`,
    );
  }
  await A.evaluate(() => new Promise((resolve) => (window.out.readyState === 'open' ? resolve() : window.out.addEventListener('open', resolve, { once: true }))));
  const t0 = await A.evaluate(() => Date.now());
  await A.evaluate(async (total) => {
    const ch = window.out;
    const chunk = new Uint8Array(64 * 1024);
    ch.bufferedAmountLowThreshold = 1 << 20;
    let sent = 0;
    while (sent < total) {
      if (ch.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => ch.addEventListener('bufferedamountlow', r, { once: true }));
      const n = Math.min(chunk.byteLength, total - sent);
      ch.send(n === chunk.byteLength ? chunk : chunk.subarray(0, n));
      sent += n;
    }
  }, MB * 1_000_000);
  await B.waitForFunction(() => window.done !== null, null, { timeout: 300_000, polling: 50 });
  const t1 = await B.evaluate(() => Date.now());
  for (const p of [A, R, B]) await p.evaluate(() => { for (const pc of Object.values(window.pcs)) pc.close(); window.pcs = {}; });
  return MB / ((t1 - t0) / 1000);
}

// ---------- media: direct against relayed ----------
// A's canvas carries Date.now() in 32 black/white cells of its top band; a viewer reads them back from decoded frames.
async function mediaRun(A, R, B, C) {
  await A.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 240;
    const g = canvas.getContext('2d');
    const paint = () => {
      const t = Date.now() % 2 ** 32;
      g.fillStyle = '#446';
      g.fillRect(0, 0, 320, 240);
      for (let i = 0; i < 32; i++) {
        g.fillStyle = (t >>> (31 - i)) & 1 ? '#fff' : '#000';
        g.fillRect((i % 16) * 20, Math.floor(i / 16) * 20, 20, 20);
      }
      g.fillStyle = '#9cf';
      g.fillRect(((t / 10) % 300) | 0, 120, 20, 60);
    };
    window.painter = setInterval(paint, 1000 / 30);
    paint();
    window.camera = canvas.captureStream(15);
  });
  const viewerSetup = `async (pc) => { pc.ontrack = (e) => { const v = document.createElement('video'); v.muted = true; v.autoplay = true; v.playsInline = true; document.body.append(v); v.srcObject = e.streams[0] ?? new MediaStream([e.track]); window.video = v; window.firstFrame = null; window.lat = []; const c = document.createElement('canvas'); c.width = 320; c.height = 40; const g = c.getContext('2d', { willReadFrequently: true }); const onFrame = () => { if (window.firstFrame === null) window.firstFrame = Date.now(); g.drawImage(v, 0, 0, 320, 240, 0, 0, 320, 240); const d = g.getImageData(0, 0, 320, 40).data; let t = 0; for (let i = 0; i < 32; i++) { const x = (i % 16) * 20 + 10, y = Math.floor(i / 16) * 20 + 10; t = t * 2 + (d[(y * 320 + x) * 4] > 127 ? 1 : 0); } const now = Date.now() % 2 ** 32; const l = now - t; if (l >= 0 && l < 5000) window.lat.push(l); v.requestVideoFrameCallback(onFrame); }; v.requestVideoFrameCallback(onFrame); }; }`;
  // direct: A → B (first frames are timed from the start of the sender's first connection, on the shared wall clock)
  const directFrom = Date.now();
  await connect(A, B, 'media-ab', `async (pc) => { for (const t of window.camera.getTracks()) pc.addTrack(t, window.camera); }`, viewerSetup);
  // relayed: A → R, then R forwards the received track → C
  const relayedFrom = Date.now();
  await connect(A, R, 'media-ar', `async (pc) => { for (const t of window.camera.getTracks()) pc.addTrack(t, window.camera); }`, `async (pc) => { window.gotTrack = new Promise((r) => (pc.ontrack = (e) => r(e))); }`);
  await R.evaluate(() => window.gotTrack.then(() => undefined));
  await connect(R, C, 'media-rc', `async (pc) => { const e = await window.gotTrack; pc.addTrack(e.track, e.streams[0] ?? new MediaStream([e.track])); }`, viewerSetup);
  await B.waitForFunction(() => window.firstFrame != null, null, { timeout: 60_000 });
  await C.waitForFunction(() => window.firstFrame != null, null, { timeout: 60_000 });
  const bytes = (page, name, kind) => page.evaluate(async ([n, k]) => { let b = 0; (await window.pcs[n].getStats()).forEach((s) => { if (s.type === k) b += s.bytesReceived ?? s.bytesSent ?? 0; }); return b; }, [name, kind]);
  for (const p of [B, C]) await p.evaluate(() => (window.lat = []));
  const before = { b: await bytes(B, 'media-ab', 'inbound-rtp'), c: await bytes(C, 'media-rc', 'inbound-rtp'), rin: await bytes(R, 'media-ar', 'inbound-rtp'), rout: await bytes(R, 'media-rc', 'outbound-rtp') };
  await sleep(MEDIA_S * 1000);
  const after = { b: await bytes(B, 'media-ab', 'inbound-rtp'), c: await bytes(C, 'media-rc', 'inbound-rtp'), rin: await bytes(R, 'media-ar', 'inbound-rtp'), rout: await bytes(R, 'media-rc', 'outbound-rtp') };
  const result = {
    firstFrame: { direct: (await B.evaluate(() => window.firstFrame)) - directFrom, relayed: (await C.evaluate(() => window.firstFrame)) - relayedFrom },
    latency: { direct: median(await B.evaluate(() => window.lat)), relayed: median(await C.evaluate(() => window.lat)) },
    kbps: { direct: ((after.b - before.b) * 8) / 1000 / MEDIA_S, relayed: ((after.c - before.c) * 8) / 1000 / MEDIA_S, relayIn: ((after.rin - before.rin) * 8) / 1000 / MEDIA_S, relayOut: ((after.rout - before.rout) * 8) / 1000 / MEDIA_S },
  };
  for (const p of [A, R, B, C]) await p.evaluate(() => { for (const pc of Object.values(window.pcs)) pc.close(); window.pcs = {}; clearInterval(window.painter); document.querySelectorAll('video').forEach((v) => v.remove()); });
  return result;
}

// ---------- app: broadcast join → first frame ----------
async function appRun(browser, baseURL) {
  const id = Date.now().toString(36);
  const make = async (handle) => {
    const context = await browser.newContext({ baseURL, viewport: { width: 412, height: 915 } });
    await context.grantPermissions(['camera', 'microphone'], { origin: baseURL });
    const page = await context.newPage();
    await api(page.request, 'auth.signUp', { handle, password: 'a long enough password' });
    const { device } = await api(page.request, 'device.register', { name: handle, profile });
    await page.goto('/offline');
    await page.evaluate((d) => localStorage.setItem('swapmesh.deviceId', d), device.id);
    return { context, page, deviceId: device.id };
  };
  const host = await make(`bh-${id}`);
  const relay = await make(`br-${id}`);
  const viewer = await make(`bv-${id}`);
  const community = await api(host.page.request, 'community.create', { name: `Bench ${id}`, slug: `bench-${id}`, commissionBps: 200, startingGrant: 100_000_000, inviteOnly: false });
  for (const m of [relay, viewer]) await api(m.page.request, 'community.join', { slug: `bench-${id}` });
  const node = await api(host.page.request, 'broadcast.start', { communityId: community.id, deviceId: host.deviceId, title: 'Bench', fanOut: 1, pricePerMb: 100_000, budget: 10_000_000 });
  const url = `/broadcast/${node.broadcast.id}`;
  await host.page.goto(url);
  await host.page.waitForFunction(() => document.querySelector('video')?.videoWidth > 0, null, { timeout: 60_000 });
  const firstFrame = async (page) => {
    const t0 = Date.now();
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('[data-testid="broadcast-video"]')?.videoWidth > 0, null, { timeout: 120_000, polling: 50 });
    return Date.now() - t0;
  };
  // the relay joins first (the broadcaster's one place) and relays; then the viewer, behind it
  const direct = await firstFrame(relay.page);
  await relay.page.getByTestId('relay-toggle').check();
  await relay.page.getByTestId('relay-children').waitFor();
  const relayed = await firstFrame(viewer.page);
  await api(host.page.request, 'broadcast.end', { broadcastId: node.broadcast.id });
  for (const m of [host, relay, viewer]) await m.context.close();
  return { direct, relayed };
}

const { chromium } = await import('@playwright/test');
const app = await startApp(`file:${path.join(dir, 'bench.db')}`);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
try {
  const context = await browser.newContext({ baseURL: app.base });
  await context.grantPermissions(['camera', 'microphone'], { origin: app.base });
  const [A, R, B, C] = await Promise.all([0, 1, 2, 3].map(() => context.newPage()));
  for (const p of [A, R, B, C]) {
    await p.goto('/offline');
    await p.evaluate(PAGE_HELPERS);
  }
  const direct = [];
  const relayed = [];
  for (let i = 0; i < REPS; i++) {
    direct.push(await dataRun(A, R, B, false, `d${i}`));
    relayed.push(await dataRun(A, R, B, true, `r${i}`));
    console.log(`data run ${i + 1}: direct ${f1(direct.at(-1))} MB/s, relayed ${f1(relayed.at(-1))} MB/s`);
  }
  const media = [];
  for (let i = 0; i < REPS; i++) {
    media.push(await mediaRun(A, R, B, C));
    const m = media.at(-1);
    console.log(`media run ${i + 1}: first frame ${f1(m.firstFrame.direct)} / ${f1(m.firstFrame.relayed)} ms, latency ${f1(m.latency.direct)} / ${f1(m.latency.relayed)} ms, ${f1(m.kbps.direct)} / ${f1(m.kbps.relayed)} kbit/s`);
  }
  const apps = [];
  for (let i = 0; i < REPS; i++) {
    apps.push(await appRun(browser, app.base));
    console.log(`app run ${i + 1}: join → first frame ${apps.at(-1).direct} ms direct, ${apps.at(-1).relayed} ms through a relay`);
  }
  const m = (f) => median(media.map(f));
  console.log(`\nrelay hop, ${REPS} run(s), medians (load ${(await import('node:os')).loadavg()[0].toFixed(1)})`);
  console.table({
    'data MB/s (BENCH_MB each)': { direct: f1(median(direct)), 'through a relay': f1(median(relayed)), ratio: (median(relayed) / median(direct)).toFixed(2) },
    'media: connection → first frame, ms': { direct: f1(m((x) => x.firstFrame.direct)), 'through a relay': f1(m((x) => x.firstFrame.relayed)), ratio: '' },
    'media: end-to-end latency, ms': { direct: f1(m((x) => x.latency.direct)), 'through a relay': f1(m((x) => x.latency.relayed)), ratio: `${m((x) => x.latency.relayed - x.latency.direct) >= 0 ? '+' : ''}${f1(m((x) => x.latency.relayed - x.latency.direct))} ms` },
    'media: received, kbit/s': { direct: f1(m((x) => x.kbps.direct)), 'through a relay': f1(m((x) => x.kbps.relayed)), ratio: (m((x) => x.kbps.relayed) / m((x) => x.kbps.direct)).toFixed(2) },
    'relay: received / re-sent, kbit/s': { direct: f1(m((x) => x.kbps.relayIn)), 'through a relay': f1(m((x) => x.kbps.relayOut)), ratio: (m((x) => x.kbps.relayOut) / m((x) => x.kbps.relayIn)).toFixed(2) },
    'app: join → first frame, ms': { direct: f1(median(apps.map((x) => x.direct))), 'through a relay': f1(median(apps.map((x) => x.relayed))), ratio: '' },
  });
} finally {
  await browser.close();
  await stopApp(app);
}
