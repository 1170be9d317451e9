import { z } from 'zod';
import type { TrackedEnvelope } from '@trpc/server';
import { bookSource } from '../live/book-feed';
import { bookWatchFor, type BookState } from '../live/book-state';
import { liveStream } from '../live/stream';
import { memberEvents } from '../live/events';
import { placeOrderInput } from '../market/order-input';
import { cancelOrder, placeOrder } from '../market/book-writer';
import { bookDepth, memberOrders, priceHistory, recentTrades } from '../market/queries';
import { pageFields } from '../paging';
import { communityMemberProcedure, memberProcedure, orderOwnerProcedure, router } from '../trpc';
import { CATEGORIES } from '../valuation/categories';

export const marketRouter = router({
  placeOrder: communityMemberProcedure.input(placeOrderInput).mutation(({ ctx, input }) =>
    placeOrder(ctx.db, ctx.member.id, ctx.community, input),
  ),

  cancelOrder: orderOwnerProcedure.mutation(async ({ ctx }) => {
    await cancelOrder(ctx.db, ctx.member.id, ctx.order);
    return ctx.db.order.findUniqueOrThrow({ where: { id: ctx.order.id }, select: { id: true, status: true, remaining: true } });
  }),

  book: communityMemberProcedure
    .input(z.object({ category: z.enum(CATEGORIES), unit: z.string().min(1).max(32).optional() }))
    .query(({ ctx, input }) => bookDepth(ctx.db, ctx.community.id, input.category, input.unit, new Date())),

  myOrders: communityMemberProcedure
    .input(z.object({ open: z.boolean().optional(), ...pageFields }))
    .query(({ ctx, input }) => memberOrders(ctx.db, ctx.community.id, ctx.member.id, input.open, input)),

  trades: communityMemberProcedure
    .input(z.object({ category: z.enum(CATEGORIES).optional(), limit: z.number().int().min(1).max(200).default(50) }))
    .query(({ ctx, input }) => recentTrades(ctx.db, ctx.community.id, input.category, input.limit)),

  priceHistory: communityMemberProcedure
    .input(
      z.object({
        category: z.enum(CATEGORIES),
        unit: z.string().min(1).max(32),
        bucketMinutes: z.number().int().min(1).max(10_080).default(60),
        days: z.number().int().min(1).max(365).default(7),
      }),
    )
    .query(({ ctx, input }) =>
      priceHistory(ctx.db, ctx.community.id, input.category, input.unit, input.bucketMinutes * 60_000, new Date(Date.now() - input.days * 86_400_000)),
    ),

  /** Every live event for the signed-in member: fills, order changes, negotiation moves, contract changes. */
  events: memberProcedure
    .input(z.object({ lastEventId: z.string().max(20).nullish() }).optional())
    .subscription(({ ctx, input, signal }) => memberEvents(ctx.db, ctx.member.id, input?.lastEventId, signal)),

  /**
   * A book's public state for anyone watching it (linked communities' books included): its levels, as
   * `book` answers, and its latest trades, as `trades` answers; sent at once, then within moments of every
   * change by anyone (coalesced). Event ids are per server process: a consumer re-reads on reconnect.
   * Every subscriber of a book in a process shares one read and one encoding of each change
   * (server/live/book-feed.ts; written to each stream by server/http/live-fast-path.ts under `npm start`).
   */
  bookEvents: communityMemberProcedure
    .input(
      z.object({
        category: z.enum(CATEGORIES),
        unit: z.string().min(1).max(32).optional(),
        tradeLimit: z.number().int().min(1).max(50).default(10),
        lastEventId: z.string().max(20).nullish(),
      }),
    )
    .subscription(async ({ ctx, input, signal }) => {
      const want = { communityId: ctx.community.id, category: input.category, unit: input.unit, tradeLimit: input.tradeLimit };
      return liveStream<TrackedEnvelope<BookState & { seq: number }>>(signal, bookSource(await bookWatchFor(ctx.db, want)));
    }),
});
