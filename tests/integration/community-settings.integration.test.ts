import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultValuationRates } from '@/server/valuation';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

describe.each(databaseKinds)('community settings on %s', (kind) => {
  let t: TestDatabase;
  let owner: Caller;
  let communityId: string;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    owner = (await signUp(t.db, 'settings-owner')).caller;
    ({ id: communityId } = await owner.community.create({ name: 'Settings', slug: 'settings', commissionBps: 100, startingGrant: 0, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('the review period defaults to 72 hours, is set between 1 and 720 hours, and is what community.get returns', async () => {
    expect((await owner.community.get({ slug: 'settings' })).reviewPeriodHours).toBe(72);
    expect(await owner.community.update({ communityId, reviewPeriodHours: 24 })).toMatchObject({ reviewPeriodHours: 24 });
    expect((await owner.community.get({ slug: 'settings' })).reviewPeriodHours).toBe(24);
    for (const bad of [0, 721, 1.5, -3]) {
      await rejects(owner.community.update({ communityId, reviewPeriodHours: bad }), 'BAD_REQUEST');
    }
    expect((await owner.community.get({ slug: 'settings' })).reviewPeriodHours).toBe(24);
    const member = await signUp(t.db, 'settings-member');
    await member.caller.community.join({ slug: 'settings' });
    await rejects(member.caller.community.update({ communityId, reviewPeriodHours: 1 }), 'FORBIDDEN');
  });

  it('valuationRates: null resets the rates to the defaults', async () => {
    await owner.community.update({ communityId, valuationRates: { compute: { perMipsHour: 1_000 } } });
    expect((await owner.community.get({ slug: 'settings' })).valuationRates.compute.perMipsHour).toBe(1_000);
    const reset = await owner.community.update({ communityId, valuationRates: null });
    expect(reset.valuationRates).toEqual(defaultValuationRates);
    expect((await owner.community.get({ slug: 'settings' })).valuationRates).toEqual(defaultValuationRates);
    expect((await t.db.community.findUniqueOrThrow({ where: { id: communityId }, select: { valuationRates: true } })).valuationRates).toBeNull();
  });
});
