import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepMarket } from '@/server/market/lifecycle';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;

describe.each(databaseKinds)("the system administrator's screen on %s", (kind) => {
  let t: TestDatabase;
  let admin: Caller;
  let coordinator: Caller;
  let communityId: string;
  const saved = process.env.SWAPMESH_ADMINS;

  beforeAll(async () => {
    process.env.SWAPMESH_ADMINS = ' Root-Admin , someone-else';
    t = await freshDatabase(kind);
    admin = (await signUp(t.db, 'root-admin')).caller;
    coordinator = (await signUp(t.db, 'sys-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Audited', slug: 'audited', commissionBps: 100, startingGrant: 10 * CREDIT, inviteOnly: false }));
  });
  afterAll(async () => {
    process.env.SWAPMESH_ADMINS = saved;
    await t?.drop();
  });

  it('is only for the handles SWAPMESH_ADMINS names', async () => {
    expect(await admin.system.amAdmin()).toBe(true);
    expect(await coordinator.system.amAdmin()).toBe(false);
    await rejects(coordinator.system.health(), 'FORBIDDEN', /SWAPMESH_ADMINS/);
    await rejects(coordinator.system.communities({}), 'FORBIDDEN');
    await rejects(coordinator.system.audit({}), 'FORBIDDEN');
  });

  it('shows totals, every community with its activity, and the health of the process', async () => {
    const window = { windowStart: new Date(Date.now() + HOUR).toISOString(), windowEnd: new Date(Date.now() + 2 * HOUR).toISOString() };
    await coordinator.market.placeOrder({ communityId, side: 'SELL', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: 3, price: CREDIT, ...window });
    await sweepMarket(t.db);
    const health = await admin.system.health();
    expect(health.totals).toMatchObject({ members: 2, communities: 1, openOrders: 1 });
    expect(health.process.rssBytes).toBeGreaterThan(0);
    expect(health.process.queues).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'market books', pending: 0 })]));
    // on SQLite the order's batch waited for a sync of the write-ahead log, which is timed; PostgreSQL's commits sync themselves
    if (kind === 'sqlite') expect(health.logSyncs).toMatchObject({ count: expect.any(Number), p99Ms: expect.any(Number), slowMs: 20 });
    else expect(health.logSyncs).toBeNull();
    if (health.logSyncs) expect(health.logSyncs.count).toBeGreaterThan(0);
    const communities = await admin.system.communities({ limit: 10 });
    expect(communities.items).toEqual([expect.objectContaining({ slug: 'audited', members: 1, openOrders: 1, openContracts: 0 })]);
  });

  it("lists coordinators' decisions newest first, paged without gaps or repeats", async () => {
    const member = await signUp(t.db, 'sys-member');
    await member.caller.community.join({ slug: 'audited' });
    for (const [i, amount] of [1, 2, 3].entries()) {
      await coordinator.admin.cashDeposit({ communityId, memberId: member.member.id, amount: amount * CREDIT, externalReference: `slip-${i}` });
    }
    await coordinator.admin.fundPool({ communityId, amount: 5 * CREDIT });
    const all: string[] = [];
    let cursor = null;
    do {
      const page: Awaited<ReturnType<typeof admin.system.audit>> = await admin.system.audit({ limit: 2, cursor });
      all.push(...page.items.map((line) => `${line.what}:${line.amount}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toEqual(['POOL_FUNDED:5000000', 'CASH_DEPOSIT:3000000', 'CASH_DEPOSIT:2000000', 'CASH_DEPOSIT:1000000']);
  });
});
