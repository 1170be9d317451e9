// Brotli for the build's static files. Next's server compresses with gzip only; browsers accept Brotli, which is
// about a fifth smaller on JavaScript. `npm run build` ends with `node scripts/static-brotli.mjs`, which writes a
// `.br` copy (quality 11) next to each script and stylesheet in .next/static (after Serwist has read that
// folder, so the copies are not precached); `npm start` (scripts/start.mjs) answers a request for such a file
// with its `.br` copy when the request accepts `br`, with the headers Next would send, and leaves everything
// else to Next. The files are content-hashed and immutable, so no revalidation is involved.
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';

const TYPES = { '.js': 'application/javascript; charset=UTF-8', '.css': 'text/css; charset=UTF-8' };
/** Smaller files are left to Next (a compressed copy would save less than its headers). */
const MIN_BYTES = 1024;

export function brotli(body) {
  return brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } });
}

/** Writes `<file>.br` for every script and stylesheet under `staticDir`; returns how many. */
export function precompress(staticDir) {
  let written = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (TYPES[path.extname(entry.name)] && statSync(file).size >= MIN_BYTES) {
        writeFileSync(`${file}.br`, brotli(readFileSync(file)));
        written += 1;
      }
    }
  };
  if (existsSync(staticDir)) walk(staticDir);
  return written;
}

/**
 * The [name, value] pairs next.config.js gives a file under .next/static (`file` is its path there): the rule for
 * every path, and a worker's policies on the script that starts a worker. `nextConfig` is the module's namespace.
 */
export async function staticHeaders(nextConfig) {
  const rules = (await nextConfig.default.headers?.()) ?? [];
  const pairs = (headers) => headers.map(({ key, value }) => [key, value]);
  const everywhere = pairs(rules.find((rule) => rule.source === '/:path*')?.headers ?? []);
  const worker = [...everywhere, ...pairs(nextConfig.workerEntryHeaders)];
  return (file) => (nextConfig.WORKER_ENTRY.test(file) ? worker : everywhere);
}

/** The headers of `brotliStatic`'s answer for `file` (its path under .next/static), before Node's own. */
function head(file, length, headers) {
  return [
    ...headers(file),
    ['Content-Type', TYPES[path.extname(file)]],
    ['Content-Encoding', 'br'],
    ['Content-Length', String(length)],
    ['Cache-Control', 'public, max-age=31536000, immutable'],
    ['Vary', 'Accept-Encoding'],
  ];
}

/** The bytes of the status line and headers of that answer, with those Node adds (Date, Connection, Keep-Alive). */
export function headBytes(file, length, headers) {
  const lines = [...head(file, length, headers), ['Date', new Date(0).toUTCString()], ['Connection', 'keep-alive'], ['Keep-Alive', 'timeout=5']];
  return Buffer.byteLength(`HTTP/1.1 200 OK\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`);
}

/**
 * A request handler for /_next/static/* that serves the `.br` copy when the browser accepts Brotli; returns false
 * (and does nothing) for anything else. `headers(file)` gives the pairs next.config.js sends with the file
 * (`staticHeaders`).
 */
export function brotliStatic({ nextDir, headers }) {
  const staticDir = path.join(nextDir, 'static');
  /** the copies read so far (a build's files never change while it is served) */
  const cache = new Map();
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '';
    if (!url.startsWith('/_next/static/')) return false;
    if (!/\bbr\b/.test(String(req.headers['accept-encoding'] ?? ''))) return false;
    let relative;
    try {
      relative = decodeURIComponent(url.slice('/_next/static/'.length).split('?')[0]);
    } catch {
      return false;
    }
    const file = path.join(staticDir, relative);
    if (!TYPES[path.extname(relative)] || !file.startsWith(staticDir + path.sep)) return false;
    let body = cache.get(file);
    if (body === undefined) {
      body = existsSync(`${file}.br`) ? readFileSync(`${file}.br`) : null;
      cache.set(file, body);
    }
    if (body === null) return false;
    res.writeHead(200, head(relative, body.length, headers));
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
  const count = precompress(path.join(root, '.next', 'static'));
  console.log(`static-brotli: wrote ${count} .br copies in .next/static`);
}
