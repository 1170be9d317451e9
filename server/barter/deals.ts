import { DomainError } from '../errors';
import type { Tx } from '../db/client';
import { communityAccount, federationAccount, memberAccount, type AccountRef, type JournalEntry } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { MICRO_PER_CREDIT, toMicro } from '../money';
import { fillAmounts } from '../market/commission';
import { marketCommunity } from '../market/fills';
import type { Outbox } from '../market/outbox';
import type { BarterDeal, Leg } from './engine';

/** Where a participant's credits come from or go to: their own account, or the community pool for a coordinator's pool offer. */
type Party = { memberId: string; communityId: string; fromPool: boolean };

const partyAccount = (p: Party): AccountRef => (p.fromPool ? communityAccount('COMMISSION') : memberAccount(p.memberId));

/**
 * Moves `amount` µ between two parties, through both communities' clearing accounts when they differ
 * (federation): each community's own postings still sum to zero.
 */
async function moveCredits(tx: Tx, from: Party, to: Party, amount: number, kind: string, memo: string, reference: string) {
  if (amount <= 0) return;
  if (from.fromPool) {
    const pool = await tx.account.findFirstOrThrow({ where: { communityId: from.communityId, kind: 'COMMISSION', memberId: null }, select: { balance: true } });
    if (toMicro(pool.balance) < amount) throw new DomainError('CONFLICT', "The community pool does not hold enough credits for this barter.");
  }
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

/**
 * Closes a matched deal: credit legs and top-ups move at once; every resource leg becomes a contract
 * (giver = seller, receiver = buyer, priced at its value) to be delivered and signed off like a market
 * contract; each receiver pays the community's commission on what they receive, in credits.
 */
export async function closeDeal(tx: Tx, dealId: string, deal: BarterDeal, parties: Map<string, Party>, now: Date, outbox: Outbox) {
  const reference = `barter:${dealId}`;
  const partyOf = (offerId: string) => {
    const party = parties.get(offerId);
    if (!party) throw new Error(`closeDeal: no party for offer ${offerId}`);
    return party;
  };
  const contractIds: string[] = [];
  for (const transfer of deal.transfers) {
    const giver = partyOf(transfer.fromOffer);
    const receiver = partyOf(transfer.toOffer);
    if (isMoney(transfer.leg)) {
      await moveCredits(tx, giver, receiver, transfer.leg.quantity * MICRO_PER_CREDIT, 'BARTER_CREDITS', 'Credits in a barter', reference);
      continue;
    }
    const community = await marketCommunity(tx, receiver.communityId);
    const price = Math.floor(transfer.value / transfer.leg.quantity);
    const commission = fillAmounts(transfer.leg.quantity, price, community.commissionBps).total;
    const contract = await tx.contract.create({
      data: {
        communityId: receiver.communityId,
        barterDealId: dealId,
        buyerId: receiver.memberId,
        sellerId: giver.memberId,
        category: transfer.leg.category,
        unit: transfer.leg.unit,
        quantity: transfer.leg.quantity,
        price: BigInt(price),
        pricing: 'BARTER',
        windowStart: now,
        windowEnd: new Date(now.getTime() + 7 * 86_400_000),
        commissionBps: community.commissionBps,
        buyerCommission: 0n,
        sellerCommission: 0n,
        escrowed: 0n,
        events: { create: { action: 'MATCH', fromState: null, toState: 'MATCHED', note: `Barter leg: ${transfer.leg.quantity} ${transfer.leg.unit} of ${transfer.leg.category.toLowerCase()}` } },
      },
      select: { id: true },
    });
    contractIds.push(contract.id);
    outbox.add([giver.memberId, receiver.memberId], { type: 'contract', contractId: contract.id, state: 'MATCHED', action: 'MATCH' });
    if (commission > 0 && !receiver.fromPool) {
      await postEntry(tx, receiver.communityId, {
        kind: 'BARTER_COMMISSION',
        memo: `Commission on a barter of ${transfer.leg.category.toLowerCase()}`,
        reference,
        lines: [{ account: memberAccount(receiver.memberId), amount: -commission }, { account: communityAccount('COMMISSION'), amount: commission }],
      }, community);
    }
  }
  for (const topUp of deal.topUps) {
    await moveCredits(tx, partyOf(topUp.fromOffer), partyOf(topUp.toOffer), topUp.amount, 'BARTER_TOP_UP', 'Credits evening a barter', reference);
  }
  await tx.barterOffer.updateMany({ where: { id: { in: deal.offers.map((o) => o.id) } }, data: { status: 'CLOSED', dealId } });
  await tx.barterDeal.update({ where: { id: dealId }, data: { status: 'CLOSED', closedAt: now } });
  return contractIds;
}
