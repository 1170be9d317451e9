// `npm start`: applies pending migrations, then serves the production build on PORT (default 3000) and
// HOSTNAME (default: all interfaces, reachable as http://localhost:3000) from one `node:http` server:
// requests under /api/trpc go to tRPC's own Node adapter (server/http/api-server.ts, bundled by
// `npm run build` into .next/api-server/index.mjs), everything else to Next's request handler (Next's
// documented custom-server setup; instrumentation.ts runs in app.prepare(): sweepers, retention, the
// client-address hook).
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DEFAULT_DATABASE_URL, migrate } from './migrate-lib.mjs';
import { brotliStatic, staticHeaders } from './static-brotli.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
try {
  await migrate(databaseUrl);
} catch (error) {
  console.error(`migrate: ${error.message}`);
  process.exit(1);
}

// what `next start` sets up for the app's code
process.env.DATABASE_URL = databaseUrl;
process.env.NEXT_TELEMETRY_DISABLED = '1';
process.env.NODE_ENV = 'production';

const apiBundle = path.join(root, '.next', 'api-server', 'index.mjs');
if (!existsSync(path.join(root, '.next', 'BUILD_ID')) || !existsSync(apiBundle)) {
  console.error(`No production build in ${path.join(root, '.next')}: run \`npm run build\` first.`);
  process.exit(1);
}

const port = Number(process.env.PORT || 3000);
const hostname = process.env.HOSTNAME || undefined;

// the headers next.config.js sends, with the API's answers as with pages (and with a static file: staticHeaders)
const nextConfig = await import(pathToFileURL(path.join(root, 'next.config.js')).href);
const headerRules = (await nextConfig.default.headers?.()) ?? [];
const pairsOf = (source) => (headerRules.find((rule) => rule.source === source)?.headers ?? []).map(({ key, value }) => [key, value]);

const { createApiHandler, isTrpcPath } = await import(pathToFileURL(apiBundle).href);
const api = createApiHandler({ headers: [...pairsOf('/:path*'), ...pairsOf('/((?!_next/static/).*)')] });

const { default: next } = await import('next');
let handleNext = null;
// SWAPMESH_TRPC_VIA_NEXT=1 leaves /api/trpc to Next's route handler, as before (for comparison: bench/api-http.mjs)
const viaNext = process.env.SWAPMESH_TRPC_VIA_NEXT === '1';
// scripts and stylesheets as Brotli when the browser accepts it (scripts/static-brotli.mjs)
const serveBrotli = brotliStatic({ nextDir: path.join(root, '.next'), headers: await staticHeaders(nextConfig) });
const server = createServer((req, res) => {
  if (!viaNext && isTrpcPath(req.url)) return api(req, res);
  if (serveBrotli(req, res)) return;
  if (handleNext) return handleNext(req, res);
  res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('Starting: try again in a moment.');
});
const app = next({ dev: false, dir: root, hostname: hostname ?? 'localhost', port, httpServer: server });
await app.prepare();
handleNext = app.getRequestHandler();
// instrumentation.ts ran in app.prepare() (it installs this hook first, then the sweepers and retention)
if (!globalThis.swapmeshAddressHook) console.warn('warning: instrumentation.ts did not run: no sweepers, no retention');

server.listen(port, hostname, () => {
  console.log(`Swapmesh ready on http://${hostname ?? 'localhost'}:${port} (/api/trpc: ${viaNext ? 'Next.js route' : 'tRPC Node adapter'}; pages: Next.js)`);
});
server.on('error', (error) => {
  console.error(`server: ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    app.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3_000).unref();
  });
}
