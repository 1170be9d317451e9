import { z } from 'zod';
import { createPairCode, deviceInbox, pairWithCode, presenceFeed, sendSignal, signalMessageSchema } from '../content/signaling';
import { memberProcedure, router } from '../trpc';

const id = z.string().min(1).max(64);

export const signalRouter = router({
  /** Relays a WebRTC signaling message to another device; the sender is the caller's own device. */
  send: memberProcedure
    .input(z.object({ fromDeviceId: id, toDeviceId: id, message: signalMessageSchema }))
    .mutation(({ ctx, input }) => sendSignal(ctx.db, ctx.member.id, input)),

  inbox: memberProcedure
    .input(z.object({ deviceId: id, lastEventId: z.string().max(20).nullish() }))
    .subscription(({ ctx, input, signal }) => deviceInbox(ctx.db, ctx.member.id, input.deviceId, input.lastEventId, signal)),

  presence: memberProcedure
    .input(z.object({ deviceId: id, communityId: id }))
    .subscription(({ ctx, input, signal }) => presenceFeed(ctx.db, ctx.member.id, input.deviceId, input.communityId, ctx.clientAddress, signal)),

  pairCode: memberProcedure.input(z.object({ deviceId: id })).mutation(({ ctx, input }) => createPairCode(ctx.db, ctx.member.id, input.deviceId)),

  pair: memberProcedure
    .input(z.object({ deviceId: id, code: z.string().trim().regex(/^\d{6}$/, 'A pairing code is 6 digits.') }))
    .mutation(({ ctx, input }) => pairWithCode(ctx.db, ctx.member.id, input.deviceId, input.code)),
});
