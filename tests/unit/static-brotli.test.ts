import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { brotliStatic, headBytes, precompress, staticHeaders } from '../../scripts/static-brotli.mjs';
import * as nextConfig from '../../next.config.js';

// what `npm start` (scripts/start.mjs) does with the build's scripts and stylesheets
const dirs: string[] = [];
function build() {
  const nextDir = path.join(mkdtempSync(path.join(tmpdir(), 'brotli-')), '.next');
  dirs.push(path.dirname(nextDir));
  mkdirSync(path.join(nextDir, 'static', 'chunks'), { recursive: true });
  const script = `console.log(${JSON.stringify('swapmesh '.repeat(400))});`;
  writeFileSync(path.join(nextDir, 'static', 'chunks', 'app.js'), script);
  writeFileSync(path.join(nextDir, 'static', 'chunks', 'tiny.js'), 'x');
  writeFileSync(path.join(nextDir, 'static', 'chunks', 'logo.png'), Buffer.alloc(4096));
  return { nextDir, script };
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

class Response extends EventEmitter {
  status = 0;
  headers: [string, string][] = [];
  body: Buffer | undefined;
  writeHead(status: number, headers: [string, string][]) {
    this.status = status;
    this.headers = headers;
    return this;
  }
  end(body?: Buffer) {
    this.body = body;
  }
  header(name: string) {
    return this.headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  }
}

function request(url: string, acceptEncoding: string, method = 'GET') {
  return { url, method, headers: { 'accept-encoding': acceptEncoding } } as never;
}

describe('Brotli for the static files', () => {
  it('writes a .br copy of each script and stylesheet big enough to gain, and serves it to a browser that accepts br', () => {
    const { nextDir, script } = build();
    expect(precompress(path.join(nextDir, 'static'))).toBe(1);
    expect(brotliDecompressSync(readFileSync(path.join(nextDir, 'static', 'chunks', 'app.js.br'))).toString()).toBe(script);

    const serve = brotliStatic({ nextDir, headers: (file: string) => (file === 'chunks/app.js' ? [['X-Content-Type-Options', 'nosniff']] : []) });
    const res = new Response();
    expect(serve(request('/_next/static/chunks/app.js', 'gzip, deflate, br, zstd'), res as never)).toBe(true);
    expect(res.status).toBe(200);
    expect(res.header('content-encoding')).toBe('br');
    expect(res.header('content-type')).toBe('application/javascript; charset=UTF-8');
    expect(res.header('x-content-type-options')).toBe('nosniff');
    expect(res.header('vary')).toBe('Accept-Encoding');
    expect(Number(res.header('content-length'))).toBe(res.body?.length);
    expect(res.body!.length).toBeLessThan(script.length / 10);
    expect(brotliDecompressSync(res.body!).toString()).toBe(script);
  });

  it('leaves to Next what it cannot answer with a .br copy', () => {
    const { nextDir } = build();
    precompress(path.join(nextDir, 'static'));
    const serve = brotliStatic({ nextDir, headers: () => [] });
    const declined = (url: string, encoding = 'br', method = 'GET') => !serve(request(url, encoding, method), new Response() as never);
    expect(declined('/_next/static/chunks/app.js', 'gzip, deflate')).toBe(true);
    expect(declined('/_next/static/chunks/app.js', 'br', 'POST')).toBe(true);
    expect(declined('/_next/static/chunks/tiny.js')).toBe(true);
    expect(declined('/_next/static/chunks/logo.png')).toBe(true);
    expect(declined('/_next/static/chunks/missing.js')).toBe(true);
    expect(declined('/_next/static/../static/chunks/app.js')).toBe(false);
    expect(declined('/_next/static/%2e%2e/%2e%2e/package.json')).toBe(true);
    expect(declined('/market')).toBe(true);
  });

  it('sends a script with nosniff alone, a worker’s entry with the page’s policies, and counts their headers as sent', async () => {
    const headers = await staticHeaders(nextConfig);
    const names = (file: string) => headers(file).map(([name]: [string, string]) => name);
    expect(names('chunks/0lh17vl9173_t.js')).toEqual(['X-Content-Type-Options']);
    expect(names('chunks/turbopack-worker-1hrsqshz0gfey.js')).toEqual(['X-Content-Type-Options', 'Content-Security-Policy', 'Referrer-Policy']);

    const { nextDir } = build();
    precompress(path.join(nextDir, 'static'));
    const serve = brotliStatic({ nextDir, headers });
    const server = createServer((req, res) => void serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const raw = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write('GET /_next/static/chunks/app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n'));
      const parts: Buffer[] = [];
      socket.on('data', (part) => {
        parts.push(part);
        const all = Buffer.concat(parts);
        const end = all.indexOf('\r\n\r\n');
        const length = Number(/Content-Length: (\d+)/.exec(all.toString('latin1'))?.[1]);
        if (end >= 0 && all.length >= end + 4 + length) {
          socket.destroy();
          resolve(all);
        }
      });
      socket.on('error', reject);
    });
    server.close();
    const headEnd = raw.indexOf('\r\n\r\n') + 4;
    expect(headBytes('chunks/app.js', raw.length - headEnd, headers)).toBe(headEnd);
  });
});

