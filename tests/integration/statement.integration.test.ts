import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillAmounts } from '@/server/market/commission';
import { holdFor } from '@/server/market/reservation';
import { mergeStatementLines, type StatementLine } from '@/server/ledger/statement';
import { getKernel } from '@/workers/kernels';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const BPS = 200;
const mandelbrot = getKernel('mandelbrot');
const params = { width: 64, height: 64, maxIterations: 50, view: { centerX: -0.5, centerY: 0, scale: 3 } };

const window = (fromHours: number, toHours: number) => ({
  windowStart: new Date(Date.now() + fromHours * HOUR).toISOString(),
  windowEnd: new Date(Date.now() + toHours * HOUR).toISOString(),
});

/** Every line of a member's statement, page by page (merging lines that continue on a later page). */
async function wholeStatement(caller: Caller, communityId: string, limit: number) {
  let lines: StatementLine[] = [];
  type Cursor = { createdAt: string; id: string } | null;
  let cursor: Cursor = null;
  let pages = 0;
  do {
    const page: { items: StatementLine[]; nextCursor: Cursor } = await caller.ledger.statement({ communityId, limit, cursor });
    lines = mergeStatementLines(lines, page.items);
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return lines;
}

describe.each(databaseKinds)('statement on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;

  async function member(prefix: string) {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug: 'statement-test' });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    return { ...m, handle: `${prefix}-${seq}`, deviceId: device.id };
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const owner = await signUp(t.db, 'statement-owner');
    ({ id: communityId } = await owner.caller.community.create({ name: 'Statement test', slug: 'statement-test', commissionBps: BPS, startingGrant: 100 * CREDIT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('a trade reads from each side: the buyer bought, the seller sold, escrow is part of a line, sums match the balance', async () => {
    const seller = await member('seller');
    const buyer = await member('buyer');
    // files: a good the seller delivers by hand and the buyer signs off (compute pays only from validated units)
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 10, price: 2 * CREDIT, kind: 'STANDING', ...window(0, 4) });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity: 10, price: 3 * CREDIT, kind: 'STANDING', ...window(0.5, 2) });
    const contractId = bid.fills[0]!.contractId;
    await seller.caller.contract.reportDelivered({ contractId });
    await buyer.caller.contract.signOff({ contractId });
    const amounts = fillAmounts(10, 2 * CREDIT, BPS);

    const buyerLines = (await buyer.caller.ledger.statement({ communityId })).items;
    expect(buyerLines.map((l) => l.verb)).toEqual(['BOUGHT', 'RELEASED', 'BID', 'GRANT']);
    expect(buyerLines[0]).toMatchObject({ side: 'BUYER', contractId, counterparties: [seller.handle], quantity: 10, unit: 'ITEM', category: 'FILE', price: 2 * CREDIT, available: 0, escrow: -amounts.buyerPays });
    // the hold is one line: taken from the available balance, held in escrow
    const hold = holdFor(10, 3 * CREDIT, BPS);
    expect(buyerLines[2]).toMatchObject({ available: -hold, escrow: hold, postings: 2 });
    expect(buyerLines[1]).toMatchObject({ available: hold - amounts.buyerPays, escrow: -(hold - amounts.buyerPays) });
    expect(buyerLines[3]).toMatchObject({ verb: 'GRANT', available: 100 * CREDIT, escrow: 0 });
    const sum = (lines: StatementLine[]) => lines.reduce((s, l) => s + l.available + l.escrow, 0);
    expect(sum(buyerLines)).toBe(100 * CREDIT - amounts.buyerPays);

    const sellerLines = (await seller.caller.ledger.statement({ communityId })).items;
    expect(sellerLines.map((l) => l.verb)).toEqual(['SOLD', 'GRANT']);
    expect(sellerLines[0]).toMatchObject({ side: 'SELLER', contractId, counterparties: [buyer.handle], available: amounts.sellerGets, escrow: 0 });
  });

  it('pages of one line each give the same statement as one page, and bad paging input is refused', async () => {
    const buyer = await member('pager');
    for (let i = 0; i < 3; i++) {
      const placed = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'STORAGE', unit: 'MB_HOUR', quantity: 1 + i, price: CREDIT, kind: 'STANDING', ...window(1, 2) });
      await buyer.caller.market.cancelOrder({ orderId: placed.order.id });
    }
    const one = (await buyer.caller.ledger.statement({ communityId, limit: 50 })).items;
    expect(one).toHaveLength(7);
    expect(await wholeStatement(buyer.caller, communityId, 1)).toEqual(one);
    expect(await wholeStatement(buyer.caller, communityId, 2)).toEqual(one);
    await rejects(buyer.caller.ledger.statement({ communityId, limit: 0 }), 'BAD_REQUEST', /at least one line/);
    await rejects(buyer.caller.ledger.statement({ communityId, limit: 51 }), 'BAD_REQUEST', /at most 50/);
    const outsider = await signUp(t.db, 'statement-outsider');
    await rejects(outsider.caller.ledger.statement({ communityId }), 'FORBIDDEN', /not a member/);
  });

  it('a compute job is one line for its owner and one line per job for each donor, however it is paged', async () => {
    const owner = await member('researcher');
    const donors = [await member('donor'), await member('donor')];
    for (const d of donors) await d.caller.compute.donate({ communityId, deviceId: d.deviceId, on: true, floorPrice: 1_000 });
    const job = await owner.caller.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 16, replication: 2, quorum: 2, deadline: new Date(Date.now() + HOUR).toISOString(), pricePerUnit: 10_000 });
    for (let round = 0; round < 100; round++) {
      let leased = 0;
      for (const d of donors) {
        const leases = await d.caller.compute.lease({ deviceId: d.deviceId, max: 3 });
        leased += leases.length;
        for (const lease of leases) await d.caller.compute.submitResult({ leaseId: lease.leaseId, output: mandelbrot.run(lease.input as Parameters<typeof mandelbrot.run>[0]) });
      }
      if ((await owner.caller.compute.job({ jobId: job.id })).status !== 'OPEN' || leased === 0) break;
    }
    expect((await owner.caller.compute.job({ jobId: job.id })).status).toBe('COMPLETED');
    const balance = await owner.caller.ledger.balance({ communityId });
    const contracts = await t.db.contract.findMany({ where: { buyOrder: { jobId: job.id } }, select: { quantity: true, state: true } });
    const paid = contracts.filter((c) => c.state === 'SETTLED').reduce((n, c) => n + c.quantity, 0);
    expect(paid).toBeGreaterThan(0);

    const ownerLines = await wholeStatement(owner.caller, communityId, 50);
    expect(ownerLines.map((l) => l.verb)).toEqual(['JOB', 'GRANT']);
    const jobLine = ownerLines[0]!;
    expect(jobLine).toMatchObject({ jobId: job.id, side: 'BUYER', escrow: 0, quantity: paid });
    expect(jobLine.postings).toBeGreaterThan(2);
    expect(new Set(jobLine.counterparties)).toEqual(new Set(donors.map((d) => d.handle)));
    expect(100 * CREDIT + jobLine.available).toBe(balance.available);
    // one line per page gives the same job line
    const paged = await wholeStatement(owner.caller, communityId, 1);
    expect(paged.map((l) => [l.key, l.available, l.escrow, l.quantity])).toEqual(ownerLines.map((l) => [l.key, l.available, l.escrow, l.quantity]));

    for (const d of donors) {
      const lines = await wholeStatement(d.caller, communityId, 50);
      expect(lines.map((l) => l.verb)).toEqual(['COMPUTED', 'GRANT']);
      expect(lines[0]).toMatchObject({ jobId: job.id, side: 'SELLER', counterparties: [owner.handle], escrow: 0 });
      expect(lines[0]!.available).toBe((await d.caller.ledger.balance({ communityId })).available - 100 * CREDIT);
    }
  });
});
