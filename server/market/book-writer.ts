import { DomainError } from '../errors';
import { kindOf, type Db, type Tx } from '../db/client';
import { durable } from '../db/transaction';
import { inSavepoint } from '../db/bulk';
import { GroupCommit, outcomeOf, type Outcome } from '../db/group-commit';
import { registerQueue } from '../system/health';
import { Outbox, withOutbox } from '../live/outbox';
import { lockMarketBooks, openMarketBooks } from './books';
import type { MarketCommunity } from './fills';
import { cancelInBook } from './lifecycle';
import { BookBatch, type PlaceCommand, type PlaceOrderResult } from './order-batch';
import type { PlaceOrderInput } from './order-input';
import { placeAlone, placeInBook, refuseMoney, resolveOrder } from './place-order';

/**
 * The single writer of the market's books. Every placement and cancellation for one book (a community's
 * category) goes through one queue (group commit, server/db/group-commit.ts); a batch runs in one
 * transaction holding the book's lock and the linked books', and each caller is answered once it has
 * committed. Placements the in-memory batch can make (`BookBatch`) are made there and written together;
 * anything else — a cancellation, a negotiation, a linked book, a side deeper than was read — first has
 * what came before it written, then runs the long way in a savepoint of the same transaction, after
 * which the book is read again. If the batch fails as a whole (a balance or an order moved under it, a
 * deadlock), every command runs on its own. On SQLite the placements at the head of a batch that the
 * in-memory batch can make go first in a transaction of their own outside the ORM (`placeInMemory`); the
 * rest of the batch, if any, then runs as above.
 */
type CancelCommand = { kind: 'cancel'; memberId: string; orderId: string };
type BookCommand = ({ kind: 'place' } & PlaceCommand) | CancelCommand;
type BookAnswer = PlaceOrderResult | { cancelled: true };

/** How the writer went in this process: batches, orders placed in memory or the long way, batches given up. */
export const placements = { batches: 0, inMemory: 0, longWay: 0, givenUp: 0 };

/** One command the long way, inside the batch's transaction. */
function runLongWay(tx: Tx, outbox: Outbox, communities: string[], community: MarketCommunity, command: BookCommand): Promise<BookAnswer> {
  if (command.kind === 'cancel') return cancelInBook(tx, command.memberId, command.orderId, outbox).then(() => ({ cancelled: true as const }));
  return placeInBook(tx, outbox, communities, community, command);
}

/** One command in a transaction of its own (when its batch had to be given up). */
function runAlone(db: Db, command: BookCommand, communityId: string, category: string): Promise<BookAnswer> {
  if (command.kind === 'place') return placeAlone(db, command);
  return withOutbox(db, async (tx, outbox) => {
    await lockMarketBooks(tx, communityId, category);
    await cancelInBook(tx, command.memberId, command.orderId, outbox);
    return { cancelled: true as const };
  });
}

async function runBatch(db: Db, book: string, commands: BookCommand[]): Promise<Outcome<BookAnswer>[]> {
  const [communityId, category] = splitBook(book);
  placements.batches++;
  let done: Outcome<BookAnswer>[] = [];
  const first = commands[0]!;
  if (kindOf(db) === 'sqlite' && first.kind === 'place' && first.input.negotiation.mode === 'NONE') {
    try {
      done = await withOutbox(db, (tx, outbox) => placeInMemory(tx, outbox, communityId, category, commands), { answerWhenDurable: false, raw: true });
    } catch {
      // rolled back: nothing of the batch was written
      return giveUp(db, commands, communityId, category);
    }
  }
  const rest = commands.slice(done.length);
  if (rest.length === 0) return done;
  try {
    return [...done, ...(await withOutbox(db, (tx, outbox) => runMixed(tx, outbox, communityId, category, rest), { answerWhenDurable: false }))];
  } catch {
    return [...done, ...(await giveUp(db, rest, communityId, category))];
  }
}

/**
 * On SQLite, the batch's first placements up to one the in-memory batch cannot make (or a cancellation): placed
 * and written in a transaction outside the ORM, in two messages to SQLite's thread (reads; writes with the
 * COMMIT). The outcomes of the commands it took, in order.
 */
async function placeInMemory(tx: Tx, outbox: Outbox, communityId: string, category: string, commands: BookCommand[]): Promise<Outcome<BookAnswer>[]> {
  const places = placementsUpToCancel(commands);
  const batch = await BookBatch.open(tx, communityId, category, places, places[0]!.now);
  const outcomes: Outcome<BookAnswer>[] = [];
  if (!batch) return outcomes;
  for (const command of places) {
    const step = batch.place(command, outbox);
    if (step.kind === 'slow') break;
    if (step.kind === 'placed') placements.inMemory++;
    outcomes.push(step.kind === 'placed' ? { ok: true, value: step.result } : { ok: false, error: step.error });
  }
  if (outcomes.length > 0) await batch.flush(tx, new Date(), { last: true });
  return outcomes;
}

/**
 * Commands in one ORM transaction: placements in the in-memory batch where it can make them, the rest the
 * long way, each in a savepoint (see the comment at the top).
 */
async function runMixed(tx: Tx, outbox: Outbox, communityId: string, category: string, commands: BookCommand[]): Promise<Outcome<BookAnswer>[]> {
  const { communities, community } = await openMarketBooks(tx, communityId, category);
  const outcomes: Outcome<BookAnswer>[] = [];
  let batch: BookBatch | null = null;
  for (const [i, command] of commands.entries()) {
    if (command.kind === 'place' && communities.length === 1) {
      batch ??= await BookBatch.load(tx, community, category, placementsIn(commands.slice(i)), command.now);
      const step = batch.place(command, outbox);
      if (step.kind === 'placed') {
        placements.inMemory++;
        outcomes.push({ ok: true, value: step.result });
        continue;
      }
      if (step.kind === 'refused') {
        outcomes.push({ ok: false, error: step.error });
        continue;
      }
    }
    if (batch) {
      await batch.flush(tx, new Date());
      batch = null;
    }
    if (command.kind === 'place') placements.longWay++;
    const own = new Outbox();
    const outcome = await outcomeOf(() => inSavepoint(tx, () => runLongWay(tx, own, communities, community, command)));
    // a refusal for the person is this command's answer; anything else gives the batch up
    if (!outcome.ok && !(outcome.error instanceof DomainError)) throw outcome.error;
    if (outcome.ok) outbox.merge(own);
    outcomes.push(outcome);
  }
  await batch?.flush(tx, new Date());
  return outcomes;
}

/** The batch as a whole failed (a balance or an order moved under it, a deadlock): every command runs on its own. */
async function giveUp(db: Db, commands: BookCommand[], communityId: string, category: string): Promise<Outcome<BookAnswer>[]> {
  placements.givenUp++;
  const outcomes: Outcome<BookAnswer>[] = [];
  for (const command of commands) outcomes.push(await outcomeOf(() => runAlone(db, command, communityId, category)));
  return outcomes;
}

/** The placements at the head of `commands`, up to the first cancellation. */
function placementsUpToCancel(commands: BookCommand[]): ({ kind: 'place' } & PlaceCommand)[] {
  const end = commands.findIndex((c) => c.kind !== 'place');
  return placementsIn(end === -1 ? commands : commands.slice(0, end));
}

const placementsIn = (commands: BookCommand[]) => commands.filter((c): c is { kind: 'place' } & PlaceCommand => c.kind === 'place');

const bookKey = (communityId: string, category: string) => `${communityId}\u0000${category}`;
const splitBook = (book: string) => book.split('\u0000') as [string, string];

const writers = new WeakMap<Db, GroupCommit<BookCommand, BookAnswer>>();

function writerFor(db: Db): GroupCommit<BookCommand, BookAnswer> {
  let writer = writers.get(db);
  if (!writer) {
    // callers are answered once their batch is durable, while the next batch already runs
    const created = (writer = new GroupCommit((book, commands) => runBatch(db, book, commands), { durable: () => durable(db) }));
    writers.set(db, created);
    registerQueue('market books', () => ({ pending: created.pending, stats: { ...placements } }));
  }
  return writer;
}

/**
 * Places an order and matches it against its book (DESIGN.md market rules, `engine.ts`): a BUY first
 * moves its maximum cost into escrow, each fill becomes a contract, and a negotiation opens where prices
 * do not meet but both sides allow it. The answer comes once the batch holding this order has committed.
 */
export async function placeOrder(
  db: Db,
  memberId: string,
  community: MarketCommunity,
  input: PlaceOrderInput,
  now = new Date(),
): Promise<PlaceOrderResult> {
  refuseMoney(input.category);
  const resolved = await resolveOrder(db, input, now);
  return (await writerFor(db).submit(bookKey(community.id, input.category), { kind: 'place', memberId, input, resolved, now })) as PlaceOrderResult;
}

/** Cancels one of the member's open orders (its hold released, the book re-matched), through the book's writer. */
export async function cancelOrder(db: Db, memberId: string, order: { id: string; communityId: string; category: string }): Promise<void> {
  await writerFor(db).submit(bookKey(order.communityId, order.category), { kind: 'cancel', memberId, orderId: order.id });
}
