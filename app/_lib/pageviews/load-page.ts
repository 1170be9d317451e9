/**
 * How a donor's browser loads one page view: a single `fetch` of the page with the view's token in its query,
 * timed by the browser's Resource Timing entry for that request.
 *
 * Why fetch and not a frame: a `no-cors` fetch with `credentials: 'omit'` runs nothing of the buyer's page in the
 * donor's browser, sends none of the donor's cookies, follows no redirect (a view never lands on another origin),
 * and cannot read the response: the donor is safe from the page and the page from the donor. A sandboxed frame
 * would run the page's layout (and, to be a fair load, its scripts), can be refused by X-Frame-Options, and its
 * load event mixes the page's subresources with whatever the donor's own tab is doing. Resource Timing gives the
 * browser's own measure of the request, from its start to the last byte of the document (`duration`); the time to
 * first byte only when the site allows it (`Timing-Allow-Origin`), else none. An opaque answer hides the HTTP
 * status, so an error here is a failure to connect or to finish (network error, refused, timeout, redirect).
 */
export type LoadOutcome = { ok: true; durationMs: number; ttfbMs: number | null } | { ok: false; error: string };

export const LOAD_TIMEOUT_MS = 25_000;

function timingOf(url: string): PerformanceResourceTiming | null {
  const entries = performance.getEntriesByName(url, 'resource') as PerformanceResourceTiming[];
  return entries.at(-1) ?? null;
}

/** Waits for the request's Resource Timing entry (added once its body has ended), up to `ms`. */
async function waitForTiming(url: string, ms: number): Promise<PerformanceResourceTiming | null> {
  const deadline = performance.now() + ms;
  for (;;) {
    const entry = timingOf(url);
    if (entry && entry.responseEnd > 0) return entry;
    if (performance.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function loadPage(url: string, timeoutMs = LOAD_TIMEOUT_MS): Promise<LoadOutcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  try {
    const response = await fetch(url, { mode: 'no-cors', credentials: 'omit', cache: 'no-store', redirect: 'manual', referrerPolicy: 'no-referrer', signal: controller.signal });
    if (response.type === 'opaqueredirect') return { ok: false, error: 'The page answered with a redirect' };
    const entry = await waitForTiming(url, 5_000);
    if (!entry) return { ok: true, durationMs: Math.max(1, Math.round(performance.now() - started)), ttfbMs: null };
    const durationMs = Math.max(1, Math.round(entry.duration));
    const ttfbMs = entry.responseStart > 0 ? Math.min(durationMs, Math.max(0, Math.round(entry.responseStart - entry.startTime))) : null;
    return { ok: true, durationMs, ttfbMs };
  } catch (error) {
    if (controller.signal.aborted) return { ok: false, error: `No answer within ${timeoutMs / 1000} s` };
    return { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 200) : 'The page could not be loaded' };
  } finally {
    clearTimeout(timer);
    // keep the buffer from filling up with our own entries (a full buffer records no more)
    if (performance.getEntriesByType('resource').length > 200) performance.clearResourceTimings();
  }
}
