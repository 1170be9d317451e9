import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '@/server/db/generated/sqlite/client';
import { deferWrites, rawExecute, rawQuery } from '@/server/db/direct';
import { rawTransaction, transaction } from '@/server/db/transaction';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

// rawTransaction (server/db/transaction.ts): on SQLite a transaction outside the ORM, whose writes may go
// with its COMMIT under row-count guards; on PostgreSQL the ORM's transaction.
class Moved extends Error {}

describe.each(databaseKinds)('raw transactions on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const community = await t.db.community.create({
      data: { name: 'Counter', slug: 'counter', searchText: 'counter', commissionBps: 0, startingGrant: 0n, inviteCode: 'C' },
    });
    communityId = community.id;
  });
  afterAll(() => t?.drop());

  const bps = async () => (await t.db.community.findUniqueOrThrow({ where: { id: communityId } })).commissionBps;
  const setBps = (tx: Parameters<Parameters<typeof rawTransaction>[1]>[0], from: number, to: number) =>
    deferWrites(tx, [
      {
        query: Prisma.sql`UPDATE "Community" SET "commissionBps" = ${to} WHERE id = ${communityId} AND "commissionBps" = ${from}`,
        guard: { changes: 1, error: () => new Moved(`commissionBps was not ${from}`) },
      },
    ]);

  it('commits its reads and guarded writes; a guard not met rolls everything back with its error, and the next transaction runs', async () => {
    const before = await bps();
    await rawTransaction(t.db, async (tx) => {
      const [row] = await rawQuery<{ commissionBps: unknown }>(tx, Prisma.sql`SELECT "commissionBps" FROM "Community" WHERE id = ${communityId}`);
      await setBps(tx, Number(row!.commissionBps), before + 1);
    });
    expect(await bps()).toBe(before + 1);

    const attempt = rawTransaction(t.db, async (tx) => {
      await rawExecute(tx, Prisma.sql`UPDATE "Community" SET name = 'Renamed' WHERE id = ${communityId}`);
      await setBps(tx, before, before + 2); // it is before + 1 now: the guard fails
    });
    await expect(attempt).rejects.toBeInstanceOf(Moved);
    const after = await t.db.community.findUniqueOrThrow({ where: { id: communityId } });
    expect(after).toMatchObject({ name: 'Counter', commissionBps: before + 1 });

    await rawTransaction(t.db, (tx) => setBps(tx, before + 1, before));
    expect(await bps()).toBe(before);
  });

  it.skipIf(kind !== 'sqlite')('refuses an ORM call inside, naming it, and rolls back', async () => {
    const attempt = rawTransaction(t.db, async (tx) => {
      await rawExecute(tx, Prisma.sql`UPDATE "Community" SET name = 'Half done' WHERE id = ${communityId}`);
      await tx.community.count();
    });
    await expect(attempt).rejects.toThrow(/tx\.community: this transaction runs outside the ORM/);
    expect((await t.db.community.findUniqueOrThrow({ where: { id: communityId } })).name).toBe('Counter');
  });

  it.skipIf(kind !== 'sqlite')('with ormIfNeeded, a callback that reaches for the ORM runs again in its transaction, the raw attempt undone', async () => {
    const before = await bps();
    let attempts = 0;
    await rawTransaction(
      t.db,
      async (tx) => {
        attempts++;
        await rawExecute(tx, Prisma.sql`UPDATE "Community" SET "commissionBps" = "commissionBps" + 1 WHERE id = ${communityId}`);
        await tx.community.update({ where: { id: communityId }, data: { name: `Attempt ${attempts}` } });
      },
      { ormIfNeeded: true },
    );
    expect(attempts).toBe(2);
    expect(await t.db.community.findUniqueOrThrow({ where: { id: communityId } })).toMatchObject({ name: 'Attempt 2', commissionBps: before + 1 });
    await t.db.community.update({ where: { id: communityId }, data: { name: 'Counter' } });
  });

  it('30 concurrent read-then-write increments each through raw transactions, ORM transactions and plain updates lose nothing', async () => {
    const before = await bps();
    // PostgreSQL reads committed rows: the row is locked as it is read (SQLite runs one transaction at a time)
    const read = Prisma.sql`SELECT "commissionBps" FROM "Community" WHERE id = ${communityId} ${kind === 'postgres' ? Prisma.raw('FOR UPDATE') : Prisma.empty}`;
    const raw = () =>
      rawTransaction(t.db, async (tx) => {
        const [row] = await rawQuery<{ commissionBps: unknown }>(tx, read);
        const now = Number(row!.commissionBps);
        await setBps(tx, now, now + 1);
      });
    const orm = () =>
      transaction(t.db, async (tx) => {
        const [row] = await tx.$queryRaw<{ commissionBps: number }[]>(read);
        await tx.community.update({ where: { id: communityId }, data: { commissionBps: Number(row!.commissionBps) + 1 } });
      });
    const plain = () => t.db.community.update({ where: { id: communityId }, data: { commissionBps: { increment: 1 } } });
    const runs = [raw, orm, plain];
    await Promise.all(Array.from({ length: 90 }, (_, i) => runs[i % 3]!()));
    expect(await bps()).toBe(before + 90);
  });

  it.skipIf(kind !== 'sqlite')('a plain statement issued while one is open waits for it, then sees its commit', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inside!: () => void;
    const opened = new Promise<void>((resolve) => (inside = resolve));
    const open = rawTransaction(t.db, async (tx) => {
      await rawExecute(tx, Prisma.sql`UPDATE "Community" SET name = 'Seen after commit' WHERE id = ${communityId}`);
      inside();
      await held;
    });
    await opened;
    let read: string | null = null;
    const plain = t.db.community.findUniqueOrThrow({ where: { id: communityId } }).then((c) => (read = c.name));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(read).toBeNull();
    release();
    await open;
    await plain;
    expect(read).toBe('Seen after commit');
    await t.db.community.update({ where: { id: communityId }, data: { name: 'Counter' } });
  });
});
