import { z } from 'zod';
import { MAX_MICRO } from '../money';
import { negotiate, presentNegotiation } from '../market/negotiations';
import { memberNegotiations } from '../market/queries';
import { DEFAULT_PAGE, pageFields } from '../paging';
import { memberProcedure, negotiationPartyProcedure, router } from '../trpc';

export const negotiationRouter = router({
  counter: negotiationPartyProcedure
    .input(z.object({ price: z.number().int('Prices are whole micro-credits.').positive('The price must be more than zero.').max(MAX_MICRO) }))
    .mutation(({ ctx, input }) => negotiate(ctx.db, ctx.member.id, ctx.negotiation, { kind: 'counter', price: input.price })),

  accept: negotiationPartyProcedure.mutation(({ ctx }) => negotiate(ctx.db, ctx.member.id, ctx.negotiation, { kind: 'accept' })),

  reject: negotiationPartyProcedure.mutation(({ ctx }) => negotiate(ctx.db, ctx.member.id, ctx.negotiation, { kind: 'reject' })),

  get: negotiationPartyProcedure.query(({ ctx }) => presentNegotiation(ctx.negotiation)),

  /** The member's negotiations, newest first, a page at a time: `{ items, nextCursor }` (`open` picks open or closed ones). */
  list: memberProcedure
    .input(z.object({ communityId: z.string().min(1).max(64).optional(), open: z.boolean().optional(), ...pageFields }).default({ limit: DEFAULT_PAGE }))
    .query(({ ctx, input }) => memberNegotiations(ctx.db, ctx.member.id, input, input)),
});
