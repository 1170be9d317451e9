import { Prisma } from '../db/generated/sqlite/client';
import { deferWrites, rawQueryAll, runWrites, unguarded, type Write } from '../db/direct';
import type { Tx } from '../db/client';
import { asEnum, insertStatements, valuesTable } from '../db/bulk';
import { newId } from '../db/ids';
import { fromJson } from '../db/json';
import { DomainError } from '../errors';
import { formatCredits } from '../money';
import { LedgerBatch, memberAccountsQuery, type AccountRow } from '../ledger/batch';
import { escrowAccount, memberAccount } from '../ledger/postings';
import type { Outbox } from '../live/outbox';
import { fillAmounts } from './commission';
import { Book, matchIncoming, type BookOrder, type OrderConstraints } from './engine';
import { announceFill, holdAdjustment, orderHoldEntry, type MarketCommunity } from './fills';
import { CANDIDATE_LIMIT, SPOT_TTL_MS, type PlaceOrderInput } from './order-input';
import { openMarketBooksReading } from './books';
import { partyFacts } from './parties';
import { holdFor, releasedHold } from './reservation';

type OrderRow = {
  id: string; communityId: string; memberId: string; deviceId: string | null; side: 'BUY' | 'SELL'; category: string; unit: string;
  kind: 'STANDING' | 'SPOT'; quantity: number; remaining: number; price: bigint; windowStart: Date; windowEnd: Date; expiresAt: Date | null;
  seq: number; constraints: OrderConstraints; negotiationMode: 'NONE'; negotiationLimit: null; reserved: bigint;
};
type ContractRow = {
  id: string; communityId: string; sellerCommunityId: null; buyOrderId: string; sellOrderId: string; buyerId: string; sellerId: string;
  category: string; unit: string; quantity: number; price: bigint; pricing: 'CROSS'; windowStart: Date; windowEnd: Date; commissionBps: number;
  buyerCommission: bigint; sellerCommission: bigint; escrowed: bigint;
};
type ContractEventRow = { id: string; contractId: string; action: string; fromState: null; toState: 'MATCHED'; note: string };

// the columns the batch writes; every other column keeps its default (null, false, 0, MATCHED)
const ORDER_COLUMNS = [
  'id', 'communityId', 'memberId', 'deviceId', 'side', 'category', 'unit', 'kind', 'status', 'quantity', 'remaining', 'price', 'windowStart',
  'windowEnd', 'expiresAt', 'seq', 'constraints', 'negotiationMode', 'negotiationLimit', 'reserved', 'createdAt', 'updatedAt',
] as const;
const CONTRACT_COLUMNS = [
  'id', 'communityId', 'sellerCommunityId', 'buyOrderId', 'sellOrderId', 'buyerId', 'sellerId', 'category', 'unit', 'quantity', 'price',
  'pricing', 'windowStart', 'windowEnd', 'commissionBps', 'buyerCommission', 'sellerCommission', 'escrowed', 'createdAt', 'updatedAt',
] as const;
const CONTRACT_EVENT_COLUMNS = ['id', 'contractId', 'action', 'fromState', 'toState', 'note', 'createdAt'] as const;

/** A resting order as a raw query reads it, with its device's profile (`RESTING_COLUMNS` of "Order" o LEFT JOIN "Device" d). */
export type RestingRow = {
  id: string; memberId: string; price: unknown; remaining: unknown; locked: unknown; reserved: unknown; windowStart: unknown;
  windowEnd: unknown; seq: unknown; constraints: unknown; negotiationMode: 'NONE' | 'MANUAL' | 'AUTO'; negotiationLimit: unknown; profile: unknown;
};
export const RESTING_COLUMNS = Prisma.raw(`o.id, o."memberId", o.price, o.remaining, o.locked, o.reserved, o."windowStart", o."windowEnd", o.seq, o.constraints,
               o."negotiationMode", o."negotiationLimit", d.profile`);

/** The engine's view of a resting order read raw (numbers and dates as the driver gives them). */
export function restingBookOrder(row: RestingRow, side: 'BUY' | 'SELL', unit: string): BookOrder {
  return {
    id: row.id,
    side,
    unit,
    price: Number(row.price),
    remaining: Number(row.remaining),
    locked: Number(row.locked),
    windowStart: new Date(row.windowStart as string).getTime(),
    windowEnd: new Date(row.windowEnd as string).getTime(),
    seq: Number(row.seq),
    constraints: (fromJson(row.constraints) ?? {}) as OrderConstraints,
    negotiation: { mode: row.negotiationMode, limit: row.negotiationLimit === null ? null : Number(row.negotiationLimit) },
    party: partyFacts(row.memberId, fromJson(row.profile)),
  };
}

/** An order placement as the book's writer receives it: checked by zod and against the clock (its device is found in the batch). */
export type PlaceCommand = {
  memberId: string;
  input: PlaceOrderInput;
  resolved: { start: Date; end: Date; constraints: OrderConstraints };
  now: Date;
};

export type PlaceOrderResult = {
  order: { id: string; status: string; remaining: number };
  fills: { contractId: string; quantity: number; price: number }[];
  negotiationId?: string;
};

type DeviceRow = { id: string; memberId: string; updatedAt: Date; profile?: unknown };

/**
 * The device an order is placed with: the one named (it must be the member's), else the member's most
 * recently updated device, else none.
 */
export function orderDevice<D extends DeviceRow>(devices: D[], memberId: string, deviceId: string | undefined): D | null {
  const own = devices.filter((d) => d.memberId === memberId);
  if (deviceId) {
    const named = own.find((d) => d.id === deviceId);
    if (!named) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
    return named;
  }
  return own.reduce<D | null>((latest, d) => (latest && latest.updatedAt >= d.updatedAt ? latest : d), null);
}

/** What a batch made of a command: a result, a refusal for the person, or "place it the long way". */
export type BatchStep = { kind: 'placed'; result: PlaceOrderResult } | { kind: 'refused'; error: DomainError } | { kind: 'slow' };

type OrderState = {
  id: string;
  memberId: string;
  side: 'BUY' | 'SELL';
  unit: string;
  remaining: number;
  locked: number;
  reserved: number;
  /** the order's window (a contract runs over the bid's) */
  window: { start: Date; end: Date };
  /** as read from the database; null for an order this batch creates */
  read: { remaining: number; locked: number; reserved: number } | null;
  /** the row to insert, for an order this batch creates */
  insert?: OrderRow;
};

/** What a bidder is told when their credits do not cover the bid's hold. */
export const holdShortMessage = (hold: number, available: number) =>
  `This needs ${formatCredits(hold)} credits held in escrow (price × quantity plus commission); you have ${formatCredits(available)} available.`;

/**
 * One book (a community's category, not linked to other communities) held in memory for one batch of
 * placements, under the book's lock: the resting orders of the sides the batch's orders can meet (as far
 * as they cross them), the members' balances, the next sequence number. Orders are matched with the pure
 * engine against it, their holds, fills and contracts are kept in memory, and `flush` writes them all with
 * multi-row statements. Orders that would need more than it holds (a negotiation, a side deeper than was read)
 * are refused with `slow`, before anything of theirs is applied, to be placed the long way.
 */
export class BookBatch {
  private readonly books = new Map<string, Book>();
  private readonly truncated = new Set<string>();
  private readonly orders = new Map<string, OrderState>();
  private devices: DeviceRow[] = [];
  private contracts: ContractRow[] = [];
  private contractEvents: ContractEventRow[] = [];

  private constructor(
    private readonly community: MarketCommunity,
    private readonly category: string,
    private readonly ledger: LedgerBatch,
    private seq: number,
  ) {}

  /**
   * Locks the book (`openMarketBooks`) and reads what `commands` need (`load`), all in one message to SQLite's
   * thread; null when the community's books are linked to others (orders then go the long way).
   */
  static async open(tx: Tx, communityId: string, category: string, commands: PlaceCommand[], now: Date): Promise<BookBatch | null> {
    const reads = BookBatch.reads(communityId, category, commands, now);
    const { communities, community, rows } = await openMarketBooksReading(tx, communityId, category, reads.queries);
    return communities.length === 1 ? reads.make(community, rows) : null;
  }

  /** Reads what `commands` need: the opposite sides of their units, their members' accounts, their devices' profiles. */
  static async load(tx: Tx, community: MarketCommunity, category: string, commands: PlaceCommand[], now: Date): Promise<BookBatch> {
    const reads = BookBatch.reads(community.id, category, commands, now);
    return reads.make(community, await rawQueryAll(tx, reads.queries));
  }

  /** The raw queries of `load` (sent together), and what makes the batch from their rows. */
  private static reads(communityId: string, category: string, commands: PlaceCommand[], now: Date): { queries: Prisma.Sql[]; make: (community: MarketCommunity, rows: unknown[][]) => BookBatch } {
    // raw statements (on this path the ORM's cost per query is most of the cost: server/db/bulk.ts), sent together
    const memberIds = [...new Set(commands.map((c) => c.memberId))];
    // each side the batch's orders meet, read only as far as any of them can cross it: asks up to the highest
    // bid, bids down to the lowest ask (on this path an order matches only what crosses it: no negotiation)
    const reach = new Map<string, [unit: string, side: 'BUY' | 'SELL', bound: number]>();
    for (const { input } of commands) {
      const side = input.side === 'BUY' ? 'SELL' : 'BUY';
      const key = `${input.unit}\u0000${side}`;
      const bound = reach.get(key)?.[2];
      reach.set(key, [input.unit, side, bound === undefined ? input.price : side === 'SELL' ? Math.max(bound, input.price) : Math.min(bound, input.price)]);
    }
    const sides = [...reach.values()];
    const queries = [
      Prisma.sql`SELECT MAX(seq) AS seq FROM "Order" WHERE "communityId" = ${communityId} AND category = ${category}`,
      memberAccountsQuery(communityId, memberIds),
      Prisma.sql`SELECT id, "memberId", "updatedAt", profile FROM "Device" WHERE "memberId" IN (${Prisma.join(memberIds)})`,
      // pulled orders (compute jobs, donations, priced content) are filled by their own flows, not here
      ...sides.map(([unit, side, bound]) => Prisma.sql`
        SELECT ${RESTING_COLUMNS}
        FROM "Order" o LEFT JOIN "Device" d ON d.id = o."deviceId"
        WHERE o."communityId" = ${communityId} AND o.category = ${category} AND o.side = ${Prisma.raw(`'${side}'`)} AND o.status = 'OPEN'
          AND o.unit = ${unit} AND o.remaining > 0 AND o."jobId" IS NULL AND o.donation = ${false} AND o."contentItemId" IS NULL
          AND o."windowEnd" > ${now} AND (o."expiresAt" IS NULL OR o."expiresAt" > ${now})
          AND o.price ${Prisma.raw(side === 'SELL' ? '<=' : '>=')} ${bound}
        ORDER BY o.price ${Prisma.raw(side === 'SELL' ? 'ASC' : 'DESC')}, o.seq ASC, o.id ASC
        LIMIT ${CANDIDATE_LIMIT}`),
    ];
    return { queries, make: (community, rows) => BookBatch.fromRows(community, category, sides, rows) };
  }

  private static fromRows(community: MarketCommunity, category: string, sides: [unit: string, side: 'BUY' | 'SELL', bound: number][], rows: unknown[][]): BookBatch {
    const [seqRows, accounts, devices, ...sideRows] = rows as [{ seq: unknown }[], AccountRow[], { id: string; memberId: string; updatedAt: unknown; profile: unknown }[], ...RestingRow[][]];
    const ledger = new LedgerBatch(community.id, community.creditLimit);
    const batch = new BookBatch(community, category, ledger, Number(seqRows[0]?.seq ?? 0));
    ledger.accept(accounts);
    batch.devices = devices.map((d) => ({ id: d.id, memberId: d.memberId, updatedAt: new Date(d.updatedAt as string), profile: fromJson(d.profile) }));

    for (const [i, [unit, side]] of sides.entries()) {
      const key = `${unit}\u0000${side}`;
      const rows = sideRows[i]!;
      if (rows.length === CANDIDATE_LIMIT) batch.truncated.add(key);
      const book = batch.bookOf(unit);
      for (const row of rows) {
        const order = restingBookOrder(row, side, unit);
        const reserved = Number(row.reserved);
        const window = { start: new Date(order.windowStart), end: new Date(order.windowEnd) };
        batch.orders.set(row.id, { id: row.id, memberId: row.memberId, side, unit, remaining: order.remaining, locked: order.locked, reserved, window, read: { remaining: order.remaining, locked: order.locked, reserved } });
        book.add(order);
      }
    }
    return batch;
  }

  private bookOf(unit: string): Book {
    let book = this.books.get(unit);
    if (!book) this.books.set(unit, (book = new Book()));
    return book;
  }

  /** Places one order in memory (see the class comment), or says why it cannot here. */
  place(command: PlaceCommand, outbox: Outbox): BatchStep {
    const { memberId, input, resolved, now } = command;
    if (input.negotiation.mode !== 'NONE') return { kind: 'slow' };
    let device: DeviceRow | null;
    try {
      device = orderDevice(this.devices, memberId, input.deviceId);
    } catch (error) {
      if (error instanceof DomainError) return { kind: 'refused', error };
      throw error;
    }
    if (!this.ledger.has(memberAccount(memberId)) || !this.ledger.has(escrowAccount(memberId))) return { kind: 'slow' };

    const hold = input.side === 'BUY' ? holdFor(input.quantity, input.price, this.community.commissionBps) : 0;
    if (hold > 0) {
      const available = this.ledger.balance(memberAccount(memberId));
      if (available + this.community.creditLimit < hold) return { kind: 'refused', error: new DomainError('CONFLICT', holdShortMessage(hold, available)) };
    }

    const id = newId();
    const incoming: BookOrder = {
      id,
      side: input.side,
      unit: input.unit,
      price: input.price,
      remaining: input.quantity,
      locked: 0,
      windowStart: resolved.start.getTime(),
      windowEnd: resolved.end.getTime(),
      seq: this.seq + 1,
      constraints: resolved.constraints,
      negotiation: { mode: 'NONE', limit: null },
      party: partyFacts(memberId, device?.profile ?? null),
    };
    const book = this.bookOf(input.unit);
    const match = matchIncoming(incoming, book.candidatesFor(input.side), { presorted: true });
    const deeper = this.truncated.has(`${input.unit}\u0000${input.side === 'BUY' ? 'SELL' : 'BUY'}`);
    if (match.negotiation || (deeper && match.incomingRemaining > 0)) return { kind: 'slow' };

    // from here on the order is placed: nothing below refuses it
    this.seq++;
    const order: OrderState = { id, memberId, side: input.side, unit: input.unit, remaining: input.quantity, locked: 0, reserved: hold, window: { start: resolved.start, end: resolved.end }, read: null };
    order.insert = {
      id,
      communityId: this.community.id,
      memberId,
      deviceId: device?.id ?? null,
      side: input.side,
      category: this.category,
      unit: input.unit,
      kind: input.kind,
      quantity: input.quantity,
      remaining: input.quantity,
      price: BigInt(input.price),
      windowStart: resolved.start,
      windowEnd: resolved.end,
      expiresAt: input.kind === 'SPOT' ? new Date(now.getTime() + SPOT_TTL_MS) : null,
      seq: this.seq,
      constraints: resolved.constraints,
      negotiationMode: 'NONE',
      negotiationLimit: null,
      reserved: 0n,
    };
    this.orders.set(id, order);
    if (hold > 0) {
      this.ledger.post(orderHoldEntry(memberId, { id, quantity: input.quantity, unit: input.unit }, hold));
    }
    outbox.book(this.community.id, this.category);

    const fills: PlaceOrderResult['fills'] = [];
    for (const fill of match.fills) {
      fills.push({ contractId: this.fill(fill.buyOrderId, fill.sellOrderId, fill.quantity, fill.price, outbox), quantity: fill.quantity, price: fill.price });
    }
    for (const restingId of Object.keys(match.restingRemaining)) book.update(restingId, { remaining: this.orders.get(restingId)!.remaining });
    if (order.remaining > 0) book.add({ ...incoming, remaining: order.remaining });
    return { kind: 'placed', result: { order: { id, status: order.remaining === 0 ? 'FILLED' : 'OPEN', remaining: order.remaining }, fills } };
  }

  /** One crossing fill, as `executeFill` makes it: the bid's hold pays the contract's escrow, the rest goes back. */
  private fill(buyId: string, sellId: string, quantity: number, price: number, outbox: Outbox): string {
    const buy = this.orders.get(buyId)!;
    const sell = this.orders.get(sellId)!;
    const amounts = fillAmounts(quantity, price, this.community.commissionBps);
    const released = releasedHold(buy.reserved, buy.remaining, quantity);
    const adjustment = holdAdjustment(buy, sell.id, released - amounts.buyerPays);
    if (adjustment) this.ledger.post(adjustment);
    buy.reserved -= released;
    buy.remaining -= quantity;
    sell.remaining -= quantity;

    const contractId = newId();
    this.contracts.push({
      id: contractId,
      communityId: this.community.id,
      sellerCommunityId: null,
      buyOrderId: buy.id,
      sellOrderId: sell.id,
      buyerId: buy.memberId,
      sellerId: sell.memberId,
      category: this.category,
      unit: buy.unit,
      quantity,
      price: BigInt(price),
      pricing: 'CROSS',
      windowStart: buy.window.start,
      windowEnd: buy.window.end,
      commissionBps: this.community.commissionBps,
      buyerCommission: BigInt(amounts.buyerShare),
      sellerCommission: BigInt(amounts.sellerShare),
      escrowed: BigInt(amounts.buyerPays),
    });
    this.contractEvents.push({ id: newId(), contractId, action: 'MATCH', fromState: null, toState: 'MATCHED', note: `${quantity} ${buy.unit} at ${price} µcredits (cross)` });

    const orders = [buy, sell].map((o) => ({ ...o, status: o.remaining === 0 ? 'FILLED' : 'OPEN' }));
    announceFill(outbox, { contractId, orders, quantity, price, category: this.category, pulled: false });
    return contractId;
  }

  /**
   * Writes everything placed so far: holds and releases, new orders, changed resting orders, contracts. With
   * `last` (nothing but the transaction's COMMIT follows) the writes may go with the COMMIT (server/db/direct.ts
   * `deferWrites`), which then fails, rolling everything back, if a resting order or a balance moved meanwhile.
   */
  async flush(tx: Tx, now: Date, { last = false } = {}): Promise<void> {
    // the ledger's rows and balances first, in the same message as the batch's own
    const ledger = await this.ledger.writes(tx);
    const writes: Write[] = [...ledger.writes];
    const created = [...this.orders.values()].filter((o) => o.insert);
    writes.push(...unguarded(insertStatements('Order', ORDER_COLUMNS, created.map((o) => {
      const row = { ...o.insert!, remaining: o.remaining, reserved: BigInt(o.reserved), status: o.remaining === 0 ? 'FILLED' : 'OPEN', createdAt: now, updatedAt: now };
      return ORDER_COLUMNS.map((column) => (column === 'constraints' ? JSON.stringify(row.constraints) : row[column]));
    }))));
    const changed = [...this.orders.values()].filter((o) => o.read && (o.read.remaining !== o.remaining || o.read.reserved !== o.reserved));
    if (changed.length > 0) {
      const rows = changed.map((o) => [o.id, o.read!.remaining, o.read!.locked, BigInt(o.read!.reserved), o.remaining, o.remaining === 0 ? 'FILLED' : 'OPEN', BigInt(o.reserved)]);
      // each row only as it was read: anything else means someone changed it without the book's lock
      writes.push({
        guard: { changes: changed.length, error: () => new BookBatchConflict('a resting order changed while the batch held its book') },
        query: Prisma.sql`
          UPDATE "Order" SET remaining = v.column5, status = ${asEnum(tx, 'v.column6', 'OrderStatus')}, reserved = v.column7, "updatedAt" = ${now}
          FROM ${valuesTable(rows, ['TEXT', 'INTEGER', 'INTEGER', 'BIGINT', 'INTEGER', 'TEXT', 'BIGINT'])}
          WHERE "Order".id = v.column1 AND "Order".status = 'OPEN' AND "Order".remaining = v.column2 AND "Order".locked = v.column3 AND "Order".reserved = v.column4`,
      });
    }
    writes.push(...unguarded(insertStatements('Contract', CONTRACT_COLUMNS, this.contracts.map((c) => CONTRACT_COLUMNS.map((column) => (column === 'createdAt' || column === 'updatedAt' ? now : c[column]))))));
    writes.push(...unguarded(insertStatements('ContractEvent', CONTRACT_EVENT_COLUMNS, this.contractEvents.map((e) => CONTRACT_EVENT_COLUMNS.map((column) => (column === 'createdAt' ? now : e[column]))))));
    // sent together (server/db/direct.ts)
    await (last ? deferWrites : runWrites)(tx, writes);
    ledger.done();
    this.contracts = [];
    this.contractEvents = [];
    for (const order of this.orders.values()) {
      order.read = { remaining: order.remaining, locked: order.locked, reserved: order.reserved };
      delete order.insert;
    }
  }
}

/** The batch's picture of the book is no longer the database's: give the batch up and place its orders one by one. */
export class BookBatchConflict extends Error {}
