import { DomainError } from '../errors';
import { z } from 'zod';
import { actOnContract, contractSelect, findContract, presentContract } from '../market/contracts';
import { memberProcedure, router } from '../trpc';
import { CONTRACT_STATES } from '../market/contract-state';

const contractInput = z.object({ contractId: z.string().min(1).max(64), note: z.string().trim().max(500).optional() });

export const contractRouter = router({
  get: memberProcedure.input(contractInput.pick({ contractId: true })).query(async ({ ctx, input }) => {
    const row = await findContract(ctx.db, input.contractId);
    if (!row || (row.buyerId !== ctx.member.id && row.sellerId !== ctx.member.id)) {
      throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
    }
    return presentContract(row);
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
  dispute: memberProcedure.input(contractInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, input.contractId, 'DISPUTE', input.note)),
});
