import { DomainError } from '../errors';
import { z } from 'zod';
import { actOnContract, contractSelect, coordinates, findContract, openDisputes, presentContract, resolveDispute } from '../market/contracts';
import { coordinatorProcedure, memberProcedure, router } from '../trpc';
import { CONTRACT_STATES } from '../market/contract-state';

const contractId = z.string().min(1).max(64);
const contractInput = z.object({ contractId, note: z.string().trim().max(500).optional() });
const statementInput = z.object({ contractId, note: z.string().trim().min(1, 'Write a short statement.').max(2_000) });

export const contractRouter = router({
  /** A party's view of the contract; the community's coordinator sees it too (to decide disputes). */
  get: memberProcedure.input(contractInput.pick({ contractId: true })).query(async ({ ctx, input }) => {
    const row = await findContract(ctx.db, input.contractId);
    const party = row && (row.buyerId === ctx.member.id || row.sellerId === ctx.member.id);
    const coordinator = row ? await coordinates(ctx.db, ctx.member.id, row.communityId) : false;
    if (!row || (!party && !coordinator)) throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
    return { ...presentContract(row), viewer: { coordinator } };
  }),

  list: memberProcedure
    .input(z.object({ communityId: z.string().min(1).max(64).optional(), states: z.array(z.enum(CONTRACT_STATES)).max(7).optional() }).default({}))
    .query(async ({ ctx, input }) => {
      const rows = await ctx.db.contract.findMany({
        where: {
          OR: [{ buyerId: ctx.member.id }, { sellerId: ctx.member.id }],
          ...(input.communityId ? { communityId: input.communityId } : {}),
          ...(input.states ? { state: { in: input.states } } : {}),
        },
        orderBy: { updatedAt: 'desc' },
        take: 100,
        select: contractSelect,
      });
      return rows.map(presentContract);
    }),

  start: memberProcedure.input(contractInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, input.contractId, 'START', input.note)),
  reportDelivered: memberProcedure.input(contractInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, input.contractId, 'REPORT_DELIVERED', input.note)),
  signOff: memberProcedure.input(contractInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, input.contractId, 'SIGN_OFF', input.note)),
  /** The buyer disputes, with a statement: the contract waits for the community's coordinator to decide. */
  dispute: memberProcedure
    .input(z.object({ contractId, note: z.string().trim().max(2_000).optional() }))
    .mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, input.contractId, 'DISPUTE', input.note)),
  /** The seller's statement on a dispute. */
  respond: memberProcedure.input(statementInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, input.contractId, 'RESPOND', input.note)),

  /** Open disputes in the community, with both sides' statements and the events, for its coordinator. */
  disputes: coordinatorProcedure.query(({ ctx }) => openDisputes(ctx.db, ctx.community.id)),

  /** The coordinator's decision on a dispute, with its reason (recorded in the timeline). */
  resolveDispute: memberProcedure
    .input(
      z.object({
        contractId,
        decision: z.enum(['PAY_SELLER', 'REFUND_BUYER', 'SPLIT']),
        sellerShareBps: z.number().int('The share is a whole number of basis points.').min(0).max(10_000, 'The share is at most 10000 basis points (100%).').optional(),
        reason: z.string().trim().min(1, 'Give the reason for your decision.').max(2_000),
      }),
    )
    .mutation(({ ctx, input }) => resolveDispute(ctx.db, ctx.member.id, input)),
});
