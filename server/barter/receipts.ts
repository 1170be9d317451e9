import { createHash } from 'node:crypto';
import { signatureValid } from '../device/signature';
import { DomainError } from '../errors';
import { z } from 'zod';
import type { Db } from '../db/client';
import { jsonInput } from '../db/json';
import { lockBook } from '../db/book-lock';
import { applyContractActions } from '../market/contracts';
import { withOutbox } from '../live/outbox';
import { resolveRates } from '../valuation';
import { stableStringify } from '../../workers/kernels/shared';
import type { Json } from '../../workers/kernels/types';
import { attachCredits, closeDeal } from './deals';
import type { BarterDeal, BarterOffer, Transfer } from './engine';
import { legSchema } from './offers';
import { legValue } from './unit-values';

export const KEY_ALGORITHMS = ['ECDSA-P256', 'Ed25519'] as const;
const MAX_AGE_MS = 30 * 86_400_000;

/** A file handed over face to face: what the receiver checked the bytes against. */
export const receiptFileSchema = z.object({
  name: z.string().min(1).max(200),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'A file hash is 64 lowercase hex digits.'),
  sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

const partySchema = z
  .object({ deviceId: z.string().min(1).max(64), gives: z.array(legSchema).min(1).max(4), files: z.array(receiptFileSchema).min(1).max(20).optional() })
  .refine(
    (p) => !p.files || p.gives.filter((l) => l.category === 'FILE' && l.unit === 'ITEM').reduce((n, l) => n + l.quantity, 0) === p.files.length,
    'A party that lists files gives exactly that many FILE items.',
  );

export const receiptSchema = z.object({
  version: z.literal(1),
  communityId: z.string().min(1).max(64),
  nonce: z.string().min(16).max(64),
  createdAt: z.iso.datetime({ offset: true }),
  parties: z
    .array(partySchema)
    .length(2)
    .refine((p) => p[0]!.deviceId !== p[1]!.deviceId, 'The two parties must be different devices.'),
});
export type Receipt = z.infer<typeof receiptSchema>;

/** The bytes both devices sign: the receipt as canonical JSON (sorted keys, no spaces). */
export const receiptBytes = (receipt: Receipt) => Buffer.from(stableStringify(receipt as unknown as Json));

/** The receipt's identity: SHA-256 (hex) of the signed bytes; a receipt is settled at most once under it. */
export const receiptHash = (receipt: Receipt) => createHash('sha256').update(receiptBytes(receipt)).digest('hex');

export const ALREADY_SETTLED = 'This receipt was already settled: nothing was paid again.';

/**
 * Posts a barter two nearby devices agreed without the coordinator and both signed with their device
 * keys. Both signatures must verify against the keys registered with the devices, both members must
 * belong to the community, and a receipt is accepted only once (its hash is kept): forgeries and
 * replays change nothing. The legs become contracts already delivered and signed off, with commission.
 */
export async function submitReceipt(db: Db, memberId: string, receipt: Receipt, signatures: { deviceId: string; signature: string }[], now = new Date()) {
  const created = Date.parse(receipt.createdAt);
  if (created > now.getTime() + 5 * 60_000) throw new DomainError('BAD_INPUT', 'This receipt is dated in the future.');
  if (created < now.getTime() - MAX_AGE_MS) throw new DomainError('BAD_INPUT', 'This receipt is more than 30 days old.');
  const devices = await db.device.findMany({ where: { id: { in: receipt.parties.map((p) => p.deviceId) } }, select: { id: true, memberId: true, publicKey: true, keyAlgorithm: true } });
  if (devices.length !== 2) throw new DomainError('NOT_FOUND', 'A device named in the receipt does not exist.');
  if (!devices.some((d) => d.memberId === memberId)) throw new DomainError('FORBIDDEN', 'Only a party to a receipt can submit it.');
  const members = await db.membership.count({ where: { communityId: receipt.communityId, memberId: { in: devices.map((d) => d.memberId) } } });
  if (members !== new Set(devices.map((d) => d.memberId)).size) throw new DomainError('FORBIDDEN', "Both parties must be members of the receipt's community.");
  if (devices[0]!.memberId === devices[1]!.memberId) throw new DomainError('BAD_INPUT', 'A barter needs two different members.');

  const data = receiptBytes(receipt);
  for (const party of receipt.parties) {
    const device = devices.find((d) => d.id === party.deviceId)!;
    if (!device.publicKey || !device.keyAlgorithm) throw new DomainError('PRECONDITION', 'A party device has no registered key.');
    const signature = signatures.find((s) => s.deviceId === party.deviceId);
    if (!signature || !signatureValid(device.publicKey, device.keyAlgorithm, data, signature.signature)) {
      throw new DomainError('BAD_INPUT', 'A signature does not verify: the receipt was altered or not signed by that device.');
    }
  }
  const hash = createHash('sha256').update(data).digest('hex');
  const community = await db.community.findUniqueOrThrow({ where: { id: receipt.communityId }, select: { valuationRates: true } });
  const rates = resolveRates(community.valuationRates);

  return withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, receipt.communityId, 'BARTER');
    if (await tx.barterReceipt.count({ where: { hash } })) throw new DomainError('CONFLICT', ALREADY_SETTLED);
    const offers: BarterOffer[] = receipt.parties.map((p, i) => {
      const device = devices.find((d) => d.id === p.deviceId)!;
      return { id: `receipt:${hash}:${i}`, memberId: device.memberId, seq: i, give: p.gives, want: receipt.parties[1 - i]!.gives, toleranceBps: 10_000, creditTopUp: { allowed: false, max: 0 } };
    });
    const transfers: Transfer[] = offers.flatMap((offer, i) =>
      offer.give.map((leg, giveLeg) => ({ from: offer.memberId, to: offers[1 - i]!.memberId, fromOffer: offer.id, toOffer: offers[1 - i]!.id, giveLeg, leg, value: legValue(leg, rates) })),
    );
    const deal: BarterDeal = { kind: 'PAIR', offers, transfers, topUps: [], totalValue: transfers.reduce((sum, t) => sum + t.value, 0) };
    const created = await tx.barterDeal.create({ data: { communityId: receipt.communityId, kind: 'RECEIPT', plan: jsonInput(JSON.parse(JSON.stringify(deal)) as Json), acceptedBy: offers.map((o) => o.memberId), totalValue: BigInt(deal.totalValue) }, select: { id: true } });
    const parties = new Map(offers.map((o) => [o.id, { memberId: o.memberId, communityId: receipt.communityId, fromPool: false }]));
    const contractIds = await closeDeal(tx, created.id, deal, parties, now, outbox, { offersInBook: false });
    for (const contractId of contractIds) {
      await applyContractActions(tx, contractId, [
        { action: 'REPORT_DELIVERED', actor: 'SELLER', actorId: null, note: 'Delivered face to face (signed receipt)' },
        { action: 'SIGN_OFF', actor: 'BUYER', actorId: null, note: 'Signed by both devices' },
      ], outbox);
    }
    await tx.barterReceipt.create({ data: { hash, communityId: receipt.communityId, receipt: jsonInput(receipt as unknown as Json), dealId: created.id } });
    return { dealId: created.id, contractIds, hash };
  });
}

/**
 * What a settled receipt did, for one of its parties: every leg with who gave it, the credits paid for it and
 * the commission its receiver paid, and the party's net change of available credits. `settled: false` while
 * the coordinator has not seen it, and for anyone who is not a party.
 */
export async function receiptSettlement(db: Db, memberId: string, hash: string) {
  const row = await db.barterReceipt.findUnique({ where: { hash }, select: { dealId: true, createdAt: true, communityId: true } });
  if (!row?.dealId) return { settled: false as const };
  const deal = await db.barterDeal.findUniqueOrThrow({ where: { id: row.dealId }, select: { plan: true } });
  const contracts = await db.contract.findMany({
    where: { barterDealId: row.dealId },
    orderBy: { createdAt: 'asc' },
    select: { id: true, category: true, unit: true, quantity: true, buyerId: true, sellerId: true, buyerCommission: true, state: true, buyer: { select: { handle: true } }, seller: { select: { handle: true } } },
  });
  // anyone but a party learns nothing, not even that the receipt exists
  if (!contracts.some((c) => c.buyerId === memberId || c.sellerId === memberId)) return { settled: false as const };
  // the credits each leg carried, as closeDeal attached them (escrow is empty once a leg settled)
  const plan = deal.plan as unknown as BarterDeal;
  const { legCredits } = attachCredits(plan);
  const memberOf = new Map(plan.offers.map((o) => [o.id, o.memberId]));
  const unclaimed = [...contracts];
  const creditsOf = new Map<string, number>();
  plan.transfers.forEach((t, i) => {
    if (t.leg.category === 'MONEY') return;
    const at = unclaimed.findIndex((c) => c.sellerId === memberOf.get(t.fromOffer) && c.buyerId === memberOf.get(t.toOffer) && c.category === t.leg.category && c.unit === t.leg.unit && c.quantity === t.leg.quantity);
    if (at >= 0) creditsOf.set(unclaimed.splice(at, 1)[0]!.id, legCredits.get(i) ?? 0);
  });
  const legs = contracts.map((c) => ({
    contractId: c.id,
    category: c.category,
    unit: c.unit,
    quantity: c.quantity,
    state: c.state,
    mine: c.sellerId === memberId ? ('GAVE' as const) : ('GOT' as const),
    from: c.seller.handle,
    to: c.buyer.handle,
    credits: creditsOf.get(c.id) ?? 0,
    commission: Number(c.buyerCommission),
  }));
  const net = legs.reduce((sum, l) => sum + (l.mine === 'GAVE' ? l.credits : -(l.credits + l.commission)), 0);
  return { settled: true as const, settledAt: row.createdAt.toISOString(), communityId: row.communityId, dealId: row.dealId, legs, net };
}
