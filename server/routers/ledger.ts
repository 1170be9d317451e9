import { z } from 'zod';
import { memberBalance, memberHistory } from '../ledger/repository';
import { communityMemberProcedure, router } from '../trpc';

export const ledgerRouter = router({
  balance: communityMemberProcedure.query(({ ctx }) => memberBalance(ctx.db, ctx.community.id, ctx.member.id)),

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
});
