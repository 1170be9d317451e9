/**
 * Page views, the pure part: what a target is (an http(s) origin), where its proof of control lives, which
 * addresses the coordinator never fetches, the hard rate cap per target, what a view report must say to be
 * paid, and the report's statistics. Plain data in, plain data out; server/pageviews/views.ts does the I/O.
 */
import { isIP } from 'node:net';

/** The most views any target receives in one minute, whatever its owner allows. */
export const HARD_RATE_PER_MINUTE = 60;
export const RATE_WINDOW_MS = 60_000;
/** How long a donor's device has to load the page and report, from the moment it was handed the view. */
export const VIEW_LEASE_MS = 60_000;
/** The longest load time a report may claim: a page that takes longer is reported as an error (a timeout). */
export const MAX_LOAD_MS = 30_000;
/** Lateness allowed between the coordinator's clock and a report's own measure (request and answer travel). */
export const CLOCK_SLACK_MS = 2_000;
/** The query parameter carrying a view's token to the buyer's site. */
export const VIEW_TOKEN_PARAM = 'swapmesh_view';
/** Network types a page-view order can ask for, as the donors' devices measured them (`navigator.connection.type`). */
export const NETWORK_TYPES = ['wifi', 'cellular', 'ethernet', 'other'] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

export type Verdict<T> = ({ ok: true } & T) | { ok: false; kind: 'BAD_INPUT' | 'PRECONDITION' | 'CONFLICT'; message: string };

/** The origin (scheme, host, port) of what a member typed, or a reason it is not a target. */
export function parseOrigin(input: string): Verdict<{ origin: string }> {
  let url: URL;
  try {
    url = new URL(input.trim().includes('://') ? input.trim() : `https://${input.trim()}`);
  } catch {
    return { ok: false, kind: 'BAD_INPUT', message: 'That is not a web address: enter one like https://example.org.' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, kind: 'BAD_INPUT', message: 'Only http and https sites can be tested.' };
  if (url.username || url.password) return { ok: false, kind: 'BAD_INPUT', message: 'Leave the user name and password out of the address.' };
  if (!url.hostname) return { ok: false, kind: 'BAD_INPUT', message: 'The address has no host name.' };
  return { ok: true, origin: url.origin };
}

/** The page a view loads: on the verified origin only, with http(s) and no credentials. */
export function parsePageUrl(input: string, origin: string): Verdict<{ url: string }> {
  let url: URL;
  try {
    url = new URL(input.trim(), origin);
  } catch {
    return { ok: false, kind: 'BAD_INPUT', message: 'That is not a web address: enter a path such as / or /pricing.' };
  }
  if (url.origin !== origin) return { ok: false, kind: 'BAD_INPUT', message: `Views can only load pages of the site you verified, ${origin}.` };
  if (url.username || url.password) return { ok: false, kind: 'BAD_INPUT', message: 'Leave the user name and password out of the address.' };
  url.hash = '';
  url.searchParams.delete(VIEW_TOKEN_PARAM);
  return { ok: true, url: url.toString() };
}

/** Where the origin's owner serves the token that proves they control it. */
export const wellKnownUrl = (origin: string, token: string) => `${origin}/.well-known/swapmesh-${token}.txt`;

/** The file must hold the token itself (surrounding white space allowed), not merely answer 200. */
export const tokenServed = (body: string, token: string) => body.trim() === token;

/** The page a donor loads for one view: the campaign's page with the view's token in its query. */
export function viewUrl(pageUrl: string, token: string): string {
  const url = new URL(pageUrl);
  url.searchParams.set(VIEW_TOKEN_PARAM, token);
  return url.toString();
}

function ipv4Private(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number, number, number];
  return (
    a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) || (a === 192 && b === 0) || (a === 198 && (b === 18 || b === 19)) || a >= 224
  );
}

/**
 * Addresses the coordinator never fetches from (unless the operator allows them): loopback, private, link-local,
 * carrier-grade NAT, multicast, reserved and unspecified, in IPv4 and IPv6 (IPv4-mapped included).
 */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return ipv4Private(ip);
  if (family !== 6) return true;
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return ipv4Private(mapped[1]!);
  if (lower === '::' || lower === '::1') return true;
  const first = parseInt(lower.split(':')[0] || '0', 16);
  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast, 64:ff9b::/96 and 2002::/16 may wrap private IPv4
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00 || first === 0x64 || first === 0x2002 || first === 0;
}

/** The minute a moment falls in: the rate cap counts views per fixed minute. */
export const rateWindowStart = (now: Date) => new Date(Math.floor(now.getTime() / RATE_WINDOW_MS) * RATE_WINDOW_MS);

/** The cap that applies to a target: what its owner allows, never more than the hard cap, at least one. */
export const effectiveCap = (ratePerMinute: number) => Math.max(1, Math.min(HARD_RATE_PER_MINUTE, Math.floor(ratePerMinute)));

/**
 * Whether one more view may start against a target whose counter reads `state` (null: never used): the
 * counter of the current minute below the cap, or a counter of an earlier minute (which starts afresh).
 */
export function admitView(state: { windowStart: Date; count: number } | null, now: Date, cap: number): { admit: true; windowStart: Date; count: number; fresh: boolean } | { admit: false; retryAfterMs: number } {
  const current = rateWindowStart(now);
  if (!state || state.windowStart.getTime() < current.getTime()) return { admit: true, windowStart: current, count: 1, fresh: true };
  if (state.count < effectiveCap(cap)) return { admit: true, windowStart: state.windowStart, count: state.count + 1, fresh: false };
  return { admit: false, retryAfterMs: state.windowStart.getTime() + RATE_WINDOW_MS - now.getTime() };
}

/** The network type of a device from the profile it registered (`navigator.connection.type`), `other` when unknown. */
export function networkOf(profile: unknown): NetworkType {
  const type = (profile as { network?: { type?: unknown } } | null)?.network?.type;
  if (type === 'wifi' || type === 'cellular' || type === 'ethernet') return type;
  return 'other';
}

export const parseNetworks = (stored: string): NetworkType[] => stored.split(',').filter((n): n is NetworkType => (NETWORK_TYPES as readonly string[]).includes(n));
/** An order with no network types takes any device. */
export const networkAllowed = (wanted: NetworkType[], network: NetworkType) => wanted.length === 0 || wanted.includes(network);

/** A region as a device reports it: the first part of its IANA time zone ("Europe/Paris" → "Europe"). */
export function regionOf(timeZone: string | undefined): string {
  const part = (timeZone ?? '').split('/')[0] ?? '';
  return /^[A-Za-z_]{2,32}$/.test(part) && part !== 'Etc' ? part.replace(/_/g, ' ') : 'Unknown';
}

export type ViewReport = { token: string } & ({ ok: true; durationMs: number; ttfbMs?: number | null } | { ok: false; error: string });
export type LeasedView = { deviceId: string; token: string; state: string; claimedAt: Date; leaseEndsAt: Date };

/**
 * Judges a donor's report of one view handed to `view`: by the device it was handed to, carrying the view's token,
 * while its lease runs, with a load time no longer than the time since it was handed out (nor than MAX_LOAD_MS).
 */
export function judgeReport(view: LeasedView, deviceId: string, report: ViewReport, now: Date): Verdict<{ state: 'VALID' | 'ERROR'; durationMs: number | null; ttfbMs: number | null; error: string | null }> {
  if (view.deviceId !== deviceId) return { ok: false, kind: 'BAD_INPUT', message: 'This view was handed to another of your devices: only that device can report it.' };
  if (report.token !== view.token) return { ok: false, kind: 'BAD_INPUT', message: 'The token does not match the one this view was handed out with: nothing is paid for it.' };
  if (view.state !== 'LEASED') return { ok: false, kind: 'CONFLICT', message: 'This view was already reported or has expired: it counts once.' };
  if (now.getTime() > view.leaseEndsAt.getTime()) return { ok: false, kind: 'PRECONDITION', message: 'This view expired before its report arrived: ask for another one.' };
  if (!report.ok) return { ok: true, state: 'ERROR', durationMs: null, ttfbMs: null, error: report.error.slice(0, 200) };
  const elapsed = now.getTime() - view.claimedAt.getTime() + CLOCK_SLACK_MS;
  if (!Number.isInteger(report.durationMs) || report.durationMs <= 0) return { ok: false, kind: 'BAD_INPUT', message: 'A load time is a whole number of milliseconds above zero.' };
  if (report.durationMs > MAX_LOAD_MS) return { ok: false, kind: 'BAD_INPUT', message: `A load longer than ${MAX_LOAD_MS / 1000} s is reported as an error (a timeout), not as a time.` };
  if (report.durationMs > elapsed) return { ok: false, kind: 'BAD_INPUT', message: 'The report claims a longer load than the time since the view was handed out.' };
  const ttfb = report.ttfbMs ?? null;
  if (ttfb !== null && (!Number.isInteger(ttfb) || ttfb < 0 || ttfb > report.durationMs)) return { ok: false, kind: 'BAD_INPUT', message: 'The time to first byte must lie within the load time.' };
  return { ok: true, state: 'VALID', durationMs: report.durationMs, ttfbMs: ttfb, error: null };
}

/** The nearest-rank percentile of sorted values (p in 0–100); null for none. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export type ReportView = { state: string; network: string; region: string; durationMs: number | null };
export type ReportGroup = { network: string; region: string; views: number; valid: number; errors: number; expired: number; pending: number; p50Ms: number | null; p95Ms: number | null };

function group(network: string, region: string, views: ReportView[]): ReportGroup {
  const times = views.filter((v) => v.state === 'VALID' && v.durationMs !== null).map((v) => v.durationMs!).sort((a, b) => a - b);
  return {
    network, region, views: views.length,
    valid: views.filter((v) => v.state === 'VALID').length,
    errors: views.filter((v) => v.state === 'ERROR').length,
    expired: views.filter((v) => v.state === 'EXPIRED').length,
    pending: views.filter((v) => v.state === 'LEASED').length,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
  };
}

/** The buyer's report: p50/p95 of validated load times and counts of errors, per network type and region, and over all. */
export function pageViewReport(views: ReportView[]): { total: ReportGroup; groups: ReportGroup[] } {
  const byKey = new Map<string, ReportView[]>();
  for (const v of views) {
    const key = `${v.network}\u0000${v.region}`;
    byKey.set(key, [...(byKey.get(key) ?? []), v]);
  }
  const groups = [...byKey.entries()]
    .map(([key, list]) => {
      const [network, region] = key.split('\u0000') as [string, string];
      return group(network, region, list);
    })
    .sort((a, b) => a.network.localeCompare(b.network) || a.region.localeCompare(b.region));
  return { total: group('all', 'all', views), groups };
}
