import { z } from 'zod';
import { relayReceiptSchema } from '../relay/receipt-format';
import { receiversFor, getSession, joinSession, listSessions, openSession, relayForContract, serveSession, stopSession, submitRelayReceipt } from '../relay/sessions';
import { memberProcedure, router } from '../trpc';

const id = z.string().min(1).max(64);

/** Relays: a NETWORK/MB contract delivered by the seller's device relaying encrypted bytes between two other devices. */
export const relayRouter = router({
  /** The member's relay sessions, sending, receiving or relaying, newest first. */
  list: memberProcedure.query(({ ctx }) => listSessions(ctx.db, ctx.member.id)),

  /** A contract's relay as its buyer or seller sees it (`session: null` until the buyer opens one). */
  forContract: memberProcedure.input(z.object({ contractId: id })).query(({ ctx, input }) => relayForContract(ctx.db, ctx.member.id, input.contractId)),

  /** One session, for any of its three parties (with both ends' device keys, to check each other's key exchange). */
  get: memberProcedure.input(z.object({ sessionId: id })).query(({ ctx, input }) => getSession(ctx.db, ctx.member.id, input.sessionId)),

  /** Devices the buyer may send to through the contract's relay (other members of its community, paired devices). */
  receivers: memberProcedure.input(z.object({ contractId: id, deviceId: id })).query(({ ctx, input }) => receiversFor(ctx.db, ctx.member.id, input.contractId, input.deviceId)),

  /** The buyer opens the contract's relay from their device (`deviceId`) to another member's device (`toDeviceId`). */
  open: memberProcedure
    .input(z.object({ contractId: id, deviceId: id, toDeviceId: id }))
    .mutation(({ ctx, input }) => openSession(ctx.db, ctx.member.id, input)),

  /** The receiving member joins with one of their devices (it needs a registered key: `device.setKey`). */
  join: memberProcedure.input(z.object({ sessionId: id, deviceId: id })).mutation(({ ctx, input }) => joinSession(ctx.db, ctx.member.id, input)),

  /** The seller's device attaches as the relay. */
  serve: memberProcedure.input(z.object({ sessionId: id, deviceId: id })).mutation(({ ctx, input }) => serveSession(ctx.db, ctx.member.id, input)),

  /** An end's cumulative receipt signed by its device key (base64url signature of `relayReceiptBytes(body)`). */
  receipt: memberProcedure
    .input(z.object({ body: relayReceiptSchema, signature: z.string().regex(/^[A-Za-z0-9_-]{40,200}$/, 'A signature is base64url bytes.') }))
    .mutation(({ ctx, input }) => submitRelayReceipt(ctx.db, ctx.member.id, input.body, input.signature)),

  /** Any party ends the session: the contract settles at once for the bytes both ends confirmed. */
  stop: memberProcedure.input(z.object({ sessionId: id })).mutation(({ ctx, input }) => stopSession(ctx.db, ctx.member.id, input.sessionId)),
});
