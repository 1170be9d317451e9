import { createHash } from 'node:crypto';
import { createSession } from '@/server/auth/session';
import type { Db } from '@/server/db/client';
import { signUp, type Caller } from '../callers';
import { phoneProfile } from '../fixtures';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * A small community with something of every kind in it, so that fuzzed calls that pass their schema
 * reach the handler's real paths: two members, their devices, an open order, a contract, a hand
 * negotiation, a job with a leased unit, a published item with a transfer, a barter offer, a draw,
 * a pairing code and a federation link. The fuzzing member is `a`, the coordinator.
 */
export async function buildWorld(db: Db, tag: string) {
  const a = await signUp(db, `fuzz-a-${tag}`);
  const b = await signUp(db, `fuzz-b-${tag}`);
  const slug = `fuzz-${tag}`;
  const otherSlug = `fuzz-${tag}-two`;
  const community = await a.caller.community.create({ name: 'Fuzz', slug, commissionBps: 250, startingGrant: 1_000 * CREDIT, inviteOnly: false });
  await a.caller.community.create({ name: 'Fuzz two', slug: otherSlug, commissionBps: 100, startingGrant: 10 * CREDIT, inviteOnly: false });
  await b.caller.community.join({ slug });
  const communityId = community.id;
  const deviceA = (await a.caller.device.register({ name: 'fuzz phone', profile: phoneProfile, communityId })).device.id;
  const deviceB = (await b.caller.device.register({ name: 'other phone', profile: phoneProfile })).device.id;

  const now = Date.now();
  const window = { windowStart: new Date(now).toISOString(), windowEnd: new Date(now + HOUR).toISOString() };
  const sell = await a.caller.market.placeOrder({ communityId, side: 'SELL', category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 10, price: CREDIT, ...window });
  const buy = await b.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 4, price: CREDIT, ...window });
  const contractId = buy.fills[0]!.contractId;
  await a.caller.market.placeOrder({ communityId, side: 'SELL', category: 'COMPUTE', unit: 'GFLOP', quantity: 10, price: 5 * CREDIT, ...window, negotiation: { mode: 'MANUAL', limit: null } });
  const bid = await b.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'GFLOP', quantity: 5, price: 3 * CREDIT, ...window, negotiation: { mode: 'MANUAL', limit: null } });
  const negotiationId = bid.negotiationId!;

  const params = { width: 64, height: 64, maxIterations: 50, view: { centerX: -0.5, centerY: 0, scale: 3 } };
  const job = await a.caller.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units: 4, replication: 2, quorum: 2, deadline: new Date(now + HOUR).toISOString(), pricePerUnit: 1_000 });
  await b.caller.compute.donate({ communityId, deviceId: deviceB, on: true, floorPrice: 1 });
  const [lease] = await b.caller.compute.lease({ deviceId: deviceB, max: 1 });

  const chunk = 64 * 1024;
  const header = { title: 'Fuzz notes', description: 'A file', mediaType: 'text/plain', sizeBytes: 2 * chunk, sha256: hex('file'), chunkSize: chunk, chunkHashes: [hex('one'), hex('two')] };
  const item = await a.caller.content.publish({ communityId, deviceId: deviceA, header, pricing: { mode: 'GIFT' } });
  const requested = await b.caller.content.request({ itemId: item.id, deviceId: deviceB });

  const offer = await a.caller.barter.offer({ communityId, give: [{ category: 'STORAGE', unit: 'MB_HOUR', quantity: 10 }], want: [{ category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 10 }] });
  const secret = `fuzz-secret-${tag}-0123456789`;
  const draw = await a.caller.admin.commitDraw({ communityId, commitment: hex(secret), periodStart: new Date(now).toISOString(), periodEnd: new Date(now + HOUR).toISOString() });
  const link = await a.caller.admin.proposeLink({ communityId, toSlug: otherSlug, cap: 100 * CREDIT });
  const pair = await b.caller.signal.pairCode({ deviceId: deviceB });

  const ids = {
    communityId,
    deviceId: deviceA,
    fromDeviceId: deviceA,
    toDeviceId: deviceB,
    orderId: sell.order.id,
    contractId,
    negotiationId,
    jobId: job.id,
    leaseId: lease?.leaseId ?? 'no-lease',
    itemId: item.id,
    transferId: requested.transfer.id,
    offerId: (offer as { id?: string; offer?: { id: string } }).id ?? (offer as { offer?: { id: string } }).offer?.id ?? 'no-offer',
    dealId: 'cm00000000000000000000000',
    drawId: (draw as { id: string }).id,
    linkId: (link as { id: string }).id,
    memberId: b.member.id,
    slug,
    toSlug: otherSlug,
  };
  const soon = new Date(now + 10 * 60_000).toISOString();
  const later = new Date(now + 2 * HOUR).toISOString();

  /** A valid input for each procedure (ids of the world), which the fuzzer mutates. */
  const bases: Record<string, unknown> = {
    'auth.signUp': { handle: `fuzz-new-${tag}`, password: 'a long enough password' },
    'auth.signIn': { handle: `fuzz-a-${tag}`, password: 'correct horse battery' },
    'community.create': { name: 'Fuzz three', slug: `fuzz-${tag}-three`, commissionBps: 5000, startingGrant: 1e15, creditLimit: 1e15, inviteOnly: true, sweepstakesShareBps: 10_000, description: 'x' },
    'community.join': { slug: otherSlug, inviteCode: 'ABCD-EFGH' },
    'community.leave': { communityId },
    'community.list': { search: 'fuzz', mine: true, cursor: communityId, limit: 100 },
    'community.get': { slug },
    'community.members': { communityId },
    'community.update': { communityId, name: 'Fuzz', commissionBps: 250, startingGrant: 1_000 * CREDIT, creditLimit: 0, valuationRates: null, rotateInviteCode: false },
    'community.setRole': { communityId, memberId: b.member.id, role: 'MEMBER' },
    'device.register': { deviceId: deviceA, name: 'fuzz phone', profile: phoneProfile, communityId },
    'device.get': { deviceId: deviceA, communityId },
    'device.setKey': { deviceId: deviceA, publicKey: 'MCowBQYDK2VwAyEA' + 'A'.repeat(43), algorithm: 'Ed25519' },
    'device.remove': { deviceId: 'cm00000000000000000000000' },
    'ledger.balance': { communityId },
    'ledger.history': { communityId, cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'market.placeOrder': { communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 2, price: 2 * CREDIT, windowStart: new Date(now + 60_000).toISOString(), windowEnd: soon, kind: 'SPOT', deviceId: deviceA, constraints: { preferredMembers: [`fuzz-b-${tag}`], minStorageMb: 1, os: ['android'], minMips: 1, networks: ['wifi'] }, negotiation: { mode: 'AUTO', limit: 3 * CREDIT } },
    'market.cancelOrder': { orderId: sell.order.id },
    'market.book': { communityId, category: 'COMPUTE', unit: 'CPU_SECOND' },
    'market.myOrders': { communityId, open: true, cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'market.trades': { communityId, category: 'COMPUTE', limit: 200 },
    'market.priceHistory': { communityId, category: 'COMPUTE', unit: 'CPU_SECOND', bucketMinutes: 1, days: 365 },
    'market.events': { lastEventId: '0' },
    'market.bookEvents': { communityId, category: 'COMPUTE', unit: 'CPU_SECOND' },
    'negotiation.counter': { negotiationId, price: 4 * CREDIT },
    'negotiation.accept': { negotiationId },
    'negotiation.reject': { negotiationId },
    'negotiation.get': { negotiationId },
    'negotiation.list': { communityId, open: true, cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'contract.get': { contractId },
    'contract.list': { communityId, states: ['MATCHED'], cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'contract.start': { contractId, note: 'starting' },
    'contract.reportDelivered': { contractId, note: 'done' },
    'contract.signOff': { contractId, note: 'ok' },
    'contract.dispute': { contractId, note: 'no' },
    'contract.respond': { contractId, note: 'it was delivered' },
    'contract.disputes': { communityId, cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'contract.resolveDispute': { contractId, decision: 'SPLIT', sellerShareBps: 5_000, reason: 'half was delivered' },
    'compute.submitJob': { communityId, kernel: 'mandelbrot', title: 'fuzz job', params, units: 4, replication: 2, quorum: 2, deadline: later, pricePerUnit: 1_000 },
    'compute.job': { jobId: job.id },
    'compute.outputs': { jobId: job.id, fromIndex: 0 },
    'compute.myJobs': { communityId, cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'compute.cancelJob': { jobId: job.id },
    'compute.donate': { communityId, deviceId: deviceA, on: true, floorPrice: 1_000 },
    'compute.lease': { deviceId: deviceA, max: 16, kernels: ['mandelbrot'] },
    'compute.submitResult': { leaseId: ids.leaseId, output: { x: 0, y: 0, w: 1, h: 1, counts: 'AAAA' } },
    'compute.returnLeases': { deviceId: deviceA },
    'compute.donorStats': { deviceId: deviceA },
    'content.publish': { communityId, deviceId: deviceA, header: { ...header, title: 'Second' }, pricing: { mode: 'CREDITS', price: CREDIT } },
    'content.search': { communityId, text: 'fuzz', mediaType: 'text/plain', maxBytes: 1e6, nearbyOnly: false, deviceId: deviceA },
    'content.searchPage': { communityId, text: 'fuzz', mediaType: 'text/plain', maxBytes: 1e6, nearbyOnly: true, deviceId: deviceA, cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'content.get': { itemId: item.id },
    'content.withdraw': { itemId: item.id },
    'content.request': { itemId: item.id, deviceId: deviceA },
    'content.transfers': { deviceId: deviceA },
    'content.transferHistory': { deviceId: deviceA, limit: 20 },
    'content.updateTransfer': { transferId: requested.transfer.id, deviceId: deviceA, verifiedChunks: 1, status: 'ACTIVE' },
    'signal.send': { fromDeviceId: deviceA, toDeviceId: deviceB, message: { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 1.2.3.4 5 typ host', sdpMid: '0', sdpMLineIndex: 0 } } },
    'signal.inbox': { deviceId: deviceA, lastEventId: '0' },
    'signal.presence': { deviceId: deviceA, communityId },
    'signal.stream': { books: [{ communityId, category: 'COMPUTE', unit: 'CPU_SECOND', tradeLimit: 10 }], devices: [{ deviceId: deviceA, presenceCommunityId: communityId }], lastEventId: '0.0' },
    'signal.pairCode': { deviceId: deviceA },
    'signal.pair': { deviceId: deviceA, code: pair.code },
    'admin.cashDeposit': { communityId, memberId: b.member.id, amount: CREDIT, externalReference: 'receipt 1' },
    'admin.cashWithdrawal': { communityId, memberId: b.member.id, amount: CREDIT, externalReference: 'receipt 2' },
    'admin.fundPool': { communityId, amount: CREDIT },
    'admin.commitDraw': { communityId, commitment: hex('another secret'), periodStart: soon, periodEnd: later },
    'admin.revealDraw': { communityId, drawId: ids.drawId, secret },
    'admin.draw': { communityId, drawId: ids.drawId },
    'admin.proposeLink': { communityId, toSlug: otherSlug, cap: 100 * CREDIT },
    'admin.acceptLink': { communityId, linkId: ids.linkId },
    'admin.proposeLinkCap': { communityId, linkId: ids.linkId, cap: 1e15 },
    'admin.acceptLinkCap': { communityId, linkId: ids.linkId },
    'admin.links': { communityId },
    'barter.offer': { communityId, give: [{ category: 'NETWORK', unit: 'MB', quantity: 100 }], want: [{ category: 'STORAGE', unit: 'MB_HOUR', quantity: 100 }], toleranceBps: 10_000, topUp: { allowed: true, max: CREDIT }, auto: true, fromPool: false },
    'barter.list': { communityId, mine: true, status: 'OPEN' },
    'barter.listPage': { communityId, mine: true, status: 'OPEN', cursor: { createdAt: new Date(now).toISOString(), id: 'x' }, limit: 100 },
    'barter.accept': { dealId: ids.dealId },
    'barter.cancel': { offerId: ids.offerId },
    'barter.submitReceipt': {
      receipt: { version: 1, communityId, nonce: 'n'.repeat(16), createdAt: new Date(now).toISOString(), parties: [{ deviceId: deviceA, gives: [{ category: 'STORAGE', unit: 'MB_HOUR', quantity: 1 }] }, { deviceId: deviceB, gives: [{ category: 'NETWORK', unit: 'MB', quantity: 1 }] }] },
      signatures: [{ deviceId: deviceA, signature: 's'.repeat(16) }, { deviceId: deviceB, signature: 's'.repeat(16) }],
    },
    'barter.receipt': { hash: 'a'.repeat(64) },
  };

  /** A new session for the fuzzing member (a procedure may have signed the last one out). */
  const session = async () => (await createSession(db, a.member.id)).token;

  /** Puts back what a fuzzed call may have taken away: the membership and the fuzzing device. */
  async function repair() {
    const member = await db.membership.count({ where: { memberId: a.member.id, communityId } });
    if (!member) await db.membership.create({ data: { memberId: a.member.id, communityId, role: 'COORDINATOR' } });
    await db.membership.updateMany({ where: { memberId: a.member.id, communityId }, data: { role: 'COORDINATOR' } });
    const device = await db.device.count({ where: { id: deviceA } });
    if (!device) throw new Error('the fuzzing device was removed: keep device.remove on an id that names nothing');
  }

  return { a: a as { member: { id: string }; caller: Caller }, b, communityId, ids, bases, session, repair };
}

export type FuzzWorld = Awaited<ReturnType<typeof buildWorld>>;
