import { z } from 'zod';
import { joinRental, listRentals, rentalFor, startRental, stopRental, submitReceipt } from '../peripheral/rentals';
import { RENTAL_KINDS, receiptBodySchema } from '../peripheral/receipt-format';
import { contractPartyProcedure, memberProcedure, router } from '../trpc';

const id = z.string().min(1).max(64);

/** Peripheral rentals: a PERIPHERAL contract streamed live from the seller's device, paid from the buyer's signed receipts. */
export const peripheralRouter = router({
  /** The member's peripheral contracts, with their rentals, newest first. */
  list: memberProcedure.query(({ ctx }) => listRentals(ctx.db, ctx.member.id)),

  /** A party's view of one contract's rental (`rental: null` until the seller starts it). */
  get: contractPartyProcedure.query(({ ctx }) => rentalFor(ctx.db, ctx.member.id, ctx.contract.id)),

  /** The seller starts (or carries on, from this device) streaming the contract's camera, microphone or screen. */
  start: contractPartyProcedure
    .input(
      z.object({
        deviceId: id,
        kind: z.enum(RENTAL_KINDS),
        minWidth: z.number().int().min(0).max(7_680).optional(),
        minHeight: z.number().int().min(0).max(4_320).optional(),
        minFps: z.number().int().min(0).max(60).optional(),
      }),
    )
    .mutation(({ ctx, input }) => startRental(ctx.db, ctx.member.id, { ...input, contractId: ctx.contract.id })),

  /** The buyer's device becomes the rental's receiving device (it needs a registered key: `device.setKey`). */
  join: contractPartyProcedure.input(z.object({ deviceId: id })).mutation(({ ctx, input }) => joinRental(ctx.db, ctx.member.id, { contractId: ctx.contract.id, deviceId: input.deviceId })),

  /** A receipt signed by the receiving device's key (base64url signature of `receiptBytes(body)`). */
  receipt: memberProcedure
    .input(z.object({ body: receiptBodySchema, signature: z.string().regex(/^[A-Za-z0-9_-]{40,200}$/, 'A signature is base64url bytes.') }))
    .mutation(({ ctx, input }) => submitReceipt(ctx.db, ctx.member.id, input.body, input.signature)),

  /** The seller stops or the buyer ends the rental: the contract settles at once for the media proven. */
  stop: contractPartyProcedure.mutation(({ ctx }) => stopRental(ctx.db, ctx.member.id, ctx.contract.id)),
});
