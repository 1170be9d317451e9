import type { Db, Queryable, Tx } from '../db/client';
import { durable, rawTransaction, transaction } from '../db/transaction';
import { bookKey, notify } from './bus';
import { record, type Delivery, type LiveEvent } from './events';
// installs the LISTEN/NOTIFY link to the other processes (PostgreSQL)
import './remote';

/**
 * Live events and public book changes gathered during one transaction: the events are written with it,
 * and both are announced (to this process's subscribers and, on PostgreSQL, to the other processes)
 * after it commits.
 */
export class Outbox {
  readonly deliveries: Delivery[] = [];
  /** Bus keys of the books whose levels or trades this transaction changed. */
  readonly books = new Set<string>();

  add(memberIds: string[], event: LiveEvent): void {
    for (const memberId of new Set(memberIds)) this.deliveries.push({ memberId, event });
  }

  /** Marks a public book as changed (an order rested, filled, was cancelled or expired, quantity locked or released). */
  book(communityId: string, category: string): void {
    this.books.add(bookKey(communityId, category));
  }

  /** Takes in what another outbox gathered (a step of a batch that ran in its own savepoint and succeeded). */
  merge(other: Outbox): void {
    this.deliveries.push(...other.deliveries);
    for (const book of other.books) this.books.add(book);
  }

  write(tx: Queryable): Promise<void> {
    return record(tx, this.deliveries);
  }

  announce(): void {
    notify([...this.deliveries.map((d) => d.memberId), ...this.books]);
  }
}

/**
 * Runs `fn` in a transaction with a fresh outbox (fresh on every retry), writes the events it gathered
 * in the same transaction, and wakes their subscribers once it has committed and is durable. With `raw`,
 * `fn` runs raw statements only, in a transaction outside the ORM (server/db/transaction.ts `rawTransaction`,
 * which also says what `ormIfNeeded` does).
 */
export async function withOutbox<T>(
  db: Db,
  fn: (tx: Tx, outbox: Outbox) => Promise<T>,
  options: { answerWhenDurable?: boolean; raw?: boolean; ormIfNeeded?: boolean } = {},
): Promise<T> {
  let outbox = new Outbox();
  const result = await (options.raw ? rawTransaction : transaction)(
    db,
    async (tx) => {
      outbox = new Outbox();
      const value = await fn(tx, outbox);
      await outbox.write(tx);
      return value;
    },
    options,
  );
  // nobody hears of a change before it is durable
  if (options.answerWhenDurable === false) void durable(db).then(() => outbox.announce(), () => {});
  else outbox.announce();
  return result;
}
