import { z } from 'zod';

/**
 * A broadcast viewer's receipt for the media it received over one link of the relay tree (from its parent), as
 * its device measures (WebRTC `inbound-rtp` statistics), signs and sends it, and the bytes it signs. Shared by the
 * coordinator and the browser, so this file imports zod only.
 */

/** How often a viewer sends a receipt for its current link. */
export const BROADCAST_RECEIPT_INTERVAL_MS = 2_000;
/** How often a page in a broadcast (the broadcaster or a viewer) tells the coordinator it is still there. */
export const BROADCAST_HEARTBEAT_MS = 2_000;
/**
 * A viewer not heard from for this long has left: its children are re-parented. (A page that closes says so at
 * once; this is for a page that crashed or lost its network. Shorter timeouts took busy phones out of the tree.)
 */
export const VIEWER_TIMEOUT_MS = 10_000;
/** A broadcaster not heard from for this long has ended the broadcast. */
export const BROADCASTER_TIMEOUT_MS = 30_000;
/** 1 MB, in bytes, as relays are priced. */
export const BYTES_PER_MB = 1_000_000;

const id = z.string().min(1).max(64);

export const broadcastReceiptSchema = z.object({
  version: z.literal(1),
  broadcastId: id,
  /** the link (parent → this viewer) the media came over */
  linkId: id,
  /** the viewer's device that measured and signed it */
  deviceId: id,
  /** 1, 2, 3… per link: a number already accepted is a replay */
  seq: z.number().int().min(1).max(1_000_000),
  /** cumulative media bytes received over the link (inbound-rtp `bytesReceived`, audio and video) */
  bytes: z.number().int().min(0).max(1e13),
  /** cumulative milliseconds of media received over the link */
  mediaMs: z.number().int().min(0).max(1e9),
  /** the device's clock when it signed (informational: the coordinator judges by its own clock) */
  at: z.number().int().min(0).max(1e14),
});
export type BroadcastReceipt = z.infer<typeof broadcastReceiptSchema>;

/** The bytes a viewer signs: the fields in a fixed order, as a JSON array. */
export function broadcastReceiptBytes(body: BroadcastReceipt): Uint8Array {
  const fields = [body.version, body.broadcastId, body.linkId, body.deviceId, body.seq, body.bytes, body.mediaMs, body.at];
  return new TextEncoder().encode(JSON.stringify(['swapmesh-broadcast-receipt', ...fields]));
}
