import type { Db, Queryable, Tx } from '../db/client';
import { transaction } from '../db/transaction';
import { notify } from './bus';
import { record, type Delivery, type LiveEvent } from './events';

/** Live events gathered during one transaction: written with it, announced after it commits. */
export class Outbox {
  readonly deliveries: Delivery[] = [];

  add(memberIds: string[], event: LiveEvent): void {
    for (const memberId of new Set(memberIds)) this.deliveries.push({ memberId, event });
  }

  write(tx: Queryable): Promise<void> {
    return record(tx, this.deliveries);
  }

  announce(): void {
    notify(this.deliveries.map((d) => d.memberId));
  }
}

/**
 * Runs `fn` in a transaction with a fresh outbox (fresh on every retry), writes the events it gathered
 * in the same transaction, and wakes their subscribers once it has committed.
 */
export async function withOutbox<T>(db: Db, fn: (tx: Tx, outbox: Outbox) => Promise<T>): Promise<T> {
  let outbox = new Outbox();
  const result = await transaction(db, async (tx) => {
    outbox = new Outbox();
    const value = await fn(tx, outbox);
    await outbox.write(tx);
    return value;
  });
  outbox.announce();
  return result;
}
