/**
 * A second coordinator process for the live tests on PostgreSQL (run with jiti). Protocol on stdin/stdout,
 * one JSON object per line:
 *   in:  { url, community: { id, commissionBps, creditLimit }, orders: [{ memberId, input }] }
 *   out: { ready: true }                  once its database client is connected
 *   in:  "GO"
 *   out: { done: true, results: [...] }   after placing the orders one after another and sending its NOTIFYs
 * It exits by itself when stdin closes before GO and after a hard deadline.
 */
import { createInterface } from 'node:readline';
import { createDb } from '../../server/db/client';
import { flushRemote } from '../../server/live/remote';
import { placeOrderInput } from '../../server/market/order-input';
import { placeOrder } from '../../server/market/book-writer';

export type LiveWorkerJob = {
  url: string;
  community: { id: string; commissionBps: number; creditLimit: number };
  orders: { memberId: string; input: Record<string, unknown> }[];
};

const send = (value: unknown) =>
  new Promise<void>((resolve, reject) => process.stdout.write(`${JSON.stringify(value)}\n`, (error) => (error ? reject(error) : resolve())));

async function main() {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) process.exit(2);
  const job = JSON.parse(first.value) as LiveWorkerJob;
  setTimeout(() => process.exit(3), 60_000).unref();
  // this process announces its commits to the others through the database it serves
  process.env.DATABASE_URL = job.url;
  const db = createDb(job.url);
  await db.$queryRaw`SELECT 1`;
  await send({ ready: true });
  const go = await lines.next();
  if (go.done || go.value.trim() !== 'GO') process.exit(2);
  const results = [];
  for (const { memberId, input } of job.orders) {
    const placed = await placeOrder(db, memberId, job.community, placeOrderInput.parse(input));
    results.push({ orderId: placed.order.id, fills: placed.fills.length });
  }
  await flushRemote();
  await send({ done: true, results });
  await db.$disconnect();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`live-worker ${process.pid}: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
