/**
 * The coordinator's one outgoing request for page views: GET the origin's well-known token file. It goes only
 * to that origin, follows no redirect, gives up after a timeout, reads at most a few KB, and connects only to an
 * address it checked (the lookup that resolves the host also refuses private ones, so a DNS answer cannot change
 * between the check and the connection) unless PAGEVIEWS_ALLOW_PRIVATE=1 (tests and local sites).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { isPrivateAddress } from './rules';

export const FETCH_TIMEOUT_MS = 5_000;
export const FETCH_MAX_BYTES = 4_096;

export const privateAllowed = () => process.env.PAGEVIEWS_ALLOW_PRIVATE === '1';

export type FetchOutcome = { ok: true; status: number; body: string } | { ok: false; reason: string };

/** Resolves like dns.lookup, refusing the host when any of its addresses is private. */
const checkedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 4);
    const list = addresses as LookupAddress[];
    if (!privateAllowed() && list.some((a) => isPrivateAddress(a.address))) {
      return callback(Object.assign(new Error('private address'), { code: 'EPRIVATE' }), '', 4);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0];
    if (!first) return callback(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }), '', 4);
    callback(null, first.address, first.family);
  });
};

export function fetchToken(target: string): Promise<FetchOutcome> {
  return new Promise<FetchOutcome>((settle) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const resolve = (outcome: FetchOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      settle(outcome);
    };
    const url = new URL(target);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) && !privateAllowed() && isPrivateAddress(host)) {
      resolve({ ok: false, reason: 'The site’s address is a private or local one, which the coordinator does not visit.' });
      return;
    }
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(url, { lookup: checkedLookup, timeout: FETCH_TIMEOUT_MS, headers: { 'user-agent': 'Swapmesh-verifier/1', accept: 'text/plain' } }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        response.destroy();
        resolve({ ok: false, reason: `The site answered with a redirect (${status}); serve the file at that exact address.` });
        return;
      }
      let size = 0;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > FETCH_MAX_BYTES) {
          response.destroy();
          resolve({ ok: false, reason: `The file is larger than ${FETCH_MAX_BYTES} bytes: it should hold only the token.` });
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve({ ok: true, status, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', () => resolve({ ok: false, reason: 'The site closed the connection before the file was read.' }));
    });
    // the whole request, not only each silence, ends at the timeout
    const giveUp = () => {
      resolve({ ok: false, reason: `The site did not answer within ${FETCH_TIMEOUT_MS / 1000} s.` });
      request.destroy();
    };
    timer = setTimeout(giveUp, FETCH_TIMEOUT_MS);
    request.on('timeout', giveUp);
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPRIVATE') resolve({ ok: false, reason: 'The site’s address is a private or local one, which the coordinator does not visit.' });
      else if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') resolve({ ok: false, reason: 'The site’s name could not be found.' });
      else resolve({ ok: false, reason: 'The site could not be reached.' });
    });
  });
}
