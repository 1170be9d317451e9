import { describe, expect, it } from 'vitest';
import {
  admitView, effectiveCap, HARD_RATE_PER_MINUTE, isPrivateAddress, judgeReport, networkOf, pageViewReport, parseOrigin, parsePageUrl, percentile,
  rateWindowStart, regionOf, tokenServed, viewUrl, wellKnownUrl, type LeasedView,
} from '@/server/pageviews/rules';

const at = (iso: string) => new Date(iso);

describe('targets', () => {
  it('takes the origin of an address and refuses what is not an http(s) site', () => {
    expect(parseOrigin('https://shop.example.org/pricing?x=1')).toEqual({ ok: true, origin: 'https://shop.example.org' });
    expect(parseOrigin('example.org')).toEqual({ ok: true, origin: 'https://example.org' });
    expect(parseOrigin('http://127.0.0.1:8123/')).toEqual({ ok: true, origin: 'http://127.0.0.1:8123' });
    expect(parseOrigin('ftp://example.org')).toMatchObject({ ok: false, kind: 'BAD_INPUT' });
    expect(parseOrigin('https://me:secret@example.org')).toMatchObject({ ok: false, message: /user name/ });
    expect(parseOrigin('http://')).toMatchObject({ ok: false });
  });

  it('keeps pages on the verified origin and puts the view token in the query', () => {
    expect(parsePageUrl('/pricing#top', 'https://a.example')).toEqual({ ok: true, url: 'https://a.example/pricing' });
    expect(parsePageUrl('https://b.example/', 'https://a.example')).toMatchObject({ ok: false, message: /only load pages of the site you verified/ });
    expect(parsePageUrl('//b.example/x', 'https://a.example')).toMatchObject({ ok: false });
    expect(viewUrl('https://a.example/p?q=1', 'tok')).toBe('https://a.example/p?q=1&swapmesh_view=tok');
    expect(wellKnownUrl('https://a.example', 'abc')).toBe('https://a.example/.well-known/swapmesh-abc.txt');
    expect(tokenServed(' abc\n', 'abc')).toBe(true);
    expect(tokenServed('abcd', 'abc')).toBe(false);
    expect(tokenServed('<html>abc</html>', 'abc')).toBe(false);
  });

  it('tells private, loopback and reserved addresses from public ones', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:2800:220:1:248:1893:25c8:1946', '::ffff:8.8.8.8']) {
      expect(isPrivateAddress(ip), ip).toBe(false);
    }
  });
});

describe('the rate cap', () => {
  const now = at('2026-12-06T12:00:30.000Z');
  it('counts views per fixed minute up to the cap, never above the hard cap', () => {
    expect(rateWindowStart(now)).toEqual(at('2026-12-06T12:00:00.000Z'));
    expect(effectiveCap(1_000)).toBe(HARD_RATE_PER_MINUTE);
    expect(effectiveCap(0)).toBe(1);
    expect(admitView(null, now, 5)).toEqual({ admit: true, windowStart: at('2026-12-06T12:00:00.000Z'), count: 1, fresh: true });
    expect(admitView({ windowStart: at('2026-12-06T12:00:00.000Z'), count: 4 }, now, 5)).toMatchObject({ admit: true, count: 5, fresh: false });
    expect(admitView({ windowStart: at('2026-12-06T12:00:00.000Z'), count: 5 }, now, 5)).toEqual({ admit: false, retryAfterMs: 30_000 });
    // an earlier minute's counter starts afresh
    expect(admitView({ windowStart: at('2026-12-06T11:59:00.000Z'), count: 5 }, now, 5)).toMatchObject({ admit: true, count: 1, fresh: true });
    // whatever the owner allowed, no more than the hard cap
    expect(admitView({ windowStart: at('2026-12-06T12:00:00.000Z'), count: HARD_RATE_PER_MINUTE }, now, 10_000)).toMatchObject({ admit: false });
  });

  it('admits exactly the cap out of many sequential claims in one minute', () => {
    let state: { windowStart: Date; count: number } | null = null;
    let admitted = 0;
    for (let i = 0; i < 100; i++) {
      const verdict = admitView(state, new Date(now.getTime() + i * 100), 7);
      if (verdict.admit) {
        admitted++;
        state = { windowStart: verdict.windowStart, count: verdict.count };
      }
    }
    expect(admitted).toBe(7);
  });
});

describe('view reports', () => {
  const claimedAt = at('2026-12-06T12:00:00.000Z');
  const view: LeasedView = { deviceId: 'd1', token: 't'.repeat(32), state: 'LEASED', claimedAt, leaseEndsAt: at('2026-12-06T12:01:00.000Z') };
  const later = (ms: number) => new Date(claimedAt.getTime() + ms);

  it('accepts a load time within the time since the view was handed out', () => {
    expect(judgeReport(view, 'd1', { token: view.token, ok: true, durationMs: 800, ttfbMs: 120 }, later(1_000))).toEqual({ ok: true, state: 'VALID', durationMs: 800, ttfbMs: 120, error: null });
    expect(judgeReport(view, 'd1', { token: view.token, ok: false, error: 'TypeError: Failed to fetch' }, later(1_000))).toMatchObject({ ok: true, state: 'ERROR', durationMs: null });
  });

  it('refuses a wrong token, another device, a replay, an expired view and inflated or impossible times', () => {
    expect(judgeReport(view, 'd1', { token: 'x'.repeat(32), ok: true, durationMs: 500 }, later(1_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: /token does not match/ });
    expect(judgeReport(view, 'd2', { token: view.token, ok: true, durationMs: 500 }, later(1_000))).toMatchObject({ ok: false, message: /another of your devices/ });
    expect(judgeReport({ ...view, state: 'VALID' }, 'd1', { token: view.token, ok: true, durationMs: 500 }, later(1_000))).toMatchObject({ ok: false, kind: 'CONFLICT' });
    expect(judgeReport(view, 'd1', { token: view.token, ok: true, durationMs: 500 }, later(61_000))).toMatchObject({ ok: false, kind: 'PRECONDITION', message: /expired/ });
    expect(judgeReport(view, 'd1', { token: view.token, ok: true, durationMs: 9_000 }, later(3_000))).toMatchObject({ ok: false, message: /longer load than the time/ });
    expect(judgeReport(view, 'd1', { token: view.token, ok: true, durationMs: 0 }, later(3_000))).toMatchObject({ ok: false });
    expect(judgeReport(view, 'd1', { token: view.token, ok: true, durationMs: 40_000 }, later(50_000))).toMatchObject({ ok: false, message: /timeout/ });
    expect(judgeReport(view, 'd1', { token: view.token, ok: true, durationMs: 500, ttfbMs: 600 }, later(3_000))).toMatchObject({ ok: false, message: /first byte/ });
  });
});

describe('report statistics', () => {
  it('takes nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([5], 95)).toBe(5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile([10, 20, 30, 40], 50)).toBe(20);
    expect(percentile([10, 20, 30, 40], 95)).toBe(40);
  });

  it('groups views by network type and region, timing only the validated loads', () => {
    const views = [
      { state: 'VALID', network: 'wifi', region: 'Europe', durationMs: 100 },
      { state: 'VALID', network: 'wifi', region: 'Europe', durationMs: 300 },
      { state: 'VALID', network: 'wifi', region: 'Europe', durationMs: 200 },
      { state: 'ERROR', network: 'wifi', region: 'Europe', durationMs: null },
      { state: 'VALID', network: 'cellular', region: 'America', durationMs: 900 },
      { state: 'EXPIRED', network: 'cellular', region: 'America', durationMs: null },
      { state: 'LEASED', network: 'other', region: 'Unknown', durationMs: null },
    ];
    const report = pageViewReport(views);
    expect(report.total).toEqual({ network: 'all', region: 'all', views: 7, valid: 4, errors: 1, expired: 1, pending: 1, p50Ms: 200, p95Ms: 900 });
    expect(report.groups.map((g) => [g.network, g.region, g.valid, g.p50Ms, g.p95Ms])).toEqual([
      ['cellular', 'America', 1, 900, 900],
      ['other', 'Unknown', 0, null, null],
      ['wifi', 'Europe', 3, 200, 300],
    ]);
  });

  it('reads the network type from the device profile and the region from a time zone', () => {
    expect(networkOf({ network: { type: 'cellular' } })).toBe('cellular');
    expect(networkOf({ network: { type: 'bluetooth' } })).toBe('other');
    expect(networkOf(null)).toBe('other');
    expect(regionOf('Europe/Paris')).toBe('Europe');
    expect(regionOf('America/Argentina/Buenos_Aires')).toBe('America');
    expect(regionOf('Etc/UTC')).toBe('Unknown');
    expect(regionOf('<script>')).toBe('Unknown');
    expect(regionOf(undefined)).toBe('Unknown');
  });
});
