import { z } from 'zod';
import { NETWORK_TYPES, HARD_RATE_PER_MINUTE } from '../pageviews/rules';
import { addSite, listSites, verifySite } from '../pageviews/sites';
import { campaignReport, cancelViews, claimView, listCampaigns, orderViews, reportView, servingStatus, setServing } from '../pageviews/views';
import { communityDeviceProcedure, communityMemberProcedure, memberProcedure, router } from '../trpc';

const id = z.string().min(1).max(64);
/** micro-credits per view: at least 1 µ, at most 1,000 credits */
const price = z.number().int().min(1).max(1_000_000_000);

/** Page views / web performance testing: verified sites, orders of views, donors' devices loading them. */
export const pageviewsRouter = router({
  /** The member's sites, with their tokens and whether they are verified. */
  sites: memberProcedure.query(({ ctx }) => listSites(ctx.db, ctx.member.id)),

  /** Adds a site (an http(s) origin) to verify, with the most views per minute it may receive. */
  addSite: memberProcedure
    .input(z.object({ origin: z.string().min(3).max(200), ratePerMinute: z.number().int().min(1).max(HARD_RATE_PER_MINUTE).default(30) }))
    .mutation(({ ctx, input }) => addSite(ctx.db, ctx.member.id, input)),

  /** The coordinator fetches the site's token file now; PRECONDITION with the reason when it is not there. */
  verifySite: memberProcedure.input(z.object({ siteId: id })).mutation(({ ctx, input }) => verifySite(ctx.db, ctx.member.id, input.siteId)),

  /** Orders views of a page of a verified site, paid per validated view from the escrow this holds. */
  order: communityMemberProcedure
    .input(
      z.object({
        siteId: id,
        path: z.string().min(1).max(500),
        quantity: z.number().int().min(1).max(10_000),
        price,
        networks: z.array(z.enum(NETWORK_TYPES)).max(NETWORK_TYPES.length).default([]),
        hours: z.number().int().min(1).max(168).default(24),
      }),
    )
    .mutation(({ ctx, input }) => orderViews(ctx.db, ctx.member.id, ctx.community, input)),

  cancel: memberProcedure.input(z.object({ campaignId: id })).mutation(({ ctx, input }) => cancelViews(ctx.db, ctx.member.id, input.campaignId)),

  /** The member's page-view orders, newest first. */
  orders: memberProcedure.query(({ ctx }) => listCampaigns(ctx.db, ctx.member.id)),

  /** One order's report: p50/p95 by network type and region, errors, and each view's token. */
  report: memberProcedure.input(z.object({ campaignId: id })).query(({ ctx, input }) => campaignReport(ctx.db, ctx.member.id, input.campaignId)),

  /** Switches serving page views on (at a floor price per view) or off for one of the member's devices. */
  setServing: communityDeviceProcedure
    .input(z.object({ on: z.boolean(), floorPrice: price.default(1) }))
    .mutation(({ ctx, input }) => setServing(ctx.db, ctx.member.id, ctx.community, { deviceId: ctx.device.id, on: input.on, floorPrice: input.floorPrice })),

  /** Whether the device serves page views, and the views it loaded and what they earned. */
  serving: communityDeviceProcedure.query(({ ctx }) => servingStatus(ctx.db, ctx.member.id, ctx.community.id, ctx.device.id)),

  /** Hands the device one view to load (`view: null` when there is none now). */
  claim: communityDeviceProcedure
    .input(z.object({ timeZone: z.string().max(64).optional() }))
    .mutation(({ ctx, input }) => claimView(ctx.db, ctx.member.id, { communityId: ctx.community.id, deviceId: ctx.device.id, timeZone: input.timeZone })),

  /** The device's report of a view it loaded: the load time, or the error. */
  submit: memberProcedure
    .input(
      z.object({
        viewId: id,
        deviceId: id,
        token: z.string().min(16).max(64),
        outcome: z.discriminatedUnion('ok', [
          z.object({ ok: z.literal(true), durationMs: z.number().int().min(1).max(600_000), ttfbMs: z.number().int().min(0).max(600_000).nullish() }),
          z.object({ ok: z.literal(false), error: z.string().min(1).max(200) }),
        ]),
      }),
    )
    .mutation(({ ctx, input }) => reportView(ctx.db, ctx.member.id, { viewId: input.viewId, deviceId: input.deviceId, report: { token: input.token, ...input.outcome } })),
});
