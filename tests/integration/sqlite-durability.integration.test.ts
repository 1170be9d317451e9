import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteAdapterOf } from '@/server/db/client';
import { transaction } from '@/server/db/transaction';
import { freshDatabase, type TestDatabase } from '../support/database';

// SQLite only: transactions commit to the write-ahead log without an fsync inside COMMIT (which would stop
// the event loop), and their callers are answered once a shared fsync of the log has completed
// (server/db/wal-sync.ts). PostgreSQL makes a commit durable in its own server before it answers.
describe('SQLite: a transaction is answered once its commit is on disk', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase('sqlite');
  });
  afterAll(() => t?.drop());

  const pragma = async (run: (sql: string) => Promise<unknown>) => Number(Object.values(((await run('PRAGMA synchronous')) as Record<string, unknown>[])[0]!)[0]);

  it('commits on the transaction connection skip the fsync; the plain connection keeps syncing in COMMIT', async () => {
    const inside = await transaction(t.db, (tx) => pragma((sql) => tx.$queryRawUnsafe(sql)));
    const outside = await pragma((sql) => t.db.$queryRawUnsafe(sql));
    expect(inside).toBe(1); // NORMAL
    expect(outside).toBe(2); // FULL
  });

  it('each of 40 concurrent transactions resolves only after a sync that started after its commit; syncs are shared', async () => {
    const counts = sqliteAdapterOf(t.db)!.walSyncCounts!;
    expect(counts).not.toBeNull();
    const before = { ...counts };
    // each transaction's own commit comes after its callback ends, so it is at least the next commit
    // counted from there: the answer must find that many commits synced
    const lateness: number[] = [];
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        transaction(t.db, async (tx) => {
          await tx.member.create({ data: { handle: `durable-${i}`, passwordHash: 'x' } });
          return counts.committed + 1;
        }).then((ownCommit) => lateness.push(counts.synced - ownCommit)),
      ),
    );
    expect(lateness).toHaveLength(40);
    expect(Math.min(...lateness)).toBeGreaterThanOrEqual(0);
    expect(counts.committed - before.committed).toBe(40);
    expect(counts.synced).toBe(counts.committed);
    // fewer fsyncs than commits: one sync covers every commit written before it started
    expect(counts.syncs - before.syncs).toBeGreaterThanOrEqual(1);
    expect(counts.syncs - before.syncs).toBeLessThan(40);
    expect(await t.db.member.count({ where: { handle: { startsWith: 'durable-' } } })).toBe(40);
  });

  it('a transaction that rolls back is not counted as a commit and waits for no sync', async () => {
    const counts = sqliteAdapterOf(t.db)!.walSyncCounts!;
    const before = { ...counts };
    await expect(
      transaction(t.db, async (tx) => {
        await tx.member.create({ data: { handle: 'rolled-back', passwordHash: 'x' } });
        throw new Error('roll back on purpose');
      }),
    ).rejects.toThrow('roll back on purpose');
    expect(counts.committed).toBe(before.committed);
    expect(await t.db.member.count({ where: { handle: 'rolled-back' } })).toBe(0);
  });
});
