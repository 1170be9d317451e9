const dev = process.env.NODE_ENV === 'development';

/**
 * The Content-Security-Policy of every page (and of the app's own worker scripts, which get the policy of
 * their own response). Scripts: the app's own files, plus 'unsafe-inline' because Next.js writes its
 * hydration data as inline <script> elements. A nonce would need every page to be rendered per request
 * (Next.js adds nonces only while rendering, so the prerendered pages that the service worker precaches for
 * offline use would lose them) — the pages here are static, so the policy allows inline scripts and closes
 * everything else: no other origin's scripts, no plugins, no <base>, no forms posting off-site, no framing.
 * 'wasm-unsafe-eval' lets the workers compile WebAssembly (compute kernels, hash-wasm); development also
 * needs 'unsafe-eval' for React Refresh. WebRTC needs no entry (peer connections are outside CSP); the
 * tRPC calls and live events (server-sent events) are same-origin ('self').
 */
const contentSecurityPolicy = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'${dev ? " 'unsafe-eval'" : ''}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "font-src 'self' data:",
  `connect-src 'self'${dev ? ' ws: wss:' : ''}`,
  "worker-src 'self' blob:",
  "manifest-src 'self'",
  "frame-src 'none'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every response, static files included. */
const everywhere = [{ key: 'X-Content-Type-Options', value: 'nosniff' }];

/**
 * Sent with pages and API answers. A script or stylesheet under /_next/static goes without them: they govern a
 * document (or a worker), which such a file never is, and each is ~0.6 KiB on each of a first visit's scripts.
 */
const documents = [
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
  // the camera, microphone and screen are shared as PERIPHERAL resources, by the app itself only
  { key: 'Permissions-Policy', value: 'camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()' },
];

/** The one static script that starts every worker the bundler builds: a worker takes its policies from it. */
export const WORKER_ENTRY = /^chunks\/turbopack-worker-[^/]+\.js$/;
/** What a worker's entry script carries, and Next's rule for it. */
export const workerEntryHeaders = [
  { key: 'Content-Security-Policy', value: contentSecurityPolicy },
  { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
];

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // the stylesheets (a few KiB) go into each page's HTML instead of three render-blocking requests
  experimental: { inlineCss: true },
  serverExternalPackages: ['@libsql/client', 'libsql', 'pg', '@prisma/adapter-libsql', '@prisma/adapter-pg'],
  async headers() {
    return [
      { source: '/:path*', headers: everywhere },
      { source: '/((?!_next/static/).*)', headers: documents },
      // API routes answer JSON (and the sandbox worker sets its own, stricter policy): pages only, and workers
      { source: '/((?!api/|_next/static/).*)', headers: [{ key: 'Content-Security-Policy', value: contentSecurityPolicy }] },
      { source: '/_next/static/chunks/:file(turbopack-worker-.*)', headers: workerEntryHeaders },
      // Serwist's configurator mode needs nothing from Next itself: `serwist build serwist.config.mjs`
      // writes public/sw.js after `next build`. These headers make browsers re-check the worker on every
      // load (so a new deploy is picked up) and restrict what the worker script itself may load.
      {
        source: '/sw.js',
        headers: [
          { key: 'Content-Type', value: 'application/javascript; charset=utf-8' },
          { key: 'Cache-Control', value: 'no-cache, no-store, must-revalidate' },
          { key: 'Content-Security-Policy', value: "default-src 'self'; script-src 'self'" },
        ],
      },
    ];
  },
};

export default nextConfig;
