// @ts-check
// Serwist configurator mode: `npx serwist build serwist.config.mjs` runs after `next build`, bundles
// app/sw.ts into public/sw.js and injects the precache list from the build output: the prerendered
// pages (.next/server/app/**/*.html, mapped to their routes), .next/static and public/.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { serwist } from '@serwist/next/config';

export default serwist.withNextConfig((nextConfig) => {
  const appDir = `${nextConfig.distDir.replace(/\/$/, '')}/server/app`;
  // The offline fallback only exists if /offline was prerendered: a root layout that reads
  // cookies() or headers() makes every page dynamic and would leave nothing to precache.
  if (!existsSync(`${appDir}/offline.html`)) {
    throw new Error(
      `serwist: ${appDir}/offline.html is missing. Run \`next build\` first, and keep app/layout.tsx ` +
        'and app/offline/page.tsx static (no cookies()/headers()), or the service worker has no offline page.',
    );
  }
  if (!existsSync(`${appDir}/index.html`)) {
    console.warn('serwist: / is not prerendered, so the home page is only available offline after a visit.');
  }
  // app/manifest.ts is a prerendered route, not an HTML page, so it is added by hand, versioned by
  // its content.
  const manifestBody = `${appDir}/manifest.webmanifest.body`;
  const additionalPrecacheEntries = existsSync(manifestBody)
    ? [{ url: '/manifest.webmanifest', revision: createHash('sha256').update(readFileSync(manifestBody)).digest('hex').slice(0, 32) }]
    : [];
  return {
    swSrc: 'app/sw.ts',
    swDest: 'public/sw.js',
    additionalPrecacheEntries,
  };
});
