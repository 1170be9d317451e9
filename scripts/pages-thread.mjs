// The pages thread of `npm start` (scripts/start.mjs): Next.js's request handler on a private Unix socket,
// reached only through the front thread, which records each request's address and serves /api/trpc itself.
// Next runs here so that its per-request machinery (AsyncLocalStorage, which on Node 20 hooks every promise
// of the thread it runs in) and its heap stay off the thread that answers the API.
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { root, socketPath, hostname, port } = workerData;
const { default: next } = await import('next');

let handle = null;
const server = createServer((req, res) => handle(req, res));
const app = next({ dev: false, dir: root, hostname, port, httpServer: server });
await app.prepare();
handle = app.getRequestHandler();
// instrumentation.ts ran in app.prepare() (SWAPMESH_PAGES_THREAD: it trusts the forwarded address chain)
server.listen(socketPath, () => parentPort.postMessage({ ready: true, instrumented: Boolean(globalThis.swapmeshAddressHook) }));
server.on('error', (error) => parentPort.postMessage({ error: error.message }));

parentPort.on('message', (message) => {
  if (message !== 'close') return;
  server.close();
  server.closeAllConnections?.();
  app.close().finally(() => parentPort.postMessage({ closed: true }));
});
