/**
 * The system administrator's screen (issue 14): the coordinator's health and background work, every
 * community, and the audit trail of coordinators' decisions; closed to everyone else.
 */
import { expect, test } from '@playwright/test';
import { call, PASSWORD, signUpInBrowser, unique } from './support';

const ADMIN = 'e2e-sysadmin'; // named in SWAPMESH_ADMINS by playwright.config.ts

test('the administrator sees health, communities and decisions; a member is told the screen is not theirs', async ({ browser }) => {
  const id = unique();
  const [a, b] = [await browser.newContext(), await browser.newContext()];
  const admin = await a.newPage();
  const member = await b.newPage();
  // the administrator's account may exist from an earlier test run on the same database
  const signedUp = await admin.request.post('/api/trpc/auth.signUp', { data: { handle: ADMIN, password: PASSWORD } });
  if (!signedUp.ok()) await call(admin.request, 'auth.signIn', { handle: ADMIN, password: PASSWORD });
  await signUpInBrowser(member, `audit-m-${id}`);
  const slug = `audit-${id}`;
  const community = await call(member.request, 'community.create', { name: `Audit ${id}`, slug, commissionBps: 100, startingGrant: 10_000_000, inviteOnly: false });
  const me = await call(member.request, 'auth.me', {}, 'GET');
  await call(member.request, 'admin.cashDeposit', { communityId: community.id, memberId: me.id, amount: 4_000_000, externalReference: `slip-${id}` });

  await member.goto('/admin');
  await expect(member.getByTestId('not-admin')).toContainText('Only this coordinator');
  await member.goto('/account');
  await expect(member.getByRole('link', { name: 'Administration' })).toHaveCount(0);

  await admin.goto('/account');
  await admin.getByRole('link', { name: 'Administration' }).click();
  await expect(admin).toHaveURL(/\/admin$/);
  await expect(admin.getByTestId('health')).toContainText('Event loop delay');
  // SQLite: how long commits waited for the disk (the members' sign-ups and the cash deposit committed)
  await expect(admin.getByTestId('log-syncs')).toContainText(/\d+(\.\d)? · \d+(\.\d)? · \d+(\.\d)? ms/);
  await expect(admin.getByTestId('tasks')).toContainText('sweep');
  await expect(admin.getByTestId('all-communities')).toContainText(`Audit ${id}`);
  await expect(admin.getByTestId('audit')).toContainText('Cash deposit');
  await expect(admin.getByTestId('audit')).toContainText(`Cash deposit slip-${id}`);
  await expect(admin.getByTestId('audit')).toContainText('4.00');
  expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(412);
  await admin.screenshot({ path: 'test-results/admin.png', fullPage: true });
  await a.close();
  await b.close();
});
