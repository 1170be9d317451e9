import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '@/server/db/generated/sqlite/client';
import { sqliteAdapterOf } from '@/server/db/client';
import { rawExecute, rawExecuteAll, rawExecuteLater, rawQuery, rawQueryAll } from '@/server/db/direct';
import { AUTOCHECKPOINT_PAGES, WorkerConnection } from '@/server/db/sqlite-worker';
import { statSync } from 'node:fs';
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
    const counts = sqliteAdapterOf(t.db)!.walSync!.counts;
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
    const counts = sqliteAdapterOf(t.db)!.walSync!.counts;
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

  it('the log is copied into the database file by the checkpointer thread; committing connections leave it under 16,384 pages', async () => {
    const file = t.url.replace(/^file:/, '');
    const autocheckpoint = await transaction(t.db, (tx) => pragmaOf(tx, 'wal_autocheckpoint'));
    expect(autocheckpoint).toBe(AUTOCHECKPOINT_PAGES);
    expect(await pragmaOf(t.db, 'wal_autocheckpoint')).toBe(AUTOCHECKPOINT_PAGES);
    const before = statSync(file).size;
    // ~2 MB (over 500 pages) in 16 commits, far under the committers' own threshold
    for (let i = 0; i < 16; i++) {
      await transaction(t.db, async (tx) => {
        await rawExecute(tx, Prisma.sql`CREATE TABLE IF NOT EXISTS "CheckpointProbe" (data BLOB)`);
        await rawExecute(tx, Prisma.sql`INSERT INTO "CheckpointProbe" (data) SELECT randomblob(4000) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) a, (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) b, (SELECT 1 UNION ALL SELECT 2) c`);
      });
    }
    const deadline = Date.now() + 10_000;
    while (statSync(file).size < before + 2_000_000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(statSync(file).size).toBeGreaterThanOrEqual(before + 2_000_000);
    expect(await rawQuery<{ n: number }>(t.db, Prisma.sql`SELECT COUNT(*) AS n FROM "CheckpointProbe"`)).toEqual([{ n: 512 }]);
  });
});

const pragmaOf = async (db: { $queryRawUnsafe: (sql: string) => Promise<unknown> }, name: string) =>
  Number(Object.values(((await db.$queryRawUnsafe(`PRAGMA ${name}`)) as Record<string, unknown>[])[0]!)[0]);

// SQLite only: transactions run on a connection on a thread of its own (server/db/sqlite-worker.ts), so
// their statements do not stop the event loop; the ORM and the direct statements must see no difference.
describe('SQLite: transactions on their own thread', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase('sqlite');
  });
  afterAll(() => t?.drop());

  it('runs a transaction on the worker connection, and values go both ways as the driver gives them', async () => {
    const member = await t.db.member.create({ data: { handle: 'values', passwordHash: 'x' } });
    const seen = await transaction(t.db, async (tx) => {
      const onThread = sqliteAdapterOf(t.db)!.openTransaction instanceof WorkerConnection; // one copy of the class in tests
      const device = await tx.device.create({ data: { memberId: member.id, name: 'phone', profile: { cores: 8, gflops: 12.5 }, valuation: {} } });
      const read = await tx.device.findUniqueOrThrow({ where: { id: device.id } });
      const [row] = await rawQuery<{ big: unknown; flag: unknown; at: unknown; empty: unknown; text: unknown }>(
        tx,
        Prisma.sql`SELECT ${9_007_199_254_740_991n} AS big, ${true} AS flag, ${new Date('2026-12-06T10:00:00Z')} AS at, ${null} AS empty, ${'ü ✓'} AS text`,
      );
      return { onThread, read, device, row };
    });
    expect(seen.onThread).toBe(true);
    expect(seen.read).toEqual(seen.device);
    expect(seen.read.profile).toEqual({ cores: 8, gflops: 12.5 });
    expect(seen.read.createdAt).toBeInstanceOf(Date);
    expect(seen.row).toEqual({ big: 9_007_199_254_740_991, flag: 1, at: '2026-12-06T10:00:00.000+00:00', empty: null, text: 'ü ✓' });
  });

  it('statements sent together run in order on the thread and each answers its own', async () => {
    const answers = await transaction(t.db, async (tx) => {
      await rawExecute(tx, Prisma.sql`CREATE TEMP TABLE together (n INTEGER)`);
      const counts = await rawExecuteAll(tx, [1, 2, 3].map((n) => Prisma.sql`INSERT INTO together (n) VALUES (${n})`).concat(Prisma.sql`UPDATE together SET n = n * 10 WHERE n < 3`));
      const rows = await rawQueryAll<[{ n: unknown }, { total: unknown }, { n: unknown }]>(tx, [
        Prisma.sql`SELECT n FROM together ORDER BY n`,
        Prisma.sql`SELECT SUM(n) AS total FROM together`,
        Prisma.sql`SELECT n FROM together WHERE n > ${100}`,
      ]);
      return { counts, rows };
    });
    expect(answers.counts).toEqual([1, 1, 1, 2]);
    expect(answers.rows).toEqual([[{ n: 3 }, { n: 10 }, { n: 20 }], [{ total: 33 }], []]);
  });

  it('statements written for later go ahead of the next one; when one fails, the commit fails, nothing of the transaction stays, and the connection works on', async () => {
    await t.db.$executeRawUnsafe('CREATE TABLE IF NOT EXISTS later (n INTEGER PRIMARY KEY)');
    const seen = await transaction(t.db, async (tx) => {
      await rawExecuteLater(tx, [1, 2].map((n) => Prisma.sql`INSERT INTO later (n) VALUES (${n})`));
      return rawQuery<{ total: unknown }>(tx, Prisma.sql`SELECT SUM(n) AS total FROM later`);
    });
    expect(seen).toEqual([{ total: 3 }]);

    const failed = await transaction(t.db, async (tx) => {
      await rawExecute(tx, Prisma.sql`INSERT INTO later (n) VALUES (${3})`);
      await rawExecuteLater(tx, [Prisma.sql`INSERT INTO later (n) VALUES (${1})`]); // a duplicate key
    }).catch((error: unknown) => error);
    expect(String(failed)).toMatch(/UNIQUE constraint failed/);
    expect(await t.db.$queryRawUnsafe('SELECT n FROM later ORDER BY n')).toEqual([{ n: 1 }, { n: 2 }]);
    await transaction(t.db, (tx) => rawExecute(tx, Prisma.sql`INSERT INTO later (n) VALUES (${4})`));
    expect(await t.db.$queryRawUnsafe('SELECT COUNT(*) AS c FROM later')).toEqual([{ c: 3 }]);
  });

  it('refuses an integer beyond what a number holds, as the driver does', async () => {
    await expect(transaction(t.db, (tx) => rawQuery(tx, Prisma.sql`SELECT ${9_007_199_254_740_993n} AS big`))).rejects.toThrow(RangeError);
  });

  it('a unique violation reaches the ORM as P2002 and a direct statement as SQLite’s constraint error; the transaction rolls back', async () => {
    await t.db.member.create({ data: { handle: 'taken', passwordHash: 'x' } });
    const viaOrm = await transaction(t.db, async (tx) => {
      await tx.member.create({ data: { handle: 'rolled-back-1', passwordHash: 'x' } });
      await tx.member.create({ data: { handle: 'taken', passwordHash: 'x' } });
    }).catch((error: unknown) => error);
    expect(viaOrm).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect((viaOrm as Prisma.PrismaClientKnownRequestError).code).toBe('P2002');

    const direct = await transaction(t.db, async (tx) => {
      await rawExecute(tx, Prisma.sql`INSERT INTO "Member" (id, handle, "passwordHash", "createdAt") VALUES (${'m-direct'}, ${'rolled-back-2'}, ${'x'}, ${new Date()})`);
      await rawExecute(tx, Prisma.sql`INSERT INTO "Member" (id, handle, "passwordHash", "createdAt") VALUES (${'m-direct-2'}, ${'taken'}, ${'x'}, ${new Date()})`);
    }).catch((error: unknown) => error);
    expect(direct).toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_UNIQUE' });
    // the same, with the statements sent together
    const together = await transaction(t.db, (tx) =>
      rawExecuteAll(tx, [
        Prisma.sql`INSERT INTO "Member" (id, handle, "passwordHash", "createdAt") VALUES (${'m-together'}, ${'rolled-back-3'}, ${'x'}, ${new Date()})`,
        Prisma.sql`INSERT INTO "Member" (id, handle, "passwordHash", "createdAt") VALUES (${'m-together-2'}, ${'taken'}, ${'x'}, ${new Date()})`,
      ]),
    ).catch((error: unknown) => error);
    expect(together).toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(await t.db.member.count({ where: { handle: { startsWith: 'rolled-back-' } } })).toBe(0);

    // the connection is fine afterwards
    await transaction(t.db, (tx) => tx.member.create({ data: { handle: 'after', passwordHash: 'x' } }));
    expect(await t.db.member.count({ where: { handle: 'after' } })).toBe(1);
  });
});
