// The JavaScript a first visit to each main route downloads, read from the production build (no server, no
// browser, no timing): the <script src> elements of the route's prerendered HTML in .next/server/app (the
// `noModule` polyfills, which modern browsers skip, left out), each file as `npm start` serves it: the Brotli
// body (the `.br` copy scripts/static-brotli.mjs writes, which `npm start` sends to browsers that accept it, as
// they all do) and the status line and headers it goes with, as Lighthouse counts a transfer; gzip beside it for
// reference. Code behind next/dynamic or `await import()` is not in that
// list, so it does not count.
//
//   node scripts/first-load-js.mjs [--limit KiB] [--verbose]   prints the table; exits 1 when a route's scripts
//                                  as served pass its limit (150 KiB, ROUTE_LIMITS_KIB for the exceptions)
//
// `npm test` runs it right after the build of its end-to-end tier; bench/lighthouse.mjs prints the same figure
// beside what Lighthouse measured.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { brotli, headBytes, staticHeaders } from './static-brotli.mjs';

export const MAIN_ROUTES = ['/', '/market', '/content', '/device', '/trades'];
/** The target for first-load JavaScript, as transferred. */
export const FIRST_LOAD_LIMIT_KIB = 150;
/** Routes allowed more than the target, each with why (none today). */
export const ROUTE_LIMITS_KIB = {};

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The headers `npm start` sends with a static file, from next.config.js. */
export const servedHeaders = () => import(pathToFileURL(path.join(root, 'next.config.js')).href).then(staticHeaders);

/**
 * The scripts the route's HTML loads, with their size as served (status line, headers and Brotli body, else gzip),
 * gzip and decoded. `headers` is `await servedHeaders()`.
 */
export function firstLoadJs(route, { dir = root, headers }) {
  const name = route === '/' ? 'index' : route.replace(/^\//, '');
  const htmlFile = path.join(dir, '.next', 'server', 'app', `${name}.html`);
  if (!existsSync(htmlFile)) throw new Error(`${route} has no prerendered page in .next (run \`npm run build\` first; dynamic routes are not checked)`);
  const html = readFileSync(htmlFile, 'utf8');
  const sources = new Set();
  for (const [tag] of html.matchAll(/<script\b[^>]*>/g)) {
    const src = /\bsrc="([^"]+)"/.exec(tag)?.[1];
    if (src && !/\bnoModule\b/i.test(tag) && src.startsWith('/_next/')) sources.add(src.split('?')[0]);
  }
  const files = [...sources].map((src) => {
    const file = path.join(dir, '.next', src.slice('/_next/'.length));
    const body = readFileSync(file);
    const gzip = gzipSync(body).length;
    // the copy `npm start` sends (none for the smallest files, which go out as gzip)
    const br = existsSync(`${file}.br`) ? readFileSync(`${file}.br`).length : null;
    const sent = br ?? gzip;
    return { src, bytes: body.length, gzip, brotli: br ?? brotli(body).length, served: sent + headBytes(src.slice('/_next/static/'.length), sent, headers) };
  });
  return {
    route,
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    gzip: files.reduce((sum, f) => sum + f.gzip, 0),
    brotli: files.reduce((sum, f) => sum + f.brotli, 0),
    served: files.reduce((sum, f) => sum + f.served, 0),
  };
}

const kib = (bytes) => (bytes / 1024).toFixed(1);

async function main() {
  const { values } = parseArgs({ options: { limit: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
  const limitOf = (route) => Number(values.limit ?? ROUTE_LIMITS_KIB[route] ?? FIRST_LOAD_LIMIT_KIB) * 1024;
  let over = 0;
  console.log(`First-load JavaScript per route as npm start serves it (Brotli bodies with their headers); target ${FIRST_LOAD_LIMIT_KIB} KiB`);
  const headers = await servedHeaders();
  for (const route of MAIN_ROUTES) {
    const js = firstLoadJs(route, { headers });
    const limit = limitOf(route);
    const ok = js.served <= limit;
    if (!ok) over += 1;
    console.log(`  ${ok ? 'ok  ' : 'OVER'} ${route.padEnd(9)} ${kib(js.served).padStart(6)} KiB served, limit ${kib(limit)} (gzip ${kib(js.gzip)} KiB, ${kib(js.bytes)} KiB decoded, ${js.files.length} files)`);
    if (values.verbose || !ok) for (const f of [...js.files].sort((a, b) => b.served - a.served)) console.log(`         ${kib(f.served).padStart(6)} KiB  (gzip ${kib(f.gzip).padStart(5)})  ${f.src}`);
  }
  if (over > 0) {
    console.error(`\n${over} route(s) load more JavaScript at first visit than their limit: move screen-specific code behind next/dynamic or await import().`);
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
