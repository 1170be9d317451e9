import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The address a request came from, as the coordinator may trust it.
 *
 * What Next.js 16 gives a route handler (read in next/dist/server/base-server.js and
 * lib/router-utils/resolve-routes.js): the `Request` carries no socket, and `request.url` is built from the
 * address the server listens on, not from the connection. `next start` fills in `x-forwarded-for` with the
 * socket's address only when the request has no such header (`headers['x-forwarded-for'] ??= socket.remoteAddress`),
 * so a client that sends its own `X-Forwarded-For` replaces the socket address entirely: the header cannot be
 * trusted, and the socket address is lost by the time a handler runs.
 *
 * So the server process records the address chain itself, before Next sees the request: a subscriber to Node's
 * `http.server.request.start` diagnostics channel (installed by instrumentation.ts) writes
 * `x-swapmesh-address-chain` = the request's own X-Forwarded-For entries followed by the socket address,
 * always overwriting whatever a client sent under that name. The handler then takes the socket address
 * (TRUST_PROXY unset or 0), or the entry TRUST_PROXY hops before it (that many proxies each appended the
 * address they were connected from). A client can prepend anything to X-Forwarded-For but never move the
 * entries the trusted proxies appended.
 *
 * The production API server (server/http/api-server.ts, `npm start`) serves /api/trpc itself from Node's
 * request, socket included, and uses `clientAddressOfSocket` with the same rule; the hook above serves
 * the rest (Next's own routes, and /api/trpc under `next dev`). Under `npm start` Next runs in a thread of its
 * own behind the front thread, which installs the hook and forwards the header (`trustRecordedAddresses`).
 */
export const ADDRESS_CHAIN_HEADER = 'x-swapmesh-address-chain';

const hook = globalThis as typeof globalThis & { swapmeshAddressHook?: boolean };

/** `::ffff:203.0.113.9` → `203.0.113.9`; trims spaces; '' for nothing usable. */
export function normalizeAddress(raw: string): string {
  const address = raw.trim().toLowerCase();
  if (address.length > 64 || !/^[0-9a-f.:]+$/.test(address)) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** The chain `x-forwarded-for entries…, socket address` for one incoming request. */
export function addressChain(forwardedFor: string | string[] | undefined, socketAddress: string | undefined): string {
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const forwarded = header.trim() ? header.split(',') : [];
  return [...forwarded, socketAddress ?? ''].map(normalizeAddress).map((a) => a || '-').slice(-32).join(',');
}

/**
 * The client's address from the recorded chain: the socket address when `trustProxy` is 0, else the entry
 * `trustProxy` hops before it (the first entry when the chain is shorter). 'unknown' without a chain.
 */
export function clientAddressFrom(chain: string | null, trustProxy: number): string {
  if (!chain) return 'unknown';
  const hops = chain.split(',');
  const picked = hops[Math.max(0, hops.length - 1 - trustProxy)] ?? '';
  return picked && picked !== '-' ? picked : 'unknown';
}

/** The client address of a request whose socket is at hand (Node's `req.headers['x-forwarded-for']`, `req.socket.remoteAddress`). */
export function clientAddressOfSocket(forwardedFor: string | string[] | undefined, socketAddress: string | undefined, trustProxy: number): string {
  if (trustProxy === 0) return normalizeAddress(socketAddress ?? '') || 'unknown';
  return clientAddressFrom(addressChain(forwardedFor, socketAddress), trustProxy);
}

/** The client address of an HTTP request, or 'unknown' when this process does not record socket addresses. */
export function clientAddressOf(headers: Headers, trustProxy: number): string {
  return hook.swapmeshAddressHook ? clientAddressFrom(headers.get(ADDRESS_CHAIN_HEADER), trustProxy) : 'unknown';
}

/** Records every incoming request's address chain (see above). Idempotent; Node.js runtime only. */
export function installAddressHook(): void {
  if (hook.swapmeshAddressHook) return;
  subscribe('http.server.request.start', (message) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    request.headers[ADDRESS_CHAIN_HEADER] = addressChain(request.headers['x-forwarded-for'], socket.remoteAddress);
  });
  hook.swapmeshAddressHook = true;
}

/**
 * For a thread that serves only requests another thread of this process forwarded to it over a private
 * socket, after that thread's hook recorded their address chain (`npm start`'s pages thread).
 */
export function trustRecordedAddresses(): void {
  hook.swapmeshAddressHook = true;
}
