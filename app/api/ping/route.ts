/**
 * `GET /api/ping` — what devices measure their network against.
 *
 * - without parameters: a tiny `{ ok: true, t }` (t = server time, ms since the epoch), for RTT;
 * - `?bytes=N` (integer, 0 … 4 MiB): exactly N incompressible bytes, for throughput.
 *
 * Never cached (`cache-control: no-store`), never compressed (random bytes gain nothing).
 */
import { MAX_PING_BYTES } from '@/server/device/profile';

export const dynamic = 'force-dynamic';

const NO_STORE = { 'cache-control': 'no-store, max-age=0' } as const;

/** One block of random bytes made at first use; responses are slices of it. */
let noise: Uint8Array<ArrayBuffer> | null = null;

function randomBlock(): Uint8Array<ArrayBuffer> {
  if (!noise) {
    const block = new Uint8Array(MAX_PING_BYTES);
    // getRandomValues fills at most 65,536 bytes per call
    for (let at = 0; at < block.length; at += 65_536) {
      crypto.getRandomValues(block.subarray(at, Math.min(block.length, at + 65_536)));
    }
    noise = block;
  }
  return noise;
}

export function GET(request: Request): Response {
  const raw = new URL(request.url).searchParams.get('bytes');
  if (raw === null) {
    return Response.json({ ok: true, t: Date.now() }, { headers: NO_STORE });
  }
  const bytes = /^\d{1,8}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes > MAX_PING_BYTES) {
    return Response.json(
      { ok: false, error: `bytes must be an integer from 0 to ${MAX_PING_BYTES}` },
      { status: 400, headers: NO_STORE },
    );
  }
  return new Response(randomBlock().subarray(0, bytes), {
    headers: {
      ...NO_STORE,
      'content-type': 'application/octet-stream',
      'content-length': String(bytes),
      'x-content-type-options': 'nosniff',
    },
  });
}
