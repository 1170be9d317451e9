/**
 * The simulation's operations: each draws its choices from its own seeded generator, picks what it acts
 * on from what the world knows, and makes its calls through the members' tRPC callers (sweeps call the
 * domain's sweep functions directly, with a chosen `now`). Some operations fire the same call several
 * times at once, on purpose, to race an exactly-once step against itself or against its opposite.
 */
import { createHash } from 'node:crypto';
import { sweepCompute } from '@/server/compute/sweep';
import { sweepTransfers } from '@/server/content/transfers';
import { sweepMarket } from '@/server/market/lifecycle';
import { getKernel } from '@/workers/kernels';
import type { Caller } from '../callers';
import type { Recorder } from './recorder';
import type { Rng } from './rng';
import { CREDIT, HOUR, type SimCommunity, type SimMember, type World } from './world';

type Op = (w: World, r: Rng, rec: Recorder) => Promise<void>;
type OrderInput = Parameters<Caller['market']['placeOrder']>[0];
type OfferInput = Parameters<Caller['barter']['offer']>[0];

const HALF = CREDIT / 2;
const MINUTE = 60_000;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const GOODS = [
  { category: 'COMPUTE', unit: 'CPU_SECOND' },
  { category: 'STORAGE', unit: 'MB_HOUR' },
  // the one good here delivered by hand (seller's word, buyer's sign-off): the others settle from proofs
  { category: 'FILE', unit: 'ITEM' },
  { category: 'MEMORY', unit: 'MB_HOUR' },
] as const;

/** Barter goods worth about one credit each at the default rates (server/barter/unit-values.ts). */
const BARTER_GOODS = [
  { category: 'STORAGE', unit: 'MB_HOUR', perCredit: 1_000_000 },
  { category: 'FILE', unit: 'ITEM', perCredit: 909 },
  { category: 'COMPUTE', unit: 'CPU_SECOND', perCredit: 18_200 },
  { category: 'MEMORY', unit: 'MB_HOUR', perCredit: 50_000 },
  { category: 'MONEY', unit: 'CREDIT', perCredit: 1 },
] as const;

const community = (w: World, id: string) => w.communities.find((c) => c.id === id)!;
const traderIn = (r: Rng, c: SimCommunity, not?: string) => {
  const others = c.members.filter((m) => m.id !== not);
  return others.length ? r.pick(others) : undefined;
};

/** Windows start at a 10-minute boundary an hour or more ahead, so that orders placed close together can meet. */
function windows(r: Rng, side: 'BUY' | 'SELL') {
  const anchor = Math.floor(Date.now() / (10 * MINUTE)) * 10 * MINUTE + HOUR;
  const span = (from: number, to: number) => ({ windowStart: new Date(anchor + from * HOUR).toISOString(), windowEnd: new Date(anchor + to * HOUR).toISOString() });
  if (side === 'SELL') return r.weighted({ wide: 7, middle: 2, early: 1 }) === 'wide' ? span(0, 5) : r.chance(0.66) ? span(1, 3) : span(-0.5, 2);
  return r.pick([span(0, 1), span(1, 3), span(2, 5), span(0, 6)]);
}

const placeOrder: Op = async (w, r, rec) => {
  const m = r.pick(w.members);
  const c = community(w, r.pick(m.communities));
  const side = r.chance(0.5) ? 'BUY' : 'SELL';
  const good = r.chance(0.02) ? ({ category: 'MONEY', unit: 'CREDIT' } as const) : r.pick(GOODS);
  const price = (side === 'BUY' ? r.int(8, 24) : r.int(12, 28)) * HALF;
  const mode = r.weighted({ NONE: 45, MANUAL: 30, AUTO: 25 });
  const limit = side === 'BUY' ? price + r.int(0, 6) * HALF : Math.max(HALF, price - r.int(0, 6) * HALF);
  const other = r.pick(w.members).handle;
  const constraints = r.chance(0.08) ? { preferredMembers: [other] } : r.chance(0.05) ? { excludedMembers: [other] } : r.chance(0.03) ? { minStorageMb: 50_000 } : {};
  const input: OrderInput = {
    communityId: c.id,
    side,
    ...good,
    quantity: r.int(1, 8),
    price,
    kind: r.chance(0.1) ? 'SPOT' : 'STANDING',
    ...windows(r, side),
    constraints,
    negotiation: mode === 'NONE' ? { mode, limit: null } : { mode, limit: mode === 'MANUAL' && r.chance(0.5) ? null : limit },
  };
  const placed = await rec.call('market.placeOrder', input, () => m.caller.market.placeOrder(input));
  if (!placed) return;
  if (placed.order.status === 'OPEN') w.orders.add({ id: placed.order.id, memberId: m.id, communityId: c.id, side });
  for (const fill of placed.fills) w.contracts.add({ id: fill.contractId });
  if (placed.negotiationId) w.negotiations.add({ id: placed.negotiationId });
};

const cancelOrder: Op = async (w, r, rec) => {
  const order = w.orders.pick(r);
  if (!order) return;
  const owner = w.byId.get(order.memberId)!;
  if (r.chance(0.08)) {
    const stranger = r.pick(w.members.filter((m) => m.id !== owner.id));
    await rec.call('market.cancelOrder(stranger)', order, () => stranger.caller.market.cancelOrder({ orderId: order.id }));
    return;
  }
  const times = r.chance(0.12) ? 8 : 1;
  const results = await rec.burst(times > 1 ? 'market.cancelOrder(burst)' : 'market.cancelOrder', order, times, () => owner.caller.market.cancelOrder({ orderId: order.id }));
  const ok = results.filter(Boolean).length;
  if (ok > 1) rec.anomaly(`order ${order.id} cancelled ${ok} times by ${times} simultaneous cancels`);
  w.orders.remove(order.id);
};

const negotiationMove: Op = async (w, r, rec) => {
  const known = w.negotiations.pick(r);
  if (!known) return;
  const row = await w.db.negotiation.findUnique({ where: { id: known.id }, select: { status: true, buyerId: true, sellerId: true, buyerPrice: true, sellerPrice: true } });
  if (!row) return;
  if (row.status !== 'OPEN' && r.chance(0.7)) {
    w.negotiations.remove(known.id);
    return;
  }
  const buyer = w.byId.get(row.buyerId)!;
  const seller = w.byId.get(row.sellerId)!;
  const actor = r.chance(0.5) ? buyer : seller;
  const move = r.weighted({ accept: 30, reject: 15, counter: 45, race: 7, stranger: 3 });
  const input = { negotiationId: known.id };
  const remember = (result: Awaited<ReturnType<Caller['negotiation']['accept']>> | undefined) => {
    if (result?.fill) w.contracts.add({ id: result.fill.contractId });
  };
  if (move === 'stranger') {
    const stranger = r.pick(w.members.filter((m) => m.id !== buyer.id && m.id !== seller.id));
    await rec.call('negotiation.accept(stranger)', input, () => stranger.caller.negotiation.accept(input));
  } else if (move === 'accept') {
    remember(await rec.call('negotiation.accept', input, () => actor.caller.negotiation.accept(input)));
  } else if (move === 'reject') {
    await rec.call('negotiation.reject', input, () => actor.caller.negotiation.reject(input));
  } else if (move === 'counter') {
    const lo = Number(row.buyerPrice);
    const hi = Number(row.sellerPrice);
    const price = Math.max(1, Math.round(lo + (hi - lo) * r.next() * 1.2));
    remember(await rec.call('negotiation.counter', { ...input, price }, () => actor.caller.negotiation.counter({ ...input, price })));
  } else {
    // both sides accept at once, several times each: one deal at most
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => rec.call('negotiation.accept(race)', input, () => buyer.caller.negotiation.accept(input))),
      ...Array.from({ length: 4 }, () => rec.call('negotiation.accept(race)', input, () => seller.caller.negotiation.accept(input))),
    ]);
    const deals = new Set(results.flatMap((x) => (x?.fill ? [x.fill.contractId] : [])));
    if (deals.size > 1) rec.anomaly(`negotiation ${known.id} closed into ${deals.size} contracts by simultaneous accepts`);
    for (const x of results) remember(x);
  }
};

const contractAction: Op = async (w, r, rec) => {
  const known = w.contracts.pick(r);
  if (!known) return;
  const row = await w.db.contract.findUnique({ where: { id: known.id }, select: { state: true, buyerId: true, sellerId: true, communityId: true } });
  if (!row) return;
  const buyer = w.byId.get(row.buyerId)!;
  const seller = w.byId.get(row.sellerId)!;
  const coordinator = community(w, row.communityId).coordinator;
  const input = { contractId: known.id };
  const dispute = { contractId: known.id, note: 'It did not arrive as agreed.' };
  const state = row.state;
  if (state === 'SETTLED' || state === 'REFUNDED') {
    if (r.chance(0.8)) w.contracts.remove(known.id);
    else await rec.call('contract.signOff', input, () => buyer.caller.contract.signOff(input));
    return;
  }
  if (state === 'DISPUTED') {
    const move = r.weighted({ respond: 25, resolve: 45, raceResolve: 15, partyResolves: 5, signOff: 10 });
    const decision = () => {
      const d = r.pick(['PAY_SELLER', 'REFUND_BUYER', 'SPLIT'] as const);
      return { contractId: known.id, decision: d, ...(d === 'SPLIT' ? { sellerShareBps: r.int(0, 10_000) } : {}), reason: 'Simulated decision after reading both statements.' };
    };
    if (move === 'respond') await rec.call('contract.respond', input, () => seller.caller.contract.respond({ ...input, note: 'It was delivered in full.' }));
    else if (move === 'signOff') await rec.call('contract.signOff(disputed)', input, () => buyer.caller.contract.signOff(input));
    else if (move === 'partyResolves') {
      const d = decision();
      await rec.call('contract.resolveDispute(party)', d, () => buyer.caller.contract.resolveDispute(d), ['FORBIDDEN']);
    } else if (move === 'resolve') {
      const d = decision();
      await rec.call('contract.resolveDispute', d, () => coordinator.caller.contract.resolveDispute(d));
    } else {
      // several decisions at once: exactly one applies
      const ds = Array.from({ length: 4 }, decision);
      const results = await Promise.all(ds.map((d) => rec.call('contract.resolveDispute(race)', d, () => coordinator.caller.contract.resolveDispute(d))));
      const won = results.filter(Boolean).length;
      if (won > 1) rec.anomaly(`contract ${known.id}: ${won} of 4 simultaneous decisions applied`);
    }
    return;
  }
  if (state === 'DELIVERED') {
    const move = r.weighted({ signOff: 60, dispute: 20, race: 15, wrong: 5 });
    if (move === 'signOff') await rec.call('contract.signOff', input, () => buyer.caller.contract.signOff(input));
    else if (move === 'dispute') await rec.call('contract.dispute', dispute, () => buyer.caller.contract.dispute(dispute));
    else if (move === 'wrong') await rec.call('contract.signOff(seller)', input, () => seller.caller.contract.signOff(input), ['FORBIDDEN']);
    else {
      // sign-off and dispute at once: exactly one may win
      const results = await Promise.all([
        ...Array.from({ length: 3 }, () => rec.call('contract.signOff(race)', input, () => buyer.caller.contract.signOff(input))),
        ...Array.from({ length: 3 }, () => rec.call('contract.dispute(race)', dispute, () => buyer.caller.contract.dispute(dispute))),
      ]);
      const won = results.filter(Boolean).length;
      if (won > 1) rec.anomaly(`contract ${known.id}: ${won} of 3 sign-offs and 3 disputes at once succeeded`);
    }
    return;
  }
  const move = r.weighted({ start: 20, delivered: 55, dispute: 12, wrong: 5, stranger: 3, deliverTwice: 5 });
  if (move === 'start') await rec.call('contract.start', input, () => seller.caller.contract.start(input));
  else if (move === 'delivered') await rec.call('contract.reportDelivered', input, () => seller.caller.contract.reportDelivered(input));
  else if (move === 'dispute') await rec.call('contract.dispute', dispute, () => buyer.caller.contract.dispute(dispute));
  else if (move === 'wrong') await rec.call('contract.reportDelivered(buyer)', input, () => buyer.caller.contract.reportDelivered(input), ['FORBIDDEN']);
  else if (move === 'stranger') {
    const stranger = r.pick(w.members.filter((m) => m.id !== buyer.id && m.id !== seller.id));
    await rec.call('contract.dispute(stranger)', dispute, () => stranger.caller.contract.dispute(dispute));
  } else {
    const results = await rec.burst('contract.reportDelivered(burst)', input, 4, () => seller.caller.contract.reportDelivered(input));
    if (results.filter(Boolean).length > 1) rec.anomaly(`contract ${known.id}: delivery reported ${results.filter(Boolean).length} times at once`);
  }
};

function barterLegs(r: Rng) {
  const k = r.int(1, 4);
  const give = r.pick(BARTER_GOODS);
  let want = r.pick(BARTER_GOODS);
  while (want === give) want = r.pick(BARTER_GOODS);
  const leg = (g: (typeof BARTER_GOODS)[number]) => ({ category: g.category, unit: g.unit, quantity: g.perCredit * k });
  return { give: [leg(give)], want: [leg(want)] };
}

const barterOffer: Op = async (w, r, rec) => {
  const m = r.pick(w.members);
  const c = community(w, r.pick(m.communities));
  const fromPool = m.id === c.coordinator.id && r.chance(0.3);
  const input: OfferInput = {
    communityId: c.id,
    ...barterLegs(r),
    toleranceBps: r.pick([500, 1_000, 2_000]),
    topUp: r.chance(0.2) ? { allowed: true, max: r.int(0, 2) * CREDIT } : { allowed: false, max: 0 },
    auto: r.chance(0.7),
    fromPool,
  } as OfferInput;
  const placed = await rec.call('barter.offer', input, () => m.caller.barter.offer(input));
  if (!placed) return;
  w.offers.add({ id: placed.offer.id, memberId: m.id });
  for (const deal of placed.deals) if (deal.status === 'PROPOSED') w.deals.add({ id: deal.dealId });
};

const barterAccept: Op = async (w, r, rec) => {
  const known = w.deals.pick(r);
  if (!known) return;
  const deal = await w.db.barterDeal.findUnique({ where: { id: known.id }, select: { status: true, plan: true } });
  if (!deal) return;
  if (deal.status !== 'PROPOSED' && r.chance(0.7)) {
    w.deals.remove(known.id);
    return;
  }
  const plan = deal.plan as { offers: { id: string; memberId: string }[] };
  const parties = plan.offers.map((o) => ({ offerId: o.id, member: w.byId.get(o.memberId)! }));
  const input = { dealId: known.id };
  if (r.chance(0.25)) {
    // everyone accepts while one of them withdraws: the deal either closes or is cancelled, never both
    const quitter = r.pick(parties);
    await Promise.all([
      ...parties.map((p) => rec.call('barter.accept(race)', input, () => p.member.caller.barter.accept(input))),
      rec.call('barter.cancel(race)', { offerId: quitter.offerId }, () => quitter.member.caller.barter.cancel({ offerId: quitter.offerId })),
    ]);
    return;
  }
  const p = r.pick(parties);
  await rec.call('barter.accept', input, () => p.member.caller.barter.accept(input));
};

const barterCancel: Op = async (w, r, rec) => {
  const offer = w.offers.pick(r);
  if (!offer) return;
  const owner = w.byId.get(offer.memberId)!;
  await rec.call('barter.cancel', offer, () => owner.caller.barter.cancel({ offerId: offer.id }));
  w.offers.remove(offer.id);
};

const primeSieve = getKernel('prime-sieve');

const submitJob: Op = async (w, r, rec) => {
  const m = r.pick(w.members);
  const c = r.pick(m.communities);
  const input = {
    communityId: c,
    kernel: 'prime-sieve' as const,
    params: { upTo: r.int(20_000, 60_000), segmentSize: 4_096 },
    units: r.int(2, 5),
    replication: 2,
    quorum: 2,
    deadline: new Date(Date.now() + r.int(3, 20) * MINUTE).toISOString(),
    pricePerUnit: r.int(1, 20) * 1_000,
  };
  const job = await rec.call('compute.submitJob', input, () => m.caller.compute.submitJob(input));
  if (job) w.jobs.add({ id: job.id, ownerId: m.id });
};

const donors = (w: World) => w.members.filter((m) => m.donating);

const lease: Op = async (w, r, rec) => {
  const list = donors(w);
  if (!list.length) return;
  const d = r.pick(list);
  const input = { deviceId: d.deviceId, max: r.int(1, 4) };
  const leases = await rec.call('compute.lease', input, () => d.caller.compute.lease(input));
  for (const l of leases ?? []) w.leases.add({ id: l.leaseId, memberId: d.id, deviceId: d.deviceId, kernel: l.kernel, input: l.input });
};

const submitResult: Op = async (w, r, rec) => {
  const l = w.leases.pick(r);
  if (!l) return;
  w.leases.remove(l.id);
  const donor = w.byId.get(l.memberId)!;
  const output = primeSieve.run(l.input as Parameters<typeof primeSieve.run>[0]);
  const sent = r.chance(0.08) ? { ...output, checksum: (output.checksum + 1) % 2 ** 32 } : output;
  const input = { leaseId: l.id, output: sent };
  const times = r.chance(0.1) ? 4 : 1;
  const results = await rec.burst(times > 1 ? 'compute.submitResult(burst)' : 'compute.submitResult', { leaseId: l.id }, times, () => donor.caller.compute.submitResult(input));
  if (results.filter(Boolean).length > 1) rec.anomaly(`lease ${l.id}: result accepted ${results.filter(Boolean).length} times`);
};

const returnLeases: Op = async (w, r, rec) => {
  const list = donors(w);
  if (!list.length) return;
  const d = r.pick(list);
  await rec.call('compute.returnLeases', { deviceId: d.deviceId }, () => d.caller.compute.returnLeases({ deviceId: d.deviceId }));
};

const donate: Op = async (w, r, rec) => {
  const m = r.pick(w.members);
  const input = { communityId: m.communities[0]!, deviceId: m.deviceId, on: r.chance(0.8), floorPrice: r.int(1, 3) * 1_000 };
  const done = await rec.call('compute.donate', input, () => m.caller.compute.donate(input));
  if (done) m.donating = done.donating;
};

const cancelJob: Op = async (w, r, rec) => {
  const job = w.jobs.pick(r);
  if (!job) return;
  const owner = w.byId.get(job.ownerId)!;
  await rec.call('compute.cancelJob', job, () => owner.caller.compute.cancelJob({ jobId: job.id }));
  w.jobs.remove(job.id);
};

const CHUNK = 65_536;

const publish: Op = async (w, r, rec) => {
  const m = r.pick(w.members);
  const c = r.pick(m.communities);
  const size = r.int(20_000, 300_000);
  const chunks = Math.ceil(size / CHUNK);
  const header = {
    title: `Sim file ${r.hex(6)}`, description: 'simulated', audience: 'everyone', purpose: 'testing', environment: 'any',
    mediaType: 'application/octet-stream', sizeBytes: size, sha256: r.hex(64), chunkSize: CHUNK, chunkHashes: Array.from({ length: chunks }, () => r.hex(64)),
  };
  const priced = r.chance(0.7);
  const input = { communityId: c, deviceId: m.deviceId, header, pricing: priced ? { mode: 'CREDITS' as const, price: r.int(1, 6) * HALF } : { mode: 'GIFT' as const } };
  const item = await rec.call('content.publish', { communityId: c, priced }, () => m.caller.content.publish(input));
  if (item) w.items.add({ id: item.id, ownerId: m.id, communityId: c, chunks, priced });
};

const request: Op = async (w, r, rec) => {
  const item = w.items.pick(r);
  if (!item) return;
  const buyer = traderIn(r, community(w, item.communityId), item.ownerId);
  if (!buyer) return;
  const owner = w.byId.get(item.ownerId)!;
  const input = { itemId: item.id, deviceId: buyer.deviceId };
  const remember = (x: Awaited<ReturnType<Caller['content']['request']>> | undefined) => {
    if (!x) return;
    w.transfers.add({ id: x.transfer.id, senderId: owner.id, senderDeviceId: owner.deviceId, receiverId: buyer.id, receiverDeviceId: buyer.deviceId, chunks: item.chunks });
    if (x.contractId) w.contracts.add({ id: x.contractId });
  };
  if (r.chance(0.1)) {
    const results = await rec.burst('content.request(burst)', input, 5, () => buyer.caller.content.request(input));
    results.forEach(remember);
    const bought = results.filter((x) => x?.contractId).length;
    if (item.priced && bought > 1) rec.anomaly(`item ${item.id}: one buyer's ${results.length} simultaneous requests bought ${bought} copies`);
    return;
  }
  remember(await rec.call('content.request', input, () => buyer.caller.content.request(input)));
};

const updateTransfer: Op = async (w, r, rec) => {
  const t = w.transfers.pick(r);
  if (!t) return;
  const receiver = w.byId.get(t.receiverId)!;
  const sender = w.byId.get(t.senderId)!;
  const move = r.weighted({ progress: 35, complete: 35, fail: 5, senderCancel: 10, receiverCancel: 5, senderComplete: 5, completeTwice: 5 });
  const as = (m: SimMember, deviceId: string, verifiedChunks: number, status?: 'ACTIVE' | 'COMPLETED' | 'FAILED' | 'CANCELLED') => {
    const input = { transferId: t.id, deviceId, verifiedChunks, ...(status ? { status } : {}) };
    return () => m.caller.content.updateTransfer(input);
  };
  if (move === 'progress') await rec.call('content.updateTransfer(progress)', t, as(receiver, t.receiverDeviceId, r.int(0, t.chunks)));
  else if (move === 'complete') await rec.call('content.updateTransfer(completed)', t, as(receiver, t.receiverDeviceId, t.chunks, 'COMPLETED'));
  else if (move === 'fail') await rec.call('content.updateTransfer(failed)', t, as(receiver, t.receiverDeviceId, 0, 'FAILED'));
  else if (move === 'senderCancel') await rec.call('content.updateTransfer(sender cancels)', t, as(sender, t.senderDeviceId, 0, 'CANCELLED'));
  else if (move === 'receiverCancel') await rec.call('content.updateTransfer(receiver cancels)', t, as(receiver, t.receiverDeviceId, 0, 'CANCELLED'));
  else if (move === 'senderComplete') await rec.call('content.updateTransfer(sender completes)', t, as(sender, t.senderDeviceId, t.chunks, 'COMPLETED'), ['FORBIDDEN']);
  else {
    // the receiver completes while the sender cancels, twice each: one of them wins
    const results = await Promise.all([
      rec.call('content.updateTransfer(race)', t, as(receiver, t.receiverDeviceId, t.chunks, 'COMPLETED')),
      rec.call('content.updateTransfer(race)', t, as(receiver, t.receiverDeviceId, t.chunks, 'COMPLETED')),
      rec.call('content.updateTransfer(race)', t, as(sender, t.senderDeviceId, 0, 'CANCELLED')),
      rec.call('content.updateTransfer(race)', t, as(sender, t.senderDeviceId, 0, 'CANCELLED')),
    ]);
    if (results.filter(Boolean).length > 1) rec.anomaly(`transfer ${t.id}: ${results.filter(Boolean).length} final updates at once succeeded`);
  }
};

const withdraw: Op = async (w, r, rec) => {
  const item = w.items.pick(r);
  if (!item) return;
  const owner = w.byId.get(item.ownerId)!;
  await rec.call('content.withdraw', item, () => owner.caller.content.withdraw({ itemId: item.id }));
  w.items.remove(item.id);
};

const cash: Op = async (w, r, rec) => {
  const c = r.pick(w.communities);
  const target = r.pick(c.members);
  const deposit = r.chance(0.7);
  const input = { communityId: c.id, memberId: target.id, amount: r.int(1, 50) * CREDIT, externalReference: `${c.slug}-ref-${r.int(0, 120)}` };
  const op = deposit ? 'admin.cashDeposit' : 'admin.cashWithdrawal';
  const run = () => (deposit ? c.coordinator.caller.admin.cashDeposit(input) : c.coordinator.caller.admin.cashWithdrawal(input));
  const times = r.chance(0.25) ? 6 : 1;
  const results = await rec.burst(times > 1 ? `${op}(burst)` : op, input, times, run);
  const ok = results.filter(Boolean).length;
  if (ok > 1) rec.anomaly(`cash reference "${input.externalReference}" recorded ${ok} times by ${times} simultaneous calls`);
};

const commitDraw: Op = async (w, r, rec) => {
  const c = r.pick(w.communities);
  const secret = `sim secret ${r.hex(32)}`;
  const now = Date.now();
  const input = { communityId: c.id, commitment: sha(secret), periodStart: new Date(now).toISOString(), periodEnd: new Date(now + r.int(1, 6) * 1_000).toISOString() };
  const draw = await rec.call('admin.commitDraw', input, () => c.coordinator.caller.admin.commitDraw(input));
  if (draw) w.draws.add({ id: draw.id, communityId: c.id, secret, periodEnd: Date.parse(input.periodEnd) });
};

const revealDraw: Op = async (w, r, rec) => {
  const draw = w.draws.pick(r);
  if (!draw) return;
  const c = community(w, draw.communityId);
  const input = { communityId: c.id, drawId: draw.id, secret: r.chance(0.05) ? `wrong secret ${r.hex(8)}` : draw.secret };
  const times = r.chance(0.7) ? 6 : 1;
  const results = await rec.burst(times > 1 ? 'admin.revealDraw(burst)' : 'admin.revealDraw', input, times, () => c.coordinator.caller.admin.revealDraw(input));
  const ok = results.filter(Boolean).length;
  if (ok > 1) rec.anomaly(`draw ${draw.id} revealed ${ok} times by ${times} simultaneous reveals`);
  if (ok > 0 && r.chance(0.8)) w.draws.remove(draw.id);
};

const fundPool: Op = async (w, r, rec) => {
  const c = r.pick(w.communities);
  const input = { communityId: c.id, amount: r.int(1, 20) * CREDIT };
  await rec.call('admin.fundPool', input, () => c.coordinator.caller.admin.fundPool(input));
};

const join: Op = async (w, r, rec) => {
  const m = r.pick(w.members);
  const c = r.pick(w.communities);
  const already = m.communities.includes(c.id);
  const results = await rec.burst(already ? 'community.join(again)' : 'community.join', { slug: c.slug }, 3, () => m.caller.community.join({ slug: c.slug }));
  const ok = results.filter(Boolean).length;
  if (ok > 1 || (already && ok > 0)) rec.anomaly(`member ${m.handle} joined ${c.slug} ${ok} times (already a member: ${already})`);
  if (!already && ok > 0) {
    m.communities.push(c.id);
    c.members.push(m);
  }
};

/** Sweeps at a chosen time: mostly now, sometimes hours or days ahead (contracts start, orders and negotiations expire). */
const sweep: Op = async (w, r, rec) => {
  const ahead = r.weighted({ now: 60, hours: 25, day: 10, week: 5 });
  const offset = ahead === 'now' ? 0 : ahead === 'hours' ? r.int(1, 3) * HOUR : ahead === 'day' ? 25 * HOUR : 8 * 24 * HOUR;
  const now = new Date(Date.now() + offset);
  const which = r.pick(['market', 'compute', 'transfers'] as const);
  const run = async (): Promise<void> => {
    await (which === 'market'
      ? rec.direct(`sweepMarket(+${ahead})`, { now }, () => sweepMarket(w.db, now))
      : which === 'compute'
        ? rec.direct(`sweepCompute(+${ahead})`, { now }, () => sweepCompute(w.db, now))
        : rec.direct(`sweepTransfers(+${ahead})`, { now }, () => sweepTransfers(w.db, now)));
  };
  await (offset === 0 ? w.gate.shared(run) : w.gate.exclusive(run));
};

const read: Op = async (w, r, rec) => {
  const m = r.pick(w.members);
  const c = r.pick(m.communities);
  if (r.chance(0.5)) await rec.call('ledger.balance', { communityId: c }, () => m.caller.ledger.balance({ communityId: c }));
  else {
    const good = r.pick(GOODS);
    await rec.call('market.book', { communityId: c, category: good.category }, () => m.caller.market.book({ communityId: c, category: good.category }));
  }
};

export const OPERATIONS = {
  placeOrder, cancelOrder, negotiationMove, contractAction, barterOffer, barterAccept, barterCancel, submitJob, lease, submitResult,
  returnLeases, donate, cancelJob, publish, request, updateTransfer, withdraw, cash, commitDraw, revealDraw, fundPool, join, sweep, read,
} satisfies Record<string, Op>;

/** How often each operation is drawn (relative weights). */
export const WEIGHTS: Record<keyof typeof OPERATIONS, number> = {
  placeOrder: 26, cancelOrder: 6, negotiationMove: 9, contractAction: 13, barterOffer: 6, barterAccept: 3, barterCancel: 2,
  submitJob: 2, lease: 5, submitResult: 6, returnLeases: 0.5, donate: 0.7, cancelJob: 0.5, publish: 2, request: 4,
  updateTransfer: 5, withdraw: 0.3, cash: 4, commitDraw: 1, revealDraw: 2, fundPool: 0.5, join: 0.5, sweep: 2, read: 2,
};
