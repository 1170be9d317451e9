import { z } from 'zod';
import { contentHeaderSchema, pricingSchema } from '../content/header';
import { bundleManifestSchema } from '../content/bundle-manifest';
import { declineGift, giveItem, giveItems, MAX_RECEIVERS, offeredGifts, presentItem, publishItem, searchItems, searchItemsPage, visibleItem, withdrawItem } from '../content/items';
import { deviceTransfers, hasCopy, requestItem, transferHistory, updateTransfer } from '../content/transfers';
import { communityDeviceProcedure, communityMemberProcedure, deviceOwnerProcedure, memberProcedure, router } from '../trpc';
import { pageFields } from '../paging';

const id = z.string().min(1).max(64);
const searchFilters = z.object({ text: z.string().trim().max(100).optional(), mediaType: z.string().trim().max(100).optional(), maxBytes: z.number().int().positive().optional(), nearbyOnly: z.boolean().optional(), deviceId: id.optional() });

export const contentRouter = router({
  publish: communityDeviceProcedure
    .input(z.object({ header: contentHeaderSchema, pricing: pricingSchema.default({ mode: 'GIFT' }) }))
    .mutation(({ ctx, input }) =>
      publishItem(ctx.db, ctx.member.id, ctx.community, { deviceId: ctx.device.id, header: input.header, pricing: input.pricing }),
    ),

  /** The first 200 items, nearby devices' first (kept as it was for other clients); `searchPage` pages through all of them. */
  search: communityMemberProcedure
    .input(searchFilters)
    .query(({ ctx, input }) => searchItems(ctx.db, ctx.community.id, { deviceId: input.deviceId, address: ctx.clientAddress }, input)),

  /** The catalog newest first, a page at a time: `{ items, nextCursor }`. */
  searchPage: communityMemberProcedure
    .input(searchFilters.extend(pageFields))
    .query(({ ctx, input }) => searchItemsPage(ctx.db, ctx.community.id, { deviceId: input.deviceId, address: ctx.clientAddress }, input, input)),

  /** An item the member may see (a catalog item of one of their communities, or a private gift they sent or were sent); NOT_FOUND otherwise. */
  get: memberProcedure.input(z.object({ itemId: id })).query(async ({ ctx, input }) => {
    const row = await visibleItem(ctx.db, ctx.member.id, input.itemId);
    // haveCopy: this member already received a verified copy, so a further request of it is free
    return { ...presentItem(row, { address: ctx.clientAddress }, new Date(), true), haveCopy: await hasCopy(ctx.db, ctx.member.id, row.id) };
  }),

  /**
   * "Send to nearby": a private gift of a file on this device to one other device (`toDeviceId`: one in a community
   * the members share, or paired by code). It is in no catalog; only the sender and the receiver's member see it.
   */
  give: deviceOwnerProcedure
    .input(z.object({ toDeviceId: id, header: contentHeaderSchema, bundle: bundleManifestSchema.optional() }))
    .mutation(({ ctx, input }) => giveItem(ctx.db, ctx.member.id, { deviceId: ctx.device.id, toDeviceId: input.toDeviceId, header: input.header, bundle: input.bundle })),

  /**
   * The same private gift to several devices at once (`toDeviceIds`, at most MAX_RECEIVERS): one item per
   * device, each copied over its own connection, all made or none. `bundle`: the item carries several files
   * and text snippets (server/content/bundle-manifest.ts), its bytes being theirs one after the other.
   */
  giveMany: deviceOwnerProcedure
    .input(z.object({ toDeviceIds: z.array(id).min(1, 'Choose at least one device to send to.').max(MAX_RECEIVERS, `One send can go to at most ${MAX_RECEIVERS} devices.`), header: contentHeaderSchema, bundle: bundleManifestSchema.optional() }))
    .mutation(async ({ ctx, input }) => ({ items: await giveItems(ctx.db, ctx.member.id, { toDeviceIds: input.toDeviceIds, header: input.header, bundle: input.bundle, deviceId: ctx.device.id }) })),

  /** Private gifts offered to this device and not taken yet, newest first. */
  gifts: deviceOwnerProcedure.query(({ ctx }) => offeredGifts(ctx.db, ctx.member.id, ctx.device.id)),

  /** The recipient turns a private gift down; it is offered no more. */
  declineGift: memberProcedure.input(z.object({ itemId: id })).mutation(({ ctx, input }) => declineGift(ctx.db, ctx.member.id, input.itemId)),

  withdraw: memberProcedure.input(z.object({ itemId: id })).mutation(({ ctx, input }) => withdrawItem(ctx.db, ctx.member.id, input.itemId)),

  request: deviceOwnerProcedure
    /** contractId: take the item against a barter's file leg (the giver's item, no purchase) */
    .input(z.object({ itemId: id, contractId: id.optional() }))
    .mutation(({ ctx, input }) => requestItem(ctx.db, ctx.member.id, { itemId: input.itemId, deviceId: ctx.device.id, contractId: input.contractId })),

  /** The device's open transfers and its newest finished ones (what its transfer manager works with). */
  transfers: deviceOwnerProcedure.query(({ ctx }) => deviceTransfers(ctx.db, ctx.device.id)),

  /** Every transfer of the device, newest first, paged. */
  transferHistory: deviceOwnerProcedure.input(z.object(pageFields)).query(({ ctx, input }) => transferHistory(ctx.db, ctx.device.id, input)),

  updateTransfer: deviceOwnerProcedure
    .input(z.object({ transferId: id, verifiedChunks: z.number().int().min(0).max(1_000_000), status: z.enum(['ACTIVE', 'COMPLETED', 'FAILED', 'CANCELLED']).optional() }))
    .mutation(({ ctx, input }) => updateTransfer(ctx.db, ctx.member.id, { ...input, deviceId: ctx.device.id })),
});
