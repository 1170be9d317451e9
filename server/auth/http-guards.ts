/**
 * Checks on tRPC's HTTP requests, before any procedure runs: by the production API server
 * (server/http/api-server.ts) and by the Next route of `next dev` (app/api/trpc/[trpc]/route.ts), both
 * through server/http/trpc-request.ts. Pure functions over the method, URL and headers, so they are
 * unit-tested without a server.
 */
export const MAX_BATCH_CALLS = 16;

/** What the guards read of a request's headers: a fetch `Headers`, or a view of Node's `req.headers`. */
export type HeaderReader = { get(name: string): string | null };

export type Refusal = { status: 400 | 403 | 415; message: string };

/** The number of calls in a tRPC request (`/api/trpc/a,b,c?batch=1`). */
export function callsIn(url: URL, endpoint = '/api/trpc'): number {
  if (url.searchParams.get('batch') !== '1') return 1;
  const path = url.pathname.startsWith(`${endpoint}/`) ? url.pathname.slice(endpoint.length + 1) : '';
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // an undecodable path is tRPC's to refuse
  }
  return decoded.split(',').length;
}

/** `application/json; charset=utf-8` → `application/json`. */
export const mediaType = (contentType: string | null) => (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();

/**
 * Whether a state-changing request comes from the app's own pages (or from no browser at all). Browsers send
 * Sec-Fetch-Site on every request: only `same-origin` (the app's pages) and `none` (typed by the person) pass.
 * Older browsers send Origin on cross-origin POSTs: it must name the host the request was sent to. A request
 * with neither header is not from a browser page (the headless agent, scripts, tests) and passes.
 */
export function fromOwnOrigin(headers: HeaderReader, trustProxy: number): boolean {
  const site = headers.get('sec-fetch-site');
  if (site) return site === 'same-origin' || site === 'none';
  const origin = headers.get('origin');
  if (origin === null) return true;
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return false;
  }
  if (!host) return false;
  const own = [headers.get('host'), trustProxy > 0 ? headers.get('x-forwarded-host')?.split(',')[0] : null];
  return own.some((value) => value?.trim().toLowerCase() === host);
}

/** Why a tRPC HTTP request is refused before it reaches the router, or null when it may go on. */
export function refuseTrpcRequest(method: string, url: URL, headers: HeaderReader, trustProxy: number): Refusal | null {
  const calls = callsIn(url);
  if (calls > MAX_BATCH_CALLS) {
    return { status: 400, message: `One request can carry at most ${MAX_BATCH_CALLS} calls (this one has ${calls}): send them in smaller batches.` };
  }
  if (method === 'POST') {
    if (mediaType(headers.get('content-type')) !== 'application/json') {
      return { status: 415, message: 'The coordinator only takes JSON: send the body with Content-Type: application/json.' };
    }
    if (!fromOwnOrigin(headers, trustProxy)) {
      return { status: 403, message: 'Requests from other sites are refused: open Swapmesh itself to do this.' };
    }
  }
  return null;
}

const RPC_CODE = { 400: ['BAD_REQUEST', -32600], 403: ['FORBIDDEN', -32003], 415: ['UNSUPPORTED_MEDIA_TYPE', -32015] } as const;

/** The body of a refusal: a tRPC error, so tRPC clients show its message like any other error. */
export function refusalBody(refusal: Refusal) {
  const [code, rpc] = RPC_CODE[refusal.status];
  return { error: { message: refusal.message, code: rpc, data: { code, httpStatus: refusal.status } } };
}

/** The refusal as a fetch `Response` (the Next route). */
export function refusalResponse(refusal: Refusal): Response {
  return Response.json(refusalBody(refusal), { status: refusal.status, headers: { 'cache-control': 'no-store' } });
}
