import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { FIRST_LOAD_LIMIT_KIB, firstLoadJs, servedHeaders } from '../../scripts/first-load-js.mjs';
import { headBytes } from '../../scripts/static-brotli.mjs';

const headers = await servedHeaders();

// scripts/first-load-js.mjs is what `npm test` runs after its build; here it reads a small build made by hand.
const dirs: string[] = [];
function fakeBuild(html: string, chunks: Record<string, string>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'first-load-'));
  dirs.push(dir);
  mkdirSync(path.join(dir, '.next', 'server', 'app'), { recursive: true });
  mkdirSync(path.join(dir, '.next', 'static', 'chunks'), { recursive: true });
  writeFileSync(path.join(dir, '.next', 'server', 'app', 'market.html'), html);
  for (const [name, body] of Object.entries(chunks)) writeFileSync(path.join(dir, '.next', 'static', 'chunks', name), body);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Text that gzip cannot shrink much, so sizes are in the hundreds of KiB. */
function noise(bytes: number, seed: number) {
  let x = seed;
  let out = '';
  while (out.length < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += x.toString(36);
  }
  return out.slice(0, bytes);
}

describe('first-load JavaScript from the build', () => {
  it('sums every script the page loads, once each, with its headers, leaving out noModule polyfills', () => {
    const a = noise(20_000, 1);
    const b = noise(5_000, 2);
    const dir = fakeBuild(
      '<html><head><script src="/_next/static/chunks/a.js" async=""></script><script src="/_next/static/chunks/polyfill.js" noModule=""></script></head>' +
        '<body><script src="/_next/static/chunks/b.js" async=""></script><script src="/_next/static/chunks/a.js" async=""></script><script>self.__next_f=[]</script></body></html>',
      { 'a.js': a, 'b.js': b, 'polyfill.js': noise(90_000, 3) },
    );
    const js = firstLoadJs('/market', { dir, headers });
    expect(js.files.map((f: { src: string }) => f.src)).toEqual(['/_next/static/chunks/a.js', '/_next/static/chunks/b.js']);
    expect(js.bytes).toBe(25_000);
    expect(js.gzip).toBe(gzipSync(a).length + gzipSync(b).length);
    // no .br copies in this build: each goes out as gzip, with its status line and headers
    const head = (file: string, length: number) => headBytes(file, length, headers);
    expect(js.served).toBe(gzipSync(a).length + head('chunks/a.js', gzipSync(a).length) + gzipSync(b).length + head('chunks/b.js', gzipSync(b).length));
    expect(head('chunks/a.js', 1)).toBeGreaterThan(200);
  });

  it('reports a page over the limit', () => {
    const dir = fakeBuild('<script src="/_next/static/chunks/big.js"></script>', { 'big.js': noise(400_000, 4) });
    expect(firstLoadJs('/market', { dir, headers }).gzip).toBeGreaterThan(FIRST_LOAD_LIMIT_KIB * 1024);
  });

  it('refuses a route the build has no page for', () => {
    const dir = fakeBuild('', {});
    expect(() => firstLoadJs('/trades', { dir, headers })).toThrow(/npm run build/);
  });
});
