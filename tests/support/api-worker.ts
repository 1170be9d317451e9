/**
 * A coordinator process for multi-process tests on PostgreSQL (run with jiti): the API server of `npm start`
 * (server/http/api-server.ts) on an ephemeral loopback port, against DATABASE_URL. Prints `{ "port": n }`
 * once listening; exits when stdin closes (the test ended) or after a hard deadline.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiHandler } from '../../server/http/api-server';

const server = createServer(createApiHandler({ trustProxy: 0 }));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(3), 180_000).unref();
