#!/usr/bin/env node
/**
 * Compiles the AssemblyScript kernels (workers/kernels/wasm/<kernel>.as.ts) into the committed
 * workers/kernels/wasm/<kernel>.wasm, so that building the app needs no compiler.
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
const MODULES = ['mandelbrot', 'montecarlo-pi', 'sha256-nonce', 'prime-sieve'];
/** Fixed options: what RECIPES.md measured (`-O3 --runtime stub`), no assertions, no source map. */
const OPTIONS = ['-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort='];

async function compile(name, outDir) {
  const entry = path.relative(process.cwd(), path.join(wasmDir, `${name}.as.ts`));
  const outFile = path.join(outDir, `${name}.wasm`);
  let log = '';
  const sink = { write: (chunk) => ((log += String(chunk)), true) };
  const { error } = await asc.main([entry, ...OPTIONS, '--outFile', outFile], { stdout: sink, stderr: sink });
  if (error) throw new Error(`asc failed for ${name}: ${error.message}\n${log}`);
  return outFile;
}

const check = process.argv.includes('--check');
const outDir = check ? await mkdtemp(path.join(tmpdir(), 'swapmesh-wasm-')) : wasmDir;
let stale = 0;
try {
  for (const name of MODULES) {
    const built = await compile(name, outDir);
    const bytes = await readFile(built);
    if (check) {
      const committed = await readFile(path.join(wasmDir, `${name}.wasm`)).catch(() => null);
      const same = committed !== null && Buffer.compare(committed, bytes) === 0;
      if (!same) stale++;
      console.log(`${same ? 'ok   ' : 'STALE'} ${name}.wasm (${bytes.length} bytes)${committed ? '' : ' — missing'}`);
    } else {
      console.log(`wrote workers/kernels/wasm/${name}.wasm (${bytes.length} bytes)`);
    }
  }
} finally {
  if (check) await rm(outDir, { recursive: true, force: true });
}
if (stale > 0) {
  console.error(`${stale} .wasm file(s) differ from their sources: run node scripts/build-wasm.mjs`);
  process.exit(1);
}
