import { z } from 'zod';
import { acceptDeal, cancelOffer, listOffers, listOffersPage, offerInput, placeOffer } from '../barter/offers';
import { pageFields } from '../paging';
import { receiptSchema, receiptSettlement, submitReceipt } from '../barter/receipts';
import { communityMemberProcedure, memberProcedure, offerOwnerProcedure, router } from '../trpc';

const id = z.string().min(1).max(64);
const offerFilters = z.object({ mine: z.boolean().optional(), status: z.enum(['OPEN', 'PROPOSED', 'CLOSED', 'CANCELLED']).optional() });

export const barterRouter = router({
  offer: communityMemberProcedure.input(offerInput).mutation(({ ctx, input }) =>
    placeOffer(ctx.db, ctx.member.id, { id: ctx.community.id, valuationRates: ctx.community.valuationRates, role: ctx.role }, input),
  ),
  /** The newest 200 offers (kept as it was for other clients); `listPage` pages through all of them. */
  list: communityMemberProcedure
    .input(offerFilters)
    .query(({ ctx, input }) => listOffers(ctx.db, ctx.community.id, { memberId: input.mine ? ctx.member.id : undefined, status: input.status })),
  /** Offers newest first, a page at a time: `{ items, nextCursor }`. */
  listPage: communityMemberProcedure
    .input(offerFilters.extend(pageFields))
    .query(({ ctx, input }) => listOffersPage(ctx.db, ctx.community.id, { memberId: input.mine ? ctx.member.id : undefined, status: input.status }, input)),
  accept: memberProcedure.input(z.object({ dealId: id })).mutation(({ ctx, input }) => acceptDeal(ctx.db, ctx.member.id, input.dealId)),
  cancel: offerOwnerProcedure.mutation(({ ctx }) => cancelOffer(ctx.db, ctx.member.id, ctx.offer)),
  /** A barter agreed offline between two nearby devices, signed by both device keys. */
  submitReceipt: memberProcedure
    .input(z.object({ receipt: receiptSchema, signatures: z.array(z.object({ deviceId: id, signature: z.string().min(16).max(256) })).length(2) }))
    .mutation(({ ctx, input }) => submitReceipt(ctx.db, ctx.member.id, input.receipt, input.signatures)),
  /** How a submitted receipt settled, for one of its parties (by the receipt's SHA-256); `settled: false` until it is. */
  receipt: memberProcedure
    .input(z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/, 'A receipt hash is 64 lowercase hex digits.') }))
    .query(({ ctx, input }) => receiptSettlement(ctx.db, ctx.member.id, input.hash)),
});
