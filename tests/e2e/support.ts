import { spawn } from 'node:child_process';
import { createClient } from '@libsql/client';
import { expect, test, type APIRequestContext, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';

export const unique = () => Date.now().toString(36) + Math.floor(Math.random() * 1e4).toString(36);
export const PASSWORD = 'a long enough password';

/** A browser context for a device that makes WebRTC connections: with this permission Chromium offers a loopback host candidate (RECIPES.md). */
export async function webrtcContext(browser: Browser, baseURL: string): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.grantPermissions(['microphone', 'camera'], { origin: baseURL });
  return context;
}

/** Signs a member up, registers a phone over the API and makes this browser that device (with the debug log on); returns its id. */
export async function memberWithDevice(page: Page, handle: string, deviceName: string): Promise<string> {
  await call(page.request, 'auth.signUp', { handle, password: PASSWORD });
  const { device: registered } = await call(page.request, 'device.register', { name: deviceName, profile: phoneProfile });
  await page.goto('/offline');
  await page.evaluate((id) => {
    window.localStorage.setItem('swapmesh.deviceId', id);
    window.localStorage.setItem('swapmesh.debug', '1');
  }, registered.id);
  return registered.id as string;
}

/**
 * Chromium with fake capture devices (camera, microphone and a monitor for getDisplayMedia) and no picker or
 * permission prompt (RECIPES.md): `test.use({ launchOptions: fakeMediaLaunch })` in the media suites.
 */
export const fakeMediaLaunch = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  ],
};

/** Calls a tRPC procedure over plain JSON with the context's session cookie; returns `result.data`. */
export async function call(api: APIRequestContext, path: string, input: unknown, method: 'POST' | 'GET' = 'POST') {
  const response =
    method === 'POST'
      ? await api.post(`/api/trpc/${path}`, { data: input })
      : await api.get(`/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
  expect(response.ok(), await response.text()).toBe(true);
  return (await response.json()).result.data;
}

/** Runs the headless donor (`npm run agent`) until it exits, for at most 90 s. */
export function runAgent(baseURL: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/agent.mjs', '--url', baseURL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGINT'), 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Signs a new member up through the sign-up screen and waits for the home screen. */
export async function signUpInBrowser(page: Page, handle: string) {
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create your account' }).click();
  await expect(page.getByRole('heading', { name: 'Your communities' })).toBeVisible();
}

/** SHA-256 of a received file, read straight from the receiving device's OPFS. */
export async function receivedSha256(page: Page, transferId: string): Promise<string> {
  return page.evaluate(async (id) => {
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle('swapmesh')).getDirectoryHandle('incoming');
    const file = await (await dir.getFileHandle(`${id}.part`)).getFile();
    const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  }, transferId);
}

/** The community's accounts and postings summed straight from the e2e database (SQLite; skipped on another). */
export async function ledgerSums(communityId: string) {
  const url = process.env.E2E_DATABASE_URL ?? 'file:./data/e2e.db';
  test.skip(!url.startsWith('file:'), 'the ledger is summed from the SQLite file');
  const db = createClient({ url });
  try {
    const balances = await db.execute({ sql: 'SELECT COALESCE(SUM(balance), 0) AS s FROM Account WHERE communityId = ?', args: [communityId] });
    const postings = await db.execute({ sql: 'SELECT COALESCE(SUM(p.amount), 0) AS s FROM Posting p JOIN Account a ON a.id = p.accountId WHERE a.communityId = ?', args: [communityId] });
    return { balances: Number(balances.rows[0]!.s), postings: Number(postings.rows[0]!.s) };
  } finally {
    db.close();
  }
}
