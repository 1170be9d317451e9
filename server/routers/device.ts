import { createPublicKey } from 'node:crypto';
import { DomainError } from '../errors';
import { KEY_ALGORITHMS } from '../barter/receipts';
import { z } from 'zod';
import { deviceProfileSchema, type DeviceProfile } from '../device/profile';
import type { Queryable } from '../db/client';
import { deviceOwnerProcedure, memberProcedure, router } from '../trpc';
import { resolveRates, valueProfile } from '../valuation';

const deviceSelect = { id: true, name: true, profile: true, createdAt: true, updatedAt: true } as const;

/** Values a profile with the rates of one of the member's communities, or the defaults. */
async function ratesFor(db: Queryable, memberId: string, communityId: string | undefined) {
  if (!communityId) return resolveRates(null);
  const membership = await db.membership.findUnique({
    where: { memberId_communityId: { memberId, communityId } },
    select: { community: { select: { valuationRates: true } } },
  });
  if (!membership) throw new DomainError('FORBIDDEN', 'You are not a member of that community.');
  return resolveRates(membership.community.valuationRates);
}

function present(
  row: { id: string; name: string; profile: unknown; createdAt: Date; updatedAt: Date },
  rates: ReturnType<typeof resolveRates>,
) {
  const profile = deviceProfileSchema.parse(row.profile);
  const { categories, totalPerHour } = valueProfile(profile, rates);
  return {
    device: { id: row.id, name: row.name, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() },
    profile,
    valuation: categories,
    totalPerHour,
  };
}

export const deviceRouter = router({
  /** Registers this device, or with `deviceId` records a new measurement of one already registered. */
  register: memberProcedure
    .input(
      z.object({
        deviceId: z.string().min(1).max(64).optional(),
        name: z.string().trim().min(1, 'Give the device a name.').max(60, 'A device name can have at most 60 characters.'),
        profile: deviceProfileSchema,
        communityId: z.string().min(1).max(64).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const rates = await ratesFor(ctx.db, ctx.member.id, input.communityId);
      const stored = { profile: input.profile satisfies DeviceProfile, valuation: valueProfile(input.profile, resolveRates(null)) };
      let row;
      if (input.deviceId) {
        const { count } = await ctx.db.device.updateMany({
          where: { id: input.deviceId, memberId: ctx.member.id },
          data: { name: input.name, ...stored },
        });
        if (count === 0) throw new DomainError('NOT_FOUND', 'You have no device with that id: register it anew.');
        row = await ctx.db.device.findUniqueOrThrow({ where: { id: input.deviceId }, select: deviceSelect });
      } else {
        row = await ctx.db.device.create({
          data: { memberId: ctx.member.id, name: input.name, ...stored },
          select: deviceSelect,
        });
      }
      return present(row, rates);
    }),

  list: memberProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db.device.findMany({
      where: { memberId: ctx.member.id },
      orderBy: { updatedAt: 'desc' },
      select: deviceSelect,
    });
    const rates = resolveRates(null);
    return rows.map((row) => present(row, rates));
  }),

  get: deviceOwnerProcedure
    .input(z.object({ communityId: z.string().min(1).max(64).optional() }))
    .query(async ({ ctx, input }) => present(ctx.device, await ratesFor(ctx.db, ctx.member.id, input.communityId))),

  /** Registers the device's public key (SPKI, base64url) for signing offline barter receipts. */
  setKey: deviceOwnerProcedure
    .input(z.object({ publicKey: z.string().regex(/^[A-Za-z0-9_-]{40,400}$/, 'A public key is SPKI bytes in base64url.'), algorithm: z.enum(KEY_ALGORITHMS) }))
    .mutation(async ({ ctx, input }) => {
      try {
        createPublicKey({ key: Buffer.from(input.publicKey, 'base64url'), format: 'der', type: 'spki' });
      } catch {
        throw new DomainError('BAD_INPUT', 'That is not a valid public key.');
      }
      await ctx.db.device.update({ where: { id: ctx.device.id }, data: { publicKey: input.publicKey, keyAlgorithm: input.algorithm } });
      return { ok: true };
    }),

  remove: deviceOwnerProcedure.mutation(async ({ ctx }) => {
    await ctx.db.device.deleteMany({ where: { id: ctx.device.id } });
    return { ok: true };
  }),
});
