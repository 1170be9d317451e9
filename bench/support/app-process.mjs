// Starting and stopping the production app for the HTTP benches: `node scripts/start.mjs` in its own
// process group on a free loopback port, healthy once /api/health answers 200, stopped as a group.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux): what a run cost the app,
 * whatever else the machine was doing meanwhile.
 */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

export function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Processes started from `root`, tracked in `started` so that every exit path can stop them. */
export function appLauncher(root, started = new Set()) {
  async function stopApp(app) {
    killGroup(app.child, 'SIGTERM');
    const stopped = await Promise.race([app.exited.then(() => true), sleep(5_000).then(() => false)]);
    // the group may outlive its leader for a moment: make sure nothing of it is left
    killGroup(app.child, 'SIGKILL');
    if (!stopped) await app.exited;
    started.delete(app.child);
  }

  /** `extraEnv`: more environment for the app (e.g. SWAPMESH_TRPC_VIA_NEXT=1, see scripts/start.mjs). */
  async function startApp(databaseUrl, extraEnv = {}) {
    const port = await freePort();
    // BENCH_APP_NODE_ARGS: flags for the app's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it
    const nodeArgs = (process.env.BENCH_APP_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, 'scripts/start.mjs'], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PORT: String(port), HOSTNAME: '127.0.0.1', DATABASE_URL: databaseUrl, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production', ...extraEnv },
    });
    started.add(child);
    let log = '';
    // BENCH_APP_LOG: a file that gets all of the app's output too (e.g. with COMPUTE_TRACE=1)
    const appLog = process.env.BENCH_APP_LOG;
    const keep = (chunk) => {
      log = (log + chunk.toString()).slice(-8_000);
      if (appLog) appendFileSync(appLog, chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 90_000;
    for (;;) {
      const status = await Promise.race([exited.then((how) => ({ exited: how })), fetch(`${base}/api/health`).then((r) => r.status, () => 0)]);
      if (typeof status === 'object') throw new Error(`the app exited (${status.exited}) before it was healthy:\n${log}`);
      if (status === 200) break;
      if (Date.now() > deadline) {
        await stopApp({ child, exited });
        throw new Error(`the app was not healthy after 90 s:\n${log}`);
      }
      await sleep(250);
    }
    return { child, exited, base, log: () => log };
  }

  return { started, startApp, stopApp };
}

/**
 * The production build served as `npm start` serves it, for the browser benches (Lighthouse, long tasks): its
 * URL and how to stop it. DATABASE_URL defaults to file:./data/bench.db.
 */
export async function servedBuild(root) {
  if (!existsSync(path.join(root, '.next', 'BUILD_ID'))) throw new Error('No production build in .next: run `npm run build` first, or pass --url.');
  const { startApp, stopApp } = appLauncher(root);
  const app = await startApp(process.env.DATABASE_URL ?? 'file:./data/bench.db');
  return { url: `${app.base}/`, stop: () => stopApp(app) };
}

/**
 * Stops every child the bench started whatever way it exits; on SIGINT or SIGTERM first runs `onInterrupt`
 * (dropping a throw-away database, say) for at most 5 s, then exits with 130.
 */
export function stopOnExit(started, onInterrupt = async () => {}) {
  process.on('exit', () => {
    for (const child of started) killGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping what the bench started`);
      for (const child of started) killGroup(child, 'SIGKILL');
      Promise.race([onInterrupt().catch(() => {}), sleep(5_000)]).finally(() => process.exit(130));
    });
  }
}
