#!/usr/bin/env node
// Storage on other members' devices, measured through the app itself (production build, SQLite, Chromium):
//   store     a file of BENCH_MB is encrypted and split on the buyer's page ("prepare": until the coordinator
//             has placed it) and both lenders fetch every shard over WebRTC, verify and keep it ("copy":
//             until every copy is confirmed); the copy rate counts the bytes moved (size × copies)
//   restore   another device of the buyer (a fresh context) fetches one copy of each shard, verifies, joins and decrypts it
//   bare      in the same run, the same browser contexts: a bare RTCDataChannel loop between the buyer's and a
//             lender's page (64 KiB messages from memory, 4 MiB window refilled at 1 MiB, the receiver only
//             counts bytes): the ceiling for one pair
//   challenge round trip: from the coordinator issuing a challenge (its sweep) to the lender's answer
//             recorded (the live stream, an OPFS range read, SHA-256, the answer call), over every challenge
//             answered during the run
//
//   npm run build && node bench/storage.mjs
//   BENCH_MB=20 BENCH_REPS=1 node bench/storage.mjs     # quick
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@libsql/client';
import { appLauncher, sleep, stopOnExit } from './support/app-process.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MB = Number(process.env.BENCH_MB ?? 50);
const REPS = Number(process.env.BENCH_REPS ?? 2);
const PERIOD_S = Number(process.env.BENCH_PERIOD_S ?? 10);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
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
const dir = mkdtempSync(path.join(tmpdir(), 'bench-storage-'));
stopOnExit(started, async () => rmSync(dir, { recursive: true, force: true }));
const databaseUrl = `file:${path.join(dir, 'bench.db')}`;

async function api(request, procedure, input, method = 'POST') {
  const response =
    method === 'POST'
      ? await request.post(`/api/trpc/${procedure}`, { data: input })
      : await request.get(`/api/trpc/${procedure}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`);
  if (!response.ok()) throw new Error(`${procedure}: ${await response.text()}`);
  return (await response.json()).result.data;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const rate = (bytes, ms) => (bytes / 1e6 / (ms / 1000)).toFixed(1);

/** A bare data channel between two pages: offer/answer handed across by this process (no trickle), `bytes` from memory. */
async function bareLoop(sender, receiver, bytes) {
  const setup = () => {
    window.__bare = { pc: new RTCPeerConnection({ iceServers: [] }) };
  };
  await sender.evaluate(setup);
  await receiver.evaluate(setup);
  const offer = await sender.evaluate(async () => {
    const { pc } = window.__bare;
    const gathered = () => new Promise((resolve) => (pc.iceGatheringState === 'complete' ? resolve() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve())));
    window.__bare.channel = pc.createDataChannel('bare', { ordered: true });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered();
    return pc.localDescription.toJSON();
  });
  const answer = await receiver.evaluate(async ({ offer, total }) => {
    const { pc } = window.__bare;
    const gathered = () => new Promise((resolve) => (pc.iceGatheringState === 'complete' ? resolve() : pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve())));
    window.__bare.done = new Promise((resolve) => {
      pc.ondatachannel = ({ channel }) => {
        channel.binaryType = 'arraybuffer';
        let got = 0;
        let first = 0;
        channel.onmessage = (e) => {
          if (!first) first = performance.now();
          got += e.data.byteLength;
          if (got >= total) resolve(performance.now() - first);
        };
      };
    });
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered();
    return pc.localDescription.toJSON();
  }, { offer, total: bytes });
  await sender.evaluate(async ({ answer, total }) => {
    const { pc, channel } = window.__bare;
    await pc.setRemoteDescription(answer);
    if (channel.readyState !== 'open') await new Promise((resolve) => channel.addEventListener('open', resolve, { once: true }));
    channel.bufferedAmountLowThreshold = 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024);
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (channel.bufferedAmount > 4 * 1024 * 1024) await new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true }));
      channel.send(chunk);
    }
  }, { answer, total: bytes });
  const ms = await receiver.evaluate(() => window.__bare.done);
  await sender.evaluate(() => window.__bare.pc.close());
  await receiver.evaluate(() => window.__bare.pc.close());
  return ms;
}

const { chromium } = await import('@playwright/test');
const app = await startApp(databaseUrl);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
try {
  const device = async (handle, signIn = false) => {
    const context = await browser.newContext({ baseURL: app.base, viewport: { width: 412, height: 915 } });
    await context.grantPermissions(['microphone', 'camera'], { origin: app.base });
    const page = await context.newPage();
    await api(page.request, signIn ? 'auth.signIn' : 'auth.signUp', { handle, password: 'a long enough password' });
    const { device: d } = await api(page.request, 'device.register', { name: handle, profile });
    await context.addInitScript((id) => window.localStorage.setItem('swapmesh.deviceId', id), d.id);
    return { context, page, deviceId: d.id };
  };
  const id = Date.now().toString(36);
  const buyer = await device(`bench-buyer-${id}`);
  const community = await api(buyer.page.request, 'community.create', { name: `Bench ${id}`, slug: `bench-${id}`, commissionBps: 200, startingGrant: 1_000_000_000, inviteOnly: false });
  const lenders = [await device(`bench-lend1-${id}`), await device(`bench-lend2-${id}`)];
  for (const l of lenders) {
    await api(l.page.request, 'community.join', { slug: `bench-${id}` });
    await api(l.page.request, 'storage.lend', { communityId: community.id, deviceId: l.deviceId, mb: 100 * MB, hours: 24, price: 1_000 });
  }
  for (const d of [buyer, ...lenders]) await d.page.goto('/storage');

  const bytes = MB * 1024 * 1024;
  const file = path.join(dir, 'payload.bin');
  const rows = [];
  for (let rep = 0; rep < REPS; rep++) {
    const payload = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i += 4) payload.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    writeFileSync(file, payload);
    await buyer.page.reload();
    await buyer.page.locator('#store-files').setInputFiles(file);
    await buyer.page.getByLabel('Most you pay per MB-hour (credits)').fill('0.01');
    await buyer.page.getByText('How long, and how often it is proven').click();
    await buyer.page.getByLabel(/Proof period/).fill(String(PERIOD_S));
    await buyer.page.getByLabel(/^Periods/).fill('60');
    const t0 = Date.now();
    await buyer.page.getByRole('button', { name: 'Encrypt and store' }).click();
    const recoveryKey = (await buyer.page.getByTestId('recovery-key').textContent({ timeout: 120_000 })).trim();
    const t1 = Date.now();
    const planId = (await api(buyer.page.request, 'storage.plans', undefined, 'GET'))[0].id;
    for (;;) {
      // a poll that meets a closing keep-alive connection is simply made again
      const plan = await api(buyer.page.request, 'storage.plan', { planId }, 'GET').catch(() => null);
      if (plan && plan.shards.every((s) => s.copies.filter((c) => c.status === 'STORED').length >= 2)) break;
      if (process.env.BENCH_DEBUG && plan && (Date.now() - t1) % 15_000 < 260) {
        console.log(plan.shards.map((x) => x.copies.map((c) => c.status).join('/')).join(' '));
        for (const l of lenders) console.log((await l.page.locator('main').innerText()).split('\n').filter((line) => /session|error|could not|did not/i.test(line)).join(' | '));
      }
      if (Date.now() - t1 > 300_000) throw new Error('the copies were not stored within 5 minutes');
      await sleep(250);
    }
    const t2 = Date.now();
    // restored on another device of the buyer (a fresh context), as after losing the phone
    const other = await device(`bench-buyer-${id}`, true);
    await other.page.goto('/storage');
    const card = other.page.locator(`[data-plan-id="${planId}"]`);
    await card.getByRole('button', { name: 'Restore…' }).click();
    await card.getByLabel('Recovery key').fill(recoveryKey);
    const t3 = Date.now();
    await card.getByRole('button', { name: 'Restore here' }).click();
    await card.getByTestId('restored-sha256').waitFor({ timeout: 300_000 });
    const t4 = Date.now();
    await other.context.close();
    const bareMs = await bareLoop(buyer.page, lenders[0].page, bytes);
    rows.push({ prepare: t1 - t0, copy: t2 - t1, restore: t4 - t3, bare: bareMs });
    console.log(
      `rep ${rep + 1}: ${MB} MB — prepare ${((t1 - t0) / 1000).toFixed(1)} s; copy ×2 ${((t2 - t1) / 1000).toFixed(1)} s (${rate(2 * bytes, t2 - t1)} MB/s moved); ` +
        `restore ${((t4 - t3) / 1000).toFixed(1)} s (${rate(bytes, t4 - t3)} MB/s); bare data channel ${rate(bytes, bareMs)} MB/s`,
    );
  }
  // let a few periods of challenges run, then read their round trips
  await sleep(3 * PERIOD_S * 1000);
  const db = createClient({ url: databaseUrl });
  const answered = await db.execute(`SELECT "issuedAt", "answeredAt" FROM "StorageChallenge" WHERE "status" = 'PASSED'`);
  const failed = await db.execute(`SELECT COUNT(*) AS n FROM "StorageChallenge" WHERE "status" IN ('FAILED', 'MISSED')`);
  const statuses = await db.execute(`SELECT "status", COUNT(*) AS n FROM "StorageChallenge" GROUP BY "status"`);
  console.log('challenges by status:', Object.fromEntries(statuses.rows.map((r) => [r.status, Number(r.n)])));
  if (process.env.BENCH_LOG) console.log(app.log());
  db.close();
  // Prisma keeps SQLite times as epoch milliseconds or ISO text, whichever it wrote
  const ms = (v) => (typeof v === 'number' || typeof v === 'bigint' ? Number(v) : /^\d+$/.test(String(v)) ? Number(v) : Date.parse(String(v)));
  const rtts = answered.rows.map((r) => ms(r.answeredAt) - ms(r.issuedAt)).filter((x) => Number.isFinite(x));
  console.log(`\nsummary (${MB} MB, ${REPS} runs, medians): prepare ${(median(rows.map((r) => r.prepare)) / 1000).toFixed(1)} s; ` +
    `copy ×2 ${rate(2 * bytes, median(rows.map((r) => r.copy)))} MB/s moved; restore ${rate(bytes, median(rows.map((r) => r.restore)))} MB/s; ` +
    `bare data channel ${rate(bytes, median(rows.map((r) => r.bare)))} MB/s`);
  console.log(`challenge round trip (issued → answer recorded), ${rtts.length} answered, ${Number(failed.rows[0].n)} failed or missed: median ${median(rtts).toFixed(0)} ms, p90 ${pct(rtts, 90)} ms, max ${Math.max(...rtts)} ms`);
} finally {
  await browser.close();
  await stopApp(app);
  rmSync(dir, { recursive: true, force: true });
}
