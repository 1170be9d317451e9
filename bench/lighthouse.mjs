// Lighthouse 11.7 benchmark of the production app on a phone: performance, accessibility,
// best practices and PWA scores, plus the JavaScript the first load of the page downloads.
//
//   node bench/lighthouse.mjs [--url URL] [--runs N] [--json FILE]
//
// --url   a running production server (e.g. http://127.0.0.1:3000/). Without it the script starts
//         one itself on a free loopback port from the existing build in .next (it never builds: run
//         `npm run build` first): `node scripts/migrate.mjs`, then `next start`, with DATABASE_URL
//         defaulting to file:./data/bench.db; it stops that server when it is done.
// --runs  run Lighthouse N times (default 1) and report the run with the median performance score.
// --json  also write that run's full Lighthouse report (JSON) to FILE.
//
// Mobile emulation and simulated throttling are Lighthouse's defaults. Chromium is /usr/bin/chromium
// (CHROMIUM_PATH overrides). Each run starts from a fresh profile, so the numbers are a first visit.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const CHROME_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const CATEGORIES = [
  ['performance', 'Performance'],
  ['accessibility', 'Accessibility'],
  ['best-practices', 'Best practices'],
  ['pwa', 'PWA'],
];

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    runs: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs must be an integer from 1 to 20');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForHttp(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`next start exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** Starts `next start` in its own process group, so stopping it also stops its next-server child. */
async function startNext() {
  if (!existsSync(path.join(root, '.next', 'BUILD_ID'))) {
    throw new Error('No production build in .next: run `npm run build` first, or pass --url.');
  }
  const env = {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL ?? 'file:./data/bench.db',
    NEXT_TELEMETRY_DISABLED: '1',
  };
  if (existsSync(path.join(root, 'scripts', 'migrate.mjs'))) {
    const migrate = spawnSync(process.execPath, ['scripts/migrate.mjs'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (migrate.status !== 0) throw new Error(`scripts/migrate.mjs failed with code ${migrate.status}`);
  }
  const port = await freePort();
  const child = spawn(path.join(root, 'node_modules', '.bin', 'next'), ['start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit'],
    env,
  });
  const stop = () => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitForHttp(url, child, 60_000);
  } catch (error) {
    stop();
    throw error;
  }
  return { url, stop };
}

async function runLighthouse(url) {
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    chromeFlags: CHROME_FLAGS,
  });
  try {
    const result = await lighthouse(url, {
      port: chrome.port,
      output: 'json',
      logLevel: 'error',
      onlyCategories: CATEGORIES.map(([id]) => id),
    });
    if (!result) throw new Error('Lighthouse returned no result');
    return result.lhr;
  } finally {
    await chrome.kill();
  }
}

/** Scripts the page itself loaded on first visit (not the service worker's precaching). */
function firstLoadJs(lhr) {
  const items = lhr.audits['network-requests']?.details?.items ?? [];
  const scripts = items.filter((item) => item.resourceType === 'Script' && (item.sessionTargetType ?? 'page') === 'page');
  return {
    files: scripts.length,
    transfer: scripts.reduce((sum, item) => sum + (item.transferSize ?? 0), 0),
    decoded: scripts.reduce((sum, item) => sum + (item.resourceSize ?? 0), 0),
  };
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const score = (category) => (category?.score == null ? 'n/a' : String(Math.round(category.score * 100)));

function printTable(lhr, url, runCount) {
  const rows = CATEGORIES.map(([id, label]) => [label, score(lhr.categories[id])]);
  const metric = (id) => lhr.audits[id]?.displayValue ?? 'n/a';
  rows.push(
    ['First Contentful Paint', metric('first-contentful-paint')],
    ['Largest Contentful Paint', metric('largest-contentful-paint')],
    ['Total Blocking Time', metric('total-blocking-time')],
    ['Cumulative Layout Shift', metric('cumulative-layout-shift')],
  );
  const js = firstLoadJs(lhr);
  rows.push(['First-load JS', `${kib(js.transfer)} transferred, ${kib(js.decoded)} decoded, ${js.files} files`]);

  const width = Math.max(...rows.map(([label]) => label.length));
  const valueWidth = Math.max(...rows.map(([, value]) => value.length));
  console.log(`Lighthouse ${lhr.lighthouseVersion}, ${lhr.configSettings.formFactor}, ${lhr.configSettings.throttlingMethod} throttling, ${url}${runCount > 1 ? `, median of ${runCount} runs` : ''}`);
  console.log(`| ${'Measure'.padEnd(width)} | ${'Value'.padEnd(valueWidth)} |`);
  console.log(`| ${'-'.repeat(width)} | ${'-'.repeat(valueWidth)} |`);
  for (const [label, value] of rows) console.log(`| ${label.padEnd(width)} | ${value.padEnd(valueWidth)} |`);

  const failing = [];
  for (const [id, label] of CATEGORIES.slice(1)) {
    for (const ref of lhr.categories[id]?.auditRefs ?? []) {
      const audit = lhr.audits[ref.id];
      if (ref.weight > 0 && audit && audit.score !== null && audit.score < 1) failing.push(`${label}: ${audit.title}`);
    }
  }
  if (failing.length > 0) console.log(`\nNot passing:\n${failing.map((line) => `  - ${line}`).join('\n')}`);
}

async function main() {
  const server = args.url ? { url: args.url, stop: () => {} } : await startNext();
  const stopOnSignal = () => {
    server.stop();
    process.exit(130);
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const results = [];
    for (let i = 0; i < runs; i += 1) results.push(await runLighthouse(server.url));
    results.sort((a, b) => (a.categories.performance?.score ?? 0) - (b.categories.performance?.score ?? 0));
    const median = results[Math.floor((results.length - 1) / 2)];
    if (args.json) await writeFile(args.json, JSON.stringify(median, null, 2));
    printTable(median, server.url, runs);
  } finally {
    server.stop();
  }
}

await main();
