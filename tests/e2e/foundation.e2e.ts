import { expect, test, type Page } from '@playwright/test';
import { signUpInBrowser, unique } from './support';


test('sign up, register this device with a real benchmark, create and join a community, see the grant', async ({ browser }) => {
  const id = unique();
  const founder = await browser.newPage();
  await signUpInBrowser(founder, `founder-${id}`);

  // register the device: the benchmark runs in a real Web Worker
  await founder.getByRole('link', { name: 'Device', exact: true }).click();
  await founder.getByRole('button', { name: 'Measure and register' }).click();
  const valuation = founder.getByTestId('valuation');
  await expect(valuation).toBeVisible({ timeout: 45_000 });
  for (const category of ['COMPUTE', 'MEMORY', 'STORAGE', 'PERIPHERAL', 'FILE', 'NETWORK', 'MONEY']) {
    await expect(valuation.locator(`li[data-category="${category}"]`)).toBeVisible();
  }
  await expect(valuation.locator('li[data-category="COMPUTE"]')).toContainText(/[\d,]+ MIPS/);
  await founder.screenshot({ path: 'test-results/device.png', fullPage: true });

  // create a community with a grant of 25 credits
  await founder.getByRole('link', { name: 'Communities', exact: true }).click();
  await founder.getByRole('link', { name: 'New' }).click();
  await founder.getByLabel('Name').fill(`Allotment ${id}`);
  await founder.getByLabel('Starting grant (credits)').fill('25');
  await founder.getByRole('button', { name: 'Create community' }).click();
  await expect(founder.getByRole('heading', { name: `Allotment ${id}` })).toBeVisible();
  await expect(founder.getByTestId('balance-available')).toHaveText(/^25\.00 credits$/);
  await founder.screenshot({ path: 'test-results/community-coordinator.png', fullPage: true });

  // a second person finds it and joins
  const context = await browser.newContext();
  const joiner = await context.newPage();
  await signUpInBrowser(joiner, `joiner-${id}`);
  await joiner.getByRole('link', { name: 'Communities', exact: true }).click();
  await joiner.getByLabel('Search communities').fill(id);
  await joiner.getByRole('link', { name: new RegExp(`Allotment ${id}`) }).click();
  await joiner.getByRole('button', { name: 'Join' }).click();
  await expect(joiner.getByTestId('balance-available')).toHaveText(/^25\.00 credits$/);
  await expect(joiner.getByTestId('history')).toContainText('Welcome grant');
  await joiner.getByRole('link', { name: 'Home', exact: true }).click();
  await expect(joiner.getByTestId('balance-available')).toHaveText(/^25\.00 credits$/);
  await joiner.screenshot({ path: 'test-results/home-balance.png', fullPage: true });
  await context.close();
});

test('a wrong password shows a clear error and keeps the person signed out', async ({ page }) => {
  const handle = `forgetful-${unique()}`;
  await signUpInBrowser(page, handle);
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.goto('/signin');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong handle or password.' })).toBeVisible();
  await page.screenshot({ path: 'test-results/signin-error.png', fullPage: true });
  await page.goto('/account');
  await expect(page.getByRole('heading', { name: 'Sign in to see your account' })).toBeVisible();
});

test('joining an invite-only community without the right code is refused', async ({ browser }) => {
  const id = unique();
  const owner = await browser.newPage();
  await signUpInBrowser(owner, `owner-${id}`);
  await owner.goto('/communities/new');
  await owner.getByLabel('Name').fill(`Secret ${id}`);
  await owner.getByLabel('Invite only').check();
  await owner.getByRole('button', { name: 'Create community' }).click();
  const code = (await owner.getByTestId('invite-code').textContent())!.trim();

  const context = await browser.newContext();
  const guest = await context.newPage();
  await signUpInBrowser(guest, `guest-${id}`);
  await guest.goto(`/communities/${`secret-${id}`.toLowerCase()}`);
  await guest.getByLabel('Invite code').fill('WRONG000');
  await guest.getByRole('button', { name: 'Join' }).click();
  await expect(guest.getByRole('alert').filter({ hasText: 'invite code is not right' })).toBeVisible();
  await guest.getByLabel('Invite code').fill(code.toLowerCase());
  await guest.getByRole('button', { name: 'Join' }).click();
  await expect(guest.getByTestId('balance-available')).toHaveText(/^100\.00 credits$/);
  await context.close();
});
