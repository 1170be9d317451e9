import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageCursor } from '@/server/paging';
import { rejects } from '../support/assertions';
import { signUp } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const ROWS = 120;
const BASE = Date.parse('2026-01-01T00:00:00.000Z');
/** Four rows share each millisecond, so pages must break ties by id. */
const at = (i: number) => new Date(BASE + Math.floor(i / 4));
const WINDOW = { windowStart: new Date(BASE), windowEnd: new Date(BASE + 3_600_000) };

type Paged = { items: { id: string }[]; nextCursor: PageCursor | null };

/**
 * Walks every page of a list, calling `between` after the first page (to add rows meanwhile),
 * and checks each page's size and that the last one says there is no next.
 */
async function walk(fetch: (cursor: PageCursor | null) => Promise<Paged>, limit: number, between?: () => Promise<unknown>) {
  const ids: string[] = [];
  let cursor: PageCursor | null = null;
  let pages = 0;
  do {
    const page: Paged = await fetch(cursor);
    pages++;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    if (page.nextCursor) expect(page.items).toHaveLength(limit);
    ids.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor;
    if (pages === 1) await between?.();
  } while (cursor);
  return { ids, pages };
}

describe.each(databaseKinds)('every list pages on %s', (kind) => {
  let t: TestDatabase;
  let alice: Awaited<ReturnType<typeof signUp>>;
  let bob: Awaited<ReturnType<typeof signUp>>;
  let communityId: string;
  let deviceId: string;
  let buyOrderId: string;
  let sellOrderId: string;

  const order = (i: number, memberId: string, createdAt: Date) => ({
    communityId, memberId, side: 'SELL' as const, category: 'STORAGE', unit: 'MB_HOUR', kind: 'STANDING' as const,
    status: 'CANCELLED' as const, quantity: 1, remaining: 1, price: 1_000n, ...WINDOW, seq: i, constraints: {}, createdAt,
  });
  const contract = (createdAt: Date, state: 'MATCHED' | 'DISPUTED') => ({
    communityId, buyerId: alice.member.id, sellerId: bob.member.id, category: 'STORAGE', unit: 'MB_HOUR', quantity: 1, price: 1_000n,
    pricing: 'CROSS', ...WINDOW, commissionBps: 0, buyerCommission: 0n, sellerCommission: 0n, escrowed: 0n, state, createdAt,
  });
  const negotiation = (createdAt: Date) => ({
    communityId, category: 'STORAGE', buyOrderId, sellOrderId, buyerId: alice.member.id, sellerId: bob.member.id, quantity: 1,
    buyerPrice: 1_000n, sellerPrice: 2_000n, expiresAt: new Date(BASE + 3_600_000), createdAt,
  });
  const job = (createdAt: Date) => ({
    communityId, memberId: alice.member.id, title: 'paged job', kernel: 'mandelbrot', params: {}, unitCount: 1, replication: 1, quorum: 1,
    maxReplicas: 1, pricePerUnit: 1_000n, deadline: new Date(BASE + 3_600_000), status: 'CANCELLED' as const, createdAt,
  });
  const item = (i: number, createdAt: Date) => ({
    communityId, memberId: bob.member.id, deviceId, title: `paged file ${i}`, mediaType: 'text/plain', sizeBytes: 10n,
    sha256: 'a'.repeat(64), chunkSize: 10, chunkHashes: ['a'.repeat(64)], searchText: `paged file ${i}`, createdAt,
  });
  const offer = (i: number, createdAt: Date) => ({
    communityId, memberId: alice.member.id, give: [], want: [], giveValue: 1n, wantValue: 1n, toleranceBps: 0, seq: i, createdAt,
  });

  /** The order the database itself gives, the reference every walk must match. */
  const newestFirst = { orderBy: [{ createdAt: 'desc' as const }, { id: 'desc' as const }], select: { id: true } };
  const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

  beforeAll(async () => {
    t = await freshDatabase(kind);
    alice = await signUp(t.db, 'alice-pager');
    bob = await signUp(t.db, 'bob-pager');
    ({ id: communityId } = await alice.caller.community.create({ name: 'Pages', slug: 'pages', commissionBps: 0, startingGrant: 0, inviteOnly: false }));
    await bob.caller.community.join({ slug: 'pages' });
    deviceId = (await bob.caller.device.register({ name: 'bob phone', profile: phoneProfile })).device.id;

    const db = t.db;
    await db.order.createMany({ data: Array.from({ length: ROWS }, (_, i) => order(i, alice.member.id, at(i))) });
    // someone else's orders never show in alice's list
    await db.order.createMany({ data: Array.from({ length: 5 }, (_, i) => order(ROWS + i, bob.member.id, at(i))) });
    [buyOrderId, sellOrderId] = ids(await db.order.findMany({ where: { memberId: alice.member.id }, take: 2, select: { id: true } })) as [string, string];
    await db.contract.createMany({ data: Array.from({ length: ROWS }, (_, i) => contract(at(i), i % 10 === 0 ? 'MATCHED' : 'DISPUTED')) });
    await db.negotiation.createMany({ data: Array.from({ length: ROWS }, (_, i) => negotiation(at(i))) });
    await db.job.createMany({ data: Array.from({ length: ROWS }, (_, i) => job(at(i))) });
    await db.contentItem.createMany({ data: Array.from({ length: ROWS }, (_, i) => item(i, at(i))) });
    await db.barterOffer.createMany({ data: Array.from({ length: ROWS }, (_, i) => offer(i, at(i))) });
  });
  afterAll(() => t?.drop());

  it('market.myOrders: every order once, newest first, none of the rows added meanwhile', async () => {
    const expected = ids(await t.db.order.findMany({ where: { communityId, memberId: alice.member.id }, ...newestFirst }));
    const added: string[] = [];
    const walked = await walk(
      (cursor) => alice.caller.market.myOrders({ communityId, cursor, limit: 50 }),
      50,
      async () => {
        for (const seq of [ROWS + 100, ROWS + 101]) added.push((await t.db.order.create({ data: order(seq, alice.member.id, new Date()), select: { id: true } })).id);
      },
    );
    expect(walked.ids).toEqual(expected);
    expect(walked.pages).toBe(3);
    // a fresh walk sees the new ones first
    expect(new Set((await alice.caller.market.myOrders({ communityId, limit: 2 })).items.map((o) => o.id))).toEqual(new Set(added));
  });

  it('contract.list: every contract once, newest first, with the state filter', async () => {
    const expected = ids(await t.db.contract.findMany({ where: { buyerId: alice.member.id }, ...newestFirst }));
    expect(expected).toHaveLength(ROWS);
    const walked = await walk((cursor) => alice.caller.contract.list({ communityId, cursor, limit: 17 }), 17, () => t.db.contract.create({ data: contract(new Date(), 'MATCHED') }));
    expect(walked.ids).toEqual(expected);
    // the seller walks the same contracts
    expect((await walk((cursor) => bob.caller.contract.list({ cursor, limit: 100 }), 100)).ids).toEqual(ids(await t.db.contract.findMany({ where: { sellerId: bob.member.id }, ...newestFirst })));
    const matched = await walk((cursor) => alice.caller.contract.list({ communityId, states: ['MATCHED'], cursor, limit: 5 }), 5);
    expect(matched.ids).toEqual(ids(await t.db.contract.findMany({ where: { buyerId: alice.member.id, state: 'MATCHED' }, ...newestFirst })));
    expect(matched.ids).toHaveLength(ROWS / 10 + 1);
  });

  it('contract.disputes: every open dispute once, oldest first, and one disputed meanwhile comes last', async () => {
    const expected = ids(await t.db.contract.findMany({ where: { communityId, state: 'DISPUTED' }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true } }));
    expect(expected.length).toBeGreaterThan(100);
    let late = '';
    const walked = await walk(
      (cursor) => alice.caller.contract.disputes({ communityId, cursor, limit: 40 }),
      40,
      async () => ({ id: late } = await t.db.contract.create({ data: contract(new Date(), 'DISPUTED'), select: { id: true } })),
    );
    expect(walked.ids).toEqual([...expected, late]);
    await rejects(bob.caller.contract.disputes({ communityId }), 'FORBIDDEN');
  });

  it('negotiation.list: every negotiation once, newest first, for both parties', async () => {
    const expected = ids(await t.db.negotiation.findMany({ where: { buyerId: alice.member.id }, ...newestFirst }));
    const walked = await walk((cursor) => alice.caller.negotiation.list({ communityId, open: true, cursor, limit: 33 }), 33, () => t.db.negotiation.create({ data: negotiation(new Date()) }));
    expect(walked.ids).toEqual(expected);
    expect(walked.ids).toHaveLength(ROWS);
    expect((await bob.caller.negotiation.list({ open: false })).items).toEqual([]);
  });

  it('compute.myJobs: every job once, newest first, with its progress', async () => {
    const expected = ids(await t.db.job.findMany({ where: { memberId: alice.member.id }, ...newestFirst }));
    const walked = await walk((cursor) => alice.caller.compute.myJobs({ communityId, cursor, limit: 100 }), 100, () => t.db.job.create({ data: job(new Date()) }));
    expect(walked.ids).toEqual(expected);
    expect((await alice.caller.compute.myJobs({ communityId, limit: 1 })).items[0]).toMatchObject({ title: 'paged job', progress: { validated: 0 } });
  });

  it('content.searchPage: every item once, newest first; content.search keeps its array', async () => {
    const expected = ids(await t.db.contentItem.findMany({ where: { communityId }, ...newestFirst }));
    const walked = await walk((cursor) => alice.caller.content.searchPage({ communityId, cursor, limit: 25 }), 25, () => t.db.contentItem.create({ data: item(999, new Date()) }));
    expect(walked.ids).toEqual(expected);
    const filtered = await walk((cursor) => alice.caller.content.searchPage({ communityId, text: 'file 11', cursor, limit: 3 }), 3);
    expect(filtered.ids).toHaveLength(11); // 11 and 110..119
    // nobody is online behind the caller's address: nothing is nearby
    expect(await alice.caller.content.searchPage({ communityId, nearbyOnly: true })).toEqual({ items: [], nextCursor: null });
    const legacy = await alice.caller.content.search({ communityId });
    expect(Array.isArray(legacy)).toBe(true);
    expect(legacy).toHaveLength(ROWS + 1);
  });

  it('barter.listPage: every offer once, newest first; barter.list keeps its array', async () => {
    const expected = ids(await t.db.barterOffer.findMany({ where: { communityId }, ...newestFirst }));
    const walked = await walk((cursor) => bob.caller.barter.listPage({ communityId, cursor, limit: 50 }), 50, () => t.db.barterOffer.create({ data: offer(9_999, new Date()) }));
    expect(walked.ids).toEqual(expected);
    expect((await bob.caller.barter.listPage({ communityId, mine: true })).items).toEqual([]);
    const legacy = await alice.caller.barter.list({ communityId, mine: true });
    expect(legacy).toHaveLength(ROWS + 1);
    expect(legacy[0]).toMatchObject({ handle: 'alice-pager', status: 'OPEN' });
  });

  it('content.transferHistory: every transfer once, newest first; content.transfers keeps every open one beyond its 100 finished', async () => {
    const aliceDevice = (await alice.caller.device.register({ name: 'alice phone', profile: phoneProfile })).device.id;
    const items = ids(await t.db.contentItem.findMany({ where: { communityId }, take: 1, ...newestFirst }));
    const transfer = (i: number, status: 'COMPLETED' | 'ACTIVE') => ({
      itemId: items[0]!, communityId, senderDeviceId: deviceId, receiverDeviceId: aliceDevice, senderId: bob.member.id, receiverId: alice.member.id,
      status, createdAt: at(i),
    });
    // the three oldest are still open: the manager must get them although 100+ finished ones are newer
    await t.db.transfer.createMany({ data: Array.from({ length: ROWS }, (_, i) => transfer(i, i < 3 ? 'ACTIVE' : 'COMPLETED')) });
    const expected = ids(await t.db.transfer.findMany({ where: { receiverDeviceId: aliceDevice }, ...newestFirst }));
    const walked = await walk((cursor) => alice.caller.content.transferHistory({ deviceId: aliceDevice, cursor, limit: 30 }), 30);
    expect(walked.ids).toEqual(expected);
    const managed = await alice.caller.content.transfers({ deviceId: aliceDevice });
    expect(managed.filter((m) => m.status === 'ACTIVE')).toHaveLength(3);
    expect(managed.filter((m) => m.status === 'COMPLETED')).toHaveLength(Math.min(100, ROWS - 3));
    // someone else's device: as if it did not exist
    await rejects(bob.caller.content.transferHistory({ deviceId: aliceDevice }), 'NOT_FOUND');
  });

  it('refuses a page size out of bounds or a malformed cursor, with a clear message', async () => {
    await rejects(alice.caller.market.myOrders({ communityId, limit: 0 }), 'BAD_REQUEST', /at least one/);
    await rejects(alice.caller.contract.list({ limit: 101 }), 'BAD_REQUEST', /at most 100/);
    await rejects(alice.caller.negotiation.list({ limit: 2.5 }), 'BAD_REQUEST', /whole number/);
    // @ts-expect-error a cursor as a hand-written client might send it
    await rejects(alice.caller.compute.myJobs({ communityId, cursor: 'yesterday' }), 'BAD_REQUEST');
    await rejects(alice.caller.barter.listPage({ communityId, cursor: { createdAt: 'not a time', id: 'x' } }), 'BAD_REQUEST');
    // a cursor naming no row still pages from its place
    const seeded = ids(await t.db.contentItem.findMany({ where: { communityId, createdAt: { lt: new Date(BASE + 1_000) } }, ...newestFirst }));
    const page = await alice.caller.content.searchPage({ communityId, cursor: { createdAt: new Date(BASE + 1_000).toISOString(), id: 'zzz' }, limit: 100 });
    expect(page.items.map((i) => i.id)).toEqual(seeded.slice(0, 100));
    const rest = await alice.caller.content.searchPage({ communityId, cursor: page.nextCursor, limit: 100 });
    expect(rest.items.map((i) => i.id)).toEqual(seeded.slice(100));
    expect(rest.nextCursor).toBeNull();
  });
});
