import { initTRPC, TRPCError } from '@trpc/server';
import { z, ZodError } from 'zod';
import { Prisma } from './db/generated/sqlite/client';
import type { Context } from './context';
import { UnbalancedEntryError } from './ledger/postings';
import { toMicro } from './money';

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null,
      },
    };
  },
});

/**
 * The last line of defence that keeps a person's own mistake from surfacing as a 500: database
 * constraint violations that slipped past a handler's checks become CONFLICT / NOT_FOUND.
 */
const translateKnownErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  const cause = result.error.cause;
  if (cause instanceof Prisma.PrismaClientKnownRequestError) {
    if (cause.code === 'P2002') {
      throw new TRPCError({ code: 'CONFLICT', message: 'That already exists: choose another value.', cause });
    }
    if (cause.code === 'P2025') {
      throw new TRPCError({ code: 'NOT_FOUND', message: 'That record no longer exists.', cause });
    }
  }
  if (cause instanceof UnbalancedEntryError) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(translateKnownErrors);

/** A signed-in member; narrows `ctx.member` to non-null for every handler below it. */
export const memberProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.member) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
  return next({ ctx: { ...ctx, member: ctx.member } });
});

/** A member of the community named by `input.communityId`; hands on the community and the role. */
export const communityMemberProcedure = memberProcedure
  .input(z.object({ communityId: z.string().min(1).max(64) }))
  .use(async ({ ctx, input, next }) => {
    const membership = await ctx.db.membership.findUnique({
      where: { memberId_communityId: { memberId: ctx.member.id, communityId: input.communityId } },
      select: {
        role: true,
        community: {
          select: { id: true, slug: true, name: true, commissionBps: true, creditLimit: true, valuationRates: true },
        },
      },
    });
    if (!membership) {
      const exists = await ctx.db.community.count({ where: { id: input.communityId } });
      throw exists
        ? new TRPCError({ code: 'FORBIDDEN', message: 'You are not a member of this community: join it first.' })
        : new TRPCError({ code: 'NOT_FOUND', message: 'No such community.' });
    }
    // money in the context is micro-credits as numbers, like everywhere past the database
    const community = { ...membership.community, creditLimit: toMicro(membership.community.creditLimit) };
    return next({ ctx: { ...ctx, community, role: membership.role } });
  });

/** The community's coordinator (its creator, or whoever holds the role). */
export const coordinatorProcedure = communityMemberProcedure.use(({ ctx, next }) => {
  if (ctx.role !== 'COORDINATOR') {
    throw new TRPCError({ code: 'FORBIDDEN', message: "Only this community's coordinator can do that." });
  }
  return next();
});
