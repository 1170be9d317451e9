import { z } from 'zod';
import { createPairCode, deviceInbox, pairWithCode, presenceFeed, sendSignal, signalMessageSchema } from '../content/signaling';
import { deviceOwnerProcedure, router, senderDeviceProcedure } from '../trpc';

const id = z.string().min(1).max(64);

export const signalRouter = router({
  /** Relays a WebRTC signaling message to another device; the sender is the caller's own device. */
  send: senderDeviceProcedure
    .input(z.object({ toDeviceId: id, message: signalMessageSchema }))
    .mutation(({ ctx, input }) => sendSignal(ctx.db, ctx.member.id, { fromDeviceId: ctx.device.id, toDeviceId: input.toDeviceId, message: input.message })),

  inbox: deviceOwnerProcedure
    .input(z.object({ lastEventId: z.string().max(20).nullish() }))
    .subscription(({ ctx, input, signal }) => deviceInbox(ctx.db, ctx.device.id, input.lastEventId, signal)),

  presence: deviceOwnerProcedure
    .input(z.object({ communityId: id }))
    .subscription(({ ctx, input, signal }) => presenceFeed(ctx.db, ctx.member.id, ctx.device.id, input.communityId, ctx.clientAddress, signal)),

  pairCode: deviceOwnerProcedure.mutation(({ ctx }) => createPairCode(ctx.db, ctx.member.id, ctx.device.id)),

  pair: deviceOwnerProcedure
    .input(z.object({ code: z.string().trim().regex(/^\d{6}$/, 'A pairing code is 6 digits.') }))
    .mutation(({ ctx, input }) => pairWithCode(ctx.db, ctx.member.id, ctx.device.id, input.code)),
});
