/// <reference lib="esnext" />
/// <reference lib="webworker" />
// Service worker source. `serwist build serwist.config.mjs` (after `next build`) bundles it to
// public/sw.js and replaces `self.__SW_MANIFEST` with the build's precache list: the prerendered
// pages (including /offline), .next/static and public/.
import { defaultCache } from '@serwist/next/worker';
import type { PrecacheEntry, SerwistGlobalConfig } from 'serwist';
import { Serwist } from 'serwist';

declare global {
  interface WorkerGlobalScope extends SerwistGlobalConfig {
    __SW_MANIFEST: (PrecacheEntry | string)[] | undefined;
  }
}

declare const self: ServiceWorkerGlobalScope;

const OFFLINE_URL = '/offline';

function isSameOrigin(url: URL): boolean {
  return url.origin === self.location.origin;
}

/** Everything under /api/ (tRPC, including its server-sent event streams) goes straight to the network. */
function isApi(url: URL): boolean {
  return isSameOrigin(url) && url.pathname.startsWith('/api/');
}

/** Turbopack's Web Worker entry files; they read their bootstrap settings from the URL fragment. */
function isTurbopackWorker(url: URL): boolean {
  return isSameOrigin(url) && url.pathname.includes('/turbopack-worker-');
}

const serwist = new Serwist({
  precacheEntries: self.__SW_MANIFEST,
  precacheOptions: { cleanupOutdatedCaches: true },
  skipWaiting: true,
  clientsClaim: true,
  navigationPreload: true,
  disableDevLogs: true,
  // Where the browser supports static routing, /api/ requests never even wake the worker.
  requestRules: [{ condition: { urlPattern: { pathname: '/api/*' } }, source: 'network' }],
  runtimeCaching: defaultCache,
  fallbacks: {
    entries: [{ url: OFFLINE_URL, matcher: ({ request }) => request.destination === 'document' }],
  },
});

/**
 * Answers a Turbopack worker script with a fresh Response. A Response taken from a cache or from
 * fetch() carries its own URL (without the fragment), and the worker would then start with
 * "Missing worker bootstrap config"; a new Response has no URL, so the page's URL with its
 * fragment is kept.
 */
async function turbopackWorkerScript(request: Request): Promise<Response> {
  const url = new URL(request.url);
  url.hash = '';
  const found = (await serwist.matchPrecache(url.href)) ?? (await fetch(request));
  return new Response(found.body, {
    status: found.status,
    statusText: found.statusText,
    headers: found.headers,
  });
}

// Registered before Serwist's own listener so that stopImmediatePropagation() keeps Serwist's
// routes (and its catch-all runtime cache) away from these requests.
/** A file shared from another app: kept in Cache Storage for /content/publish?shared=1, never uploaded. */
async function receiveShare(request: Request): Promise<Response> {
  const to = (shared: 0 | 1) => Response.redirect(new URL(`/content/publish?shared=${shared}`, self.location.origin).href, 303);
  try {
    const form = await request.formData();
    const file = form.getAll('file').find((v): v is File => v instanceof File && v.size > 0);
    const cache = await caches.open('swapmesh-share');
    await cache.delete('/share-target/file');
    if (!file) return to(0);
    await cache.put('/share-target/file', new Response(file, { headers: { 'content-type': file.type || 'application/octet-stream', 'x-file-name': encodeURIComponent(file.name) } }));
    return to(1);
  } catch {
    return to(0);
  }
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method === 'POST' && isSameOrigin(url) && url.pathname === '/share-target') {
    event.stopImmediatePropagation();
    event.respondWith(receiveShare(event.request));
    return;
  }
  // a page view's load (app/_lib/pageviews/load-page.ts) is measured as the site answers it, never from a cache
  if (isApi(url) || url.searchParams.has('swapmesh_view')) {
    // No respondWith(): the browser performs the request as if there were no service worker.
    event.stopImmediatePropagation();
    return;
  }
  if (isTurbopackWorker(url)) {
    event.stopImmediatePropagation();
    event.respondWith(turbopackWorkerScript(event.request));
  }
});

serwist.addEventListeners();
