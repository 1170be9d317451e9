// `npm start`: applies pending migrations, then serves the production build with `next start` on
// PORT (default 3000) and HOSTNAME (default: Next's, all interfaces, reachable as http://localhost:3000).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { DEFAULT_DATABASE_URL, migrate } from './migrate-lib.mjs';

const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
try {
  await migrate(databaseUrl);
} catch (error) {
  console.error(`migrate: ${error.message}`);
  process.exit(1);
}

const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next');
const args = [nextBin, 'start', '-p', process.env.PORT || '3000'];
if (process.env.HOSTNAME) args.push('-H', process.env.HOSTNAME);
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, DATABASE_URL: databaseUrl, NEXT_TELEMETRY_DISABLED: '1' },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
