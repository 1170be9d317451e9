// Writes prisma/postgres/schema.prisma from prisma/schema.prisma (only provider and output differ).
// With --check it fails instead when the checked-in copy is out of date.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';

const source = readFileSync('prisma/schema.prisma', 'utf8');
const postgres = source
  .replace('provider = "sqlite"', 'provider = "postgresql"')
  .replace('output   = "../server/db/generated/sqlite"', 'output   = "../../server/db/generated/postgres"')
  .replace(/^\/\/ Source of truth.*\n\/\/ .*\n/m, '// GENERATED from prisma/schema.prisma by scripts/prisma-schemas.mjs — do not edit.\n');
if (postgres === source || !postgres.includes('provider = "postgresql"') || !postgres.includes('generated/postgres')) {
  console.error('prisma-schemas: could not derive the PostgreSQL schema; check the generator and datasource blocks');
  process.exit(1);
}
const target = 'prisma/postgres/schema.prisma';
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(target, 'utf8'); } catch {}
  if (current !== postgres) {
    console.error(`${target} is out of date: run node scripts/prisma-schemas.mjs`);
    process.exit(1);
  }
} else {
  mkdirSync('prisma/postgres', { recursive: true });
  writeFileSync(target, postgres);
}
