// Main-thread work while the main routes load, from Chromium traces: what Lighthouse's Total Blocking Time is made
// of, measured directly rather than simulated. Each route is loaded as a first visit (fresh context, signed out) on
// a Pixel 7 viewport with the CPU slowed 4× (what Lighthouse's mobile profile assumes), traced with the DevTools
// timeline categories until 5 s after the load event, and each top-level main-thread task is sorted by
// what ran in it: script evaluation (compile and run a file), functions called from the event loop (hydration,
// React's scheduler, timers), layout and style, HTML parsing, and the rest.
//
//   node bench/long-tasks.mjs [--url URL] [--routes /,/market,...] [--runs N] [--rate 4] [--verbose]
//
// --rate 1 runs at full speed and adds an estimate of Lighthouse's TBT from each task's thread CPU time (see
// analyze()), the figure least moved by other work on the machine.
//
// Without --url it starts `npm start`'s server on the existing build (like bench/lighthouse.mjs). Prints, per
// route, the median over the runs of: long tasks (> 50 ms) and their count, blocking time (the sum of each long
// task's part beyond 50 ms, between first contentful paint and the end of the trace: TBT's definition), all
// main-thread task time, and the longest task with what filled it. The machine's load average is printed beside:
// on a loaded machine every figure grows, so compare runs taken at similar load.
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, devices } from '@playwright/test';
import { MAIN_ROUTES } from '../scripts/first-load-js.mjs';
import { servedBuild } from './support/app-process.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    routes: { type: 'string', default: MAIN_ROUTES.join(',') },
    runs: { type: 'string', default: '3' },
    rate: { type: 'string', default: '4' },
    verbose: { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);
const rate = Number(args.rate);
const routes = args.routes.split(',').map((r) => r.trim()).filter(Boolean);

/** What a top-level task's time went to, by its children's names (self time of the task itself is "other"). */
const KIND = {
  EvaluateScript: 'script evaluation',
  'v8.compile': 'script evaluation',
  'v8.compileModule': 'script evaluation',
  'v8.evaluateModule': 'script evaluation',
  FunctionCall: 'functions (hydration, scheduler, timers)',
  TimerFire: 'functions (hydration, scheduler, timers)',
  FireAnimationFrame: 'functions (hydration, scheduler, timers)',
  EventDispatch: 'functions (hydration, scheduler, timers)',
  'V8.GCScavenger': 'garbage collection',
  MajorGC: 'garbage collection',
  MinorGC: 'garbage collection',
  Layout: 'layout and style',
  UpdateLayoutTree: 'layout and style',
  ParseHTML: 'HTML parsing',
  ParseAuthorStyleSheet: 'layout and style',
  Paint: 'paint',
  PrePaint: 'paint',
};

async function traceRoute(browser, url) {
  const context = await browser.newContext({ ...devices['Pixel 7'], serviceWorkers: 'block' });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate });
  const events = [];
  cdp.on('Tracing.dataCollected', ({ value }) => events.push(...value));
  const done = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.start', {
    transferMode: 'ReportEvents',
    traceConfig: { includedCategories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink.user_timing', 'loading'] },
  });
  await page.goto(url, { waitUntil: 'load' });
  // what runs after the load event (deferred parts, prefetches) counts too: TBT runs until the page is quiet
  await page.waitForTimeout(5000);
  await cdp.send('Tracing.end');
  await done;
  await context.close();
  return analyze(events);
}

function analyze(events) {
  // the page's main thread: the renderer thread that committed the navigation
  const navigation = events.find((e) => e.name === 'firstContentfulPaint') ?? events.find((e) => e.name === 'navigationStart');
  if (!navigation) throw new Error('no navigation in the trace');
  const { pid, tid } = navigation;
  const fcp = events.find((e) => e.name === 'firstContentfulPaint' && e.pid === pid)?.ts ?? 0;
  const start = events.find((e) => e.name === 'navigationStart' && e.pid === pid)?.ts ?? fcp;
  const onMain = events.filter((e) => e.pid === pid && e.tid === tid && e.ph === 'X' && typeof e.dur === 'number');
  const tasks = onMain.filter((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask').sort((a, b) => a.ts - b.ts);
  const top = [];
  let end = -1;
  for (const task of tasks) {
    if (task.ts >= end) {
      top.push(task);
      end = task.ts + task.dur;
    }
  }
  const children = onMain.filter((e) => e.name !== 'RunTask' && e.name !== 'ThreadControllerImpl::RunTask');
  const breakdown = (task) => {
    const inside = children.filter((e) => e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur + 1);
    // outermost children only
    const byKind = {};
    let covered = -1;
    let urls = {};
    const names = {};
    for (const e of inside) {
      const label = e.name === 'FunctionCall' ? `FunctionCall ${e.args?.data?.functionName || '(anonymous)'}` : e.name;
      names[label] = Math.max(names[label] ?? 0, e.dur / 1000);
    }
    for (const e of inside.sort((a, b) => a.ts - b.ts)) {
      if (e.ts < covered) continue;
      const kind = KIND[e.name];
      if (!kind) continue;
      covered = e.ts + e.dur;
      byKind[kind] = (byKind[kind] ?? 0) + e.dur / 1000;
      const file = e.args?.data?.url ?? e.args?.data?.fileName ?? e.args?.fileName;
      if (file) urls[file.replace(/^https?:\/\/[^/]+/, '')] = (urls[file.replace(/^https?:\/\/[^/]+/, '')] ?? 0) + e.dur / 1000;
    }
    return { byKind, urls, names };
  };
  const long = top.filter((t) => t.dur / 1000 > 50);
  const blocking = long.filter((t) => t.ts + t.dur > fcp).reduce((sum, t) => sum + (t.dur / 1000 - 50), 0);
  // The same from each task's thread time (CPU time on the main thread), which a loaded machine does not inflate:
  // with --rate 1 (no slowdown), 4 × thread time is what Lighthouse's simulated throttling makes of a task on a
  // quiet machine, so `estimated TBT` is Σ max(0, 4 × thread time − 50 ms) over the tasks after first paint.
  const total = top.reduce((sum, t) => sum + t.dur / 1000, 0);
  const cpu = (t) => (t.tdur ?? t.dur) / 1000;
  const longCpu = top.filter((t) => cpu(t) > 50);
  const blockingCpu = longCpu.filter((t) => t.ts + t.dur > fcp).reduce((sum, t) => sum + (cpu(t) - 50), 0);
  const totalCpu = top.reduce((sum, t) => sum + cpu(t), 0);
  const estimatedTbt = top.filter((t) => t.ts + t.dur > fcp).reduce((sum, t) => sum + Math.max(0, 4 * cpu(t) - 50), 0);
  const estimatedLong = top.filter((t) => 4 * cpu(t) > 50).length;
  const byKind = {};
  for (const t of long) for (const [k, v] of Object.entries(breakdown(t).byKind)) byKind[k] = (byKind[k] ?? 0) + v;
  const longest = long.reduce((a, b) => (b.dur > (a?.dur ?? 0) ? b : a), null);
  return {
    fcp: (fcp - start) / 1000,
    longCount: long.length,
    longTotal: long.reduce((sum, t) => sum + t.dur / 1000, 0),
    blocking,
    total,
    blockingCpu,
    estimatedTbt,
    estimatedLong,
    longCpuCount: longCpu.length,
    totalCpu,
    hasThreadTime: top.some((t) => typeof t.tdur === 'number'),
    byKind,
    longest: longest ? { ms: longest.dur / 1000, at: (longest.ts - start) / 1000, ...breakdown(longest) } : null,
    long: long.map((t) => ({ ms: t.dur / 1000, at: (t.ts - start) / 1000, ...breakdown(t) })),
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const ms = (v) => `${Math.round(v)} ms`;

async function main() {
  const server = args.url ? { url: args.url, stop: async () => {} } : await servedBuild(root);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const loadBefore = loadavg().map((v) => v.toFixed(2)).join(' ');
  const rows = [];
  try {
    for (const route of routes) {
      const results = [];
      for (let i = 0; i < runs; i += 1) results.push(await traceRoute(browser, new URL(route, server.url).href));
      const mid = [...results].sort((a, b) => a.blocking - b.blocking)[Math.floor((results.length - 1) / 2)];
      rows.push({ route, results, mid });
      if (args.verbose) {
        for (const t of mid.long) {
          console.log(`${route} long task ${ms(t.ms)} at ${ms(t.at)}: ${Object.entries(t.byKind).map(([k, v]) => `${k} ${ms(v)}`).join(', ')}`);
          for (const [u, v] of Object.entries(t.urls).sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`    ${u} ${ms(v)}`);
          console.log(`    longest events inside: ${Object.entries(t.names).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, v]) => `${n} ${ms(v)}`).join(', ')}`);
        }
      }
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  console.log(`Main-thread tasks while loading, CPU slowed ${rate}×, Pixel 7 viewport, first visit signed out, median of ${runs}`);
  console.log(`Load average (1/5/15 min): ${loadBefore} before, ${loadavg().map((v) => v.toFixed(2)).join(' ')} after`);
  const estimate = rate === 1;
  console.log(`| route | blocking time (> 50 ms parts after FCP) | long tasks | long-task total | all task time | by thread CPU time: ${estimate ? 'estimated TBT (4× thread time) / tasks over 12.5 ms' : 'blocking / long tasks'} / all | longest task, what filled it |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const { route, results, mid } of rows) {
    const what = mid.longest ? Object.entries(mid.longest.byKind).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${ms(v)}`).join(', ') : '—';
    console.log(
      `| ${route} | ${ms(median(results.map((r) => r.blocking)))} | ${median(results.map((r) => r.longCount))} | ${ms(median(results.map((r) => r.longTotal)))} | ${ms(median(results.map((r) => r.total)))} | ${results[0].hasThreadTime ? (estimate ? `${ms(median(results.map((r) => r.estimatedTbt)))} / ${median(results.map((r) => r.estimatedLong))}` : `${ms(median(results.map((r) => r.blockingCpu)))} / ${median(results.map((r) => r.longCpuCount))}`) + ` / ${ms(median(results.map((r) => r.totalCpu)))}` : 'n/a'} | ${mid.longest ? `${ms(mid.longest.ms)}: ${what}` : '—'} |`,
    );
  }
}

await main();
