#!/usr/bin/env node
// Interactive transactions on SQLite through @prisma/adapter-libsql: open file descriptors and
// transactions per second, side by side for
//   - "upstream": `new PrismaLibSql({ url })` as it ships (each transaction takes the client's connection
//     and the client opens a new one that is never closed: descriptors grow with every transaction), and
//   - "createDb": the app's client (server/db/client.ts), whose transactions share one dedicated connection.
// Each run: a fresh migrated database, then N sequential transactions through server/db/transaction.ts
// (a read and a write each; one in five rolls back), then a burst of N/5 concurrent ones.
// Descriptors are counted from /proc/self/fd (Linux only).
//
//   node bench/sqlite-transactions.mjs              # N=500
//   BENCH_N=2000 node bench/sqlite-transactions.mjs
//   BENCH_VARIANTS=createDb node bench/sqlite-transactions.mjs
//   (ulimit -n 1024; BENCH_N=2000 node bench/sqlite-transactions.mjs)   # upstream dies with EMFILE
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createJiti } from 'jiti';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_N ?? 500);
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'upstream,createDb').split(',');

const jiti = createJiti(import.meta.url, { alias: { '@': root }, interopDefault: true });
const { migrate } = await import('../scripts/migrate-lib.mjs');
const { createDb, rememberKind } = await jiti.import(path.join(root, 'server/db/client.ts'));
const { transaction } = await jiti.import(path.join(root, 'server/db/transaction.ts'));
const { PrismaClient: SqliteClient } = await jiti.import(path.join(root, 'server/db/generated/sqlite/client.ts'));
const { PrismaLibSql } = await import('@prisma/adapter-libsql');

const openFds = () => readdirSync('/proc/self/fd').length;

function upstreamDb(url) {
  const db = new SqliteClient({ adapter: new PrismaLibSql({ url, timeout: 10_000 }), transactionOptions: { maxWait: 30_000, timeout: 30_000 } });
  rememberKind(db, 'sqlite');
  return db;
}

async function one(db, i) {
  try {
    await transaction(db, async (tx) => {
      const member = await tx.member.findUnique({ where: { handle: `m${i}` } });
      await tx.member.create({ data: { handle: member ? `m${i}-again` : `m${i}`, passwordHash: 'x' } });
      if (i % 5 === 0) throw new Error('roll back');
    });
  } catch (error) {
    if (error.message !== 'roll back') throw error;
  }
}

async function run(variant) {
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-bench-tx-'));
  const url = `file:${path.join(dir, 'bench.db')}`;
  await migrate(url, { log: () => {} });
  const db = variant === 'upstream' ? upstreamDb(url) : createDb(url);
  try {
    await db.member.count(); // connect
    const before = openFds();
    let started = performance.now();
    for (let i = 0; i < N; i++) await one(db, i);
    const sequentialSeconds = (performance.now() - started) / 1000;
    const afterSequential = openFds();
    started = performance.now();
    await Promise.all(Array.from({ length: Math.ceil(N / 5) }, (_, i) => one(db, N + i)));
    const concurrentSeconds = (performance.now() - started) / 1000;
    const afterConcurrent = openFds();
    global.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const afterGc = openFds();
    await db.$disconnect();
    const afterDisconnect = openFds();
    const members = await (async () => {
      const check = createDb(url);
      try { return await check.member.count(); } finally { await check.$disconnect(); }
    })();
    return {
      variant,
      transactions: N + Math.ceil(N / 5),
      'seq tx/s': Math.round(N / sequentialSeconds),
      'concurrent tx/s': Math.round(Math.ceil(N / 5) / concurrentSeconds),
      'fds before': before,
      'after seq': afterSequential,
      'after concurrent': afterConcurrent,
      'after gc': global.gc ? afterGc : 'n/a',
      'after $disconnect': afterDisconnect,
      'members committed': members,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
for (const variant of VARIANTS) rows.push(await run(variant));
console.table(rows);
