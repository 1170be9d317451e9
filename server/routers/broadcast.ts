import { z } from 'zod';
import { broadcastTree, endBroadcast, getBroadcast, heartbeat, joinBroadcast, leaveBroadcast, listBroadcasts, nodeView, setRelay, startBroadcast, submitBroadcastReceipt } from '../broadcast/broadcasts';
import { broadcastReceiptSchema } from '../broadcast/receipt-format';
import { MAX_MICRO } from '../money';
import { memberProcedure, router } from '../trpc';

const id = z.string().min(1).max(64);
const place = z.object({ broadcastId: id, deviceId: id });
const relaying = place.extend({ relay: z.boolean(), fanOut: z.number().int().min(0).max(8).default(2) });

/** Broadcasts: live camera audio/video to a community through a relay tree of viewers' devices. */
export const broadcastRouter = router({
  /** Live broadcasts of the member's communities, newest first. */
  list: memberProcedure.query(({ ctx }) => listBroadcasts(ctx.db, ctx.member.id)),

  /** One broadcast, for a member of its community. */
  get: memberProcedure.input(z.object({ broadcastId: id })).query(({ ctx, input }) => getBroadcast(ctx.db, ctx.member.id, input.broadcastId)),

  /** Starts a broadcast from the member's device; `budget` (micro-credits) moves to escrow to pay relays `pricePerMb`. */
  start: memberProcedure
    .input(
      z.object({
        communityId: id,
        deviceId: id,
        title: z.string().trim().min(1, 'Give the broadcast a title.').max(80),
        fanOut: z.number().int().min(1).max(8),
        pricePerMb: z.number().int().min(0).max(MAX_MICRO),
        budget: z.number().int().min(0).max(MAX_MICRO),
      }),
    )
    .mutation(({ ctx, input }) => startBroadcast(ctx.db, ctx.member.id, input)),

  /** A device joins as a viewer (relaying for up to `fanOut` others when `relay`); it needs a registered key. */
  join: memberProcedure.input(relaying).mutation(({ ctx, input }) => joinBroadcast(ctx.db, ctx.member.id, input)),

  /** A viewer turns "relay for others" on or off. */
  relay: memberProcedure.input(relaying).mutation(({ ctx, input }) => setRelay(ctx.db, ctx.member.id, input)),

  /** The page is still there: answers with the device's place (parent link, children). */
  heartbeat: memberProcedure.input(place).mutation(({ ctx, input }) => heartbeat(ctx.db, ctx.member.id, input)),

  /** The device's place without a heartbeat. */
  node: memberProcedure.input(place).query(({ ctx, input }) => nodeView(ctx.db, ctx.member.id, input.broadcastId, input.deviceId)),

  /** A viewer's page closes: its children are re-parented at once. */
  leave: memberProcedure.input(place).mutation(({ ctx, input }) => leaveBroadcast(ctx.db, ctx.member.id, input)),

  /** The broadcaster's view of viewers and the tree. */
  tree: memberProcedure.input(z.object({ broadcastId: id })).query(({ ctx, input }) => broadcastTree(ctx.db, ctx.member.id, input.broadcastId)),

  /** A viewer's signed cumulative receipt for its link (base64url signature of `broadcastReceiptBytes(body)`). */
  receipt: memberProcedure
    .input(z.object({ body: broadcastReceiptSchema, signature: z.string().regex(/^[A-Za-z0-9_-]{40,200}$/, 'A signature is base64url bytes.') }))
    .mutation(({ ctx, input }) => submitBroadcastReceipt(ctx.db, ctx.member.id, input.body, input.signature)),

  /** The broadcaster ends it: every link settles, the rest of the budget comes back. */
  end: memberProcedure.input(z.object({ broadcastId: id })).mutation(({ ctx, input }) => endBroadcast(ctx.db, ctx.member.id, input.broadcastId)),
});
