/**
 * How a donor's browser loads one page view: a single `fetch` of the page with the view's token in its query,
 * made in a dedicated worker (app/api/pageviews/loader/route.ts, whose own policy lets it connect to web pages and
 * nothing else, while the app's pages stay limited to their own origin), timed by the browser's Resource Timing
 * entry for that request.
 *
 * Why fetch and not a frame: a `no-cors` fetch with `credentials: 'omit'` runs nothing of the buyer's page on the
 * donor's device, sends none of the donor's cookies, and cannot read the response: the donor is safe from the page and the page from the donor. A sandboxed frame
 * would run the page's layout (and, to be a fair load, its scripts), can be refused by X-Frame-Options (and the
 * app's own policy forbids frames), and its load event mixes the page's subresources with whatever the donor's tab
 * is doing. Resource Timing gives the browser's own measure of the request, from its start to the last byte of the
 * document (`duration`); the time to first byte only when the site allows it (`Timing-Allow-Origin`). An opaque
 * answer hides the HTTP status, so an error here is a failure to connect or to finish (refused, network error,
 * timeout). A no-cors request must follow redirects: a site that redirects is measured to the end of the chain.
 */
export type LoadOutcome = { ok: true; durationMs: number; ttfbMs: number | null } | { ok: false; error: string };

export const LOAD_TIMEOUT_MS = 25_000;

let worker: Worker | null = null;
let nextId = 0;
const waiting = new Map<number, (outcome: LoadOutcome) => void>();

function loader(): Worker {
  if (worker) return worker;
  worker = new Worker('/api/pageviews/loader', { name: 'swapmesh-page-views' });
  worker.onmessage = (event: MessageEvent<{ id: number } & LoadOutcome>) => {
    const { id, ...outcome } = event.data;
    waiting.get(id)?.(outcome as LoadOutcome);
    waiting.delete(id);
  };
  worker.onerror = () => {
    for (const resolve of waiting.values()) resolve({ ok: false, error: 'The page-view loader stopped' });
    waiting.clear();
    worker?.terminate();
    worker = null;
  };
  return worker;
}

export function loadPage(url: string, timeoutMs = LOAD_TIMEOUT_MS): Promise<LoadOutcome> {
  return new Promise((resolve) => {
    const id = ++nextId;
    waiting.set(id, resolve);
    loader().postMessage({ id, url, timeoutMs });
  });
}
