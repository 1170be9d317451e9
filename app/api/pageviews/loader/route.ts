/**
 * `GET /api/pageviews/loader` — the worker in which a donor's browser loads page views (app/_lib/pageviews/load-page.ts).
 *
 * The app's pages may connect only to their own origin (`connect-src 'self'`, next.config.js), and they keep that:
 * the one request a view makes to the buyer's site is made from this worker instead, which is sent with its own
 *   Content-Security-Policy: default-src 'none'; connect-src http: https:
 * so it can fetch a web page and do nothing else (no scripts, no workers, no eval). It answers each
 * `{ id, url, timeoutMs }` with `{ id, ok: true, durationMs, ttfbMs } | { id, ok: false, error }`, timed by the
 * worker's own Resource Timing entry for the request.
 */
export const dynamic = 'force-static';

const WORKER = String.raw`'use strict';
const entryFor = (url) => performance.getEntriesByName(url, 'resource').at(-1) || null;
async function timing(url, ms) {
  const deadline = performance.now() + ms;
  for (;;) {
    const entry = entryFor(url);
    if (entry && entry.responseEnd > 0) return entry;
    if (performance.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
async function load(url, timeoutMs) {
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return { ok: false, error: 'Not a web address' };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  try {
    // no-cors allows only redirect: 'follow' (a redirect stays within the target's rate cap: one request per view)
    await fetch(url, { mode: 'no-cors', credentials: 'omit', cache: 'no-store', redirect: 'follow', referrerPolicy: 'no-referrer', signal: controller.signal });
    const entry = await timing(url, 5000);
    if (!entry) return { ok: true, durationMs: Math.max(1, Math.round(performance.now() - started)), ttfbMs: null };
    const durationMs = Math.max(1, Math.round(entry.duration));
    const ttfbMs = entry.responseStart > 0 ? Math.min(durationMs, Math.max(0, Math.round(entry.responseStart - entry.startTime))) : null;
    return { ok: true, durationMs, ttfbMs };
  } catch (error) {
    if (controller.signal.aborted) return { ok: false, error: 'No answer within ' + Math.round(timeoutMs / 1000) + ' s' };
    return { ok: false, error: String((error && error.name) || 'Error') + ': ' + String((error && error.message) || 'the page could not be loaded').slice(0, 150) };
  } finally {
    clearTimeout(timer);
    if (performance.getEntriesByType('resource').length > 200) performance.clearResourceTimings();
  }
}
self.onmessage = async (event) => {
  const data = event.data || {};
  const outcome = await load(data.url, Math.min(Math.max(Number(data.timeoutMs) || 25000, 1000), 30000));
  self.postMessage({ id: data.id, ...outcome });
};
`;

export function GET(): Response {
  return new Response(WORKER, {
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'content-security-policy': "default-src 'none'; connect-src http: https:",
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    },
  });
}
