import { z } from 'zod';
import { MAX_MICRO, toMicro } from '../money';
import { DONOR_SELL_UNITS, donorSells, MAX_MEMORY_OFFER_MB, setDonation } from '../compute/donation';
import { MAX_QUANTITY } from '../market/order-input';
import { MAX_UNITS, storableJson, submitJobInput } from '../compute/job-input';
import { cancelJob, jobView, submitJob, unitPhases, validatedOutputs } from '../compute/jobs';
import { confirmUnit, leaseUnits, MAX_LEASE_BATCH, returnLeases, submitResult, unitsToConfirm } from '../compute/leases';
import { isTrusted, spotCheckRate, TRUST_STREAK } from '../compute/scheduler';
import { spendableContracts } from '../compute/terms';
import { placementView, publishJobOnly, reportSource } from '../compute/placement';
import { sendResultsNow } from '../compute/results';
import { offerResults, resultsForDevice, resultsToSend } from '../compute/results-device';
import { contentHeaderSchema } from '../content/header';
import { waitingJobs } from '../compute/waiting';
import { afterCursor, pageFields, pageOrder, toPage } from '../paging';
import { communityDeviceProcedure, communityMemberProcedure, deviceOwnerProcedure, jobOwnerProcedure, memberProcedure, router } from '../trpc';
import { KERNELS } from '../../workers/kernels';
import { KERNEL_NAMES } from '../../workers/kernels/types';

const id = z.string().min(1).max(64);

export const computeRouter = router({
  kernels: memberProcedure.query(() =>
    Object.values(KERNELS).map((k) => ({ name: k.name, title: k.title, description: k.description })),
  ),

  submitJob: communityMemberProcedure.input(submitJobInput).mutation(async ({ ctx, input }) => {
    const { jobId } = await submitJob(ctx.db, ctx.member.id, ctx.community, input);
    return jobView(ctx.db, jobId, ctx.member.id);
  }),

  /** The member's GFLOP and CPU-second contracts in the community that a new job can spend instead of paying per unit. */
  fundingContracts: communityMemberProcedure.query(({ ctx }) => spendableContracts(ctx.db, ctx.member.id, ctx.community.id)),

  job: memberProcedure.input(z.object({ jobId: id })).query(({ ctx, input }) => jobView(ctx.db, input.jobId, ctx.member.id)),

  /** Validated unit outputs of one of the member's jobs, for results that fill in as they arrive. */
  outputs: jobOwnerProcedure
    .input(z.object({ fromIndex: z.number().int().min(0).max(MAX_UNITS).default(0) }))
    .query(({ ctx, input }) => validatedOutputs(ctx.db, ctx.job.id, input.fromIndex)),

  /** The member's jobs in a community with their progress, newest first, a page at a time: `{ items, nextCursor }`. */
  myJobs: communityMemberProcedure.input(z.object(pageFields)).query(async ({ ctx, input }) => {
    const rows = await ctx.db.job.findMany({
      where: { communityId: ctx.community.id, memberId: ctx.member.id, ...afterCursor(input.cursor, 'desc') },
      orderBy: pageOrder('desc'),
      take: input.limit + 1,
      select: { id: true, createdAt: true },
    });
    const page = toPage(rows, input.limit, (j) => j.id);
    return { items: await Promise.all(page.items.map((jobId) => jobView(ctx.db, jobId, ctx.member.id))), nextCursor: page.nextCursor };
  }),

  /** Where each unit stands, by index ('waiting', 'computing', 'awaiting', 'confirming', 'validated', 'failed'). */
  units: memberProcedure.input(z.object({ jobId: id })).query(({ ctx, input }) => unitPhases(ctx.db, input.jobId, ctx.member.id)),

  /** Units of the owner's job that a donor returned and that wait for confirmation, picked at random: for the owner's device to compute. */
  toConfirm: jobOwnerProcedure
    .input(z.object({ max: z.number().int().min(1).max(MAX_LEASE_BATCH).default(4) }))
    .query(({ ctx, input }) => unitsToConfirm(ctx.db, ctx.job, input.max)),

  /** The owner's own result for such a unit: it decides the unit, confirming the donors who agree (see server/compute/scheduler.ts). */
  confirm: jobOwnerProcedure
    .input(z.object({ unitIndex: z.number().int().min(0).max(MAX_UNITS - 1), output: storableJson('A result (at most 4 MiB of JSON)', 4 * 1024 * 1024) }))
    .mutation(({ ctx, input }) => confirmUnit(ctx.db, ctx.member.id, ctx.job, input.unitIndex, input.output)),

  /** Where the job's code and data come from and where its results go, with the results URL's delivery attempts (owner only). */
  placement: jobOwnerProcedure.query(({ ctx }) => placementView(ctx.db, ctx.job)),

  /** Results of the member's jobs that this device can send to another of their devices (results-device.ts). */
  resultsToSend: deviceOwnerProcedure.query(({ ctx }) => resultsToSend(ctx.db, ctx.member.id, ctx.device.id)),

  /** This device offers a job's results file (its manifest) to the device the owner chose, as a private gift. */
  offerResults: deviceOwnerProcedure
    .input(z.object({ jobId: id, header: contentHeaderSchema }))
    .mutation(({ ctx, input }) => offerResults(ctx.db, ctx.member.id, ctx.device, input)),

  /** Results sent to this device: offered (to take) and delivered. */
  resultsForDevice: deviceOwnerProcedure.query(({ ctx }) => resultsForDevice(ctx.db, ctx.member.id, ctx.device.id)),

  /** Attempts the results URL's delivery now (a pending one at once; a given-up one once more). */
  sendResults: jobOwnerProcedure.mutation(({ ctx }) => sendResultsNow(ctx.db, ctx.job.id)),

  /** A content item for jobs only: the owner and the donors of jobs naming it may fetch it, nobody else. */
  publishSource: communityDeviceProcedure
    .input(z.object({ header: contentHeaderSchema }))
    .mutation(({ ctx, input }) => publishJobOnly(ctx.db, ctx.member.id, ctx.community, { deviceId: ctx.device.id, header: input.header })),

  /** A donor's device found that a job's source item does not hash to the SHA-256 the job names. */
  reportSource: deviceOwnerProcedure
    .input(z.object({ jobId: id, itemId: id, sha256: z.string().regex(/^[0-9a-f]{64}$/, 'A SHA-256 is 64 hexadecimal digits.') }))
    .mutation(({ ctx, input }) => reportSource(ctx.db, ctx.member.id, ctx.device, input)),

  cancelJob: jobOwnerProcedure.mutation(async ({ ctx }) => {
    await cancelJob(ctx.db, ctx.job);
    return jobView(ctx.db, ctx.job.id, ctx.member.id);
  }),

  /** Open jobs in the member's communities with units waiting for a device, best-paying first, and what each unit pays. */
  waitingJobs: memberProcedure
    .input(z.object({ limit: z.number().int().min(1, 'Ask for at least one job.').max(50, 'At most 50 jobs at a time.').default(10) }).default({ limit: 10 }))
    .query(({ ctx, input }) => waitingJobs(ctx.db, ctx.member.id, input.limit)),

  donate: communityDeviceProcedure
    .input(z.object({
      on: z.boolean(),
      floorPrice: z.number().int().positive('The floor price must be more than zero.').max(MAX_MICRO).default(1_000),
      /** MB of memory offered to one unit (0: none); units of jobs with a larger working set never come to this device */
      memoryMb: z.number().int('Memory is a whole number of MB.').min(0).max(MAX_MEMORY_OFFER_MB, `A device can offer at most ${MAX_MEMORY_OFFER_MB} MB.`).default(0),
      /** the least it takes per MB·hour of that memory, micro-credits */
      memoryFloorPrice: z.number().int().positive('The memory floor price must be more than zero.').max(MAX_MICRO).default(1),
      /** standing sells of compute by measure (GFLOP, CPU seconds) beside the donation, replacing the device's earlier ones (left as they are when absent): bids meet them in the book */
      computeSells: z.array(z.object({
        unit: z.enum(DONOR_SELL_UNITS),
        quantity: z.number().int('The quantity is a whole number of units.').positive('The quantity must be more than zero.').max(MAX_QUANTITY, 'That quantity is too large.'),
        price: z.number().int('Prices are whole micro-credits.').positive('The price must be more than zero.').max(MAX_MICRO, 'That price is too large.'),
      })).max(DONOR_SELL_UNITS.length).optional(),
    }))
    .mutation(({ ctx, input }) => setDonation(ctx.db, ctx.member.id, ctx.community, { deviceId: ctx.device.id, on: input.on, floorPrice: input.floorPrice, memoryMb: input.memoryMb, memoryFloorPrice: input.memoryFloorPrice, computeSells: input.computeSells })),

  /** This device's standing GFLOP and CPU-second sells in the community (posted with the Donate switch), with what is left of each. */
  donorSells: communityDeviceProcedure.query(({ ctx }) => donorSells(ctx.db, ctx.community.id, ctx.device.id)),

  /** Work for one of the member's devices, handed out from the scheduler's memory (the device is checked there too, without a query). */
  lease: memberProcedure
    .input(z.object({ deviceId: id, max: z.number().int().min(1).max(MAX_LEASE_BATCH).default(4), kernels: z.array(z.enum(KERNEL_NAMES)).min(1).max(KERNEL_NAMES.length).optional() }))
    .mutation(({ ctx, input }) => leaseUnits(ctx.db, ctx.member.id, input.deviceId, input.max, new Date(), input.kernels)),

  submitResult: memberProcedure
    .input(z.object({
      leaseId: id,
      output: storableJson('A result (at most 4 MiB of JSON)', 4 * 1024 * 1024),
      /** more work for the device in the same call (see submitResult) */
      next: z.object({ deviceId: id, max: z.number().int().min(1).max(MAX_LEASE_BATCH), kernels: z.array(z.enum(KERNEL_NAMES)).min(1).max(KERNEL_NAMES.length).optional() }).optional(),
    }))
    .mutation(({ ctx, input }) => submitResult(ctx.db, ctx.member.id, input.leaseId, input.output, new Date(), input.next)),

  returnLeases: deviceOwnerProcedure.mutation(({ ctx }) => returnLeases(ctx.db, ctx.device)),

  /**
   * What a device has done as a donor: units validated and refused, results done and awaiting confirmation,
   * its trust (confirmed results in a row, out of the `trustAfter` that make it trusted, and the share of
   * its units still spot-checked), credits earned.
   */
  donorStats: deviceOwnerProcedure.query(async ({ ctx, input }) => {
    const { device } = ctx;
    const [leased, awaiting, trust, contracts, donations] = await Promise.all([
      ctx.db.replica.count({ where: { deviceId: input.deviceId, status: 'LEASED' } }),
      ctx.db.replica.count({ where: { deviceId: input.deviceId, status: 'SUBMITTED', job: { status: 'OPEN' } } }),
      ctx.db.device.findUniqueOrThrow({ where: { id: input.deviceId }, select: { trustStreak: true } }),
      ctx.db.contract.findMany({
        where: { sellerId: ctx.member.id, state: 'SETTLED', category: 'COMPUTE', sellOrder: { deviceId: input.deviceId, donation: true } },
        select: { quantity: true, price: true, sellerCommission: true },
      }),
      ctx.db.order.findMany({ where: { deviceId: input.deviceId, donation: true, status: 'OPEN', category: 'COMPUTE' }, select: { communityId: true, price: true } }),
    ]);
    return {
      validResults: device.validResults,
      invalidResults: device.invalidResults,
      leased,
      awaitingConfirmation: awaiting,
      trustStreak: trust.trustStreak,
      trustAfter: TRUST_STREAK,
      trusted: isTrusted(trust.trustStreak),
      spotCheckRate: spotCheckRate(trust.trustStreak),
      earned: contracts.reduce((sum, c) => sum + c.quantity * toMicro(c.price) - toMicro(c.sellerCommission), 0),
      donatingIn: donations.map((d) => ({ communityId: d.communityId, floorPrice: toMicro(d.price) })),
    };
  }),
});
