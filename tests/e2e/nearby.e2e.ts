/**
 * Nearby swapping without a community (issue 11): two devices whose members share no community pair by code,
 * see each other on both sides, send files both ways, and are still paired after both reload; a private gift
 * sent to one member of a community is never seen by a third member, on screen or through the API.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { phoneProfile } from '../support/fixtures';
import { receivedSha256, signUpInBrowser, unique, webrtcContext } from './support';

async function post(page: Page, procedure: string, input: unknown) {
  const response = await page.request.post(`/api/trpc/${procedure}`, { data: input });
  return { status: response.status(), body: await response.json() };
}

async function get(page: Page, procedure: string, input: unknown) {
  const response = await page.request.get(`/api/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`);
  return { status: response.status(), body: await response.json() };
}

async function ok(result: Promise<{ status: number; body: { result?: { data: unknown } } }>) {
  const { status, body } = await result;
  expect(status, JSON.stringify(body)).toBe(200);
  return body.result!.data as never;
}

async function registerDevice(page: Page, name: string): Promise<string> {
  const { device: registered } = await ok(post(page, 'device.register', { name, profile: phoneProfile })) as { device: { id: string } };
  await page.evaluate((id) => window.localStorage.setItem('swapmesh.deviceId', id), registered.id);
  return registered.id;
}

function fileOf(name: string, size: number, seed: number) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 10)) & 0xff;
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-nearby-'));
  const filePath = path.join(dir, name);
  writeFileSync(filePath, bytes);
  return { filePath, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Sends a file from `from` to the paired row named `toHandle`, accepts it on `to`, and checks the bytes. */
async function sendAndReceive(from: Page, to: Page, toHandle: string, fromHandle: string, file: { filePath: string; sha256: string }, title: string) {
  await from.goto('/content/nearby');
  const row = from.getByTestId('paired-device').filter({ hasText: `@${toHandle}` });
  await row.getByRole('button', { name: 'Send a file' }).click();
  await from.getByLabel('Choose a file to send').setInputFiles(file.filePath);
  await from.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(from.getByTestId('send-panel')).toContainText(`is offered to @${toHandle}`, { timeout: 60_000 });

  await to.goto('/content/nearby');
  const gift = to.getByTestId('gifts').getByRole('listitem').filter({ hasText: title });
  await expect(gift).toContainText(`from @${fromHandle}`, { timeout: 30_000 });
  await gift.getByRole('button', { name: 'Accept' }).click();
  await expect(to).toHaveURL(/\/content\/transfers$/);
  const card = to.locator('[data-role="receive"]').filter({ hasText: title });
  await expect(card).toHaveAttribute('data-phase', 'completed', { timeout: 90_000 });
  const transferId = (await card.getAttribute('data-testid'))!.replace('transfer-', '');
  expect(await receivedSha256(to, transferId)).toBe(file.sha256);
}

test('two devices with no shared community pair by code, swap files both ways, and stay paired after both reload', async ({ browser, baseURL }) => {
  test.setTimeout(240_000);
  const id = unique();
  const [ca, cb] = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [ann, ben] = [await ca.newPage(), await cb.newPage()];
  const [annHandle, benHandle] = [`ann-${id}`, `ben-${id}`];
  await signUpInBrowser(ann, annHandle);
  await signUpInBrowser(ben, benHandle);
  await registerDevice(ann, 'Ann phone');
  await registerDevice(ben, 'Ben tablet');
  expect((await ok(get(ann, 'community.list', { mine: true, limit: 10 })) as { items: unknown[] }).items).toEqual([]);
  expect((await ok(get(ben, 'community.list', { mine: true, limit: 10 })) as { items: unknown[] }).items).toEqual([]);

  // Ann shows a code; Ben enters it
  await ann.goto('/content/nearby');
  await ben.goto('/content/nearby');
  await ann.getByRole('button', { name: 'Show a pairing code' }).click();
  const code = (await ann.getByLabel('Your pairing code').textContent())!.trim();
  await ben.getByLabel('Code from the other device').fill(code);
  await ben.getByRole('button', { name: 'Pair', exact: true }).click();
  await expect(ben.getByTestId('pairing')).toContainText(`Paired with Ann phone (@${annHandle})`);
  // both sides see each other, the side that showed the code included, without a reload
  await expect(ben.getByTestId('paired-device').filter({ hasText: `@${annHandle}` })).toBeVisible();
  const benOnAnn = ann.getByTestId('paired-device').filter({ hasText: `@${benHandle}` });
  await expect(benOnAnn).toBeVisible({ timeout: 15_000 });
  await expect(benOnAnn.getByTestId('reach')).toHaveText(/same Wi-Fi|same public address/, { timeout: 15_000 });
  await expect(ann.getByTestId('pairing')).toContainText(`Ben tablet (@${benHandle}) entered your code`);
  await ann.screenshot({ path: 'test-results/nearby-paired.png', fullPage: true });

  // files both ways, no community anywhere
  await sendAndReceive(ann, ben, benHandle, annHandle, fileOf(`ann-to-ben-${id}.bin`, 3 * 1024 * 1024 + 17, 1), `ann-to-ben-${id}`);
  await sendAndReceive(ben, ann, annHandle, benHandle, fileOf(`ben-to-ann-${id}.bin`, 2 * 1024 * 1024 + 5, 2), `ben-to-ann-${id}`);
  await ann.goto('/content/nearby');
  await ann.screenshot({ path: 'test-results/nearby-after-swap.png', fullPage: true });

  // both reload: still paired, each sees the other online
  await ann.reload();
  await ben.reload();
  const annOnBen = ben.getByTestId('paired-device').filter({ hasText: `@${annHandle}` });
  await expect(annOnBen).toBeVisible({ timeout: 15_000 });
  await expect(ann.getByTestId('paired-device').filter({ hasText: `@${benHandle}` })).toBeVisible();
  await expect(annOnBen.getByTestId('reach')).not.toHaveText('offline', { timeout: 15_000 });

  // removed from one side: gone on both
  await annOnBen.getByRole('button', { name: 'Remove' }).click();
  await expect(ben.getByTestId('paired-device')).toHaveCount(0);
  await expect(ann.getByTestId('paired-device')).toHaveCount(0, { timeout: 20_000 });
  await ben.screenshot({ path: 'test-results/nearby-removed.png', fullPage: true });
  await Promise.all([ca.close(), cb.close()]);
});

test('a private gift to one member is never seen by a third member, on screen or through the API', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const id = unique();
  const contexts = [await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!), await webrtcContext(browser, baseURL!)];
  const [giver, taker, third] = await Promise.all(contexts.map((c) => c.newPage()));
  const handles = { giver: `giver-${id}`, taker: `taker-${id}`, third: `third-${id}` };
  await signUpInBrowser(giver!, handles.giver);
  await signUpInBrowser(taker!, handles.taker);
  await signUpInBrowser(third!, handles.third);
  const slug = `priv-${id}`;
  const community = await ok(post(giver!, 'community.create', { name: `Private ${id}`, slug, commissionBps: 0, startingGrant: 0, inviteOnly: false })) as { id: string };
  await ok(post(taker!, 'community.join', { slug }));
  await ok(post(third!, 'community.join', { slug }));
  await registerDevice(giver!, 'Giver phone');
  await registerDevice(taker!, 'Taker phone');
  const thirdDevice = await registerDevice(third!, 'Third phone');

  // the giver sends a file to the taker's device from the Nearby screen (shared community, no pairing)
  await taker!.goto('/content/nearby');
  await third!.goto('/content/nearby');
  await giver!.goto('/content/nearby');
  const takerRow = giver!.getByTestId('nearby-devices').getByRole('listitem').filter({ hasText: `@${handles.taker}` });
  await expect(takerRow).toBeVisible({ timeout: 30_000 });
  await takerRow.getByRole('button', { name: 'Send a file' }).click();
  const file = fileOf(`secret-plans-${id}.pdf`, 1024 * 1024 + 3, 3);
  await giver!.getByLabel('Choose a file to send').setInputFiles(file.filePath);
  await giver!.getByRole('button', { name: 'Send', exact: true }).click();
  await expect(giver!.getByTestId('send-panel')).toContainText(`is offered to @${handles.taker}`, { timeout: 60_000 });
  await expect(taker!.getByTestId('gifts')).toContainText(`secret-plans-${id}`, { timeout: 30_000 });
  const [gift] = (await ok(get(taker!, 'content.gifts', { deviceId: await taker!.evaluate(() => localStorage.getItem('swapmesh.deviceId')) }))) as { id: string; title: string }[];
  expect(gift!.title).toBe(`secret-plans-${id}`);

  // the third member: not on the Nearby screen, not in the catalog, NOT_FOUND by id on every path
  await expect(third!.getByTestId('gifts')).toHaveCount(0);
  await third!.goto('/content');
  await expect(third!.getByText('Nobody offers a file here yet')).toBeVisible({ timeout: 15_000 });
  await expect(third!.getByText(`secret-plans-${id}`)).toHaveCount(0);
  await third!.goto(`/content/items/${gift!.id}`);
  await expect(third!.getByText('No such item.')).toBeVisible();
  await third!.screenshot({ path: 'test-results/nearby-private-third.png', fullPage: true });
  for (const procedure of ['content.search', 'content.searchPage']) {
    const { body } = await get(third!, procedure, { communityId: community.id, ...(procedure === 'content.searchPage' ? { limit: 100 } : {}) });
    expect(JSON.stringify(body)).not.toContain(gift!.id);
  }
  const lookups = [
    await get(third!, 'content.get', { itemId: gift!.id }),
    await post(third!, 'content.request', { itemId: gift!.id, deviceId: thirdDevice }),
    await post(third!, 'content.declineGift', { itemId: gift!.id }),
  ];
  for (const { status, body } of lookups) {
    expect(status).toBe(404);
    expect(body.error.data.code).toBe('NOT_FOUND');
  }
  // the taker can take it
  await taker!.getByTestId('gifts').getByRole('button', { name: 'Accept' }).click();
  const card = taker!.locator('[data-role="receive"]').filter({ hasText: `secret-plans-${id}` });
  await expect(card).toHaveAttribute('data-phase', 'completed', { timeout: 90_000 });
  const transferId = (await card.getAttribute('data-testid'))!.replace('transfer-', '');
  expect(await receivedSha256(taker!, transferId)).toBe(file.sha256);
  await Promise.all(contexts.map((c) => c.close()));
});
