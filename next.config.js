/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  serverExternalPackages: ['@libsql/client', 'libsql', 'pg', '@prisma/adapter-libsql', '@prisma/adapter-pg'],
  // Serwist's configurator mode needs nothing from Next itself: `serwist build serwist.config.mjs`
  // writes public/sw.js after `next build`. These headers make browsers re-check the worker on every
  // load (so a new deploy is picked up) and restrict what the worker script itself may load.
  async headers() {
    return [
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
