import { DomainError } from '../errors';
import type { Tx } from '../db/client';
import { communityAccount, escrowAccount, federationAccount, memberAccount, type AccountRef, type JournalEntry } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { assertLinkRoom } from '../community/links';
import { formatCredits, MICRO_PER_CREDIT, toMicro } from '../money';
import { fillAmounts } from '../market/commission';
import { BARTER_PRICING } from '../market/contracts';
import { marketCommunity } from '../market/fills';
import type { Outbox } from '../live/outbox';
import type { BarterDeal, Leg } from './engine';

/** Where a participant's credits come from or go to: their own account, or the community pool for a coordinator's pool offer. */
type Party = { memberId: string; communityId: string; fromPool: boolean };

const partyAccount = (p: Party): AccountRef => (p.fromPool ? communityAccount('COMMISSION') : memberAccount(p.memberId));

async function assertPoolHolds(tx: Tx, communityId: string, amount: number) {
  const pool = await tx.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION', memberId: null }, select: { balance: true } });
  if (toMicro(pool.balance) < amount) throw new DomainError('CONFLICT', 'The community pool does not hold enough credits for this barter.');
}

/**
 * Moves `amount` µ between two parties, through both communities' clearing accounts when they differ
 * (federation): each community's own postings still sum to zero.
 */
async function moveCredits(tx: Tx, from: Party, to: Party, amount: number, kind: string, memo: string, reference: string) {
  if (amount <= 0) return;
  if (from.fromPool) await assertPoolHolds(tx, from.communityId, amount);
  const post = async (communityId: string, lines: JournalEntry['lines']) =>
    postEntry(tx, communityId, { kind, memo, reference, lines }, await marketCommunity(tx, communityId));
  if (from.communityId === to.communityId) {
    await post(from.communityId, [{ account: partyAccount(from), amount: -amount }, { account: partyAccount(to), amount }]);
  } else {
    await post(from.communityId, [{ account: partyAccount(from), amount: -amount }, { account: federationAccount(to.communityId), amount }]);
    await post(to.communityId, [{ account: federationAccount(from.communityId), amount: -amount }, { account: partyAccount(to), amount }]);
  }
}

const isMoney = (leg: Leg) => leg.category === 'MONEY';

/** µ credits each resource leg of a deal holds in escrow for its giver, by transfer index. */
export type LegCredits = Map<number, number>;

/**
 * Attaches a deal's credits to the resource legs they pay for (pure). Credits from X to Y (credit legs
 * and top-ups) pay for what Y gives X: they are spread over the resource transfers from Y to X in
 * proportion to their values (the last takes the odd micro-credits) and wait in escrow with them.
 * Credits with no resource coming back the other way (a pure credit swap, a top-up between members
 * that are not neighbours in a cycle) are `immediate`: they move at the close.
 */
export function attachCredits(deal: Pick<BarterDeal, 'transfers' | 'topUps'>): { legCredits: LegCredits; immediate: { fromOffer: string; toOffer: string; amount: number; kind: string }[] } {
  const flows = new Map<string, { fromOffer: string; toOffer: string; money: number; topUp: number }>();
  const flow = (fromOffer: string, toOffer: string) => {
    const key = `${fromOffer}\u0000${toOffer}`;
    let f = flows.get(key);
    if (!f) flows.set(key, (f = { fromOffer, toOffer, money: 0, topUp: 0 }));
    return f;
  };
  for (const t of deal.transfers) if (isMoney(t.leg)) flow(t.fromOffer, t.toOffer).money += t.leg.quantity * MICRO_PER_CREDIT;
  for (const t of deal.topUps) if (t.amount > 0) flow(t.fromOffer, t.toOffer).topUp += t.amount;

  const legCredits: LegCredits = new Map();
  const immediate: { fromOffer: string; toOffer: string; amount: number; kind: string }[] = [];
  for (const f of flows.values()) {
    const amount = f.money + f.topUp;
    // what the payee gives the payer in return
    const legs = deal.transfers.map((t, i) => ({ t, i })).filter(({ t }) => !isMoney(t.leg) && t.fromOffer === f.toOffer && t.toOffer === f.fromOffer);
    if (legs.length === 0) {
      if (f.money > 0) immediate.push({ fromOffer: f.fromOffer, toOffer: f.toOffer, amount: f.money, kind: 'BARTER_CREDITS' });
      if (f.topUp > 0) immediate.push({ fromOffer: f.fromOffer, toOffer: f.toOffer, amount: f.topUp, kind: 'BARTER_TOP_UP' });
      continue;
    }
    const total = legs.reduce((sum, { t }) => sum + Math.max(0, t.value), 0);
    let left = amount;
    legs.forEach(({ t, i }, n) => {
      const share = n === legs.length - 1 ? left : total > 0 ? Number((BigInt(amount) * BigInt(Math.max(0, t.value))) / BigInt(total)) : Math.floor(amount / legs.length);
      left -= share;
      legCredits.set(i, (legCredits.get(i) ?? 0) + share);
    });
  }
  return { legCredits, immediate };
}

/**
 * Closes a matched deal. Every resource leg becomes a contract (giver = seller, receiver = buyer, priced at
 * its value) delivered and signed off like a market contract: the credits its receiver gives for it
 * (`attachCredits`) and the receiver's commission wait in the receiver's escrow until the leg settles
 * (the seller is paid the credits, the community the commission) or is refunded. Credits with no resource
 * counter-leg move at once. Exactly once: the deal must still be PROPOSED (and its offers with it).
 */
export async function closeDeal(tx: Tx, dealId: string, deal: BarterDeal, parties: Map<string, Party>, now: Date, outbox: Outbox, options: { offersInBook?: boolean } = {}) {
  const reference = `barter:${dealId}`;
  const partyOf = (offerId: string) => {
    const party = parties.get(offerId);
    if (!party) throw new Error(`closeDeal: no party for offer ${offerId}`);
    return party;
  };
  const closed = await tx.barterDeal.updateMany({ where: { id: dealId, status: 'PROPOSED' }, data: { status: 'CLOSED', closedAt: now } });
  if (closed.count !== 1) throw new DomainError('CONFLICT', 'This barter was cancelled or closed meanwhile: refresh and try again.');
  const offerIds = deal.offers.map((o) => o.id);
  if (options.offersInBook !== false) {
    const { count } = await tx.barterOffer.updateMany({ where: { id: { in: offerIds }, dealId, status: 'PROPOSED' }, data: { status: 'CLOSED' } });
    if (count !== offerIds.length) throw new DomainError('CONFLICT', 'An offer in this barter was withdrawn meanwhile: refresh and try again.');
    await tx.barterOfferLeg.updateMany({ where: { offerId: { in: offerIds } }, data: { open: false } });
  }

  const { legCredits, immediate } = attachCredits(deal);
  const contractIds: string[] = [];
  for (const [index, transfer] of deal.transfers.entries()) {
    if (isMoney(transfer.leg)) continue;
    const giver = partyOf(transfer.fromOffer);
    const receiver = partyOf(transfer.toOffer);
    const community = await marketCommunity(tx, receiver.communityId);
    const price = Math.floor(transfer.value / transfer.leg.quantity);
    const commission = receiver.fromPool ? 0 : fillAmounts(transfer.leg.quantity, price, community.commissionBps).total;
    const credits = legCredits.get(index) ?? 0;
    const escrowed = credits + commission;
    const pricing = giver.fromPool && receiver.fromPool ? BARTER_PRICING.poolBoth : giver.fromPool ? BARTER_PRICING.poolSeller : receiver.fromPool ? BARTER_PRICING.poolBuyer : BARTER_PRICING.plain;
    const what = `${transfer.leg.quantity} ${transfer.leg.unit} of ${transfer.leg.category.toLowerCase()}`;
    // the leg's credits will cross to the giver's community when it settles: refused now if they would pass the link's cap
    if (credits > 0 && giver.communityId !== receiver.communityId) await assertLinkRoom(tx, receiver.communityId, giver.communityId, credits);
    const contract = await tx.contract.create({
      data: {
        communityId: receiver.communityId,
        sellerCommunityId: giver.communityId === receiver.communityId ? null : giver.communityId,
        barterDealId: dealId,
        buyerId: receiver.memberId,
        sellerId: giver.memberId,
        category: transfer.leg.category,
        unit: transfer.leg.unit,
        quantity: transfer.leg.quantity,
        price: BigInt(price),
        pricing,
        windowStart: now,
        windowEnd: new Date(now.getTime() + 7 * 86_400_000),
        commissionBps: community.commissionBps,
        buyerCommission: BigInt(commission),
        sellerCommission: 0n,
        escrowed: BigInt(escrowed),
        events: { create: { action: 'MATCH', fromState: null, toState: 'MATCHED', note: `Barter leg: ${what}${credits > 0 ? `; ${formatCredits(credits)} credits held for it in escrow` : ''}` } },
      },
      select: { id: true },
    });
    contractIds.push(contract.id);
    if (escrowed > 0) {
      if (receiver.fromPool) await assertPoolHolds(tx, receiver.communityId, escrowed);
      await postEntry(tx, receiver.communityId, {
        kind: 'BARTER_ESCROW',
        memo: `Held for a barter of ${what}${commission > 0 ? ' (with commission)' : ''}`,
        reference: `contract:${contract.id}`,
        lines: [{ account: partyAccount(receiver), amount: -escrowed }, { account: escrowAccount(receiver.memberId), amount: escrowed }],
      }, community);
    }
    outbox.add([giver.memberId, receiver.memberId], { type: 'contract', contractId: contract.id, state: 'MATCHED', action: 'MATCH' });
  }
  for (const move of immediate) {
    await moveCredits(tx, partyOf(move.fromOffer), partyOf(move.toOffer), move.amount, move.kind, move.kind === 'BARTER_TOP_UP' ? 'Credits evening a barter' : 'Credits in a barter', reference);
  }
  return contractIds;
}
