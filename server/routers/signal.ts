import { tracked, type TrackedEnvelope } from '@trpc/server';
import { z } from 'zod';
import { createPairCode, listPairings, PAIRED_ONLY, pairWithCode, presenceFeed, sendSignal, signalMessageSchema, unpair, type SignalMessage } from '../content/signaling';
import { bookWatchFor } from '../live/book-state';
import { liveStream } from '../live/stream';
import { deviceSignals, latestSignalId, planTabStream, rowCursor, tabStreamSource } from '../live/tab-stream';
import { MAX_STREAM_BOOKS, MAX_STREAM_DEVICES, type StreamEvent } from '../live/tab-protocol';
import { deviceOwnerProcedure, memberProcedure, router, senderDeviceProcedure } from '../trpc';
import { CATEGORIES } from '../valuation/categories';

const id = z.string().min(1).max(64);

const streamInput = z.object({
  books: z
    .array(z.object({ communityId: id, category: z.enum(CATEGORIES), unit: z.string().min(1).max(32).optional(), tradeLimit: z.number().int().min(1).max(50).default(10) }))
    .max(MAX_STREAM_BOOKS)
    .default([]),
  devices: z.array(z.object({ deviceId: id, presenceCommunityId: id.optional() })).max(MAX_STREAM_DEVICES).default([]),
  lastEventId: z.string().max(64).nullish(),
});

type Tracked = Extract<StreamEvent, { feed: 'event' | 'signal' }>;
type Untracked = Exclude<StreamEvent, Tracked>;

export const signalRouter = router({
  /** Relays a WebRTC signaling message to another device; the sender is the caller's own device. */
  send: senderDeviceProcedure
    .input(z.object({ toDeviceId: id, message: signalMessageSchema }))
    .mutation(({ ctx, input }) => sendSignal(ctx.db, ctx.member.id, { fromDeviceId: ctx.device.id, toDeviceId: input.toDeviceId, message: input.message })),

  /** Signals addressed to the device, from after `lastEventId` (or from now on), as tracked events (id = the signal's id). */
  inbox: deviceOwnerProcedure
    .input(z.object({ lastEventId: z.string().max(20).nullish() }))
    .subscription(async function* ({ ctx, input, signal }) {
      const cursor = rowCursor(input.lastEventId) ?? (await latestSignalId(ctx.db));
      for await (const s of deviceSignals(ctx.db, [ctx.device.id], cursor, signal)) {
        yield tracked(String(s.id), { fromDeviceId: s.fromDeviceId, fromHandle: s.fromHandle, message: s.message as SignalMessage });
      }
    }),

  /**
   * Keeps the device online (from the address the coordinator sees) and lists the devices it may reach online:
   * the community's, and its paired devices (`paired: true`). `communityId: "paired"` lists the paired ones only,
   * for a member in no community.
   */
  presence: deviceOwnerProcedure
    .input(z.object({ communityId: id }))
    .subscription(({ ctx, input, signal }) => presenceFeed(ctx.db, ctx.member.id, ctx.device.id, input.communityId, ctx.clientAddress, signal)),

  /**
   * Every live feed of a browser in one stream (server/live/tab-protocol.ts): the member's events
   * (`market.events`), the books listed (`market.bookEvents`), and for each device listed its signals
   * (`signal.inbox`) and, with `presenceCommunityId`, its presence there (`signal.presence`). Tracked
   * events carry `<event id>.<signal id>`: sent back as `lastEventId`, the stream resumes after both. A
   * book or device the member may not watch is answered by a `refused` event; the rest goes on.
   */
  stream: memberProcedure.input(streamInput).subscription(async ({ ctx, input, signal }) => {
    const { db, member, clientAddress } = ctx;
    const plan = await planTabStream(db, member.id, input, {
      async book(want) {
        const membership = await db.membership.count({ where: { memberId: member.id, communityId: want.communityId } });
        if (!membership) return { code: 'FORBIDDEN', message: 'You are not a member of this community: join it first.' };
        return bookWatchFor(db, want);
      },
      async device(want) {
        const device = await db.device.count({ where: { id: want.deviceId, memberId: member.id } });
        if (!device) return { code: 'NOT_FOUND', message: 'You have no device with that id.' };
        const community = want.presenceCommunityId;
        if (community && community !== PAIRED_ONLY && !(await db.membership.count({ where: { memberId: member.id, communityId: community } }))) {
          return { code: 'FORBIDDEN', message: 'You are not a member of this community.' };
        }
        return null;
      },
    });
    const presence = (deviceId: string, communityId: string, stop: AbortSignal) => presenceFeed(db, member.id, deviceId, communityId, clientAddress, stop);
    return liveStream<TrackedEnvelope<Tracked> | Untracked>(signal, tabStreamSource(db, plan, presence));
  }),

  pairCode: deviceOwnerProcedure.mutation(({ ctx }) => createPairCode(ctx.db, ctx.member.id, ctx.device.id)),

  pair: deviceOwnerProcedure
    .input(z.object({ code: z.string().trim().regex(/^\d{6}$/, 'A pairing code is 6 digits.') }))
    .mutation(({ ctx, input }) => pairWithCode(ctx.db, ctx.member.id, ctx.device.id, input.code)),

  /** The devices paired with this one (whichever side showed the code), online or not, until either side removes the pairing. */
  pairings: deviceOwnerProcedure.query(({ ctx }) => listPairings(ctx.db, ctx.device.id, ctx.clientAddress)),

  /** Removes this device's pairing with another; either side may. */
  unpair: deviceOwnerProcedure.input(z.object({ pairedDeviceId: id })).mutation(({ ctx, input }) => unpair(ctx.db, ctx.device.id, input.pairedDeviceId)),
});
