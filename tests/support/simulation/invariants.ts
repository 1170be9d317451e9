/**
 * What must hold in the database whatever happened before, read back with direct queries:
 * - every ledger entry sums to zero within its community, every community's accounts sum to zero, and
 *   every account's balance equals the sum of its postings;
 * - each member's escrow in a community equals what their open bids hold (`Order.reserved`) plus what
 *   their contracts hold (`Contract.escrowed`); a bid holds exactly its remainder's maximum cost
 *   (server/market/reservation.ts), a closed order and a finished contract hold nothing. Barter legs
 *   hold what their contract says they hold (nothing, today: issue 9 item 4), so they fit the same sum;
 * - no order is filled beyond its quantity: its contracts plus its remainder make its quantity (compute
 *   orders: at most, since a compute contract shrinks to the units validated), its locked quantity is
 *   what its open negotiations lock;
 * - no crossed book: no open bid and open ask that are eligible for each other (engine.ts isEligible, with
 *   the same facts the engine is given) in one book (a community and the communities linked to it, a
 *   category, a unit) have bid >= ask. Compute jobs, donations and content items are matched by pulling
 *   work or requesting items, not in the book, so they are left out;
 * - no sweepstakes or commission pool below zero, no escrow below zero, no member below the credit
 *   limit, no federation clearing balance past its link's cap, the two sides of a link mirror each other;
 * - once-operations happened once: one cash entry per external reference, one prize per draw (of the
 *   amount the draw shows), one join grant per member and community, one settlement per contract and
 *   never both a settlement and a full refund; a negotiation is agreed exactly when it has a contract; a
 *   cancelled barter deal moved nothing, a closed one closed all its offers.
 * After `drained` (every sweep run far in the future), nothing may be left in escrow but what disputed
 * contracts hold while their coordinator decides.
 */
import type { Db } from '@/server/db/client';
import { isEligible, type BookOrder } from '@/server/market/engine';
import { toBookOrder } from '@/server/market/place-order';
import { holdFor, maxBuyPrice } from '@/server/market/reservation';

export type Problem = { invariant: string; detail: string };

const FINAL_CONTRACT = ['SETTLED', 'REFUNDED'];

export async function checkInvariants(db: Db, { now = new Date(), drained = false }: { now?: Date; drained?: boolean } = {}) {
  const problems: Problem[] = [];
  const fail = (invariant: string, detail: string) => problems.push({ invariant, detail });

  const [communities, links, accounts, postings, entries, orders, contracts, negotiations, deals, offers, draws] = await Promise.all([
    db.community.findMany({ select: { id: true, slug: true, commissionBps: true, creditLimit: true } }),
    db.communityLink.findMany({ select: { fromId: true, toId: true, active: true, cap: true } }),
    db.account.findMany({ select: { id: true, communityId: true, kind: true, memberId: true, peerCommunityId: true, balance: true } }),
    db.posting.findMany({ select: { accountId: true, transactionId: true, amount: true } }),
    db.ledgerTransaction.findMany({ select: { id: true, communityId: true, kind: true, reference: true } }),
    db.order.findMany({
      select: {
        id: true, communityId: true, memberId: true, side: true, category: true, unit: true, status: true, quantity: true, remaining: true,
        locked: true, price: true, reserved: true, seq: true, windowStart: true, windowEnd: true, expiresAt: true, constraints: true,
        negotiationMode: true, negotiationLimit: true, jobId: true, donation: true, contentItemId: true, device: { select: { profile: true } },
      },
    }),
    db.contract.findMany({ select: { id: true, communityId: true, buyOrderId: true, sellOrderId: true, barterDealId: true, buyerId: true, quantity: true, price: true, pricing: true, escrowed: true, state: true } }),
    db.negotiation.findMany({ select: { id: true, buyOrderId: true, sellOrderId: true, quantity: true, status: true, contractId: true } }),
    db.barterDeal.findMany({ select: { id: true, status: true } }),
    db.barterOffer.findMany({ select: { id: true, status: true, dealId: true } }),
    db.sweepstakesDraw.findMany({ select: { id: true, communityId: true, revealedAt: true, prize: true } }),
  ]);
  const communityOf = new Map(communities.map((c) => [c.id, c]));
  const accountOf = new Map(accounts.map((a) => [a.id, a]));
  const entryOf = new Map(entries.map((e) => [e.id, e]));

  // --- the ledger
  const perAccount = new Map<string, bigint>();
  const perEntry = new Map<string, bigint>();
  const entryAccounts = new Map<string, string[]>();
  for (const p of postings) {
    perAccount.set(p.accountId, (perAccount.get(p.accountId) ?? 0n) + p.amount);
    perEntry.set(p.transactionId, (perEntry.get(p.transactionId) ?? 0n) + p.amount);
    const entry = entryOf.get(p.transactionId);
    const account = accountOf.get(p.accountId);
    if (entry && account && entry.communityId !== account.communityId) fail('ledger: an entry stays in its community', `entry ${entry.id} (${entry.kind}) posts to an account of another community`);
    entryAccounts.set(p.transactionId, [...(entryAccounts.get(p.transactionId) ?? []), p.accountId]);
  }
  for (const [id, sum] of perEntry) if (sum !== 0n) fail('ledger: every entry sums to zero', `entry ${id} (${entryOf.get(id)?.kind}) sums to ${sum}`);
  for (const a of accounts) {
    const sum = perAccount.get(a.id) ?? 0n;
    if (a.balance !== sum) fail('ledger: every account equals its postings', `${a.kind} account ${a.id} (member ${a.memberId}) holds ${a.balance}, its postings sum to ${sum}`);
  }
  for (const c of communities) {
    const total = accounts.filter((a) => a.communityId === c.id).reduce((s, a) => s + a.balance, 0n);
    if (total !== 0n) fail("ledger: every community's accounts sum to zero", `${c.slug} sums to ${total}`);
  }

  // --- bounds on accounts
  for (const a of accounts) {
    const c = communityOf.get(a.communityId)!;
    if ((a.kind === 'SWEEPSTAKES' || a.kind === 'COMMISSION') && a.balance < 0n) fail('bounds: no pool below zero', `${c.slug} ${a.kind} pool at ${a.balance}`);
    if (a.kind === 'ESCROW' && a.balance < 0n) fail('bounds: no escrow below zero', `member ${a.memberId} in ${c.slug}: escrow ${a.balance}`);
    if (a.kind === 'MEMBER' && a.balance < -c.creditLimit) fail('bounds: no member below the credit limit', `member ${a.memberId} in ${c.slug}: ${a.balance} < -${c.creditLimit}`);
    if (a.kind === 'FEDERATION_CLEARING' && a.peerCommunityId) {
      const link = links.find((l) => (l.fromId === a.communityId && l.toId === a.peerCommunityId) || (l.toId === a.communityId && l.fromId === a.peerCommunityId));
      const magnitude = a.balance < 0n ? -a.balance : a.balance;
      if (link && link.cap > 0n && magnitude > link.cap) fail('bounds: federation clearing within its cap', `${c.slug} clears ${a.balance} with ${communityOf.get(a.peerCommunityId)?.slug}, cap ${link.cap}`);
      const mirror = accounts.find((b) => b.kind === 'FEDERATION_CLEARING' && b.communityId === a.peerCommunityId && b.peerCommunityId === a.communityId);
      if ((mirror?.balance ?? 0n) !== -a.balance) fail('bounds: the two sides of a link mirror each other', `${c.slug} clears ${a.balance}, its peer ${mirror?.balance ?? 0n}`);
    }
  }

  // --- orders and contracts
  const orderOf = new Map(orders.map((o) => [o.id, o]));
  const filled = new Map<string, number>();
  for (const k of contracts) {
    for (const id of [k.buyOrderId, k.sellOrderId]) if (id) filled.set(id, (filled.get(id) ?? 0) + k.quantity);
    if (k.quantity <= 0) fail('orders: no order filled beyond its quantity', `contract ${k.id} has quantity ${k.quantity}`);
    if (k.escrowed < 0n) fail('escrow: contracts hold what they say', `contract ${k.id} holds ${k.escrowed}`);
    if (FINAL_CONTRACT.includes(k.state) && k.escrowed !== 0n) fail('escrow: contracts hold what they say', `contract ${k.id} is ${k.state} but still holds ${k.escrowed}`);
    const buy = k.buyOrderId ? orderOf.get(k.buyOrderId) : undefined;
    const sell = k.sellOrderId ? orderOf.get(k.sellOrderId) : undefined;
    if (k.pricing === 'CROSS' && buy && sell && (k.price > buy.price || k.price < sell.price)) fail('orders: a crossing fill trades between bid and ask', `contract ${k.id} at ${k.price}, bid ${buy.price}, ask ${sell.price}`);
  }
  const lockedBy = new Map<string, number>();
  for (const n of negotiations) {
    if (n.status === 'OPEN') for (const id of [n.buyOrderId, n.sellOrderId]) lockedBy.set(id, (lockedBy.get(id) ?? 0) + n.quantity);
    if ((n.status === 'AGREED') !== (n.contractId !== null)) fail('once: a negotiation is agreed exactly when it has a contract', `negotiation ${n.id} is ${n.status} with contract ${n.contractId}`);
  }
  const negotiatedContracts = contracts.filter((k) => k.pricing === 'NEGOTIATED').length;
  const agreed = negotiations.filter((n) => n.status === 'AGREED').length;
  if (negotiatedContracts !== agreed) fail('once: a negotiation is agreed exactly when it has a contract', `${negotiatedContracts} negotiated contracts for ${agreed} agreed negotiations`);

  for (const o of orders) {
    const c = communityOf.get(o.communityId)!;
    const f = filled.get(o.id) ?? 0;
    const shrinks = o.jobId !== null || o.donation;
    if (shrinks ? f + o.remaining > o.quantity : f + o.remaining !== o.quantity) fail('orders: no order filled beyond its quantity', `order ${o.id} (${o.side} ${o.category}): contracts ${f} + remaining ${o.remaining} vs quantity ${o.quantity}`);
    if (o.remaining < 0 || o.locked < 0 || o.locked > o.remaining) fail('orders: no order filled beyond its quantity', `order ${o.id}: remaining ${o.remaining}, locked ${o.locked}`);
    if ((o.status === 'FILLED') !== (o.remaining === 0) && (o.status === 'FILLED' || o.status === 'OPEN')) fail('orders: an order is filled exactly when nothing remains', `order ${o.id} is ${o.status} with ${o.remaining} remaining`);
    const expectLocked = o.status === 'OPEN' ? (lockedBy.get(o.id) ?? 0) : 0;
    if (o.locked !== expectLocked) fail('orders: locked quantity is what open negotiations lock', `order ${o.id} (${o.status}) locks ${o.locked}, its open negotiations ${lockedBy.get(o.id) ?? 0}`);
    const expectHold = o.side === 'BUY' && o.status === 'OPEN'
      ? BigInt(holdFor(o.remaining, maxBuyPrice({ price: Number(o.price), negotiationMode: o.negotiationMode, negotiationLimit: o.negotiationLimit === null ? null : Number(o.negotiationLimit) }), c.commissionBps))
      : 0n;
    if (o.reserved !== expectHold) fail('escrow: an order holds its remainder\'s maximum cost', `order ${o.id} (${o.side}, ${o.status}, ${o.remaining} left) holds ${o.reserved}, expected ${expectHold}`);
  }

  // --- escrow = holds + contracts, per member and community
  const held = new Map<string, bigint>();
  const add = (key: string, amount: bigint) => held.set(key, (held.get(key) ?? 0n) + amount);
  for (const o of orders) if (o.side === 'BUY') add(`${o.communityId}:${o.memberId}`, o.reserved);
  for (const k of contracts) add(`${k.communityId}:${k.buyerId}`, k.escrowed);
  for (const a of accounts) {
    if (a.kind !== 'ESCROW') continue;
    const expected = held.get(`${a.communityId}:${a.memberId}`) ?? 0n;
    if (a.balance !== expected) fail('escrow: escrow equals open holds plus open contracts', `member ${a.memberId} in ${communityOf.get(a.communityId)!.slug}: escrow ${a.balance}, holds + contracts ${expected}`);
  }
  if (drained) {
    const stuck = new Map<string, { count: number; amount: bigint }>();
    for (const k of contracts) {
      if (k.escrowed === 0n || k.state === 'DISPUTED') continue;
      const s = stuck.get(k.state) ?? { count: 0, amount: 0n };
      stuck.set(k.state, { count: s.count + 1, amount: s.amount + k.escrowed });
    }
    for (const [state, s] of stuck) fail('escrow: nothing stuck once every deadline has passed', `${s.count} ${state} contracts still hold ${s.amount} µ after every window, deadline and review period ended`);
    const openHolds = orders.filter((o) => o.status === 'OPEN' && o.reserved > 0n);
    if (openHolds.length) fail('escrow: nothing stuck once every deadline has passed', `${openHolds.length} open bids still hold escrow after their windows ended`);
  }

  // --- the books
  const negotiationsOf = (orderId: string) => negotiations.filter((n) => n.buyOrderId === orderId || n.sellOrderId === orderId).map((n) => n.status);
  const describeOrder = (id: string) => {
    const o = orderOf.get(id)!;
    const history = negotiationsOf(id);
    return `${id} at ${o.price} in ${communityOf.get(o.communityId)!.slug} (seq ${o.seq}, ${o.negotiationMode}${o.negotiationLimit !== null ? ` limit ${o.negotiationLimit}` : ''}, ${o.remaining}/${o.quantity} left, negotiations: ${history.length ? history.join(' ') : 'none'})`;
  };
  const linked = (a: string, b: string) => a === b || links.some((l) => l.active && ((l.fromId === a && l.toId === b) || (l.fromId === b && l.toId === a)));
  const resting = orders.filter(
    (o) => o.status === 'OPEN' && o.jobId === null && !o.donation && o.contentItemId === null && o.remaining - o.locked > 0 &&
      o.windowEnd > now && (o.expiresAt === null || o.expiresAt > now),
  );
  const books = new Map<string, { bids: (BookOrder & { communityId: string })[]; asks: (BookOrder & { communityId: string })[] }>();
  for (const o of resting) {
    const key = `${o.category}:${o.unit}`;
    const book = books.get(key) ?? { bids: [], asks: [] };
    books.set(key, book);
    const row = { ...toBookOrder({ ...o, constraints: o.constraints, device: o.device }), communityId: o.communityId };
    (o.side === 'BUY' ? book.bids : book.asks).push(row);
  }
  for (const [key, book] of books) {
    for (const bid of book.bids) {
      for (const ask of book.asks) {
        if (bid.price >= ask.price && linked(bid.communityId, ask.communityId) && isEligible(bid, ask)) {
          fail('book: no crossed book', `${key}: bid ${describeOrder(bid.id)} and ask ${describeOrder(ask.id)} are eligible and cross`);
        }
      }
    }
  }

  // --- once-operations
  const byKey = new Map<string, typeof entries>();
  const group = (key: string, e: (typeof entries)[number]) => byKey.set(key, [...(byKey.get(key) ?? []), e]);
  for (const e of entries) {
    if (e.kind === 'CASH_DEPOSIT' || e.kind === 'CASH_WITHDRAWAL') group(`cash|${e.communityId}|${e.reference}`, e);
    if (e.kind === 'SWEEPSTAKES_PRIZE') group(`prize|${e.reference}`, e);
    if (e.kind === 'SETTLEMENT' || e.kind === 'SPLIT_SETTLEMENT') group(`settle|${e.communityId}|${e.reference}`, e);
    if (e.kind === 'GRANT') {
      for (const accountId of entryAccounts.get(e.id) ?? []) {
        const a = accountOf.get(accountId);
        if (a?.kind === 'MEMBER') group(`grant|${e.communityId}|${a.memberId}`, e);
      }
    }
  }
  for (const [key, list] of byKey) {
    if (list.length <= 1) continue;
    const [what, , ref] = key.split('|');
    if (what === 'cash') fail('once: one cash entry per external reference', `${communityOf.get(list[0]!.communityId)!.slug} ${ref}: ${list.length} entries`);
    if (what === 'prize') fail('once: one prize per draw', `${key.slice(6)}: paid ${list.length} times`);
    if (what === 'settle') fail('once: one settlement per contract', `${ref}: settled ${list.length} times`);
    if (what === 'grant') fail('once: one join grant per member and community', `member ${ref} in ${communityOf.get(list[0]!.communityId)!.slug}: ${list.length} grants`);
  }
  const prizeAmount = new Map<string, bigint>();
  for (const p of postings) {
    const e = entryOf.get(p.transactionId);
    if (e?.kind === 'SWEEPSTAKES_PRIZE' && p.amount > 0n && e.reference) prizeAmount.set(e.reference, (prizeAmount.get(e.reference) ?? 0n) + p.amount);
  }
  for (const d of draws) {
    const paid = prizeAmount.get(`draw:${d.id}`) ?? 0n;
    if (!d.revealedAt && paid > 0n) fail('once: one prize per draw', `draw ${d.id} paid ${paid} but is not revealed`);
    if (d.revealedAt && paid !== d.prize) fail('once: one prize per draw', `draw ${d.id} shows a prize of ${d.prize} but paid ${paid}`);
  }
  const refundedFully = new Set(contracts.filter((k) => k.state === 'REFUNDED').map((k) => `contract:${k.id}`));
  for (const e of entries) if ((e.kind === 'SETTLEMENT' || e.kind === 'SPLIT_SETTLEMENT') && e.reference && refundedFully.has(e.reference)) fail('once: a contract is settled or refunded, not both', `${e.reference} is REFUNDED but has a settlement`);

  const dealRefs = new Set(entries.filter((e) => e.reference?.startsWith('barter:')).map((e) => e.reference!.slice(7)));
  const dealContracts = new Set(contracts.flatMap((k) => (k.barterDealId ? [k.barterDealId] : [])));
  for (const d of deals) {
    const mine = offers.filter((o) => o.dealId === d.id);
    if (d.status === 'CANCELLED' && (dealRefs.has(d.id) || dealContracts.has(d.id))) fail('once: a cancelled barter moved nothing', `deal ${d.id} is CANCELLED but has ${dealRefs.has(d.id) ? 'ledger entries' : ''}${dealContracts.has(d.id) ? ' contracts' : ''}`);
    if (d.status === 'CLOSED' && mine.some((o) => o.status !== 'CLOSED')) fail('once: a closed barter closed its offers', `deal ${d.id} is CLOSED but offers ${mine.filter((o) => o.status !== 'CLOSED').map((o) => `${o.id}=${o.status}`).join(', ')}`);
  }
  const dealOf = new Map(deals.map((d) => [d.id, d]));
  for (const o of offers) {
    if (o.status === 'CLOSED' && (!o.dealId || dealOf.get(o.dealId)?.status !== 'CLOSED')) fail('once: a closed barter closed its offers', `offer ${o.id} is CLOSED but its deal ${o.dealId} is ${o.dealId ? dealOf.get(o.dealId)?.status : 'missing'}`);
  }

  const count = <T,>(rows: T[], key: (row: T) => string) => rows.reduce<Record<string, number>>((acc, row) => ({ ...acc, [key(row)]: (acc[key(row)] ?? 0) + 1 }), {});
  const stats = {
    entries: entries.length,
    orders: count(orders, (o) => o.status),
    contracts: count(contracts, (k) => k.state),
    negotiations: count(negotiations, (n) => n.status),
    deals: count(deals, (d) => d.status),
    drawsRevealed: draws.filter((d) => d.revealedAt).length,
    restingOrders: resting.length,
  };
  return { problems, stats };
}

/** Problems grouped by invariant: how many, and the first few. */
export function groupProblems(problems: Problem[], examples = 3) {
  const grouped: Record<string, { count: number; examples: string[] }> = {};
  for (const p of problems) {
    const g = (grouped[p.invariant] ??= { count: 0, examples: [] });
    g.count++;
    if (g.examples.length < examples) g.examples.push(p.detail);
  }
  return grouped;
}
