#!/usr/bin/env node
/**
 * Compute kernel bench: each kernel's throughput in Chromium Web Workers, JavaScript reference and
 * WebAssembly builds (SIMD, what the app runs, and scalar, its fallback), against the same kernel in
 * C (gcc -O2, the baseline; -O3 -march=native printed beside it for information) on the same
 * workload in the same run, each kernel's C measured just before its browser runs; then pool
 * scaling of the Mandelbrot render with 1 and 2 workers. Every implementation's result is checked
 * against the others (the "agree" column).
 *
 * Throughput is given twice: from CPU time (the C process's own, and Chromium's processes' from
 * /proc around each pass of the worker, which also counts the page and browser relaying the
 * messages, so it leans against the browser), which other work on a loaded machine does not
 * inflate; and from wall time, best of the runs.
 *
 *   node bench/kernels.mjs [--quick]
 *
 * Needs gcc, /usr/bin/chromium (or CHROMIUM=/path), playwright-core and esbuild from node_modules.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { cpuNs, descendants } from './support/cpu-time.mjs';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const benchDir = path.join(root, 'bench/kernels');
const quick = process.argv.includes('--quick');
const RUNS = quick ? 1 : 3;
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** One workload per kernel, identical for C, JS and WASM. */
const MANDELBROT = { width: 1024, height: 1024, maxIterations: 1000, view: { centerX: -0.5, centerY: 0, scale: 3 } };
const WORK = {
  mandelbrot: {
    params: quick ? { ...MANDELBROT, width: 512, height: 512 } : MANDELBROT,
    units: 64,
    c: (p) => [p.width, p.height, p.maxIterations, p.view.centerX, p.view.centerY, p.view.scale],
    amount: (p) => p.width * p.height,
    unit: 'Mpixel/s',
    check: (r) => fnvOfBase64(r.counts),
  },
  'montecarlo-pi': {
    params: { samples: quick ? 2 ** 22 : 2 ** 25, seed: 42 },
    units: 8,
    c: (p) => [p.seed, p.samples],
    amount: (p) => p.samples,
    unit: 'Msample/s',
    check: (r) => r.hits,
  },
  'sha256-nonce': {
    params: { prefix: 'swapmesh-bench:', difficulty: 16, start: 0, end: quick ? 2 ** 18 : 2 ** 20 },
    units: 8,
    c: (p) => [p.prefix, p.difficulty, p.start, p.end - p.start],
    amount: (p) => p.end - p.start,
    unit: 'Mhash/s',
    check: (r) => `${r.found}:${r.nonces.join(',')}`,
  },
  'prime-sieve': {
    params: { upTo: quick ? 10 ** 7 : 10 ** 8, segmentSize: 2 ** 17 },
    units: 4,
    c: (p) => [p.upTo, p.segmentSize],
    amount: (p) => p.upTo,
    unit: 'Mnumber/s',
    check: (r) => `${r.count}:${r.checksum}:${r.largest}`,
  },
};
const C_CHECK = {
  mandelbrot: (o) => o.fnv,
  'montecarlo-pi': (o) => o.hits,
  'sha256-nonce': (o) => `${o.found}:${o.nonces.join(',')}`,
  'prime-sieve': (o) => `${o.count}:${o.checksum}:${o.largest}`,
};

function fnvOfBase64(counts) {
  const bytes = Buffer.from(counts, 'base64');
  let h = 2166136261;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h;
}

/** The baseline (-O2) and, for information only, what the compiler does for this very machine. */
const C_FLAGS = { o2: ['-O2'], native: ['-O3', '-march=native'] };

async function compileC(tmp) {
  const { stdout } = await run('gcc', ['--version']);
  const bins = {};
  for (const name of Object.keys(WORK)) {
    bins[name] = {};
    for (const [flavour, flags] of Object.entries(C_FLAGS)) {
      bins[name][flavour] = path.join(tmp, `${name}-${flavour}`);
      await run('gcc', [...flags, '-o', bins[name][flavour], path.join(benchDir, `${name}.c`), '-lm']);
    }
  }
  return { bins, gcc: stdout.split('\n')[0] };
}

async function bundle(tmp) {
  const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error' };
  await build({ ...common, entryPoints: [path.join(benchDir, 'worker.ts')], outfile: path.join(tmp, 'worker.js') });
  await build({ ...common, entryPoints: [path.join(benchDir, 'page.ts')], outfile: path.join(tmp, 'page.js') });
}

function serve(tmp) {
  const files = {
    '/': ['text/html', () => Buffer.from('<!doctype html><meta charset="utf-8"><title>kernels</title><script type="module" src="/page.js"></script>')],
    '/page.js': ['text/javascript', () => readFile(path.join(tmp, 'page.js'))],
    '/worker.js': ['text/javascript', () => readFile(path.join(tmp, 'worker.js'))],
  };
  for (const name of Object.keys(WORK)) {
    for (const file of [`${name}.wasm`, `${name}.scalar.wasm`]) {
      files[`/wasm/${file}`] = ['application/wasm', () => readFile(path.join(root, 'workers/kernels/wasm', file))];
    }
  }
  const server = createServer(async (req, res) => {
    const entry = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (!entry) return res.writeHead(404).end();
    const body = await entry[1]();
    res.writeHead(200, { 'content-type': entry[0], 'cache-control': 'no-store' }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
function table(headers, rows) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => '| ' + cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ') + ' |';
  return [line(headers), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

const loadAtStart = loadavg().map((x) => x.toFixed(2)).join(' ');
const tmp = await mkdtemp(path.join(tmpdir(), 'swapmesh-kernels-bench-'));
let server;
let browser;
try {
  const { bins, gcc } = await compileC(tmp);
  const cResults = {};
  const cNative = {};
  const runC = async (name, flavour) => {
    const w = WORK[name];
    const { stdout } = await run(bins[name][flavour], [...w.c(w.params), RUNS].map(String));
    return JSON.parse(stdout);
  };

  await bundle(tmp);
  server = await serve(tmp);
  const origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(origin);
  await page.waitForFunction(() => 'kernelBench' in window);
  const version = browser.version();
  const { speedups, failed, simd } = await page.evaluate(() => window.kernelBench.speedups());

  const rows = [];
  const cpuRows = [];
  for (const [name, w] of Object.entries(WORK)) {
    cResults[name] = await runC(name, 'o2');
    cNative[name] = await runC(name, 'native');
    const measured = {};
    for (const impl of ['js', 'wasm-scalar', 'wasm']) {
      const session = await page.evaluate(([n, p, u, i]) => window.kernelBench.open(n, p, u, i), [name, w.params, w.units, impl]);
      let ms = Infinity;
      let cpuMs = Infinity;
      for (let r = 0; r < RUNS; r++) {
        const pids = descendants(process.pid);
        const c0 = cpuNs(pids);
        const wall = await page.evaluate((id) => window.kernelBench.runOpen(id), session);
        const cpu = (cpuNs(pids) - c0) / 1e6;
        ms = Math.min(ms, wall);
        cpuMs = Math.min(cpuMs, cpu);
      }
      const result = await page.evaluate((id) => window.kernelBench.close(id), session);
      measured[impl] = { ms, cpuMs, result };
    }
    const amount = w.amount(w.params) / 1e6;
    const rate = (seconds) => amount / seconds;
    const cpuRow = (label) => {
      const c = rate(cResults[name].cpuSeconds);
      const r = (impl) => rate(measured[impl].cpuMs / 1000);
      return [name, w.unit, fmt(c), fmt(r('js')), fmt(r('js') / c, 2), fmt(r('wasm-scalar')), fmt(r('wasm-scalar') / c, 2), fmt(r('wasm')), fmt(r('wasm') / c, 2), `${fmt(rate(cNative[name].cpuSeconds))} (${fmt(rate(cNative[name].cpuSeconds) / c, 2)}×)`, label];
    };
    const c = amount / cResults[name].seconds;
    const js = amount / (measured.js.ms / 1000);
    const wasm = amount / (measured.wasm.ms / 1000);
    const scalar = amount / (measured['wasm-scalar'].ms / 1000);
    const native = amount / cNative[name].seconds;
    const checks = [
      C_CHECK[name](cResults[name]),
      C_CHECK[name](cNative[name]),
      w.check(measured.js.result),
      w.check(measured['wasm-scalar'].result),
      w.check(measured.wasm.result),
    ];
    const agree = checks.every((x) => x === checks[0]);
    cpuRows.push(cpuRow(agree ? 'yes' : 'NO'));
    rows.push([
      name,
      w.unit,
      fmt(c),
      fmt(js),
      fmt(js / c, 2),
      fmt(scalar),
      fmt(scalar / c, 2),
      fmt(wasm),
      fmt(wasm / c, 2),
      `${fmt(native)} (${fmt(native / c, 2)}×)`,
      fmt(speedups[name] ?? NaN, 2),
      agree ? 'yes' : `NO ${JSON.stringify(checks)}`,
    ]);
  }

  const poolRows = [];
  const m = WORK.mandelbrot;
  const reference = C_CHECK.mandelbrot(cResults.mandelbrot);
  for (const impl of ['js', 'wasm']) {
    const times = {};
    let agree = true;
    for (const workers of [1, 2]) {
      const r = await page.evaluate(
        ([n, p, u, i, k, runs]) => window.kernelBench.pool(n, k, p, u, i, runs),
        [workers, m.params, m.units, impl, 'mandelbrot', RUNS],
      );
      times[workers] = r.ms;
      agree &&= m.check(r.result) === reference;
    }
    const mpx = (ms) => (m.amount(m.params) / 1e6) / (ms / 1000);
    poolRows.push([impl, fmt(times[1], 0), fmt(mpx(times[1])), fmt(times[2], 0), fmt(mpx(times[2])), fmt(times[1] / times[2], 2), agree ? 'yes' : 'NO']);
  }

  const p = m.params;
  console.log(`Compute kernels — Chromium ${version} Web Workers vs ${gcc} -O2, best of ${RUNS}, ${new Date().toISOString()}`);
  console.log(`WebAssembly SIMD in the worker: ${simd ? 'yes' : 'NO (the WASM SIMD column then fails)'}${Object.keys(failed).length ? `; modules that failed: ${JSON.stringify(failed)}` : ''}`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; load average at start ${loadAtStart}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`workloads: mandelbrot ${p.width}x${p.height} at ${p.maxIterations} iterations (view -0.5,0 scale 3); montecarlo-pi ${WORK['montecarlo-pi'].params.samples} samples; sha256-nonce ${WORK['sha256-nonce'].params.end} nonces at difficulty 16; prime-sieve up to ${WORK['prime-sieve'].params.upTo}\n`);
  console.log('From CPU time (best of the runs; the browser side counts all of Chromium\'s processes):\n');
  console.log(
    table(
      ['kernel', 'unit', 'C gcc -O2', 'JS worker', 'JS/C', 'WASM scalar', 'scalar/C', 'WASM SIMD', 'SIMD/C', 'C -O3 -march=native (info)', 'results agree'],
      cpuRows,
    ),
  );
  console.log('\nFrom wall time (best of the runs):\n');
  console.log(
    table(
      ['kernel', 'unit', 'C gcc -O2', 'JS worker', 'JS/C', 'WASM scalar', 'scalar/C', 'WASM SIMD', 'SIMD/C', 'C -O3 -march=native (info)', 'calibration SIMD/JS', 'results agree'],
      rows,
    ),
  );
  console.log('\nMandelbrot pool scaling (wall time on the page, tiles handed out one at a time)\n');
  console.log(table(['impl', '1 worker ms', 'Mpixel/s', '2 workers ms', 'Mpixel/s', 'scaling', 'image = C'], poolRows));
  if (pageErrors.length > 0) console.log('\npage errors:', pageErrors);
} finally {
  await browser?.close();
  server?.close();
  await rm(tmp, { recursive: true, force: true });
}
