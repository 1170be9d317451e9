import { DomainError } from '../errors';
import { z } from 'zod';
import { actOnContract, presentContract, resolveDispute } from '../market/contracts';
import { memberContracts, openDisputes } from '../market/queries';
import { DEFAULT_PAGE, pageFields } from '../paging';
import { contractPartyOrCoordinatorProcedure, contractPartyProcedure, coordinatorProcedure, memberProcedure, router } from '../trpc';
import { CONTRACT_STATES } from '../market/contract-state';

const noteInput = z.object({ note: z.string().trim().max(500).optional() });
const statementInput = z.object({ note: z.string().trim().min(1, 'Write a short statement.').max(2_000) });

export const contractRouter = router({
  /** A party's view of the contract; the community's coordinator sees it too (to decide disputes). */
  get: contractPartyOrCoordinatorProcedure.query(({ ctx }) => ({ ...presentContract(ctx.contract), viewer: { coordinator: ctx.coordinator } })),

  /** The member's contracts, newest first, a page at a time: `{ items, nextCursor }`. */
  list: memberProcedure
    .input(z.object({ communityId: z.string().min(1).max(64).optional(), states: z.array(z.enum(CONTRACT_STATES)).max(7).optional(), ...pageFields }).default({ limit: DEFAULT_PAGE }))
    .query(({ ctx, input }) => memberContracts(ctx.db, ctx.member.id, input, input)),

  start: contractPartyProcedure.input(noteInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, ctx.contract, ctx.contractRole, 'START', input.note)),
  reportDelivered: contractPartyProcedure.input(noteInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, ctx.contract, ctx.contractRole, 'REPORT_DELIVERED', input.note)),
  signOff: contractPartyProcedure.input(noteInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, ctx.contract, ctx.contractRole, 'SIGN_OFF', input.note)),
  /** The buyer disputes, with a statement: the contract waits for the community's coordinator to decide. */
  dispute: contractPartyProcedure.input(z.object({ note: z.string().trim().max(2_000).optional() })).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, ctx.contract, ctx.contractRole, 'DISPUTE', input.note)),
  /** The seller's statement on a dispute. */
  respond: contractPartyProcedure.input(statementInput).mutation(({ ctx, input }) => actOnContract(ctx.db, ctx.member.id, ctx.contract, ctx.contractRole, 'RESPOND', input.note)),

  /** Open disputes in the community, with both sides' statements and the events, for its coordinator. */
  disputes: coordinatorProcedure.input(z.object(pageFields)).query(({ ctx, input }) => openDisputes(ctx.db, ctx.community.id, input)),

  /** The coordinator's decision on a dispute, with its reason (recorded in the timeline). */
  resolveDispute: contractPartyOrCoordinatorProcedure
    .input(
      z.object({
        decision: z.enum(['PAY_SELLER', 'REFUND_BUYER', 'SPLIT']),
        sellerShareBps: z.number().int('The share is a whole number of basis points.').min(0).max(10_000, 'The share is at most 10000 basis points (100%).').optional(),
        reason: z.string().trim().min(1, 'Give the reason for your decision.').max(2_000),
      }),
    )
    .mutation(({ ctx, input }) => {
      if (!ctx.coordinator) throw new DomainError('FORBIDDEN', "Only the community's coordinator can decide a dispute.");
      return resolveDispute(ctx.db, ctx.member.id, { ...input, contractId: ctx.contract.id });
    }),
});
