/**
 * Pure rules of a job's results location: the one results file, the signature on a results POST, the
 * retry schedule, and which URLs the coordinator will post to. No I/O here (server/compute/results.ts does it).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { stableStringify } from '../../workers/kernels/shared';
import type { Json } from '../../workers/kernels/types';

export const RESULTS_FORMAT = 'swapmesh.results/1';
export const SIGNATURE_HEADER = 'x-swapmesh-signature';
export const TIMESTAMP_HEADER = 'x-swapmesh-timestamp';
export const JOB_HEADER = 'x-swapmesh-job';
/** A receiver should refuse a signature older (or newer) than this, so that a captured POST cannot be replayed later. */
export const SIGNATURE_TOLERANCE_S = 300;
export const MAX_URL_LENGTH = 2048;
/** Attempts before a delivery is given up (FAILED); the first is immediate, then `retryDelayMs(n)` after failure n. */
export const MAX_DELIVERY_ATTEMPTS = 8;
export const FIRST_RETRY_MS = 5_000;
export const MAX_RETRY_MS = 3_600_000;

/** A fresh per-job secret: 32 random bytes, hex. */
export const newResultsSecret = () => randomBytes(32).toString('hex');

export type ResultsFile = { name: string; body: string; sha256: string; bytes: number };

/**
 * The job's results as ONE file (JSON, keys sorted so that the same results always give the same bytes): what
 * the job page offers for download, what is POSTed to the results URL and sent to the owner's device.
 */
export function resultsFile(job: { id: string; title: string; kernel: string; unitCount: number; completedAt: Date | null }, result: Json): ResultsFile {
  const body = stableStringify({
    format: RESULTS_FORMAT,
    job: { id: job.id, title: job.title, kernel: job.kernel, units: job.unitCount, completedAt: job.completedAt?.toISOString() ?? null },
    result,
  });
  return {
    name: `swapmesh-job-${job.id}-results.json`,
    body,
    sha256: createHash('sha256').update(body).digest('hex'),
    bytes: Buffer.byteLength(body),
  };
}

/** HMAC-SHA256 (hex) of `<timestamp>.<body>` under the job's secret: the timestamp is signed with the body. */
export function signResults(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The headers of a results POST made at `now`. */
export function signatureHeaders(secret: string, jobId: string, body: string, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  return {
    'content-type': 'application/json',
    [JOB_HEADER]: jobId,
    [TIMESTAMP_HEADER]: String(timestamp),
    [SIGNATURE_HEADER]: `sha256=${signResults(secret, timestamp, body)}`,
  };
}

/** What a receiver does (and the tests): true when the signature is the body's under `secret` and recent. */
export function verifyResultsSignature(secret: string, headers: { timestamp: string | undefined; signature: string | undefined }, body: string, now: Date, toleranceS = SIGNATURE_TOLERANCE_S): boolean {
  if (!headers.timestamp || !/^\d{1,12}$/.test(headers.timestamp) || !headers.signature?.startsWith('sha256=')) return false;
  const timestamp = Number(headers.timestamp);
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceS) return false;
  const given = Buffer.from(headers.signature.slice('sha256='.length), 'hex');
  const expected = Buffer.from(signResults(secret, timestamp, body), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Wait after failed attempt `n` (1-based): 5 s, 10 s, 20 s … doubling, at most an hour. */
export function retryDelayMs(failedAttempt: number): number {
  if (failedAttempt < 1) return 0;
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(failedAttempt - 1, 30));
}

/** Whether an HTTP answer means the results arrived (2xx); anything else is retried. */
export const delivered = (status: number) => status >= 200 && status < 300;

/** Whether an address is loopback, private, link-local, unspecified or otherwise not on the public internet. */
export function isPrivateAddress(address: string): boolean {
  const v = isIP(address);
  if (v === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number);
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || a >= 224;
  }
  if (v === 6) {
    const x = address.toLowerCase();
    if (x.startsWith('::ffff:')) return isPrivateAddress(x.slice(7));
    return x === '::' || x === '::1' || x.startsWith('fc') || x.startsWith('fd') || x.startsWith('fe8') || x.startsWith('fe9') || x.startsWith('fea') || x.startsWith('feb') || x.startsWith('ff');
  }
  return false;
}

/**
 * The problem with a results URL, written for the person, or null. Only absolute http(s) URLs without
 * credentials; hosts on loopback or private networks only where the coordinator allows them
 * (`SWAPMESH_RESULTS_ALLOW_PRIVATE=1`, for a coordinator on a LAN and for tests).
 */
export function resultsUrlProblem(text: string, options: { allowPrivate: boolean }): string | null {
  if (text.length > MAX_URL_LENGTH) return `A results URL can be at most ${MAX_URL_LENGTH} characters.`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'The results URL is not a complete web address: write it like https://example.org/results.';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `Results can be sent only to http:// or https:// addresses, not ${url.protocol}//.`;
  if (url.username || url.password) return 'Leave the user name and password out of the results URL: the signature proves the results are from Swapmesh.';
  if (!url.hostname) return 'The results URL names no host.';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!options.allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host))) {
    return 'This coordinator does not send results to loopback or private network addresses: give a public address.';
  }
  return null;
}

export const allowPrivateResults = () => process.env.SWAPMESH_RESULTS_ALLOW_PRIVATE === '1';
