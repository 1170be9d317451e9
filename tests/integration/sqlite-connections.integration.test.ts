import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '@/server/db/transaction';
import { freshDatabase, type TestDatabase } from '../support/database';

// SQLite only: on SQLite every interactive transaction used to open a connection (two descriptors) that
// was never released, so a server with `ulimit -n 1024` failed after a few hundred transactions
// (see server/db/libsql-adapter.ts). PostgreSQL's pool is bounded by `max` and is not concerned.
const procFd = '/proc/self/fd';
const canCount = (() => {
  try {
    readdirSync(procFd);
    return true;
  } catch {
    return false;
  }
})();
const openDescriptors = () => readdirSync(procFd).length;

const rollBack = new Error('roll back on purpose');

describe.skipIf(!canCount)('SQLite connections', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase('sqlite');
    await t.db.member.count(); // the plain connection is open from here on
  });
  afterAll(() => t?.drop());

  /** One transaction that reads, writes, and rolls back when asked. */
  const run = (handle: string, fail: boolean) =>
    transaction(t.db, async (tx) => {
      const taken = await tx.member.findUnique({ where: { handle } });
      await tx.member.create({ data: { handle: taken ? `${handle}-again` : handle, passwordHash: 'x' } });
      if (fail) throw rollBack;
    }).then(
      () => 'committed' as const,
      (error: unknown) => {
        if (error !== rollBack) throw error;
        return 'rolled back' as const;
      },
    );

  it('500 transactions, committed and rolled back, one by one and concurrently, leave the open descriptors where they were', async () => {
    await run('warm-up', false); // opens the transactions' connection
    const before = openDescriptors();

    const outcomes: string[] = [];
    for (let i = 0; i < 300; i++) outcomes.push(await run(`seq-${i}`, i % 4 === 0));
    outcomes.push(...(await Promise.all(Array.from({ length: 200 }, (_, i) => run(`par-${i}`, i % 4 === 0)))));
    // interleaved with plain queries, as a server does
    await Promise.all(Array.from({ length: 50 }, (_, i) => t.db.member.count({ where: { handle: `seq-${i}` } })));

    // the two connections stay; a leak costs two descriptors per transaction (1,000 here)
    expect(openDescriptors() - before).toBeLessThanOrEqual(8);
    expect(outcomes.filter((o) => o === 'committed')).toHaveLength(375);
    expect(outcomes.filter((o) => o === 'rolled back')).toHaveLength(125);
    expect(await t.db.member.count({ where: { handle: { startsWith: 'seq-' } } })).toBe(225);
    expect(await t.db.member.count({ where: { handle: { startsWith: 'par-' } } })).toBe(150);
    expect(await t.db.member.count({ where: { handle: { endsWith: '-again' } } })).toBe(0);
  });

  it('a transaction on the reused connection never sees what a rolled-back one wrote, nor inherits a failed one', async () => {
    await expect(
      transaction(t.db, async (tx) => {
        await tx.member.create({ data: { handle: 'ghost', passwordHash: 'x' } });
        throw rollBack;
      }),
    ).rejects.toBe(rollBack);
    // a statement that fails inside the transaction (unique handle) rolls it back too
    await t.db.member.create({ data: { handle: 'taken', passwordHash: 'x' } });
    await expect(
      transaction(t.db, async (tx) => {
        await tx.member.create({ data: { handle: 'half', passwordHash: 'x' } });
        await tx.member.create({ data: { handle: 'taken', passwordHash: 'x' } });
      }),
    ).rejects.toThrow();

    const seen = await transaction(t.db, async (tx) => {
      await tx.member.create({ data: { handle: 'after', passwordHash: 'x' } });
      return tx.member.findMany({ where: { handle: { in: ['ghost', 'half', 'after'] } }, select: { handle: true } });
    });
    expect(seen).toEqual([{ handle: 'after' }]);
    expect(await t.db.member.count({ where: { handle: { in: ['ghost', 'half'] } } })).toBe(0);
    expect(await t.db.member.count({ where: { handle: 'after' } })).toBe(1);
  });

  it('a plain query issued after a transaction commits sees its writes (the two connections never read a stale snapshot)', async () => {
    for (let i = 0; i < 100; i++) {
      const handle = `fresh-${i}`;
      await transaction(t.db, (tx) => tx.member.create({ data: { handle, passwordHash: 'x' } }));
      expect(await t.db.member.findUnique({ where: { handle }, select: { handle: true } })).toEqual({ handle });
      // and the other way round: a plain write is seen by the next transaction
      await t.db.member.update({ where: { handle }, data: { passwordHash: 'y' } });
      expect(await transaction(t.db, (tx) => tx.member.findUniqueOrThrow({ where: { handle } }))).toMatchObject({ passwordHash: 'y' });
    }
    // concurrently: each caller reads back what its own transaction committed
    const seen = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const { id } = await transaction(t.db, (tx) => tx.member.create({ data: { handle: `fresh-par-${i}`, passwordHash: 'x' } }));
        return t.db.member.count({ where: { id } });
      }),
    );
    expect(seen).toEqual(Array(40).fill(1));
  });

  it('a transaction that outlives its timeout is rolled back and hands the connection on', async () => {
    const slow = t.db.$transaction(
      async (tx) => {
        await tx.member.create({ data: { handle: 'too-slow', passwordHash: 'x' } });
        await new Promise((resolve) => setTimeout(resolve, 400));
        await tx.member.create({ data: { handle: 'too-slow-2', passwordHash: 'x' } });
      },
      { timeout: 100 },
    );
    await expect(slow).rejects.toThrow();
    expect(await run('next-in-line', false)).toBe('committed');
    expect(await t.db.member.count({ where: { handle: { startsWith: 'too-slow' } } })).toBe(0);
  });

  it('transactions stay serialized: concurrent read-then-write increments lose nothing', async () => {
    const community = await t.db.community.create({
      data: { name: 'Counter', slug: 'counter', searchText: 'counter', commissionBps: 0, startingGrant: 0n, inviteCode: 'C' },
    });
    await Promise.all(
      Array.from({ length: 40 }, () =>
        transaction(t.db, async (tx) => {
          const { commissionBps } = await tx.community.findUniqueOrThrow({ where: { id: community.id } });
          await tx.community.update({ where: { id: community.id }, data: { commissionBps: commissionBps + 1 } });
        }),
      ),
    );
    expect((await t.db.community.findUniqueOrThrow({ where: { id: community.id } })).commissionBps).toBe(40);
  });
});
