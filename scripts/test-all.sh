#!/usr/bin/env bash
# The whole test suite, as `npm test` runs it: static checks, unit tests, integration tests on SQLite and
# on a private PostgreSQL cluster, then end-to-end tests in Debian's Chromium against a production build.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 CHECKPOINT_DISABLE=1

bash scripts/ensure-system-deps.sh
mkdir -p .reports

echo "== checks: schema copies, migrations, types"
node scripts/prisma-schemas.mjs --check
node scripts/db-diff.mjs --check
node scripts/build-wasm.mjs --check
npm run --silent db:generate
npx tsc --noEmit -p .

echo "== unit"
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=.reports/unit.json

echo "== integration (SQLite and PostgreSQL)"
TEST_POSTGRES_URL="$(bash scripts/test-postgres.sh start)"
trap 'bash scripts/test-postgres.sh stop' EXIT
TEST_POSTGRES_URL="$TEST_POSTGRES_URL" npx vitest run --project integration \
  --reporter=default --reporter=json --outputFile.json=.reports/integration.json

echo "== end-to-end (Chromium, production build)"
npm run --silent build
# first-load JavaScript of the main routes, read from that build (sizes only, no timing)
node scripts/first-load-js.mjs
rm -f data/e2e.db data/e2e.db-wal data/e2e.db-shm
PLAYWRIGHT_JSON_OUTPUT_NAME=.reports/e2e.json npx playwright test --reporter=list,json

node scripts/test-summary.mjs .reports/unit.json .reports/integration.json .reports/e2e.json
