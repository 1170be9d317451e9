import { DomainError } from '../errors';
import { z } from 'zod';
import { MAX_MICRO } from '../money';
import { negotiate, negotiationSelect, presentNegotiation } from '../market/negotiations';
import { memberProcedure, router } from '../trpc';

const negotiationId = z.object({ negotiationId: z.string().min(1).max(64) });

export const negotiationRouter = router({
  counter: memberProcedure
    .input(negotiationId.extend({ price: z.number().int('Prices are whole micro-credits.').positive('The price must be more than zero.').max(MAX_MICRO) }))
    .mutation(({ ctx, input }) => negotiate(ctx.db, ctx.member.id, input.negotiationId, { kind: 'counter', price: input.price })),

  accept: memberProcedure.input(negotiationId).mutation(({ ctx, input }) => negotiate(ctx.db, ctx.member.id, input.negotiationId, { kind: 'accept' })),

  reject: memberProcedure.input(negotiationId).mutation(({ ctx, input }) => negotiate(ctx.db, ctx.member.id, input.negotiationId, { kind: 'reject' })),

  get: memberProcedure.input(negotiationId).query(async ({ ctx, input }) => {
    const row = await ctx.db.negotiation.findUnique({ where: { id: input.negotiationId }, select: negotiationSelect });
    if (!row || (row.buyerId !== ctx.member.id && row.sellerId !== ctx.member.id)) {
      throw new DomainError('NOT_FOUND', 'You have no negotiation with that id.');
    }
    return presentNegotiation(row);
  }),

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
