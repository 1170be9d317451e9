import { defineConfig, devices } from '@playwright/test';

const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: 'tests/e2e',
  testMatch: '**/*.e2e.ts',
  workers: 1,
  timeout: 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    ...devices['Pixel 7'],
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
      ],
    },
  },
  webServer: {
    command: 'node scripts/start.mjs',
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    // SIGTERM, so the server closes both its threads and removes its pages socket (scripts/start.mjs)
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
    env: {
      DATABASE_URL: process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db',
      NEXT_TELEMETRY_DISABLED: '1',
      PORT: String(port),
      // short leases, so that a donor closed mid-job gives its units back within the test's time
      COMPUTE_LEASE_TTL_MS: '15000',
      HOSTNAME: '127.0.0.1',
      // the system administrator of tests/e2e/admin.e2e.ts
      SWAPMESH_ADMINS: 'e2e-sysadmin',
      // tests/e2e/job-results.e2e.ts posts results to a receiver on loopback
      SWAPMESH_RESULTS_ALLOW_PRIVATE: '1',
      // the page-view suite's test site listens on loopback
      PAGEVIEWS_ALLOW_PRIVATE: '1',
    },
  },
});
