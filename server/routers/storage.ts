import { z } from 'zod';
import { MAX_MICRO } from '../money';
import { communityDeviceProcedure, deviceOwnerProcedure, memberProcedure, router } from '../trpc';
import { MAX_CHALLENGE_BYTES, MAX_PERIOD_MS, MAX_PERIODS, MAX_REPLICAS, MAX_SHARD_BYTES, MAX_SHARDS, MIN_PERIOD_MS } from '../storage/domain';
import { deviceWork, lend, lendingView, mayServe, stopLending } from '../storage/devices';
import { createPlan, memberPlans, planView } from '../storage/plans';
import { answerChallenge, confirmStored } from '../storage/proofs';

const id = z.string().min(1).max(64);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'A SHA-256 is 64 lower-case hex digits.');
/** At most this many prepared challenges per plan. */
const MAX_CHALLENGES = 20_000;

const planInput = z.object({
  name: z.string().trim().min(1).max(200),
  /** public facts the buyer's devices need to decrypt with their own key (IV, packing); never the key */
  meta: z.record(z.string().max(64), z.union([z.string().max(2_000), z.number(), z.boolean()])).refine((m) => Object.keys(m).length <= 32, 'At most 32 facts.'),
  replicas: z.number().int().min(1).max(MAX_REPLICAS),
  periodSeconds: z.number().int().min(MIN_PERIOD_MS / 1000).max(MAX_PERIOD_MS / 1000),
  periods: z.number().int().min(1).max(MAX_PERIODS),
  maxPrice: z.number().int().positive().max(MAX_MICRO),
  shards: z
    .array(z.object({ index: z.number().int().min(0).max(MAX_SHARDS), sizeBytes: z.number().int().positive().max(Number.MAX_SAFE_INTEGER), sha256: hex64 }))
    .min(1)
    .max(MAX_SHARDS),
  challenges: z
    .array(z.object({ shardIndex: z.number().int().min(0).max(MAX_SHARDS), offset: z.number().int().min(0).max(MAX_SHARD_BYTES), length: z.number().int().positive().max(MAX_CHALLENGE_BYTES), nonce: z.string().regex(/^[0-9a-f]{32,64}$/), expected: hex64 }))
    .max(MAX_CHALLENGES),
  /** a STORAGE contract the member holds (e.g. a barter's storage leg) to keep the file under, instead of buying room */
  contractId: id.optional(),
});

export const storageRouter = router({
  /** Stores an encrypted file or folder (its shards' sizes and hashes, and the challenges the device prepared) on lending devices. */
  store: communityDeviceProcedure.input(planInput).mutation(({ ctx, input }) => createPlan(ctx.db, ctx.member.id, ctx.community, { ...input, deviceId: ctx.device.id })),

  plans: memberProcedure.query(({ ctx }) => memberPlans(ctx.db, ctx.member.id)),

  plan: memberProcedure.input(z.object({ planId: id })).query(({ ctx, input }) => planView(ctx.db, ctx.member.id, input.planId)),

  /** Offers room on a device for others' encrypted shards: a standing STORAGE ask. */
  lend: communityDeviceProcedure
    .input(z.object({ mb: z.number().int().min(1).max(1_000_000), hours: z.number().int().min(1).max(24 * 366), price: z.number().int().positive().max(MAX_MICRO) }))
    .mutation(({ ctx, input }) => lend(ctx.db, ctx.member.id, ctx.community, { ...input, deviceId: ctx.device.id })),

  /** Stops lending from a device: its asks close and the copies it keeps move to other lenders first. */
  stopLending: deviceOwnerProcedure.mutation(({ ctx }) => stopLending(ctx.db, ctx.member.id, ctx.device.id)),

  lending: deviceOwnerProcedure.query(({ ctx }) => lendingView(ctx.db, ctx.member.id, ctx.device.id)),

  /** Challenges to answer, copies to fetch, keep, serve or delete: what the device's storage agent works from. */
  work: deviceOwnerProcedure.query(({ ctx }) => deviceWork(ctx.db, ctx.device.id)),

  /** The device verified a copy's SHA-256 and keeps it. */
  stored: deviceOwnerProcedure.input(z.object({ placementId: id })).mutation(({ ctx, input }) => confirmStored(ctx.db, { deviceId: ctx.device.id, placementId: input.placementId })),

  /** The device's answer to a challenge: the SHA-256 of the nonce followed by the asked bytes of its copy. */
  answer: deviceOwnerProcedure
    .input(z.object({ challengeId: id, shardId: id, proof: hex64 }))
    .mutation(({ ctx, input }) => answerChallenge(ctx.db, { challengeId: input.challengeId, shardId: input.shardId, proof: input.proof, deviceId: ctx.device.id })),

  /** Asked by a device before it sends its copy of a shard to another device. */
  mayServe: deviceOwnerProcedure.input(z.object({ shardId: id, toDeviceId: id })).query(({ ctx, input }) => mayServe(ctx.db, ctx.device.id, input)),
});
