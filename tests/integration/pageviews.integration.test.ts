import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '@/server/errors';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { holdFor } from '@/server/market/reservation';
import { claimView, reportView, sweepPageViews } from '@/server/pageviews/views';
import { VIEW_LEASE_MS, VIEW_TOKEN_PARAM } from '@/server/pageviews/rules';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE = CREDIT / 10;
const CONCURRENCY = 24;

/** A test site on loopback: serves its owners' token files and a page, and records each view token it is sent. */
type Site = { origin: string; hits: string[]; tokens: Set<string>; close: () => Promise<void> };
async function startSite(): Promise<Site> {
  const hits: string[] = [];
  const tokens = new Set<string>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const file = /^\/\.well-known\/swapmesh-([A-Za-z0-9_-]+)\.txt$/.exec(url.pathname);
    if (file) {
      const token = file[1]!;
      res.writeHead(tokens.has(token) ? 200 : 404, { 'content-type': 'text/plain' }).end(tokens.has(token) ? `${token}\n` : 'not here');
      return;
    }
    const view = url.searchParams.get(VIEW_TOKEN_PARAM);
    if (view) hits.push(view);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title><p>Hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, hits, tokens, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

type Member = { id: string; caller: Caller; deviceId: string };

describe.each(databaseKinds)('page views on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;
  const sites: Site[] = [];
  const previousFlag = process.env.PAGEVIEWS_ALLOW_PRIVATE;

  const member = async (prefix: string): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug: 'views-town' });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    return { id: m.member.id, caller: m.caller, deviceId: device.id };
  };
  const donor = async () => {
    const d = await member('donor');
    await d.caller.pageviews.setServing({ communityId, deviceId: d.deviceId, on: true, floorPrice: 1 });
    return d;
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });

  /** A buyer with a verified loopback site (its own server, so its own rate counter) and an order of `quantity` views. */
  async function verifiedOrder(quantity: number, ratePerMinute = 30) {
    const site = await startSite();
    sites.push(site);
    const buyer = await member('buyer');
    const added = await buyer.caller.pageviews.addSite({ origin: site.origin, ratePerMinute });
    site.tokens.add(added.token);
    await buyer.caller.pageviews.verifySite({ siteId: added.id });
    const order = await buyer.caller.pageviews.order({ communityId, siteId: added.id, path: '/shop', quantity, price: PRICE });
    return { site, buyer, siteId: added.id, ...order };
  }

  /** What a donor's browser does for one view: loads the page with its token, then reports the time. */
  async function load(url: string) {
    const started = performance.now();
    const response = await fetch(url);
    await response.text();
    return Math.max(1, Math.round(performance.now() - started));
  }

  beforeAll(async () => {
    process.env.PAGEVIEWS_ALLOW_PRIVATE = '1';
    t = await freshDatabase(kind);
    const coordinator = (await signUp(t.db, 'views-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Views town', slug: 'views-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(async () => {
    if (previousFlag === undefined) delete process.env.PAGEVIEWS_ALLOW_PRIVATE;
    else process.env.PAGEVIEWS_ALLOW_PRIVATE = previousFlag;
    await Promise.all(sites.map((s) => s.close()));
    await t?.drop();
  });

  it('verifies a loopback site by its token and refuses an unverified one, a wrong token file and private addresses without the flag', async () => {
    const site = await startSite();
    sites.push(site);
    const buyer = await member('owner');
    const added = await buyer.caller.pageviews.addSite({ origin: `${site.origin}/some/page`, ratePerMinute: 20 });
    expect(added).toMatchObject({ origin: site.origin, verified: false, tokenUrl: `${site.origin}/.well-known/swapmesh-${added.token}.txt` });

    // not served yet: not verified, and no views can be ordered
    await rejects(buyer.caller.pageviews.verifySite({ siteId: added.id }), 'PRECONDITION_FAILED', /answered 404/);
    await rejects(buyer.caller.pageviews.order({ communityId, siteId: added.id, path: '/', quantity: 5, price: PRICE }), 'PRECONDITION_FAILED', /not verified/);
    // another site's token does not verify this one
    site.tokens.add('someone-elses-token-123');
    await rejects(buyer.caller.pageviews.verifySite({ siteId: added.id }), 'PRECONDITION_FAILED', /404/);

    site.tokens.add(added.token);
    expect(await buyer.caller.pageviews.verifySite({ siteId: added.id })).toMatchObject({ verified: true, lastError: null });
    // a page of another origin is refused even with a verified site
    await rejects(buyer.caller.pageviews.order({ communityId, siteId: added.id, path: 'http://example.org/', quantity: 5, price: PRICE }), 'BAD_REQUEST', /only load pages of the site you verified/);

    // without the operator's flag the coordinator does not fetch loopback addresses, and the site is un-verified
    process.env.PAGEVIEWS_ALLOW_PRIVATE = '0';
    try {
      await rejects(buyer.caller.pageviews.verifySite({ siteId: added.id }), 'PRECONDITION_FAILED', /private or local/);
      const other = await buyer.caller.pageviews.addSite({ origin: 'http://localhost:9', ratePerMinute: 5 });
      await rejects(buyer.caller.pageviews.verifySite({ siteId: other.id }), 'PRECONDITION_FAILED', /private or local/);
    } finally {
      process.env.PAGEVIEWS_ALLOW_PRIVATE = '1';
    }
    expect((await buyer.caller.pageviews.sites()).find((s) => s.id === added.id)).toMatchObject({ verified: false });
    // no request other than token files reached the site
    expect(site.hits).toEqual([]);
  });

  it('hands views to three donors, who load the page with its token and are paid per validated view; the ledger sums to zero', async () => {
    const { site, buyer, campaignId } = await verifiedOrder(6);
    const amounts = fillAmounts(1, PRICE, BPS);
    expect(await balance(buyer)).toEqual({ available: GRANT - holdFor(6, PRICE, BPS), escrow: holdFor(6, PRICE, BPS) });
    const donors = [await donor(), await donor(), await donor()];

    for (let round = 0; round < 2; round++) {
      for (const d of donors) {
        const { view } = await d.caller.pageviews.claim({ communityId, deviceId: d.deviceId, timeZone: 'Europe/Paris' });
        expect(view).not.toBeNull();
        const durationMs = await load(view!.url);
        expect(await d.caller.pageviews.submit({ viewId: view!.viewId, deviceId: d.deviceId, token: view!.token, outcome: { ok: true, durationMs } })).toMatchObject({ state: 'VALID', paid: true });
      }
    }
    // all six handed out: no seventh
    expect(await donors[0]!.caller.pageviews.claim({ communityId, deviceId: donors[0]!.deviceId })).toEqual({ view: null });

    for (const d of donors) {
      expect(await balance(d)).toEqual({ available: GRANT + 2 * amounts.sellerGets, escrow: 0 });
      expect(await d.caller.pageviews.serving({ communityId, deviceId: d.deviceId })).toMatchObject({ serving: true, views: { valid: 2, errors: 0 }, earned: 2 * amounts.sellerGets });
    }
    expect(await balance(buyer)).toEqual({ available: GRANT - 6 * amounts.buyerPays, escrow: 0 });

    const report = await buyer.caller.pageviews.report({ campaignId });
    expect(report).toMatchObject({ quantity: 6, notHandedOut: 0, status: 'FILLED', spent: 6 * amounts.buyerPays });
    expect(report.total).toMatchObject({ views: 6, valid: 6, errors: 0 });
    expect(report.total.p50Ms).toBeGreaterThan(0);
    expect(report.groups).toEqual([expect.objectContaining({ network: 'wifi', region: 'Europe', valid: 6 })]);
    // the site saw each paid view's token exactly once
    expect([...site.hits].sort()).toEqual(report.views.map((v) => v.token).sort());
    const contracts = await t.db.contract.findMany({ where: { buyerId: buyer.id }, select: { state: true, category: true, unit: true } });
    expect(contracts).toHaveLength(6);
    expect(contracts.every((c) => c.state === 'SETTLED' && c.category === 'NETWORK' && c.unit === 'PAGE_VIEW')).toBe(true);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`holds the rate cap under ${CONCURRENCY} concurrent claims from several donors`, async () => {
    const { buyer, campaignId } = await verifiedOrder(50, 5);
    const donors = await Promise.all(Array.from({ length: 4 }, () => donor()));
    // the start of the current minute, so that the claims below all fall in one minute and the next ones in the next
    const now = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const outcomes = await Promise.allSettled(Array.from({ length: CONCURRENCY }, (_, i) => claimView(t.db, donors[i % 4]!.id, { communityId, deviceId: donors[i % 4]!.deviceId }, now)));
    const views = outcomes.filter((o) => o.status === 'fulfilled' && o.value.view).length;
    const limited = outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof DomainError && o.reason.kind === 'RATE_LIMITED').length;
    expect(views).toBe(5);
    expect(limited).toBe(CONCURRENCY - 5);
    expect(await t.db.pageView.count({ where: { campaignId } })).toBe(5);
    // the next minute lets five more through
    const next = new Date(now.getTime() + 60_000);
    const more = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => claimView(t.db, donors[i % 4]!.id, { communityId, deviceId: donors[i % 4]!.deviceId }, next)));
    expect(more.filter((o) => o.status === 'fulfilled' && o.value.view).length).toBe(5);
    expect((await buyer.caller.pageviews.report({ campaignId })).notHandedOut).toBe(40);
    // the buyer stops the order: what it still holds for the 40 views goes back
    await buyer.caller.pageviews.cancel({ campaignId });
    const amounts = fillAmounts(1, PRICE, BPS);
    expect(await balance(buyer)).toEqual({ available: GRANT - 10 * amounts.buyerPays, escrow: 10 * amounts.buyerPays });
    await rejects(buyer.caller.pageviews.cancel({ campaignId }), 'CONFLICT', /already cancelled/);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`never hands out more views than ordered under ${CONCURRENCY} concurrent claims`, async () => {
    const { buyer, campaignId } = await verifiedOrder(3, 60);
    const donors = await Promise.all(Array.from({ length: 3 }, () => donor()));
    const outcomes = await Promise.allSettled(Array.from({ length: CONCURRENCY }, (_, i) => claimView(t.db, donors[i % 3]!.id, { communityId, deviceId: donors[i % 3]!.deviceId })));
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    expect(outcomes.filter((o) => o.status === 'fulfilled' && o.value.view).length).toBe(3);
    expect(await t.db.pageView.count({ where: { campaignId } })).toBe(3);
    const amounts = fillAmounts(1, PRICE, BPS);
    // all three escrowed, nothing more
    expect(await balance(buyer)).toEqual({ available: GRANT - 3 * amounts.buyerPays, escrow: 3 * amounts.buyerPays });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`pays a view exactly once under ${CONCURRENCY} concurrent reports`, async () => {
    const { buyer } = await verifiedOrder(1);
    const d = await donor();
    const now = new Date();
    const { view } = await claimView(t.db, d.id, { communityId, deviceId: d.deviceId }, now);
    const durationMs = await load(view!.url);
    const at = new Date(now.getTime() + durationMs + 10);
    const outcomes = await Promise.allSettled(Array.from({ length: CONCURRENCY }, () => reportView(t.db, d.id, { viewId: view!.viewId, deviceId: d.deviceId, report: { token: view!.token, ok: true, durationMs } }, at)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected').every((o) => o.reason instanceof DomainError && o.reason.kind === 'CONFLICT')).toBe(true);
    const amounts = fillAmounts(1, PRICE, BPS);
    expect(await balance(d)).toEqual({ available: GRANT + amounts.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses forged and inflated reports (wrong token, another donor, another device, impossible time, replay) and pays nothing for them; an unreported view is refunded', async () => {
    const { buyer, campaignId } = await verifiedOrder(2);
    const [a, b] = [await donor(), await donor()];
    const secondDevice = (await a.caller.device.register({ name: 'tablet', profile: phoneProfile })).device.id;
    const now = new Date();
    const { view } = await claimView(t.db, a.id, { communityId, deviceId: a.deviceId }, now);
    const { view: other } = await claimView(t.db, b.id, { communityId, deviceId: b.deviceId }, now);
    const soon = new Date(now.getTime() + 1_000);
    const report = (memberId: string, deviceId: string, token: string, durationMs = 300, at = soon) => reportView(t.db, memberId, { viewId: view!.viewId, deviceId, report: { token, ok: true, durationMs } }, at);

    await expect(report(a.id, a.deviceId, other!.token)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/token does not match/) });
    await expect(report(b.id, b.deviceId, view!.token)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    await expect(report(a.id, secondDevice, view!.token)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/another of your devices/) });
    await expect(report(a.id, a.deviceId, view!.token, 5_000)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/longer load than the time/) });
    // through the API: a stranger, and a made-up view
    await rejects(b.caller.pageviews.submit({ viewId: view!.viewId, deviceId: b.deviceId, token: view!.token, outcome: { ok: true, durationMs: 10 } }), 'NOT_FOUND');
    await rejects(a.caller.pageviews.submit({ viewId: 'no-such-view', deviceId: a.deviceId, token: view!.token, outcome: { ok: true, durationMs: 10 } }), 'NOT_FOUND');
    // more views than ordered: the order has two, both handed out
    expect(await claimView(t.db, a.id, { communityId, deviceId: a.deviceId }, now)).toEqual({ view: null });
    expect(await balance(a)).toEqual({ available: GRANT, escrow: 0 });

    // the honest report counts once; its replay is refused
    await report(a.id, a.deviceId, view!.token);
    await expect(report(a.id, a.deviceId, view!.token)).rejects.toMatchObject({ kind: 'CONFLICT' });
    // b never reports: after the lease its view expires and the buyer gets its escrow back; a late report is refused
    const late = new Date(now.getTime() + VIEW_LEASE_MS + 1_000);
    // (views other tests left unreported expire with it)
    expect((await sweepPageViews(t.db, late)).expired).toBeGreaterThanOrEqual(1);
    expect(await t.db.pageView.findUniqueOrThrow({ where: { id: other!.viewId }, select: { state: true } })).toEqual({ state: 'EXPIRED' });
    await expect(reportView(t.db, b.id, { viewId: other!.viewId, deviceId: b.deviceId, report: { token: other!.token, ok: true, durationMs: 100 } }, late)).rejects.toMatchObject({ kind: 'CONFLICT' });

    const amounts = fillAmounts(1, PRICE, BPS);
    expect(await balance(a)).toEqual({ available: GRANT + amounts.sellerGets, escrow: 0 });
    expect(await balance(b)).toEqual({ available: GRANT, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: 0 });
    const report2 = await buyer.caller.pageviews.report({ campaignId });
    expect(report2.total).toMatchObject({ views: 2, valid: 1, expired: 1 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('reports an error load without paying for it, and serves only the network types ordered', async () => {
    const site = await startSite();
    sites.push(site);
    const buyer = await member('buyer');
    const added = await buyer.caller.pageviews.addSite({ origin: site.origin, ratePerMinute: 30 });
    site.tokens.add(added.token);
    await buyer.caller.pageviews.verifySite({ siteId: added.id });
    const d = await donor();
    // the donor's phone is on wifi: an order for cellular devices is not handed to it
    await buyer.caller.pageviews.order({ communityId, siteId: added.id, path: '/', quantity: 2, price: PRICE, networks: ['cellular'] });
    expect(await d.caller.pageviews.claim({ communityId, deviceId: d.deviceId })).toEqual({ view: null });
    const { campaignId } = await buyer.caller.pageviews.order({ communityId, siteId: added.id, path: '/', quantity: 1, price: PRICE, networks: ['wifi'] });
    const { view } = await d.caller.pageviews.claim({ communityId, deviceId: d.deviceId });
    expect(view?.campaignId).toBe(campaignId);
    expect(await d.caller.pageviews.submit({ viewId: view!.viewId, deviceId: d.deviceId, token: view!.token, outcome: { ok: false, error: 'TypeError: Failed to fetch' } })).toMatchObject({ state: 'ERROR', paid: false });
    expect(await balance(d)).toEqual({ available: GRANT, escrow: 0 });
    expect((await buyer.caller.pageviews.report({ campaignId })).total).toMatchObject({ views: 1, valid: 0, errors: 1, p50Ms: null });
    // switching serving off stops the device's claims
    await d.caller.pageviews.setServing({ communityId, deviceId: d.deviceId, on: false });
    await rejects(d.caller.pageviews.claim({ communityId, deviceId: d.deviceId }), 'PRECONDITION_FAILED', /switch serving on/);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
