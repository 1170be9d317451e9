/**
 * A stand-in coordinator process for the multi-process market test (run with jiti). Protocol on
 * stdin/stdout, one JSON object per line:
 *   in:  { url, community: { id, commissionBps, creditLimit }, orders: [{ memberId, input }] }
 *   out: { ready: true }                       once its database client is connected
 *   in:  "GO"                                  (sent to every worker at once by the parent)
 *   out: { acked: orderId }                    as each order is acknowledged (its batch committed)
 *   out: { done: true, pid, results: [...] }   after placing every order at once, then it exits
 * It exits by itself when stdin closes before GO (the parent died) and after a hard deadline.
 */
import { createInterface } from 'node:readline';
import { createDb } from '../../server/db/client';
import { placeOrderInput } from '../../server/market/order-input';
import { placeOrder } from '../../server/market/book-writer';

export type WorkerJob = {
  url: string;
  community: { id: string; commissionBps: number; creditLimit: number };
  orders: { memberId: string; input: Record<string, unknown> }[];
  /** Hard deadline for the whole process, ms (default 90 s). */
  deadlineMs?: number;
  /** Places the orders in this many waves, each all at once, one after another (default 1). */
  waves?: number;
};

export type WorkerResult =
  | { ok: true; orderId: string; startedAt: number; endedAt: number; fills: number }
  | { ok: false; error: string; startedAt: number; endedAt: number };

const send = (value: unknown) =>
  new Promise<void>((resolve, reject) => process.stdout.write(`${JSON.stringify(value)}\n`, (error) => (error ? reject(error) : resolve())));

async function main() {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) process.exit(2);
  const job = JSON.parse(first.value) as WorkerJob;
  setTimeout(() => {
    process.stderr.write(`market-worker ${process.pid}: deadline reached, exiting\n`);
    process.exit(3);
  }, job.deadlineMs ?? 90_000).unref();

  const db = createDb(job.url);
  await db.$queryRaw`SELECT 1`;
  const inputs = job.orders.map((o) => ({ memberId: o.memberId, input: placeOrderInput.parse(o.input) }));
  await send({ ready: true });

  const go = await lines.next();
  if (go.done || go.value.trim() !== 'GO') process.exit(2);

  const place = (batch: typeof inputs) => Promise.all(
    batch.map(async ({ memberId, input }): Promise<WorkerResult> => {
      const startedAt = Date.now();
      try {
        const placed = await placeOrder(db, memberId, job.community, input);
        await send({ acked: placed.order.id });
        return { ok: true as const, orderId: placed.order.id, startedAt, endedAt: Date.now(), fills: placed.fills.length };
      } catch (error) {
        return { ok: false as const, error: error instanceof Error ? error.message : String(error), startedAt, endedAt: Date.now() };
      }
    }),
  );
  const waves = Math.max(1, job.waves ?? 1);
  const size = Math.ceil(inputs.length / waves);
  const results: WorkerResult[] = [];
  for (let at = 0; at < inputs.length; at += size) results.push(...(await place(inputs.slice(at, at + size))));
  await db.$disconnect();
  await send({ done: true, pid: process.pid, results });
  process.stdin.destroy();
  process.exit(0);
}

main().catch((error) => {
  process.stderr.write(`market-worker ${process.pid}: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
