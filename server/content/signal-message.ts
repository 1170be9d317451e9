import { z } from 'zod';

/**
 * What devices may relay to each other through the coordinator: WebRTC session descriptions, ICE
 * candidates and a greeting. Shared by the server (validating `signal.send`) and the browser
 * (validating what arrives), so this file imports zod only.
 */
export const signalMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.enum(['offer', 'answer', 'pranswer', 'rollback']), sdp: z.string().max(100_000) }),
  z.object({
    type: z.literal('candidate'),
    candidate: z.object({
      candidate: z.string().max(2_000),
      sdpMid: z.string().max(64).nullish(),
      sdpMLineIndex: z.number().int().min(0).max(64).nullish(),
      usernameFragment: z.string().max(256).nullish(),
    }),
  }),
  z.object({ type: z.literal('renegotiate'), renegotiate: z.literal(true).optional() }),
  z.object({ type: z.literal('transceiverRequest'), transceiverRequest: z.object({ kind: z.string().max(16) }).optional() }),
  z.object({ type: z.literal('hello'), transferId: z.string().max(64).optional() }),
]);
export type SignalMessage = z.infer<typeof signalMessageSchema>;

/**
 * The presence "community" of a device kept online for its paired devices only (its member may be in no
 * community): `signal.presence` and `signal.stream` take it in place of a community id. Shared with the browser.
 */
export const PAIRED_ONLY = 'paired';
