/**
 * Home's to-do inbox (`home.inbox`): what waits on the member, gathered in a few indexed queries — contracts
 * awaiting their delivery or their sign-off, files offered to them, negotiations and barter deals waiting on
 * them — with what their devices earned since the start of their day, their balances in every community and
 * how far they are through the first steps (measure, join or create, then donate, trade or swap). Everything is
 * the member's own: each query is keyed by the member's id (or their devices' ids).
 */
import type { Queryable } from '../db/client';
import { contractSettlesFromProof } from '../delivery/rule';
import { toMicro } from '../money';

/** At most this many items of each kind are listed (the count says when there are more). */
export const INBOX_LIMIT = 20;

/** Ledger entries that pay the seller of a contract. */
const SETTLEMENT_KINDS = ['SETTLEMENT', 'PROVEN_SETTLEMENT', 'SPLIT_SETTLEMENT'];

const contractSelect = {
  id: true,
  communityId: true,
  category: true,
  unit: true,
  quantity: true,
  price: true,
  state: true,
  windowEnd: true,
  reviewEndsAt: true,
  createdAt: true,
  barterDealId: true,
  buyer: { select: { handle: true } },
  seller: { select: { handle: true } },
  community: { select: { name: true } },
} as const;

type ContractRow = {
  id: string;
  communityId: string;
  category: string;
  unit: string;
  quantity: number;
  price: bigint;
  state: string;
  windowEnd: Date;
  reviewEndsAt: Date | null;
  createdAt: Date;
  buyer: { handle: string };
  seller: { handle: string };
  community: { name: string };
};

function presentContract(row: ContractRow, side: 'BUYER' | 'SELLER') {
  const price = toMicro(row.price);
  return {
    id: row.id,
    communityId: row.communityId,
    communityName: row.community.name,
    category: row.category,
    unit: row.unit,
    quantity: row.quantity,
    price,
    total: price * row.quantity,
    state: row.state,
    side,
    counterparty: side === 'SELLER' ? row.buyer.handle : row.seller.handle,
    windowEnd: row.windowEnd.toISOString(),
    reviewEndsAt: row.reviewEndsAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export type InboxContract = ReturnType<typeof presentContract>;

/** What an hour of the device's compute is worth at the standard rates (its stored valuation), micro-credits; null if unknown. */
function computePerHour(valuation: unknown): number | null {
  const value = (valuation as { categories?: { COMPUTE?: { creditsPerHour?: unknown } } } | null)?.categories?.COMPUTE?.creditsPerHour;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

/** Whether a number of listed items hides more (the query read one more than it lists). */
const listed = <T>(rows: T[]) => ({ items: rows.slice(0, INBOX_LIMIT), more: rows.length > INBOX_LIMIT });

/**
 * The member's inbox. `since` is the start of the member's day (their device's midnight): earnings count from
 * there. `now` is for tests.
 */
export async function homeInbox(db: Queryable, memberId: string, since: Date, now = new Date()) {
  const [memberships, accounts, devices] = await Promise.all([
    db.membership.findMany({
      where: { memberId },
      orderBy: { joinedAt: 'asc' },
      take: 100,
      select: { role: true, community: { select: { id: true, name: true, slug: true } } },
    }),
    db.account.findMany({ where: { memberId, kind: { in: ['MEMBER', 'ESCROW'] } }, select: { id: true, communityId: true, kind: true, balance: true } }),
    db.device.findMany({ where: { memberId }, orderBy: { createdAt: 'asc' }, take: 50, select: { id: true, name: true, valuation: true } }),
  ]);
  const deviceIds = devices.map((d) => d.id);
  const memberAccountIds = accounts.filter((a) => a.kind === 'MEMBER').map((a) => a.id);

  const [toDeliver, toSignOff, negotiations, gifts, proposed, paid, computed, started] = await Promise.all([
    // contracts the member sold and must deliver by hand: not a donor's compute (delivered by its work units), not a
    // file sold from the catalog (delivered by the transfer), not a pair the system delivers and measures itself
    db.contract.findMany({
      where: {
        sellerId: memberId,
        state: { in: ['MATCHED', 'ACTIVE'] },
        computeContract: { is: null },
        NOT: { sellOrder: { is: { contentItemId: { not: null } } } },
      },
      orderBy: [{ windowEnd: 'asc' }, { id: 'asc' }],
      take: INBOX_LIMIT + 1,
      select: contractSelect,
    }),
    db.contract.findMany({
      where: { buyerId: memberId, state: 'DELIVERED' },
      orderBy: [{ reviewEndsAt: 'asc' }, { id: 'asc' }],
      take: INBOX_LIMIT + 1,
      select: contractSelect,
    }),
    // open negotiations: read from both sides' indexes, then kept where the other side moved last (or nobody has yet)
    Promise.all(
      (['buyerId', 'sellerId'] as const).map((side) =>
        db.negotiation.findMany({
          where: { [side]: memberId, status: 'OPEN', expiresAt: { gt: now } },
          orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
          take: 50,
          select: {
            id: true, communityId: true, category: true, quantity: true, buyerId: true, sellerId: true, buyerPrice: true, sellerPrice: true,
            expiresAt: true, updatedAt: true,
            buyOrder: { select: { unit: true } },
            community: { select: { name: true } },
            offers: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 1, select: { memberId: true } },
          },
        }),
      ),
    ),
    // private gifts offered to the member (on any of their devices) and not taken yet
    db.contentItem.findMany({
      where: {
        recipientId: memberId,
        withdrawn: false,
        transfers: { none: { receiverId: memberId, status: { in: ['REQUESTED', 'ACTIVE', 'COMPLETED'] } } },
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: INBOX_LIMIT + 1,
      select: { id: true, title: true, sizeBytes: true, mediaType: true, recipientDeviceId: true, createdAt: true, device: { select: { member: { select: { handle: true } } } } },
    }),
    // the member's barter offers that asked to be consulted, matched into a deal that waits for acceptance
    db.barterOffer.findMany({
      where: { memberId, status: 'PROPOSED', auto: false, dealId: { not: null } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 50,
      select: { id: true, dealId: true, communityId: true, giveValue: true, wantValue: true },
    }),
    // credits paid to the member today for what they sold
    memberAccountIds.length
      ? db.posting.findMany({
          where: { accountId: { in: memberAccountIds }, createdAt: { gte: since }, amount: { gt: 0 }, transaction: { kind: { in: SETTLEMENT_KINDS } } },
          take: 2_000,
          select: { amount: true, transaction: { select: { reference: true } } },
        })
      : [],
    // work units the member's devices computed today (paid when each job ends)
    deviceIds.length
      ? db.replica.groupBy({
          by: ['deviceId', 'jobId'],
          where: { deviceId: { in: deviceIds }, status: { in: ['SUBMITTED', 'VALID'] }, submittedAt: { gte: since } },
          _count: { _all: true },
        })
      : [],
    // whether the member has done anything yet: an order (a trade or a donation), a barter offer, a file offered
    Promise.all([
      db.order.findFirst({ where: { memberId }, select: { id: true } }),
      db.barterOffer.findFirst({ where: { memberId }, select: { id: true } }),
      deviceIds.length ? db.contentItem.findFirst({ where: { deviceId: { in: deviceIds } }, select: { id: true } }) : null,
    ]).then((found) => found.some(Boolean)),
  ]);

  // negotiations waiting on the member, soonest to expire first
  const seenNegotiations = new Set<string>();
  const waiting = negotiations
    .flat()
    .filter((n) => {
      if (seenNegotiations.has(n.id)) return false;
      seenNegotiations.add(n.id);
      const last = n.offers[0];
      return !last || last.memberId !== memberId;
    })
    .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || (a.id < b.id ? -1 : 1));

  // barter deals the member has not accepted yet
  const dealIds = [...new Set(proposed.map((o) => o.dealId!))];
  const deals = dealIds.length
    ? await db.barterDeal.findMany({ where: { id: { in: dealIds }, status: 'PROPOSED' }, select: { id: true, acceptedBy: true, kind: true } })
    : [];
  const unaccepted = new Set(deals.filter((d) => !(Array.isArray(d.acceptedBy) && d.acceptedBy.includes(memberId))).map((d) => d.id));
  const barter = proposed.filter((o) => unaccepted.has(o.dealId!));

  // today's earnings: the settlements of contracts the member sold, by the device that delivered them where known
  const contractIds = [...new Set(paid.map((p) => /^contract:(.+)$/.exec(p.transaction.reference ?? '')?.[1]).filter((id): id is string => Boolean(id)))];
  const [soldContracts, jobs, counterparties] = await Promise.all([
    contractIds.length
      ? db.contract.findMany({
          where: { id: { in: contractIds }, sellerId: memberId },
          select: { id: true, computeContract: { select: { deviceId: true } }, sellOrder: { select: { deviceId: true } } },
        })
      : [],
    computed.length ? db.job.findMany({ where: { id: { in: [...new Set(computed.map((c) => c.jobId))] } }, select: { id: true, pricePerUnit: true } }) : [],
    waiting.length
      ? db.member.findMany({ where: { id: { in: [...new Set(waiting.map((n) => (n.buyerId === memberId ? n.sellerId : n.buyerId)))] } }, select: { id: true, handle: true } })
      : [],
  ]);
  const soldBy = new Map(soldContracts.map((c) => [c.id, c.computeContract?.deviceId ?? c.sellOrder?.deviceId ?? null]));
  const perDevice = new Map<string, { paid: number; units: number; pending: number }>(deviceIds.map((id) => [id, { paid: 0, units: 0, pending: 0 }]));
  let paidToday = 0;
  let paidOther = 0;
  for (const posting of paid) {
    const id = /^contract:(.+)$/.exec(posting.transaction.reference ?? '')?.[1];
    if (!id || !soldBy.has(id)) continue;
    const amount = toMicro(posting.amount);
    paidToday += amount;
    const device = perDevice.get(soldBy.get(id) ?? '');
    if (device) device.paid += amount;
    else paidOther += amount;
  }
  const priceOf = new Map(jobs.map((j) => [j.id, toMicro(j.pricePerUnit)]));
  let unitsToday = 0;
  let pendingToday = 0;
  for (const group of computed) {
    const device = perDevice.get(group.deviceId)!;
    const units = group._count._all;
    const value = units * (priceOf.get(group.jobId) ?? 0);
    device.units += units;
    device.pending += value;
    unitsToday += units;
    pendingToday += value;
  }

  const handles = new Map(counterparties.map((m) => [m.id, m.handle]));
  const deviceName = new Map(devices.map((d) => [d.id, d.name]));
  const balances = new Map<string, { available: number; escrow: number }>();
  for (const account of accounts) {
    const entry = balances.get(account.communityId) ?? { available: 0, escrow: 0 };
    if (account.kind === 'MEMBER') entry.available = toMicro(account.balance);
    else entry.escrow = toMicro(account.balance);
    balances.set(account.communityId, entry);
  }
  const communityName = new Map(memberships.map((m) => [m.community.id, m.community.name]));

  const deliver = listed(toDeliver.filter((c) => !contractSettlesFromProof(c)).map((c) => presentContract(c, 'SELLER')));
  const signOff = listed(toSignOff.map((c) => presentContract(c, 'BUYER')));
  const negotiationsOut = listed(
    waiting.map((n) => {
      const buying = n.buyerId === memberId;
      return {
        id: n.id,
        communityId: n.communityId,
        communityName: n.community.name,
        category: n.category,
        unit: n.buyOrder.unit,
        quantity: n.quantity,
        side: buying ? ('BUYER' as const) : ('SELLER' as const),
        myPrice: toMicro(buying ? n.buyerPrice : n.sellerPrice),
        theirPrice: toMicro(buying ? n.sellerPrice : n.buyerPrice),
        counterparty: handles.get(buying ? n.sellerId : n.buyerId) ?? null,
        /** the other side has countered (false: the negotiation just opened) */
        countered: n.offers.length > 0,
        expiresAt: n.expiresAt.toISOString(),
      };
    }),
  );
  const giftsOut = listed(
    gifts.map((g) => ({
      id: g.id,
      title: g.title,
      sizeBytes: Number(g.sizeBytes),
      mediaType: g.mediaType,
      from: g.device.member.handle,
      deviceId: g.recipientDeviceId,
      deviceName: g.recipientDeviceId ? (deviceName.get(g.recipientDeviceId) ?? null) : null,
      createdAt: g.createdAt.toISOString(),
    })),
  );
  const barterOut = listed(
    barter.map((o) => ({ offerId: o.id, dealId: o.dealId!, communityId: o.communityId, communityName: communityName.get(o.communityId) ?? null, giveValue: toMicro(o.giveValue), wantValue: toMicro(o.wantValue) })),
  );

  const total = deliver.items.length + signOff.items.length + negotiationsOut.items.length + giftsOut.items.length + barterOut.items.length;
  return {
    asOf: now.toISOString(),
    since: since.toISOString(),
    todo: { deliver, signOff, negotiations: negotiationsOut, gifts: giftsOut, barter: barterOut, total },
    earned: {
      /** credits paid today for what the member sold, after commission */
      paid: paidToday,
      /** work units the member's devices computed today, and what they will pay at the jobs' prices when validated */
      units: unitsToday,
      pending: pendingToday,
      devices: devices.map((d) => ({ id: d.id, name: d.name, computePerHour: computePerHour(d.valuation), ...perDevice.get(d.id)! })),
      /** paid today for sales no device of the member's delivered (a barter leg, a device since removed) */
      other: paidOther,
    },
    communities: memberships.map((m) => ({ ...m.community, role: m.role, ...(balances.get(m.community.id) ?? { available: 0, escrow: 0 }) })),
    steps: { measured: devices.length > 0, joined: memberships.length > 0, started },
  };
}

export type HomeInbox = Awaited<ReturnType<typeof homeInbox>>;
