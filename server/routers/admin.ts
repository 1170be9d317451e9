import { z } from 'zod';
import { acceptLink, acceptLinkCap, linksOf, proposeLink, proposeLinkCap } from '../community/links';
import { transaction } from '../db/transaction';
import { communityAccount, transfer } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { MAX_MICRO } from '../money';
import { recordCash } from '../money/cash';
import { cashJournal, memberBalances, poolBalances } from '../money/coordinator-books';
import { pageFields } from '../paging';
import { commitDraw, drawView, revealDraw, sweepstakesOverview } from '../money/sweepstakes';
import { communityMemberProcedure, coordinatorProcedure, router } from '../trpc';

const amount = z.number().int('Amounts are whole micro-credits.').positive('The amount must be more than zero.').max(MAX_MICRO);
const cashInput = z.object({ memberId: z.string().min(1).max(64), amount, externalReference: z.string().trim().min(1, 'Give the external reference (receipt or transfer number).').max(100) });
/** The most either community may owe the other through a link, micro-credits (0 = nothing may cross). */
const cap = z.number().int('A cap is a whole number of micro-credits.').min(0, 'A cap cannot be negative.').max(MAX_MICRO, 'That cap is too large.');
const linkId = z.string().min(1).max(64);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'A commitment is the SHA-256 of the secret: 64 lower-case hex digits.');

/** Coordinator operations: cash in and out, sweepstakes draws, federation links. */
export const adminRouter = router({
  cashDeposit: coordinatorProcedure.input(cashInput).mutation(({ ctx, input }) =>
    recordCash(ctx.db, ctx.community, { ...input, direction: 'DEPOSIT' }),
  ),
  cashWithdrawal: coordinatorProcedure.input(cashInput).mutation(({ ctx, input }) =>
    recordCash(ctx.db, ctx.community, { ...input, direction: 'WITHDRAWAL' }),
  ),

  /** Every member with their balances, for the coordinator (paged, oldest member first). */
  memberBalances: coordinatorProcedure.input(z.object(pageFields)).query(({ ctx, input }) => memberBalances(ctx.db, ctx.community.id, input)),
  /** The cash deposits and withdrawals recorded, newest first (paged). */
  cashJournal: coordinatorProcedure.input(z.object(pageFields)).query(({ ctx, input }) => cashJournal(ctx.db, ctx.community.id, input)),

  /** What the community's pool (its commission account) and the sweepstakes pool hold, micro-credits. */
  pool: coordinatorProcedure.query(({ ctx }) => poolBalances(ctx.db, ctx.community.id)),

  /** Issues credits into the community's own pool (its commission account), for the coordinator's pool offers. */
  fundPool: coordinatorProcedure.input(z.object({ amount })).mutation(({ ctx, input }) =>
    transaction(ctx.db, (tx) =>
      postEntry(tx, ctx.community.id, transfer(communityAccount('ISSUER'), communityAccount('COMMISSION'), input.amount, 'POOL_FUNDING', 'Credits issued to the community pool'), ctx.community),
    ),
  ),

  commitDraw: coordinatorProcedure
    .input(z.object({ commitment: hex64, periodStart: z.iso.datetime({ offset: true }), periodEnd: z.iso.datetime({ offset: true }) }))
    .mutation(({ ctx, input }) => commitDraw(ctx.db, ctx.community.id, { commitment: input.commitment, periodStart: new Date(input.periodStart), periodEnd: new Date(input.periodEnd) })),
  revealDraw: coordinatorProcedure
    .input(z.object({ drawId: z.string().min(1).max(64), secret: z.string().min(16, 'Use a secret of at least 16 characters.').max(200) }))
    .mutation(async ({ ctx, input }) => {
      await revealDraw(ctx.db, ctx.community.id, input.drawId, input.secret);
      return drawView(ctx.db, ctx.community.id, input.drawId);
    }),
  /** The pool, the draws committed and not yet revealed, and past draws: what any member may check. */
  sweepstakes: communityMemberProcedure.input(z.object(pageFields)).query(({ ctx, input }) => sweepstakesOverview(ctx.db, ctx.community.id, ctx.member.id, input)),
  /** Any member can fetch a draw with its tickets and secret and recompute the winner. */
  draw: communityMemberProcedure.input(z.object({ drawId: z.string().min(1).max(64) })).query(({ ctx, input }) => drawView(ctx.db, ctx.community.id, input.drawId)),

  /** Proposes a link with the cap this community agrees to; the other community's coordinator accepts both. */
  proposeLink: coordinatorProcedure
    .input(z.object({ toSlug: z.string().trim().toLowerCase().min(3).max(40), cap }))
    .mutation(({ ctx, input }) => proposeLink(ctx.db, ctx.member.id, ctx.community.id, input.toSlug, input.cap)),
  acceptLink: coordinatorProcedure.input(z.object({ linkId })).mutation(({ ctx, input }) => acceptLink(ctx.db, ctx.community.id, input.linkId)),
  /** Either linked community's coordinator proposes a new cap; it applies once the other accepts it. */
  proposeLinkCap: coordinatorProcedure.input(z.object({ linkId, cap })).mutation(({ ctx, input }) => proposeLinkCap(ctx.db, ctx.community.id, input.linkId, input.cap)),
  acceptLinkCap: coordinatorProcedure.input(z.object({ linkId })).mutation(({ ctx, input }) => acceptLinkCap(ctx.db, ctx.community.id, input.linkId)),
  links: communityMemberProcedure.query(({ ctx }) => linksOf(ctx.db, ctx.community.id)),
});
