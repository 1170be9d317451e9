import { randomUUID } from 'node:crypto';
import { initTRPC, TRPCError } from '@trpc/server';
import { z, ZodError } from 'zod';
import { Prisma } from './db/generated/sqlite/client';
import type { Context } from './context';
import { DomainError, type ErrorKind } from './errors';
import { UnbalancedEntryError } from './ledger/postings';
import { toMicro } from './money';

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        zodError: error.cause instanceof ZodError ? z.flattenError(error.cause) : null,
        retryAfterSeconds: error.cause instanceof DomainError ? (error.cause.retryAfterSeconds ?? null) : null,
      },
    };
  },
});

const CODE_OF_KIND: Record<ErrorKind, TRPCError['code']> = {
  BAD_INPUT: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION: 'PRECONDITION_FAILED',
  RATE_LIMITED: 'TOO_MANY_REQUESTS',
  TOO_LARGE: 'PAYLOAD_TOO_LARGE',
};

/** Maps anything a procedure threw to the error the client sees (the one place that does). */
export function toClientError(cause: unknown): TRPCError {
  if (cause instanceof TRPCError && cause.code !== 'INTERNAL_SERVER_ERROR') return cause;
  const error = cause instanceof TRPCError && cause.cause ? cause.cause : cause;
  if (error instanceof DomainError) return new TRPCError({ code: CODE_OF_KIND[error.kind], message: error.message, cause: error });
  if (error instanceof UnbalancedEntryError) return new TRPCError({ code: 'BAD_REQUEST', message: error.message, cause: error });
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    // constraint violations that slipped past a handler's checks are still the caller's conflict
    if (error.code === 'P2002') return new TRPCError({ code: 'CONFLICT', message: 'That already exists or was already done: refresh and try again.', cause: error });
    if (error.code === 'P2025') return new TRPCError({ code: 'NOT_FOUND', message: 'That record no longer exists.', cause: error });
  }
  const id = randomUUID().slice(0, 8);
  console.error(`[error ${id}]`, error instanceof Error ? (error.stack ?? error.message) : error);
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Something went wrong on our side (error ${id}). Try again; if it keeps happening, quote the error id.` });
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  value !== null && typeof value === 'object' && Symbol.asyncIterator in value;

/** A subscription's errors, raised while it streams, go through the same mapping as a resolver's. */
async function* mapStreamErrors<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* source;
  } catch (error) {
    throw toClientError(error);
  }
}

const errorBoundary = t.middleware(async ({ type, next }) => {
  const result = await next();
  if (!result.ok) throw toClientError(result.error);
  if (type === 'subscription' && isAsyncIterable(result.data)) return { ...result, data: mapStreamErrors(result.data) };
  return result;
});

// NUL, and halves of a surrogate pair without the other half, cannot be stored by PostgreSQL (or
// survive UTF-8): refused in any string of any input, before a procedure sees it.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether any string (or key) anywhere in `value` holds unstorable text; walks without recursion, at any depth. */
export function hasUnstorableText(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (UNSTORABLE.test(item)) return true;
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (UNSTORABLE.test(key)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

const refuseUnstorableText = t.middleware(async ({ getRawInput, next }) => {
  if (hasUnstorableText(await getRawInput())) {
    throw new DomainError('BAD_INPUT', 'Text cannot contain the NUL character or broken (half) characters: remove them and try again.');
  }
  return next();
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(errorBoundary).use(refuseUnstorableText);

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
