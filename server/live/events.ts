import { tracked } from '@trpc/server';
import { insertStatements } from '../db/bulk';
import type { Queryable } from '../db/client';
import { rawExecuteLater } from '../db/direct';
import { listenRemote, POLL_INTERVAL_MS, version, waitForChange } from './bus';

/** Every live event a member can receive: a discriminated union on `type`. */
export type LiveEvent =
  | { type: 'order'; orderId: string; status: string; remaining: number }
  /** `pulled`: a fill made by pulled work or a content request, not by an order meeting the book */
  | { type: 'fill'; contractId: string; orderId: string; side: 'BUY' | 'SELL'; quantity: number; price: number; category: string; pulled: boolean }
  | { type: 'negotiation'; negotiationId: string; status: string; buyerPrice: number; sellerPrice: number; byMemberId: string | null }
  | { type: 'contract'; contractId: string; state: string; action: string }
  | { type: 'transfer'; transferId: string; itemId: string; status: string; verifiedChunks: number }
  | { type: 'barter'; dealId: string; status: string }
  /** a private gift ("Send to nearby") offered to the member's device `toDeviceId` */
  | { type: 'gift'; itemId: string; title: string; fromHandle: string; toDeviceId: string }
  /** storage on other members' devices: a challenge for one of the member's devices, a copy to take, a plan's change */
  | { type: 'storage'; planId: string; what: 'challenge' | 'placement' | 'plan' }
  /** page views: an order opened (to the donors serving page views), a view handed out or reported (to its buyer and donor) */
  | { type: 'pageviews'; campaignId: string; what: 'open' | 'view' }
  /** a relay session the member receives through (the contract's parties get `contract` events) */
  | { type: 'relay'; sessionId: string; contractId: string; action: string }
  /** a job's results for one of the member's devices (`toDeviceId`): ready to send, offered by another device, delivered */
  | { type: 'results'; jobId: string; what: 'ready' | 'offered' | 'delivered'; toDeviceId: string }
  /** a broadcast's tree changed for the member (a new parent or child), a relay link was paid, or it ended */
  | { type: 'broadcast'; broadcastId: string; action: string };

export type Delivery = { memberId: string; event: LiveEvent };

/** Writes events inside the caller's transaction; call `notify` with the member ids after it commits. */
export async function record(tx: Queryable, deliveries: Delivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  // one multi-row statement: every market and compute batch writes a few events per fill
  const at = new Date();
  // sent with the transaction's next statement (its COMMIT at the latest), which fails if these do
  await rawExecuteLater(tx, insertStatements('LiveEvent', ['memberId', 'type', 'payload', 'createdAt'], deliveries.map(({ memberId, event }) => [memberId, event.type, JSON.stringify(event), at])));
}

/**
 * The member's live events as tracked items (id = the event's row id), from just after `lastEventId`
 * or, without one, from now on. The version is read before each query so that an event written while
 * the query runs still wakes the next wait.
 */
export async function* memberEvents(
  db: Queryable,
  memberId: string,
  lastEventId: string | null | undefined,
  signal: AbortSignal | undefined,
) {
  listenRemote();
  let cursor: number;
  // an event id is a 32-bit row id: anything else resumes from now
  if (lastEventId && /^\d{1,10}$/.test(lastEventId) && Number(lastEventId) <= 2_147_483_647) {
    cursor = Number(lastEventId);
  } else {
    const latest = await db.liveEvent.findFirst({ where: { memberId }, orderBy: { id: 'desc' }, select: { id: true } });
    cursor = latest?.id ?? 0;
  }
  while (!signal?.aborted) {
    const seen = version(memberId);
    const rows = await db.liveEvent.findMany({
      where: { memberId, id: { gt: cursor } },
      orderBy: { id: 'asc' },
      take: 100,
      select: { id: true, payload: true, createdAt: true },
    });
    for (const row of rows) {
      cursor = row.id;
      yield tracked(String(row.id), { ...(row.payload as LiveEvent), at: row.createdAt.toISOString() });
    }
    if (rows.length < 100) await waitForChange(memberId, seen, POLL_INTERVAL_MS, signal);
  }
}
