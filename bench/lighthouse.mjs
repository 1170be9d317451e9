// Lighthouse 11.7 benchmark of the production app on a phone: performance, accessibility,
// best practices and PWA scores, plus the JavaScript the first load of each page downloads, for the
// main routes, beside the issue's targets (performance >= 95, the other three 100, first-load
// JavaScript <= 150 KiB transferred).
//
//   node bench/lighthouse.mjs [--url URL] [--routes /,/market,...] [--runs N] [--json DIR]
//
// --url     a running production server (e.g. http://127.0.0.1:3000/). Without it the script starts
//           one itself on a free loopback port from the existing build in .next (it never builds: run
//           `npm run build` first): `npm start`'s own server (scripts/start.mjs, which applies the
//           migrations), with DATABASE_URL defaulting to file:./data/bench.db; it stops that server when
//           it is done.
// --routes  comma-separated paths, default the main routes: / /market /content /device /trades.
// --runs    run Lighthouse N times per route (default 3): every score and metric printed is the median
//           of the N runs; the first-load JavaScript is the median run's (by performance score).
// --json    also write each route's median run's full Lighthouse report (JSON) into DIR.
//
// Mobile emulation and simulated throttling are Lighthouse's defaults. Chromium is /usr/bin/chromium
// (CHROMIUM_PATH overrides). Each run starts from a fresh profile, so the numbers are a first visit
// of someone signed out. The machine's load average is printed beside the figures: simulated
// throttling scales what it measured on this CPU, so a loaded machine scores lower.
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as chromeLauncher from 'chrome-launcher';
import lighthouse from 'lighthouse';
import { servedBuild } from './support/app-process.mjs';
import { FIRST_LOAD_LIMIT_KIB, MAIN_ROUTES, firstLoadJs as builtFirstLoadJs, servedHeaders } from '../scripts/first-load-js.mjs';

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
    routes: { type: 'string', default: MAIN_ROUTES.join(',') },
    runs: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error('--runs must be an integer from 1 to 20');
const routes = args.routes.split(',').map((r) => r.trim()).filter(Boolean);
if (routes.length === 0 || routes.some((r) => !r.startsWith('/'))) throw new Error('--routes must be paths starting with /, comma-separated');

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

/**
 * Scripts the page itself loaded on first visit (not the service worker's precaching), split at the page's load
 * event: what came before it is the first load; what came after is Next's prefetching of the screens the page
 * links to (the tab bar) and code the page imported on demand.
 */
function firstLoadJs(lhr) {
  const items = lhr.audits['network-requests']?.details?.items ?? [];
  const scripts = items.filter((item) => item.resourceType === 'Script' && (item.sessionTargetType ?? 'page') === 'page');
  const load = lhr.audits.metrics?.details?.items?.[0]?.observedLoad ?? Infinity;
  const sum = (list, key) => list.reduce((total, item) => total + (item[key] ?? 0), 0);
  const first = scripts.filter((item) => (item.rendererStartTime ?? item.networkRequestTime ?? 0) <= load);
  const later = scripts.filter((item) => !first.includes(item));
  return {
    files: first.length,
    transfer: sum(first, 'transferSize'),
    decoded: sum(first, 'resourceSize'),
    laterFiles: later.length,
    laterTransfer: sum(later, 'transferSize'),
  };
}

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
const median = (values) => {
  const sorted = values.filter((v) => v != null).sort((a, b) => a - b);
  return sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)];
};
/** The headers `npm start` sends with a static file, for the first-load figure read from the build. */
const builtHeaders = await servedHeaders();

const TARGETS = { performance: 95, accessibility: 100, 'best-practices': 100, pwa: 100 };
const METRICS = [
  ['largest-contentful-paint', 'LCP', (ms) => `${(ms / 1000).toFixed(1)} s`],
  ['total-blocking-time', 'TBT', (ms) => `${Math.round(ms)} ms`],
  ['cumulative-layout-shift', 'CLS', (v) => v.toFixed(3)],
  ['first-contentful-paint', 'FCP', (ms) => `${(ms / 1000).toFixed(1)} s`],
];

/** The median over the runs of one route: scores, metrics, and the median run's first-load JavaScript. */
function summarize(route, results) {
  const byPerformance = [...results].sort((a, b) => (a.categories.performance?.score ?? 0) - (b.categories.performance?.score ?? 0));
  const middle = byPerformance[Math.floor((byPerformance.length - 1) / 2)];
  const scores = Object.fromEntries(CATEGORIES.map(([id]) => [id, median(results.map((r) => (r.categories[id]?.score == null ? null : Math.round(r.categories[id].score * 100))))]));
  const metrics = Object.fromEntries(METRICS.map(([id]) => [id, median(results.map((r) => r.audits[id]?.numericValue ?? null))]));
  const failing = new Set();
  for (const lhr of results) {
    for (const [id, label] of CATEGORIES.slice(1)) {
      for (const ref of lhr.categories[id]?.auditRefs ?? []) {
        const audit = lhr.audits[ref.id];
        if (ref.weight > 0 && audit && audit.score !== null && audit.score < 1) failing.add(`${label}: ${audit.title}`);
      }
    }
  }
  let built = null;
  try {
    built = builtFirstLoadJs(route, { headers: builtHeaders });
  } catch {
    // a dynamic route, or --url pointing at another build
  }
  return { route, scores, metrics, js: firstLoadJs(middle), built, failing: [...failing], lhr: middle };
}

function printTable(url, summaries, load) {
  const first = summaries[0].lhr;
  const limit = FIRST_LOAD_LIMIT_KIB * 1024;
  console.log(`Lighthouse ${first.lighthouseVersion}, ${first.configSettings.formFactor}, ${first.configSettings.throttlingMethod} throttling, ${url}, median of ${runs} run${runs === 1 ? '' : 's'} per route`);
  console.log(`Load average (1/5/15 min): ${load.before} before, ${load.after} after, on ${load.cpus}`);
  const header = ['Route', ...CATEGORIES.map(([, label]) => label), ...METRICS.map(([, label]) => label), `First-load JS transferred (target ${FIRST_LOAD_LIMIT_KIB} KiB)`, 'gzip in build', 'JS after load'];
  const rows = summaries.map((s) => [
    s.route,
    ...CATEGORIES.map(([id]) => {
      const value = s.scores[id];
      return value == null ? 'n/a' : `${value}${value >= TARGETS[id] ? '' : ' ✗'}`;
    }),
    ...METRICS.map(([id, , show]) => (s.metrics[id] == null ? 'n/a' : show(s.metrics[id]))),
    `${kib(s.js.transfer)}${s.js.transfer <= limit ? '' : ' ✗'} (${s.js.files} files, ${kib(s.js.decoded)} decoded)`,
    s.built ? kib(s.built.gzip) : 'n/a',
    `${kib(s.js.laterTransfer)} (${s.js.laterFiles} files)`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of rows) console.log(line(row));
  console.log('First-load JS: scripts requested before the load event, as transferred (compressed bodies and headers); gzip in build: scripts/first-load-js.mjs;');
  console.log('JS after load: prefetches of the linked screens and code loaded on demand.');
  console.log(`Targets: performance >= ${TARGETS.performance}, accessibility, best practices and PWA ${TARGETS.pwa}, first-load JS <= ${FIRST_LOAD_LIMIT_KIB} KiB (✗: missed).`);
  for (const s of summaries) {
    if (s.failing.length > 0) console.log(`\nNot passing on ${s.route} (in any run):\n${s.failing.map((l) => `  - ${l}`).join('\n')}`);
  }
}

const loadNow = () => loadavg().map((v) => v.toFixed(2)).join(' ');

async function main() {
  const server = args.url ? { url: args.url, stop: async () => {} } : await servedBuild(root);
  const stopOnSignal = () => void server.stop().finally(() => process.exit(130));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const load = { before: loadNow(), after: '', cpus: `${cpus().length} CPUs` };
    const summaries = [];
    for (const route of routes) {
      const results = [];
      for (let i = 0; i < runs; i += 1) results.push(await runLighthouse(new URL(route, server.url).href));
      const summary = summarize(route, results);
      summaries.push(summary);
      if (args.json) {
        await mkdir(args.json, { recursive: true });
        const name = route === '/' ? 'home' : route.replace(/^\//, '').replace(/[^a-z0-9]+/gi, '-');
        await writeFile(path.join(args.json, `${name}.json`), JSON.stringify(summary.lhr, null, 2));
      }
    }
    load.after = loadNow();
    printTable(server.url, summaries, load);
  } finally {
    await server.stop();
  }
}

await main();
