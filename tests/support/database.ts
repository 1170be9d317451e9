import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../../scripts/migrate-lib.mjs';
import { createDb, type Db, type DbKind } from '@/server/db/client';

export type TestDatabase = { kind: DbKind; url: string; db: Db; drop: () => Promise<void> };

/** The databases every integration suite runs against: SQLite always, PostgreSQL when TEST_POSTGRES_URL is set. */
export const databaseKinds: DbKind[] = process.env.TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

/** A new, empty, migrated database of the given kind; `drop` disconnects and deletes it. */
export async function freshDatabase(kind: DbKind): Promise<TestDatabase> {
  const quiet = { log: () => {} };
  if (kind === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-test-'));
    const url = `file:${path.join(dir, 'test.db')}`;
    await migrate(url, quiet);
    const db = createDb(url);
    return { kind, url, db, drop: async () => { await db.$disconnect(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const admin = process.env.TEST_POSTGRES_URL;
  if (!admin) throw new Error('TEST_POSTGRES_URL is not set');
  const name = `swapmesh_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(admin);
  url.pathname = `/${name}`;
  await migrate(url.toString(), quiet);
  const db = createDb(url.toString());
  return {
    kind,
    url: url.toString(),
    db,
    drop: async () => {
      await db.$disconnect();
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
