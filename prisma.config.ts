import { existsSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'prisma/config';

// Prisma's CLI looks for its native schema engine before every command and tries to download it,
// which cannot work offline. `prisma generate` only needs that check to pass; migrations are applied
// by scripts/migrate.mjs and authored with scripts/db-diff.mjs (WebAssembly schema engine) instead.
if (!process.env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const placeholder = path.resolve('package.json');
  if (existsSync(placeholder)) process.env.PRISMA_SCHEMA_ENGINE_BINARY = placeholder;
}
process.env.CHECKPOINT_DISABLE ??= '1';

export default defineConfig({
  schema: process.env.PRISMA_SCHEMA ?? 'prisma/schema.prisma',
});
