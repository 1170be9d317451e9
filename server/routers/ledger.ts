import { z } from 'zod';
import { memberBalance, memberHistory } from '../ledger/repository';
import { memberStatement } from '../ledger/member-statement';
import { pageCursor } from '../paging';
import { communityMemberProcedure, router } from '../trpc';

export const ledgerRouter = router({
  balance: communityMemberProcedure.query(({ ctx }) => memberBalance(ctx.db, ctx.community.id, ctx.member.id)),

  /** The raw postings (available and escrow legs), newest first. */
  history: communityMemberProcedure
    .input(
      z.object({
        cursor: z.object({ createdAt: z.iso.datetime(), id: z.string().min(1).max(64) }).nullish(),
        limit: z.number().int().min(1).max(100).default(30),
      }),
    )
    .query(({ ctx, input }) =>
      memberHistory(ctx.db, ctx.community.id, ctx.member.id, { cursor: input.cursor, limit: input.limit }),
    ),

  /**
   * The history as a statement: one line per event from the caller's side (a compute job is one line, escrow
   * is a part of a line, not a line), newest first. Lines with the same `key` on two pages are one line.
   */
  statement: communityMemberProcedure
    .input(
      z.object({
        cursor: pageCursor.nullish(),
        limit: z.number().int('The page size is a whole number.').min(1, 'Ask for at least one line.').max(50, 'A page holds at most 50 lines.').default(20),
      }),
    )
    .query(({ ctx, input }) => memberStatement(ctx.db, ctx.community.id, ctx.member.id, { cursor: input.cursor, limit: input.limit })),
});
