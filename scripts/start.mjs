// `npm start`: applies pending migrations, then serves the production build on PORT (default 3000) and
// HOSTNAME (default: all interfaces, reachable as http://localhost:3000) from one `node:http` server in the
// main thread (the front): requests under /api/trpc go to tRPC's own Node adapter (server/http/api-server.ts,
// bundled by `npm run build` into .next/api-server/index.mjs), compressed static files are sent as they are,
// and everything else is forwarded to Next's request handler, which runs in a worker thread of its own
// (scripts/pages-thread.mjs) behind a private Unix socket. The front thread also records each request's
// address and runs the coordinator's periodic work (sweepers, retention: server/maintenance/start.ts).
import { Agent, createServer, request } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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

const { createApiHandler, isTrpcPath, startCoordinatorWork } = await import(pathToFileURL(apiBundle).href);
const api = createApiHandler({ headers: [...pairsOf('/:path*'), ...pairsOf('/((?!_next/static/).*)')] });
// first: every request's address is recorded from here on (server/auth/client-address.ts)
startCoordinatorWork();

// SWAPMESH_TRPC_VIA_NEXT=1 leaves /api/trpc to Next's route handler, as before (for comparison: bench/api-http.mjs)
const viaNext = process.env.SWAPMESH_TRPC_VIA_NEXT === '1';

// Next.js in its own thread, listening on a socket in a directory only this user can enter
const socketDir = mkdtempSync(path.join(tmpdir(), 'swapmesh-pages-'));
const socketPath = path.join(socketDir, 'pages.sock');
process.on('exit', () => rmSync(socketDir, { recursive: true, force: true }));
const pages = new Worker(path.join(root, 'scripts', 'pages-thread.mjs'), {
  workerData: { root, socketPath, hostname: hostname ?? 'localhost', port },
  env: { ...process.env, SWAPMESH_PAGES_THREAD: '1' },
});
let pagesReady = false;
let listening = false;
let closing = false;
const announce = () => {
  if (pagesReady && listening) console.log(`Swapmesh ready on http://${hostname ?? 'localhost'}:${port} (/api/trpc: ${viaNext ? 'Next.js route' : 'tRPC Node adapter'}; pages: Next.js in their own thread)`);
};
pages.on('message', (message) => {
  if (message.error) console.error(`pages: ${message.error}`);
  if (!message.ready) return;
  pagesReady = true;
  announce();
  if (!message.instrumented) console.warn('warning: instrumentation.ts did not run in the pages thread: page routes see no client address');
});
pages.on('error', (error) => console.error('pages thread:', error));
pages.on('exit', (code) => {
  if (closing) return;
  console.error(`pages thread exited (${code}): stopping`);
  process.exit(1);
});

const pagesAgent = new Agent({ keepAlive: true });
// hop-by-hop headers stay with their own connection (RFC 9110 §7.6.1)
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const endToEnd = (headers) => Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));

/** Forwards a request to the pages thread and streams its answer back. */
function toPages(req, res) {
  const upstream = request({ agent: pagesAgent, socketPath, method: req.method, path: req.url, headers: endToEnd(req.headers) }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (res.headersSent) res.destroy();
    else res.writeHead(502, { 'content-type': 'text/plain' }).end('The pages are not answering: try again in a moment.');
  });
  // a reader who goes away stops the page's rendering too
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

// scripts and stylesheets as Brotli when the browser accepts it (scripts/static-brotli.mjs)
const serveBrotli = brotliStatic({ nextDir: path.join(root, '.next'), headers: await staticHeaders(nextConfig) });
const server = createServer((req, res) => {
  if (!viaNext && isTrpcPath(req.url)) return api(req, res);
  if (serveBrotli(req, res)) return;
  if (pagesReady) return toPages(req, res);
  res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('Starting: try again in a moment.');
});

server.listen(port, hostname, () => {
  listening = true;
  announce();
});
server.on('error', (error) => {
  console.error(`server: ${error.message}`);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    closing = true;
    server.close();
    server.closeAllConnections?.();
    const done = () => process.exit(0);
    pages.on('message', (message) => message.closed && done());
    pages.postMessage('close');
    setTimeout(done, 3_000).unref();
  });
}
