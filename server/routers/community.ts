import { DomainError } from '../errors';
import { z } from 'zod';
import { newInviteCode, normalizeInviteCode } from '../community/invite';
import { transaction } from '../db/transaction';
import type { Db } from '../db/client';
import { forgetMemberships } from '../community/membership';
import { grant } from '../ledger/postings';
import { memberBalance, openCommunityAccounts, openMemberAccounts, postEntry } from '../ledger/repository';
import { Prisma } from '../db/generated/sqlite/client';
import { MAX_MICRO, toMicro } from '../money';
import { coordinatorProcedure, communityMemberProcedure, memberProcedure, publicProcedure, router } from '../trpc';
import { resolveRates, valuationRatesSchema } from '../valuation';

const slugSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3, 'A slug needs at least 3 characters.')
  .max(40, 'A slug can have at most 40 characters.')
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'Use lower-case letters, digits and single hyphens, e.g. "river-street".');

const settings = {
  name: z.string().trim().min(2, 'A name needs at least 2 characters.').max(80, 'A name can have at most 80 characters.'),
  description: z.string().trim().max(500, 'A description can have at most 500 characters.'),
  commissionBps: z
    .number()
    .int('Commission is a whole number of basis points.')
    .min(0, 'Commission cannot be negative.')
    .max(5000, 'Commission can be at most 5000 basis points (50%).'),
  startingGrant: z
    .number()
    .int('The starting grant is a whole number of micro-credits.')
    .min(0, 'The starting grant cannot be negative.')
    .max(MAX_MICRO, 'The starting grant is too large.'),
  creditLimit: z
    .number()
    .int('The credit limit is a whole number of micro-credits.')
    .min(0, 'The credit limit cannot be negative.')
    .max(MAX_MICRO, 'The credit limit is too large.'),
  inviteOnly: z.boolean(),
  sweepstakesShareBps: z.number().int().min(0).max(10_000, 'At most the whole commission (10000 basis points).'),
  reviewPeriodHours: z
    .number()
    .int('The review period is a whole number of hours.')
    .min(1, 'The review period is at least 1 hour.')
    .max(720, 'The review period is at most 720 hours (30 days).'),
};

const RESERVED_SLUGS = new Set(['new', 'join']);

const searchText = (name: string, slug: string) => `${name} ${slug}`.toLowerCase();

const publicSelect = {
  id: true,
  name: true,
  slug: true,
  description: true,
  commissionBps: true,
  startingGrant: true,
  creditLimit: true,
  inviteOnly: true,
  sweepstakesShareBps: true,
  reviewPeriodHours: true,
  createdAt: true,
  _count: { select: { memberships: true } },
} as const;

type PublicRow = {
  id: string;
  name: string;
  slug: string;
  description: string;
  commissionBps: number;
  startingGrant: bigint;
  creditLimit: bigint;
  inviteOnly: boolean;
  sweepstakesShareBps: number;
  reviewPeriodHours: number;
  createdAt: Date;
  _count: { memberships: number };
};

const toPublic = (row: PublicRow, role: 'MEMBER' | 'COORDINATOR' | null) => ({
  id: row.id,
  name: row.name,
  slug: row.slug,
  description: row.description,
  commissionBps: row.commissionBps,
  startingGrant: toMicro(row.startingGrant),
  creditLimit: toMicro(row.creditLimit),
  inviteOnly: row.inviteOnly,
  sweepstakesShareBps: row.sweepstakesShareBps,
  reviewPeriodHours: row.reviewPeriodHours,
  createdAt: row.createdAt.toISOString(),
  memberCount: row._count.memberships,
  role,
});

/**
 * Opens the member's accounts and, the first time they ever join, credits the starting grant: once per
 * member and community, which the grant's once-key makes a database guarantee.
 */
async function admit(
  tx: Parameters<Parameters<typeof transaction>[1]>[0],
  community: { id: string; name: string; startingGrant: bigint; creditLimit: bigint },
  memberId: string,
) {
  const firstTime = await openMemberAccounts(tx, community.id, memberId);
  const amount = toMicro(community.startingGrant);
  if (firstTime && amount > 0) {
    await postEntry(tx, community.id, { ...grant(memberId, amount, `Welcome grant from ${community.name}`), onceKey: `grant:${community.id}:${memberId}` }, {
      creditLimit: toMicro(community.creditLimit),
    });
  }
}

const alreadyMember = () => new DomainError('CONFLICT', 'You are already a member of this community.');

/** Waits for a change to memberships or settings, then drops the cached memberships (server/community/membership.ts). */
async function afterwardsForgetMemberships<T>(db: Db, change: Promise<T>): Promise<T> {
  try {
    return await change;
  } finally {
    forgetMemberships(db);
  }
}

export const communityRouter = router({
  create: memberProcedure
    .input(
      z.object({
        ...settings,
        // the app's own screens under /communities/ (a community there could not be reached by its address)
        slug: slugSchema.refine((slug) => !RESERVED_SLUGS.has(slug), 'That address is one of the app’s own pages: choose another.'),
        description: settings.description.default(''),
        creditLimit: settings.creditLimit.default(0),
        sweepstakesShareBps: settings.sweepstakesShareBps.default(0),
        reviewPeriodHours: settings.reviewPeriodHours.default(72),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const taken = await ctx.db.community.findUnique({ where: { slug: input.slug }, select: { id: true } });
      if (taken) throw new DomainError('CONFLICT', `The slug "${input.slug}" is taken: choose another.`);
      return transaction(ctx.db, async (tx) => {
        const community = await tx.community.create({
          data: {
            name: input.name,
            slug: input.slug,
            searchText: searchText(input.name, input.slug),
            description: input.description,
            commissionBps: input.commissionBps,
            startingGrant: BigInt(input.startingGrant),
            creditLimit: BigInt(input.creditLimit),
            inviteOnly: input.inviteOnly,
            sweepstakesShareBps: input.sweepstakesShareBps,
            reviewPeriodHours: input.reviewPeriodHours,
            inviteCode: newInviteCode(),
            memberships: { create: { memberId: ctx.member.id, role: 'COORDINATOR' } },
          },
          select: { id: true, slug: true, name: true, inviteCode: true, startingGrant: true, creditLimit: true },
        });
        await openCommunityAccounts(tx, community.id);
        await admit(tx, community, ctx.member.id);
        return { id: community.id, slug: community.slug, inviteCode: community.inviteCode };
      });
    }),

  join: memberProcedure
    .input(z.object({ slug: slugSchema, inviteCode: z.string().max(32).optional() }))
    .mutation(async ({ ctx, input }) => {
      const community = await ctx.db.community.findUnique({
        where: { slug: input.slug },
        select: { id: true, slug: true, name: true, inviteOnly: true, inviteCode: true, startingGrant: true, creditLimit: true },
      });
      if (!community) throw new DomainError('NOT_FOUND', `No community is called "${input.slug}".`);
      if (community.inviteOnly) {
        if (!input.inviteCode) {
          throw new DomainError('FORBIDDEN', 'This community is invite-only: enter the invite code you were given.');
        }
        if (normalizeInviteCode(input.inviteCode) !== community.inviteCode) {
          throw new DomainError('FORBIDDEN', 'That invite code is not right for this community: check it with whoever invited you.');
        }
      }
      return transaction(ctx.db, async (tx) => {
        const already = await tx.membership.findUnique({
          where: { memberId_communityId: { memberId: ctx.member.id, communityId: community.id } },
          select: { role: true },
        });
        if (already) throw alreadyMember();
        // the unique (member, community) index decides between joins racing each other
        await tx.membership.create({ data: { memberId: ctx.member.id, communityId: community.id } }).catch((error: unknown) => {
          throw error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002' ? alreadyMember() : error;
        });
        await admit(tx, community, ctx.member.id);
        return { id: community.id, slug: community.slug };
      });
    }),

  leave: communityMemberProcedure.mutation(async ({ ctx }) => {
    return afterwardsForgetMemberships(ctx.db, transaction(ctx.db, async (tx) => {
      if (ctx.role === 'COORDINATOR') {
        const coordinators = await tx.membership.count({ where: { communityId: ctx.community.id, role: 'COORDINATOR' } });
        if (coordinators <= 1) {
          throw new DomainError('PRECONDITION', 'You are the only coordinator: make another member coordinator before you leave.');
        }
      }
      const { escrow } = await memberBalance(tx, ctx.community.id, ctx.member.id);
      if (escrow !== 0) {
        throw new DomainError('PRECONDITION', 'You still have credits in escrow here: finish or cancel your open trades first.');
      }
      await tx.membership.delete({
        where: { memberId_communityId: { memberId: ctx.member.id, communityId: ctx.community.id } },
      });
      return { ok: true };
    }));
  }),

  list: publicProcedure
    .input(
      z
        .object({
          search: z.string().trim().max(80).optional(),
          mine: z.boolean().optional(),
          cursor: z.string().max(64).nullish(),
          limit: z.number().int().min(1).max(100).default(30),
        })
        .default({ limit: 30 }),
    )
    .query(async ({ ctx, input }) => {
      const memberId = ctx.member?.id;
      if (input.mine && !memberId) throw new DomainError('UNAUTHENTICATED', 'Sign in to see your communities.');
      const rows = await ctx.db.community.findMany({
        where: {
          ...(input.search ? { searchText: { contains: input.search.toLowerCase() } } : {}),
          ...(input.mine ? { memberships: { some: { memberId } } } : {}),
        },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: input.limit + 1,
        ...(input.cursor ? { cursor: { id: input.cursor }, skip: 1 } : {}),
        select: {
          ...publicSelect,
          memberships: { where: { memberId: memberId ?? '' }, select: { role: true } },
        },
      });
      const page = rows.slice(0, input.limit);
      return {
        items: page.map((row) => toPublic(row, row.memberships[0]?.role ?? null)),
        nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
      };
    }),

  get: publicProcedure.input(z.object({ slug: slugSchema })).query(async ({ ctx, input }) => {
    const row = await ctx.db.community.findUnique({
      where: { slug: input.slug },
      select: {
        ...publicSelect,
        inviteCode: true,
        valuationRates: true,
        memberships: { where: { memberId: ctx.member?.id ?? '' }, select: { role: true } },
      },
    });
    if (!row) throw new DomainError('NOT_FOUND', `No community is called "${input.slug}".`);
    const role = row.memberships[0]?.role ?? null;
    return {
      ...toPublic(row, role),
      valuationRates: resolveRates(row.valuationRates),
      // only the coordinator sees the invite code, to pass it on
      inviteCode: role === 'COORDINATOR' ? row.inviteCode : null,
    };
  }),

  members: communityMemberProcedure.query(async ({ ctx }) => {
    const rows = await ctx.db.membership.findMany({
      where: { communityId: ctx.community.id },
      orderBy: { joinedAt: 'asc' },
      select: { role: true, joinedAt: true, member: { select: { id: true, handle: true } } },
    });
    return rows.map((row) => ({ ...row.member, role: row.role, joinedAt: row.joinedAt.toISOString() }));
  }),

  update: coordinatorProcedure
    .input(
      z.object({
        ...z.object(settings).partial().shape,
        valuationRates: valuationRatesSchema.nullish(),
        rotateInviteCode: z.boolean().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const { communityId, rotateInviteCode, valuationRates, startingGrant, creditLimit, ...rest } = input;
      const updated = await afterwardsForgetMemberships(ctx.db, ctx.db.community.update({
        where: { id: communityId },
        data: {
          ...rest,
          ...(rest.name ? { searchText: searchText(rest.name, ctx.community.slug) } : {}),
          ...(startingGrant !== undefined ? { startingGrant: BigInt(startingGrant) } : {}),
          ...(creditLimit !== undefined ? { creditLimit: BigInt(creditLimit) } : {}),
          // null resets the rates to the defaults: a Json? column needs the database's NULL said explicitly
          ...(valuationRates !== undefined ? { valuationRates: valuationRates ?? Prisma.DbNull } : {}),
          ...(rotateInviteCode ? { inviteCode: newInviteCode() } : {}),
        },
        select: { ...publicSelect, inviteCode: true, valuationRates: true },
      }));
      return {
        ...toPublic(updated, ctx.role),
        valuationRates: resolveRates(updated.valuationRates),
        inviteCode: updated.inviteCode,
      };
    }),

  setRole: coordinatorProcedure
    .input(z.object({ memberId: z.string().min(1).max(64), role: z.enum(['MEMBER', 'COORDINATOR']) }))
    .mutation(async ({ ctx, input }) => {
      return afterwardsForgetMemberships(ctx.db, transaction(ctx.db, async (tx) => {
        const target = await tx.membership.findUnique({
          where: { memberId_communityId: { memberId: input.memberId, communityId: ctx.community.id } },
          select: { role: true },
        });
        if (!target) throw new DomainError('NOT_FOUND', 'That person is not a member of this community.');
        if (input.role === 'MEMBER' && target.role === 'COORDINATOR') {
          const coordinators = await tx.membership.count({ where: { communityId: ctx.community.id, role: 'COORDINATOR' } });
          if (coordinators <= 1) {
            throw new DomainError('PRECONDITION', 'A community needs at least one coordinator.');
          }
        }
        await tx.membership.update({
          where: { memberId_communityId: { memberId: input.memberId, communityId: ctx.community.id } },
          data: { role: input.role },
        });
        return { memberId: input.memberId, role: input.role };
      }));
    }),
});
