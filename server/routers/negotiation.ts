import { z } from 'zod';
import { MAX_MICRO } from '../money';
import { negotiate, negotiationSelect, presentNegotiation } from '../market/negotiations';
import { memberProcedure, negotiationPartyProcedure, router } from '../trpc';

export const negotiationRouter = router({
  counter: negotiationPartyProcedure
    .input(z.object({ price: z.number().int('Prices are whole micro-credits.').positive('The price must be more than zero.').max(MAX_MICRO) }))
    .mutation(({ ctx, input }) => negotiate(ctx.db, ctx.member.id, ctx.negotiation, { kind: 'counter', price: input.price })),

  accept: negotiationPartyProcedure.mutation(({ ctx }) => negotiate(ctx.db, ctx.member.id, ctx.negotiation, { kind: 'accept' })),

  reject: negotiationPartyProcedure.mutation(({ ctx }) => negotiate(ctx.db, ctx.member.id, ctx.negotiation, { kind: 'reject' })),

  get: negotiationPartyProcedure.query(({ ctx }) => presentNegotiation(ctx.negotiation)),

  /** The member's negotiations, open ones first. */
  list: memberProcedure
    .input(z.object({ communityId: z.string().min(1).max(64).optional(), open: z.boolean().optional() }).default({}))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.negotiation.findMany({
        where: {
          OR: [{ buyerId: ctx.member.id }, { sellerId: ctx.member.id }],
          ...(input.communityId ? { communityId: input.communityId } : {}),
          ...(input.open === undefined ? {} : input.open ? { status: 'OPEN' } : { status: { not: 'OPEN' } }),
        },
        orderBy: [{ status: 'asc' }, { updatedAt: 'desc' }],
        take: 100,
        select: negotiationSelect,
      });
      return rows.map(presentNegotiation);
    }),
});
