// Applies pending database migrations before the app starts (`npm start`, `npm run db:migrate`).
// DATABASE_URL: file:… for SQLite (default file:./data/swapmesh.db) or postgresql://… for PostgreSQL.
import { DEFAULT_DATABASE_URL, migrate } from './migrate-lib.mjs';

try {
  await migrate(process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
} catch (error) {
  console.error(`migrate: ${error.message}`);
  process.exitCode = 1;
}
