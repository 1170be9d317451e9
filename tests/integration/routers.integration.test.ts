import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATEGORIES } from '@/server/valuation/categories';
import { transaction } from '@/server/db/transaction';
import { grant } from '@/server/ledger/postings';
import { ledgerTotals, postEntry } from '@/server/ledger/repository';
import { rejects } from '../support/assertions';
import { callerWith, sessionTokenFrom, signUp } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;


describe.each(databaseKinds)('routers on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  describe('auth', () => {
    it('signs up with an httpOnly SameSite session cookie and never stores the password in clear', async () => {
      const { caller, resHeaders } = await callerWith(t.db);
      const result = await caller.auth.signUp({ handle: 'Ada', password: 'analytical engine' });
      expect(result.member.handle).toBe('ada');
      const cookie = resHeaders.get('set-cookie') ?? '';
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      const stored = await t.db.member.findUniqueOrThrow({ where: { handle: 'ada' } });
      expect(stored.passwordHash).toMatch(/^scrypt\$/);
      expect(stored.passwordHash).not.toContain('analytical engine');
      const token = sessionTokenFrom(resHeaders)!;
      const sessions = await t.db.session.findMany({ where: { memberId: stored.id } });
      expect(sessions.map((s) => s.id)).not.toContain(token);
      await expect((await callerWith(t.db, token)).caller.auth.me()).resolves.toEqual(result.member);
    });

    it('refuses a taken handle and bad input, changing nothing', async () => {
      const before = await t.db.member.count();
      const { caller } = await callerWith(t.db);
      await rejects(caller.auth.signUp({ handle: 'ada', password: 'another password' }), 'CONFLICT');
      await rejects(caller.auth.signUp({ handle: 'x', password: 'long enough' }), 'BAD_REQUEST');
      await rejects(caller.auth.signUp({ handle: 'no spaces please', password: 'long enough' }), 'BAD_REQUEST');
      await rejects(caller.auth.signUp({ handle: 'shorty', password: 'short' }), 'BAD_REQUEST');
      // @ts-expect-error a missing field, as a hand-written client might send
      await rejects(caller.auth.signUp({ handle: 'nopass' }), 'BAD_REQUEST');
      expect(await t.db.member.count()).toBe(before);
    });

    it('signs in with the right password only, and signs out', async () => {
      const { caller, resHeaders } = await callerWith(t.db);
      await rejects(caller.auth.signIn({ handle: 'ada', password: 'wrong password' }), 'UNAUTHORIZED');
      await rejects(caller.auth.signIn({ handle: 'nobody', password: 'whatever you like' }), 'UNAUTHORIZED');
      expect(resHeaders.get('set-cookie')).toBeNull();

      const { member } = await caller.auth.signIn({ handle: 'ADA', password: 'analytical engine' });
      const token = sessionTokenFrom(resHeaders)!;
      const signedIn = await callerWith(t.db, token);
      expect(await signedIn.caller.auth.me()).toEqual(member);
      expect(await signedIn.caller.auth.signOut()).toEqual({ ok: true });
      expect(signedIn.resHeaders.get('set-cookie')).toMatch(/Max-Age=0/);
      expect(await (await callerWith(t.db, token)).caller.auth.me()).toBeNull();
      expect(await (await callerWith(t.db)).caller.auth.me()).toBeNull();
    });
  });

  describe('communities and the ledger', () => {
    let coordinator: Awaited<ReturnType<typeof signUp>>;
    let member: Awaited<ReturnType<typeof signUp>>;
    let community: { id: string; slug: string; inviteCode: string };

    beforeAll(async () => {
      coordinator = await signUp(t.db, 'grace');
      member = await signUp(t.db, 'linus');
      community = await coordinator.caller.community.create({
        name: 'River Street',
        slug: 'river-street',
        commissionBps: 250,
        startingGrant: 100 * CREDIT,
        inviteOnly: false,
      });
    });

    it('makes the creator coordinator and credits their grant from the community issuer', async () => {
      const got = await coordinator.caller.community.get({ slug: 'river-street' });
      expect(got).toMatchObject({ role: 'COORDINATOR', memberCount: 1, commissionBps: 250, inviteCode: community.inviteCode });
      expect(await coordinator.caller.ledger.balance({ communityId: community.id })).toEqual({ available: 100 * CREDIT, escrow: 0 });
      const issuer = await t.db.account.findFirstOrThrow({ where: { communityId: community.id, kind: 'ISSUER' } });
      expect(issuer.balance).toBe(BigInt(-100 * CREDIT));
    });

    it('refuses a taken slug, a bad slug and signed-out creation', async () => {
      await rejects(
        member.caller.community.create({ name: 'Other', slug: 'river-street', commissionBps: 0, startingGrant: 0, inviteOnly: false }),
        'CONFLICT',
      );
      await rejects(
        member.caller.community.create({ name: 'Other', slug: 'Bad Slug!', commissionBps: 0, startingGrant: 0, inviteOnly: false }),
        'BAD_REQUEST',
      );
      await rejects(
        member.caller.community.create({ name: 'Other', slug: 'fine-slug', commissionBps: 9_000, startingGrant: 0, inviteOnly: false }),
        'BAD_REQUEST',
      );
      const anonymous = (await callerWith(t.db)).caller;
      await rejects(
        anonymous.community.create({ name: 'Other', slug: 'anon-slug', commissionBps: 0, startingGrant: 0, inviteOnly: false }),
        'UNAUTHORIZED',
      );
      expect(await t.db.community.count()).toBe(1);
    });

    it('joining credits the grant once; members see balance and history; outsiders do not', async () => {
      await rejects(member.caller.ledger.balance({ communityId: community.id }), 'FORBIDDEN');
      await rejects(member.caller.ledger.balance({ communityId: 'no-such-community' }), 'NOT_FOUND');
      expect(await member.caller.community.join({ slug: 'river-street' })).toEqual({ id: community.id, slug: 'river-street' });
      await rejects(member.caller.community.join({ slug: 'river-street' }), 'CONFLICT');
      expect(await member.caller.ledger.balance({ communityId: community.id })).toEqual({ available: 100 * CREDIT, escrow: 0 });
      const history = await member.caller.ledger.history({ communityId: community.id });
      expect(history.items).toHaveLength(1);
      expect(history.items[0]).toMatchObject({ kind: 'GRANT', amount: 100 * CREDIT, account: 'available' });

      // leaving and coming back keeps the balance and does not grant again
      await member.caller.community.leave({ communityId: community.id });
      await rejects(member.caller.ledger.balance({ communityId: community.id }), 'FORBIDDEN');
      await member.caller.community.join({ slug: 'river-street' });
      expect(await member.caller.ledger.balance({ communityId: community.id })).toEqual({ available: 100 * CREDIT, escrow: 0 });
      expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
    });

    it('lists and searches communities with member counts, hiding the invite code from members', async () => {
      const list = await member.caller.community.list({ search: 'RIVER' });
      expect(list.items).toHaveLength(1);
      expect(list.items[0]).toMatchObject({ slug: 'river-street', memberCount: 2, role: 'MEMBER' });
      expect((await member.caller.community.list({ search: 'nothing like it' })).items).toHaveLength(0);
      expect((await member.caller.community.get({ slug: 'river-street' })).inviteCode).toBeNull();
      expect((await (await callerWith(t.db)).caller.community.list()).items[0]).toMatchObject({ role: null });
      await rejects(member.caller.community.get({ slug: 'no-such-place' }), 'NOT_FOUND');
    });

    it('lets only the coordinator change settings', async () => {
      await rejects(member.caller.community.update({ communityId: community.id, commissionBps: 0 }), 'FORBIDDEN');
      await rejects(coordinator.caller.community.update({ communityId: community.id, commissionBps: -1 }), 'BAD_REQUEST');
      expect((await coordinator.caller.community.get({ slug: 'river-street' })).commissionBps).toBe(250);
      const updated = await coordinator.caller.community.update({
        communityId: community.id,
        commissionBps: 300,
        inviteOnly: true,
        rotateInviteCode: true,
      });
      expect(updated).toMatchObject({ commissionBps: 300, inviteOnly: true });
      expect(updated.inviteCode).not.toBe(community.inviteCode);
      community.inviteCode = updated.inviteCode;
    });

    it('an invite-only community needs the right code', async () => {
      const newcomer = await signUp(t.db, 'margaret');
      await rejects(newcomer.caller.community.join({ slug: 'river-street' }), 'FORBIDDEN');
      await rejects(newcomer.caller.community.join({ slug: 'river-street', inviteCode: 'WRONG123' }), 'FORBIDDEN');
      expect(await t.db.membership.count({ where: { communityId: community.id } })).toBe(2);
      const spaced = `${community.inviteCode.slice(0, 4).toLowerCase()} ${community.inviteCode.slice(4)}`;
      await newcomer.caller.community.join({ slug: 'river-street', inviteCode: spaced });
      expect((await newcomer.caller.ledger.balance({ communityId: community.id })).available).toBe(100 * CREDIT);
    });

    it('the only coordinator cannot leave until another member holds the role', async () => {
      await rejects(coordinator.caller.community.leave({ communityId: community.id }), 'PRECONDITION_FAILED');
      await rejects(member.caller.community.setRole({ communityId: community.id, memberId: member.member.id, role: 'COORDINATOR' }), 'FORBIDDEN');
      await coordinator.caller.community.setRole({ communityId: community.id, memberId: member.member.id, role: 'COORDINATOR' });
      expect(await coordinator.caller.community.leave({ communityId: community.id })).toEqual({ ok: true });
      expect((await member.caller.community.members({ communityId: community.id })).map((m) => m.handle)).toEqual(['linus', 'margaret']);
    });

    it('pages through history newest first without gaps or repeats', async () => {
      const c = await member.caller.community.create({ name: 'Pager', slug: 'pager', commissionBps: 0, startingGrant: 1, inviteOnly: false });
      await transaction(t.db, async (tx) => {
        for (let i = 2; i <= 7; i++) await postEntry(tx, c.id, grant(member.member.id, i, `bonus ${i}`), { creditLimit: 0 });
      });
      const seen: { memo: string; createdAt: string }[] = [];
      let cursor: { createdAt: string; id: string } | null = null;
      do {
        const page: Awaited<ReturnType<typeof member.caller.ledger.history>> = await member.caller.ledger.history({ communityId: c.id, limit: 2, cursor });
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(7);
      expect(new Set(seen.map((item) => item.memo)).size).toBe(7);
      const times = seen.map((item) => item.createdAt);
      expect([...times].sort().reverse()).toEqual(times);
      expect((await member.caller.ledger.balance({ communityId: c.id })).available).toBe(1 + 2 + 3 + 4 + 5 + 6 + 7);
      expect(await ledgerTotals(t.db, c.id)).toEqual({ balances: 0, postings: 0 });
    });
  });

  describe('devices', () => {
    it('registers a measured device and values all seven categories per hour', async () => {
      const owner = await signUp(t.db, 'hedy');
      const result = await owner.caller.device.register({ name: 'Pixel', profile: phoneProfile });
      expect(Object.keys(result.valuation).sort()).toEqual([...CATEGORIES].sort());
      for (const category of CATEGORIES) {
        expect(Number.isSafeInteger(result.valuation[category].creditsPerHour)).toBe(true);
        expect(result.valuation[category].creditsPerHour).toBeGreaterThanOrEqual(0);
      }
      expect(result.valuation.COMPUTE.creditsPerHour).toBeGreaterThan(0);
      expect(result.totalPerHour).toBe(CATEGORIES.reduce((sum, c) => sum + result.valuation[c].creditsPerHour, 0));

      // re-measuring a faster device updates the same record and its value
      const faster = { ...phoneProfile, compute: { ...phoneProfile.compute, mips: 3_000, mflops: 1_600 } };
      const again = await owner.caller.device.register({ deviceId: result.device.id, name: 'Pixel 2', profile: faster });
      expect(again.device.id).toBe(result.device.id);
      expect(again.valuation.COMPUTE.creditsPerHour).toBeGreaterThan(result.valuation.COMPUTE.creditsPerHour);
      expect(await owner.caller.device.list()).toHaveLength(1);

      const stranger = await signUp(t.db, 'alan');
      await rejects(stranger.caller.device.register({ deviceId: result.device.id, name: 'mine now', profile: phoneProfile }), 'NOT_FOUND');
      await rejects(stranger.caller.device.get({ deviceId: result.device.id }), 'NOT_FOUND');
      expect((await owner.caller.device.get({ deviceId: result.device.id })).device.name).toBe('Pixel 2');
    });

    it("values with a community's tuned rates", async () => {
      const owner = await signUp(t.db, 'barbara');
      const c = await owner.caller.community.create({ name: 'Compute Co', slug: 'compute-co', commissionBps: 0, startingGrant: 0, inviteOnly: false });
      const { device, valuation } = await owner.caller.device.register({ name: 'Tab', profile: phoneProfile });
      await owner.caller.community.update({ communityId: c.id, valuationRates: { compute: { perMipsHour: 1_000, perMflopsHour: 1_000 } } });
      const tuned = await owner.caller.device.get({ deviceId: device.id, communityId: c.id });
      expect(tuned.valuation.COMPUTE.creditsPerHour).toBeGreaterThan(valuation.COMPUTE.creditsPerHour);
      expect(tuned.valuation.MEMORY.creditsPerHour).toBe(valuation.MEMORY.creditsPerHour);
      await rejects(owner.caller.community.update({ communityId: c.id, valuationRates: { compute: { perMipsHour: -5 } } }), 'BAD_REQUEST');
      // @ts-expect-error a misspelt rate is refused, not ignored
      await rejects(owner.caller.community.update({ communityId: c.id, valuationRates: { compute: { perMipHour: 5 } } }), 'BAD_REQUEST');
    });

    it('refuses malformed profiles and signed-out registration', async () => {
      const owner = await signUp(t.db, 'katherine');
      const absurd = { ...phoneProfile, compute: { ...phoneProfile.compute, cores: -3 } };
      await rejects(owner.caller.device.register({ name: 'Bad', profile: absurd }), 'BAD_REQUEST');
      await rejects(owner.caller.device.register({ name: '', profile: phoneProfile }), 'BAD_REQUEST');
      await rejects((await callerWith(t.db)).caller.device.register({ name: 'X', profile: phoneProfile }), 'UNAUTHORIZED');
      expect(await owner.caller.device.list()).toHaveLength(0);
    });
  });
});
