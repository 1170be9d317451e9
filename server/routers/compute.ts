import { z } from 'zod';
import { MAX_MICRO, toMicro } from '../money';
import { setDonation } from '../compute/donation';
import { MAX_UNITS, storableJson, submitJobInput } from '../compute/job-input';
import { cancelJob, jobView, submitJob, validatedOutputs } from '../compute/jobs';
import { leaseUnits, MAX_LEASE_BATCH, returnLeases, submitResult } from '../compute/leases';
import { communityMemberProcedure, memberProcedure, router } from '../trpc';
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

  job: memberProcedure.input(z.object({ jobId: id })).query(({ ctx, input }) => jobView(ctx.db, input.jobId, ctx.member.id)),

  /** Validated unit outputs of one of the member's jobs, for results that fill in as they arrive. */
  outputs: memberProcedure
    .input(z.object({ jobId: id, fromIndex: z.number().int().min(0).max(MAX_UNITS).default(0) }))
    .query(({ ctx, input }) => validatedOutputs(ctx.db, input.jobId, ctx.member.id, input.fromIndex)),

  myJobs: communityMemberProcedure.query(async ({ ctx }) => {
    const jobs = await ctx.db.job.findMany({
      where: { communityId: ctx.community.id, memberId: ctx.member.id },
      orderBy: { createdAt: 'desc' },
      take: 50,
      select: { id: true },
    });
    return Promise.all(jobs.map((j) => jobView(ctx.db, j.id, ctx.member.id)));
  }),

  cancelJob: memberProcedure.input(z.object({ jobId: id })).mutation(async ({ ctx, input }) => {
    await cancelJob(ctx.db, ctx.member.id, input.jobId);
    return jobView(ctx.db, input.jobId, ctx.member.id);
  }),

  donate: communityMemberProcedure
    .input(z.object({ deviceId: id, on: z.boolean(), floorPrice: z.number().int().positive('The floor price must be more than zero.').max(MAX_MICRO).default(1_000) }))
    .mutation(({ ctx, input }) => setDonation(ctx.db, ctx.member.id, ctx.community, input)),

  lease: memberProcedure
    .input(z.object({ deviceId: id, max: z.number().int().min(1).max(MAX_LEASE_BATCH).default(4), kernels: z.array(z.enum(KERNEL_NAMES)).min(1).max(KERNEL_NAMES.length).optional() }))
    .mutation(({ ctx, input }) => leaseUnits(ctx.db, ctx.member.id, input.deviceId, input.max, new Date(), input.kernels)),

  submitResult: memberProcedure
    .input(z.object({ leaseId: id, output: storableJson('A result (at most 4 MiB of JSON)', 4 * 1024 * 1024) }))
    .mutation(({ ctx, input }) => submitResult(ctx.db, ctx.member.id, input.leaseId, input.output)),

  returnLeases: memberProcedure.input(z.object({ deviceId: id })).mutation(({ ctx, input }) => returnLeases(ctx.db, ctx.member.id, input.deviceId)),

  /** What a device has done as a donor: units validated and refused, reliability, credits earned. */
  donorStats: memberProcedure.input(z.object({ deviceId: id })).query(async ({ ctx, input }) => {
    const device = await ctx.db.device.findFirst({ where: { id: input.deviceId, memberId: ctx.member.id }, select: { validResults: true, invalidResults: true } });
    if (!device) return null;
    const [leased, contracts, donations] = await Promise.all([
      ctx.db.replica.count({ where: { deviceId: input.deviceId, status: 'LEASED' } }),
      ctx.db.contract.findMany({
        where: { sellerId: ctx.member.id, state: 'SETTLED', sellOrder: { deviceId: input.deviceId, donation: true } },
        select: { quantity: true, price: true, sellerCommission: true },
      }),
      ctx.db.order.findMany({ where: { deviceId: input.deviceId, donation: true, status: 'OPEN' }, select: { communityId: true, price: true } }),
    ]);
    return {
      validResults: device.validResults,
      invalidResults: device.invalidResults,
      leased,
      earned: contracts.reduce((sum, c) => sum + c.quantity * toMicro(c.price) - toMicro(c.sellerCommission), 0),
      donatingIn: donations.map((d) => ({ communityId: d.communityId, floorPrice: toMicro(d.price) })),
    };
  }),
});
