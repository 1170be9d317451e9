#!/usr/bin/env node
// The headless agent (agent/main.ts: a device with no screen that donates compute with the browser's donor
// loop and sells storage from a folder on disk). `npm run agent -- --help` lists the options.
//
// This launcher bundles agent/main.ts and its compute thread (agent/compute-thread.ts) with esbuild into a
// temporary folder, imports the bundle and runs it; the threads load their own bundle as plain JavaScript.
// node-datachannel (a native module) stays outside the bundle and is loaded from node_modules.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const esbuild = await import('esbuild');
const dir = mkdtempSync(join(tmpdir(), 'swapmesh-agent-'));
let code = 1;
try {
  const require = createRequire(join(ROOT, 'package.json'));
  await esbuild.build({
    entryPoints: { main: join(ROOT, 'agent/main.ts'), 'compute-thread': join(ROOT, 'agent/compute-thread.ts') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    alias: { '@': ROOT },
    // the native WebRTC module is loaded from the project's node_modules, not copied
    plugins: [{
      name: 'project-native',
      setup(build) {
        build.onResolve({ filter: /^node-datachannel(\/.*)?$/ }, (args) => ({ path: pathToFileURL(require.resolve(args.path)).href, external: true }));
      },
    }],
    banner: { js: "import { createRequire as __agentRequire } from 'node:module'; const require = __agentRequire(import.meta.url);" },
    logLevel: 'error',
  });
  const { main } = await import(pathToFileURL(join(dir, 'main.mjs')).href);
  code = await main(process.argv.slice(2), {
    root: ROOT,
    threadFile: join(dir, 'compute-thread.mjs'),
    compile: async (source) => (await esbuild.transform(source, { format: 'iife', globalName: '__member', target: 'es2022', loader: 'js' })).code,
  });
} catch (err) {
  console.error(`[agent] fatal: ${err instanceof Error ? err.message : String(err)}`);
  console.log(`AGENT_SUMMARY ${JSON.stringify({ computed: 0, submitted: 0, validated: 0, failed: 0, error: String(err) })}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(code);
