import { request as httpRequest, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { safeNextPath } from '@/app/signin/safe-next';
import { ADDRESS_CHAIN_HEADER, addressChain, clientAddressFrom, clientAddressOf, installAddressHook, normalizeAddress } from '@/server/auth/client-address';
import { callsIn, fromOwnOrigin, MAX_BATCH_CALLS, refuseTrpcRequest } from '@/server/auth/http-guards';
import { parseEnv } from '@/server/env';

describe('safeNextPath (where sign-in goes next)', () => {
  it('keeps paths of this site, with their query and fragment', () => {
    expect(safeNextPath('/market')).toBe('/market');
    expect(safeNextPath('/communities/north?tab=members#top')).toBe('/communities/north?tab=members#top');
    expect(safeNextPath('/content/%2F%2Fevil.example')).toBe('/content/%2F%2Fevil.example');
    expect(safeNextPath('/a/../b')).toBe('/b');
  });

  it('sends everything off-site or odd to the home page', () => {
    for (const next of [
      null, undefined, '', 'market', '//evil.example', '//evil.example/path', '/\\evil.example', '\\\\evil.example', '/\\/evil.example',
      'https://evil.example', 'http:/evil.example', 'javascript:alert(1)', 'data:text/html,hi', '/\t/evil.example', '/\n/evil.example',
      ' /market', `/${'a'.repeat(3000)}`, '///evil.example', '/ /evil.example',
    ]) {
      expect(safeNextPath(next), String(next)).toBe('/');
    }
  });
});

describe('the client address', () => {
  it('normalizes IPv4-mapped addresses and drops what is not an address', () => {
    expect(normalizeAddress(' ::ffff:203.0.113.9 ')).toBe('203.0.113.9');
    expect(normalizeAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeAddress('evil<script>')).toBe('');
  });

  it('is the socket address unless TRUST_PROXY names how many proxies append to X-Forwarded-For', () => {
    // a client that sends its own X-Forwarded-For straight to the coordinator
    const direct = addressChain('198.51.100.1, 10.0.0.1', '::ffff:203.0.113.9');
    expect(direct).toBe('198.51.100.1,10.0.0.1,203.0.113.9');
    expect(clientAddressFrom(direct, 0)).toBe('203.0.113.9');
    // one proxy (10.0.0.2) that appended the address it saw (203.0.113.9) to what the client forged
    const proxied = addressChain('198.51.100.1, 203.0.113.9', '10.0.0.2');
    expect(clientAddressFrom(proxied, 1)).toBe('203.0.113.9');
    expect(clientAddressFrom(proxied, 0)).toBe('10.0.0.2');
    // two proxies
    expect(clientAddressFrom(addressChain('198.51.100.1, 203.0.113.9, 10.0.0.1', '10.0.0.2'), 2)).toBe('203.0.113.9');
    // more hops configured than present: the first entry
    expect(clientAddressFrom(addressChain(undefined, '203.0.113.9'), 3)).toBe('203.0.113.9');
    expect(clientAddressFrom(null, 0)).toBe('unknown');
    expect(clientAddressFrom(addressChain('junk', '10.0.0.2'), 1)).toBe('unknown');
  });

  it('TRUST_PROXY is validated: unset is 0, a hop count is taken, anything else fails loudly', () => {
    expect(parseEnv({}).TRUST_PROXY).toBe(0);
    expect(parseEnv({ TRUST_PROXY: '' }).TRUST_PROXY).toBe(0);
    expect(parseEnv({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(() => parseEnv({ TRUST_PROXY: 'true' })).toThrow(/TRUST_PROXY/);
    expect(() => parseEnv({ TRUST_PROXY: '-1' })).toThrow(/TRUST_PROXY/);
    expect(() => parseEnv({ TRUST_PROXY: '11' })).toThrow(/TRUST_PROXY/);
  });

  it('is recorded from the socket by the server hook, whatever the client claims', async () => {
    installAddressHook();
    const server = createServer((req, res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      res.end(JSON.stringify({ direct: clientAddressOf(headers, 0), oneProxy: clientAddressOf(headers, 1) }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const ask = (headers: Record<string, string>) =>
      new Promise<{ direct: string; oneProxy: string }>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, path: '/', headers }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(JSON.parse(body)));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await ask({})).toEqual({ direct: '127.0.0.1', oneProxy: '127.0.0.1' });
      // forged headers, including the hook's own
      expect(await ask({ 'x-forwarded-for': '198.51.100.1', [ADDRESS_CHAIN_HEADER]: '198.51.100.2' })).toEqual({ direct: '127.0.0.1', oneProxy: '198.51.100.1' });
    } finally {
      server.close();
    }
  });
});

describe('tRPC request guards', () => {
  const url = (path: string) => new URL(`http://127.0.0.1:3000/api/trpc/${path}`);
  const json = { 'content-type': 'application/json' };

  it('counts the calls of a batch and refuses more than the cap with 400', () => {
    const paths = (n: number) => Array.from({ length: n }, () => 'auth.me').join(',');
    expect(callsIn(url(`${paths(3)}?batch=1`))).toBe(3);
    expect(callsIn(url('auth.me'))).toBe(1);
    expect(refuseTrpcRequest('GET', url(`${paths(MAX_BATCH_CALLS)}?batch=1`), new Headers(), 0)).toBeNull();
    expect(refuseTrpcRequest('GET', url(`${paths(MAX_BATCH_CALLS + 1)}?batch=1`), new Headers(), 0)).toMatchObject({ status: 400, message: /at most 16 calls/ });
    expect(refuseTrpcRequest('GET', url(`${encodeURIComponent(paths(40))}?batch=1`), new Headers(), 0)?.status).toBe(400);
  });

  it('takes POST bodies as JSON only (415 for forms and text)', () => {
    for (const type of ['multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'text/plain', 'text/plain;charset=UTF-8', '']) {
      expect(refuseTrpcRequest('POST', url('auth.signOut'), new Headers(type ? { 'content-type': type } : {}), 0)).toMatchObject({ status: 415 });
    }
    expect(refuseTrpcRequest('POST', url('auth.signOut'), new Headers({ 'content-type': 'Application/JSON; charset=utf-8' }), 0)).toBeNull();
  });

  it('refuses POSTs from other sites (403) and lets the app, typed URLs and non-browsers through', () => {
    const own = (headers: Record<string, string>, trustProxy = 0) => fromOwnOrigin(new Headers({ host: '127.0.0.1:3000', ...headers }), trustProxy);
    expect(own({})).toBe(true);
    expect(own({ 'sec-fetch-site': 'same-origin' })).toBe(true);
    expect(own({ 'sec-fetch-site': 'none' })).toBe(true);
    expect(own({ 'sec-fetch-site': 'cross-site', origin: 'http://127.0.0.1:3000' })).toBe(false);
    expect(own({ 'sec-fetch-site': 'same-site' })).toBe(false);
    expect(own({ origin: 'http://127.0.0.1:3000' })).toBe(true);
    expect(own({ origin: 'https://evil.example' })).toBe(false);
    expect(own({ origin: 'null' })).toBe(false);
    expect(own({ origin: 'http://127.0.0.1:3001' })).toBe(false);
    expect(own({ origin: 'https://swap.example', 'x-forwarded-host': 'swap.example' })).toBe(false);
    expect(own({ origin: 'https://swap.example', 'x-forwarded-host': 'swap.example' }, 1)).toBe(true);
    expect(refuseTrpcRequest('POST', url('auth.signOut'), new Headers({ ...json, host: 'a', origin: 'https://evil.example' }), 0)).toMatchObject({ status: 403 });
    // reads are not refused by origin
    expect(refuseTrpcRequest('GET', url('auth.me'), new Headers({ host: 'a', 'sec-fetch-site': 'cross-site' }), 0)).toBeNull();
  });
});

describe('signaling rate per device', () => {
  it('allows a burst of 50, then 25 a second', async () => {
    const { SIGNAL_RATE, takeSignalToken } = await import('@/server/content/signaling');
    const t0 = 1_000_000;
    for (let i = 0; i < SIGNAL_RATE.burst; i++) takeSignalToken('burst-device', t0);
    expect(() => takeSignalToken('burst-device', t0)).toThrow(/too fast/);
    // another device has its own bucket
    expect(() => takeSignalToken('other-device', t0)).not.toThrow();
    // 200 ms later, 5 more
    for (let i = 0; i < 5; i++) takeSignalToken('burst-device', t0 + 200);
    expect(() => takeSignalToken('burst-device', t0 + 200)).toThrow(expect.objectContaining({ kind: 'RATE_LIMITED', retryAfterSeconds: 1 }));
  });
});
