import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_DELIVERY_ATTEMPTS, MAX_RETRY_MS, resultsFile, resultsUrlProblem, retryDelayMs, signatureHeaders, signResults,
  SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyResultsSignature,
} from '@/server/compute/results-rules';
import { customKernel, customParamsSchema } from '@/workers/kernels/custom';

const SECRET = 'a'.repeat(64);
const job = { id: 'job1', title: 'Squares', kernel: 'custom', unitCount: 3, completedAt: new Date('2026-12-06T12:00:00Z') };

describe('results signature', () => {
  it('is HMAC-SHA256 of "<timestamp>.<body>" under the job secret, checked by the receiver', () => {
    const body = '{"result":[1,4,9]}';
    const now = new Date('2026-12-06T12:00:00Z');
    const headers = signatureHeaders(SECRET, 'job1', body, now);
    const ts = Math.floor(now.getTime() / 1000);
    expect(headers[TIMESTAMP_HEADER]).toBe(String(ts));
    expect(headers[SIGNATURE_HEADER]).toBe(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`);
    expect(signResults(SECRET, ts, body)).toHaveLength(64);
    const given = { timestamp: headers[TIMESTAMP_HEADER], signature: headers[SIGNATURE_HEADER] };
    expect(verifyResultsSignature(SECRET, given, body, now)).toBe(true);
  });

  it('fails for another body, another secret, a changed timestamp, a stale one or a malformed header', () => {
    const body = '{"result":[1,4,9]}';
    const now = new Date('2026-12-06T12:00:00Z');
    const h = signatureHeaders(SECRET, 'job1', body, now);
    const given = { timestamp: h[TIMESTAMP_HEADER], signature: h[SIGNATURE_HEADER] };
    expect(verifyResultsSignature(SECRET, given, body.replace('9', '8'), now)).toBe(false);
    expect(verifyResultsSignature('b'.repeat(64), given, body, now)).toBe(false);
    expect(verifyResultsSignature(SECRET, { ...given, timestamp: String(Number(given.timestamp) + 1) }, body, now)).toBe(false);
    expect(verifyResultsSignature(SECRET, given, body, new Date(now.getTime() + 301_000))).toBe(false);
    expect(verifyResultsSignature(SECRET, { ...given, signature: 'sha256=zz' }, body, now)).toBe(false);
    expect(verifyResultsSignature(SECRET, { timestamp: undefined, signature: given.signature }, body, now)).toBe(false);
  });
});

describe('retry schedule', () => {
  it('doubles from 5 s and stops at an hour', () => {
    expect([1, 2, 3, 4, 5].map(retryDelayMs)).toEqual([5_000, 10_000, 20_000, 40_000, 80_000]);
    expect(retryDelayMs(11)).toBe(MAX_RETRY_MS);
    expect(retryDelayMs(1_000)).toBe(MAX_RETRY_MS);
    for (let n = 1; n < MAX_DELIVERY_ATTEMPTS; n++) expect(retryDelayMs(n + 1)).toBeGreaterThanOrEqual(retryDelayMs(n));
  });
});

describe('results file', () => {
  it('is one JSON file whose bytes depend only on the job and its result, with its SHA-256', () => {
    const a = resultsFile(job, [1, 4, { b: 2, a: 1 }]);
    const b = resultsFile({ ...job }, [1, 4, { a: 1, b: 2 }]);
    expect(a.body).toBe(b.body);
    expect(a.name).toBe('swapmesh-job-job1-results.json');
    expect(a.sha256).toBe(createHash('sha256').update(a.body).digest('hex'));
    expect(a.bytes).toBe(Buffer.byteLength(a.body));
    expect(JSON.parse(a.body)).toEqual({
      format: 'swapmesh.results/1',
      job: { id: 'job1', title: 'Squares', kernel: 'custom', units: 3, completedAt: '2026-12-06T12:00:00.000Z' },
      result: [1, 4, { a: 1, b: 2 }],
    });
    expect(resultsFile(job, [1, 4, 8]).sha256).not.toBe(a.sha256);
  });
});

describe('results URL', () => {
  const open = { allowPrivate: true };
  const strict = { allowPrivate: false };
  it('takes absolute http(s) URLs only, with a message saying what to write', () => {
    expect(resultsUrlProblem('https://example.org/results', strict)).toBeNull();
    expect(resultsUrlProblem('http://127.0.0.1:9999/in', open)).toBeNull();
    expect(resultsUrlProblem('example.org/results', strict)).toMatch(/complete web address/);
    expect(resultsUrlProblem('ftp://example.org/x', strict)).toMatch(/only to http:\/\/ or https:\/\//);
    expect(resultsUrlProblem('javascript:alert(1)', strict)).toMatch(/only to http/);
    expect(resultsUrlProblem('file:///etc/passwd', open)).toMatch(/only to http/);
    expect(resultsUrlProblem('https://user:pw@example.org/', strict)).toMatch(/user name and password/);
    expect(resultsUrlProblem(`https://example.org/${'x'.repeat(3000)}`, strict)).toMatch(/at most 2048/);
  });
  it('refuses loopback and private hosts unless the coordinator allows them', () => {
    for (const url of ['http://127.0.0.1/x', 'http://localhost:80/', 'http://10.1.2.3/', 'http://192.168.1.1/', 'http://[::1]/', 'http://169.254.169.254/latest', 'http://172.20.0.1/']) {
      expect(resultsUrlProblem(url, strict)).toMatch(/private network/);
      expect(resultsUrlProblem(url, open)).toBeNull();
    }
  });
});

describe('custom kernel from the mesh', () => {
  const item = (c: string) => ({ itemId: `item-${c}`, sha256: c.repeat(64) });
  it('splits a data item into count units that name both items, and assembles count outputs', () => {
    const params = customParamsSchema.parse({ codeItem: item('a'), dataItem: item('b'), count: 3 });
    const units = customKernel.split(params, 3);
    expect(units).toEqual([0, 1, 2].map((index) => ({ codeSha256: 'a'.repeat(64), index, input: null, source: { codeItem: item('a'), dataItem: item('b') } })));
    expect(customKernel.assemble(params, [1, 2, 3])).toEqual([1, 2, 3]);
    expect(() => customKernel.assemble(params, [1, 2])).toThrow(/2 outputs for 3 inputs/);
  });
  it('needs the code and the inputs each exactly once, and a count with a data item', () => {
    expect(customParamsSchema.safeParse({ code: 'x', codeItem: item('a'), inputs: [1] }).success).toBe(false);
    expect(customParamsSchema.safeParse({ codeItem: item('a') }).success).toBe(false);
    expect(customParamsSchema.safeParse({ code: 'x', dataItem: item('b') }).success).toBe(false);
    expect(customParamsSchema.safeParse({ code: 'x', inputs: [1], count: 1 }).success).toBe(false);
    expect(customParamsSchema.safeParse({ code: 'x', inputs: [1] }).success).toBe(true);
  });
});
