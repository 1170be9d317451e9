import { z } from 'zod';
import { contentHeaderSchema, pricingSchema } from '../content/header';
import { itemSelect, presentItem, publishItem, searchItems, withdrawItem } from '../content/items';
import { deviceTransfers, hasCopy, requestItem, updateTransfer } from '../content/transfers';
import { communityMemberProcedure, memberProcedure, router } from '../trpc';
import { DomainError } from '../errors';

const id = z.string().min(1).max(64);

export const contentRouter = router({
  publish: communityMemberProcedure
    .input(z.object({ deviceId: id, header: contentHeaderSchema, pricing: pricingSchema.default({ mode: 'GIFT' }) }))
    .mutation(({ ctx, input }) =>
      publishItem(ctx.db, ctx.member.id, ctx.community, input),
    ),

  search: communityMemberProcedure
    .input(z.object({ text: z.string().trim().max(100).optional(), mediaType: z.string().trim().max(100).optional(), maxBytes: z.number().int().positive().optional(), nearbyOnly: z.boolean().optional(), deviceId: id.optional() }))
    .query(({ ctx, input }) => searchItems(ctx.db, ctx.community.id, { deviceId: input.deviceId, address: ctx.clientAddress }, input)),

  get: memberProcedure.input(z.object({ itemId: id })).query(async ({ ctx, input }) => {
    const row = await ctx.db.contentItem.findUnique({ where: { id: input.itemId }, select: itemSelect });
    const member = row ? await ctx.db.membership.count({ where: { memberId: ctx.member.id, communityId: row.communityId } }) : 0;
    if (!row || !member) throw new DomainError('NOT_FOUND', 'No such item.');
    // haveCopy: this member already received a verified copy, so a further request of it is free
    return { ...presentItem(row, { address: ctx.clientAddress }, new Date(), true), haveCopy: await hasCopy(ctx.db, ctx.member.id, row.id) };
  }),

  withdraw: memberProcedure.input(z.object({ itemId: id })).mutation(({ ctx, input }) => withdrawItem(ctx.db, ctx.member.id, input.itemId)),

  request: memberProcedure.input(z.object({ itemId: id, deviceId: id })).mutation(({ ctx, input }) => requestItem(ctx.db, ctx.member.id, input)),

  transfers: memberProcedure.input(z.object({ deviceId: id })).query(({ ctx, input }) => deviceTransfers(ctx.db, ctx.member.id, input.deviceId)),

  updateTransfer: memberProcedure
    .input(z.object({ transferId: id, deviceId: id, verifiedChunks: z.number().int().min(0).max(1_000_000), status: z.enum(['ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED']).optional() }))
    .mutation(({ ctx, input }) => updateTransfer(ctx.db, ctx.member.id, input)),
});
