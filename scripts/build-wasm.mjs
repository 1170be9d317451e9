#!/usr/bin/env node
/**
 * Compiles the AssemblyScript kernels into the committed modules, so that building the app needs no
 * compiler: workers/kernels/wasm/<kernel>.simd.as.ts with WebAssembly SIMD into <kernel>.wasm (what
 * browsers and Node load), and <kernel>.as.ts without SIMD into <kernel>.scalar.wasm (the fallback
 * for engines without SIMD).
 *
 *   node scripts/build-wasm.mjs           regenerate the .wasm files
 *   node scripts/build-wasm.mjs --check   compile into a temporary folder and fail (exit 1) when
 *                                         any committed .wasm differs from what the sources give
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import asc from 'assemblyscript/asc';

const root = path.resolve(import.meta.dirname, '..');
const wasmDir = path.join(root, 'workers/kernels/wasm');
const KERNELS = ['mandelbrot', 'montecarlo-pi', 'sha256-nonce', 'prime-sieve'];
/** Each kernel's two builds: source, output, extra options. */
const MODULES = KERNELS.flatMap((kernel) => [
  { source: `${kernel}.simd.as.ts`, name: `${kernel}.wasm`, options: ['--enable', 'simd'] },
  { source: `${kernel}.as.ts`, name: `${kernel}.scalar.wasm`, options: [] },
]);
/** Fixed options: what RECIPES.md measured (`-O3 --runtime stub`), no assertions, no source map. */
const OPTIONS = ['-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort='];

async function compile({ source, name, options }, outDir) {
  const entry = path.relative(process.cwd(), path.join(wasmDir, source));
  const outFile = path.join(outDir, name);
  let log = '';
  const sink = { write: (chunk) => ((log += String(chunk)), true) };
  const { error } = await asc.main([entry, ...OPTIONS, ...options, '--outFile', outFile], { stdout: sink, stderr: sink });
  if (error) throw new Error(`asc failed for ${source}: ${error.message}\n${log}`);
  return outFile;
}

const check = process.argv.includes('--check');
const outDir = check ? await mkdtemp(path.join(tmpdir(), 'swapmesh-wasm-')) : wasmDir;
let stale = 0;
try {
  for (const module of MODULES) {
    const { name } = module;
    const built = await compile(module, outDir);
    const bytes = await readFile(built);
    if (check) {
      const committed = await readFile(path.join(wasmDir, name)).catch(() => null);
      const same = committed !== null && Buffer.compare(committed, bytes) === 0;
      if (!same) stale++;
      console.log(`${same ? 'ok   ' : 'STALE'} ${name} (${bytes.length} bytes)${committed ? '' : ' — missing'}`);
    } else {
      console.log(`wrote workers/kernels/wasm/${name} (${bytes.length} bytes)`);
    }
  }
} finally {
  if (check) await rm(outDir, { recursive: true, force: true });
}
if (stale > 0) {
  console.error(`${stale} .wasm file(s) differ from their sources: run node scripts/build-wasm.mjs`);
  process.exit(1);
}
