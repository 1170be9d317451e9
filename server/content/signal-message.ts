import { z } from 'zod';

/**
 * What devices may relay to each other through the coordinator: WebRTC session descriptions, ICE
 * candidates and a greeting, and the same wrapped for a peripheral rental's media connection. Shared by
 * the server (validating `signal.send`) and the browser (validating what arrives), so this file imports zod only.
 */
const peerVariants = [
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
] as const;

/** One peer connection's messages: what simple-peer exchanges, and a greeting. */
export const peerSignalSchema = z.discriminatedUnion('type', [...peerVariants]);

export const signalMessageSchema = z.discriminatedUnion('type', [
  ...peerVariants,
  /** a peripheral rental's media connection (app/_lib/peripheral/media-link.ts), kept apart from transfer links */
  z.object({ type: z.literal('media'), rentalId: z.string().min(1).max(64), signal: peerSignalSchema }),
]);
export type SignalMessage = z.infer<typeof signalMessageSchema>;

/**
 * The presence "community" of a device kept online for its paired devices only (its member may be in no
 * community): `signal.presence` and `signal.stream` take it in place of a community id. Shared with the browser.
 */
export const PAIRED_ONLY = 'paired';
