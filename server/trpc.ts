import { randomUUID } from 'node:crypto';
import { initTRPC, TRPCError } from '@trpc/server';
import { z, ZodError } from 'zod';
import { Prisma } from './db/generated/sqlite/client';
import { membershipOf } from './community/membership';
import type { Context } from './context';
import { DomainError, type ErrorKind } from './errors';
import { UnbalancedEntryError } from './ledger/postings';
import { contractSelect } from './market/contracts';
import { negotiationSelect } from './market/negotiations';

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
  if (isUniqueViolation(error)) {
    // the same, from a statement sent to SQLite directly (server/db/direct.ts)
    return new TRPCError({ code: 'CONFLICT', message: 'That already exists or was already done: refresh and try again.', cause: error });
  }
  const id = randomUUID().slice(0, 8);
  console.error(`[error ${id}]`, error instanceof Error ? (error.stack ?? error.message) : error);
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: `Something went wrong on our side (error ${id}). Try again; if it keeps happening, quote the error id.` });
}

const isUniqueViolation = (error: unknown) =>
  error instanceof Error && 'code' in error && (error.code === 'SQLITE_CONSTRAINT_UNIQUE' || error.code === 'SQLITE_CONSTRAINT_PRIMARYKEY');

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

/**
 * Every procedure's first step: input with unstorable text is refused before a procedure sees it, and
 * whatever a procedure throws is mapped once (toClientError).
 */
async function guarded<R extends { ok: boolean; error?: unknown; data?: unknown }>(type: string, rawInput: unknown, run: () => Promise<R>): Promise<R> {
  if (hasUnstorableText(rawInput)) {
    throw toClientError(new DomainError('BAD_INPUT', 'Text cannot contain the NUL character or broken (half) characters: remove them and try again.'));
  }
  const result = await run();
  if (!result.ok) throw toClientError(result.error);
  if (type === 'subscription' && isAsyncIterable(result.data)) return { ...result, data: mapStreamErrors(result.data) };
  return result;
}

const edge = t.middleware(async ({ type, getRawInput, next }) => guarded(type, await getRawInput(), () => next()));

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(edge);

/**
 * A signed-in member; narrows `ctx.member` to non-null for every handler below it. The same first step as
 * publicProcedure's in one middleware, not two: each level of tRPC's chain copies its options, on every call.
 */
export const memberProcedure = t.procedure.use(async ({ ctx, type, getRawInput, next }) => {
  const member = ctx.member;
  return guarded(type, await getRawInput(), () => {
    if (!member) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first.' });
    return next({ ctx: { member } });
  });
});

/** A member of the community named by `input.communityId`; hands on the community and the role. */
export const communityMemberProcedure = memberProcedure
  .input(z.object({ communityId: z.string().min(1).max(64) }))
  .use(async ({ ctx, input, next }) => {
    const membership = await membershipOf(ctx.db, ctx.member.id, input.communityId);
    if (!membership) {
      const exists = await ctx.db.community.count({ where: { id: input.communityId } });
      throw exists
        ? new TRPCError({ code: 'FORBIDDEN', message: 'You are not a member of this community: join it first.' })
        : new TRPCError({ code: 'NOT_FOUND', message: 'No such community.' });
    }
    return next({ ctx: { community: membership.community, role: membership.role } });
  });

/** The community's coordinator (its creator, or whoever holds the role). */
export const coordinatorProcedure = communityMemberProcedure.use(({ ctx, next }) => {
  if (ctx.role !== 'COORDINATOR') {
    throw new TRPCError({ code: 'FORBIDDEN', message: "Only this community's coordinator can do that." });
  }
  return next();
});

// Resource procedures: each loads one resource by the id in its input, refuses a caller who may not act
// on it (NOT_FOUND, as if it did not exist), and hands it on in ctx. The one place each ownership is checked.

const resourceId = z.string().min(1).max(64);

const deviceSelect = {
  id: true, memberId: true, name: true, profile: true, validResults: true, invalidResults: true, createdAt: true, updatedAt: true,
} satisfies Prisma.DeviceSelect;

/** The caller's device `deviceId`, or NOT_FOUND: the one check that a device is the caller's. */
async function ownDevice(db: Context['db'], memberId: string, deviceId: string) {
  const device = await db.device.findFirst({ where: { id: deviceId, memberId }, select: deviceSelect });
  if (!device) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
  return device;
}

/** One of the caller's devices, by `input.deviceId`; hands on `ctx.device`. */
export const deviceOwnerProcedure = memberProcedure
  .input(z.object({ deviceId: resourceId }))
  .use(async ({ ctx, input, next }) => next({ ctx: { device: await ownDevice(ctx.db, ctx.member.id, input.deviceId) } }));

/** One of the caller's devices as the sender of a message, by `input.fromDeviceId`; hands on `ctx.device`. */
export const senderDeviceProcedure = memberProcedure
  .input(z.object({ fromDeviceId: resourceId }))
  .use(async ({ ctx, input, next }) => next({ ctx: { device: await ownDevice(ctx.db, ctx.member.id, input.fromDeviceId) } }));

/** A member of the community `input.communityId` acting with one of their devices, `input.deviceId`. */
export const communityDeviceProcedure = communityMemberProcedure
  .input(z.object({ deviceId: resourceId }))
  .use(async ({ ctx, input, next }) => next({ ctx: { device: await ownDevice(ctx.db, ctx.member.id, input.deviceId) } }));

/** One of the caller's compute jobs, by `input.jobId`; hands on `ctx.job`. */
export const jobOwnerProcedure = memberProcedure.input(z.object({ jobId: resourceId })).use(async ({ ctx, input, next }) => {
  const job = await ctx.db.job.findUnique({ where: { id: input.jobId }, select: { id: true, memberId: true, communityId: true, status: true } });
  if (!job || job.memberId !== ctx.member.id) throw new DomainError('NOT_FOUND', 'You have no job with that id.');
  return next({ ctx: { job } });
});

export type ContractRole = 'BUYER' | 'SELLER' | 'COORDINATOR';

const noSuchContract = () => new DomainError('NOT_FOUND', 'You have no contract with that id.');

/** The contract `contractId`, with the caller's part in it (BUYER, SELLER, or none) and whether they may see it as its community's coordinator. */
async function contractFor(db: Context['db'], memberId: string, contractId: string, asCoordinator: boolean) {
  const contract = await db.contract.findUnique({ where: { id: contractId }, select: contractSelect });
  if (!contract) throw noSuchContract();
  const party = contract.buyerId === memberId ? ('BUYER' as const) : contract.sellerId === memberId ? ('SELLER' as const) : null;
  let coordinator = false;
  if (asCoordinator) {
    const membership = await db.membership.findUnique({ where: { memberId_communityId: { memberId, communityId: contract.communityId } }, select: { role: true } });
    coordinator = membership?.role === 'COORDINATOR';
  }
  if (!party && !coordinator) throw noSuchContract();
  return { contract, party, coordinator };
}

/** A contract the caller is the buyer or the seller of, by `input.contractId`; hands on `ctx.contract` and `ctx.contractRole`. */
export const contractPartyProcedure = memberProcedure.input(z.object({ contractId: resourceId })).use(async ({ ctx, input, next }) => {
  const { contract, party } = await contractFor(ctx.db, ctx.member.id, input.contractId, false);
  if (!party) throw noSuchContract();
  return next({ ctx: { contract, contractRole: party } });
});

/**
 * A contract the caller is a party to or whose community the caller coordinates (to see and decide
 * disputes): `ctx.contractRole` is BUYER or SELLER for a party, else COORDINATOR; `ctx.coordinator` says
 * whether the caller coordinates its community (a party may too).
 */
export const contractPartyOrCoordinatorProcedure = memberProcedure.input(z.object({ contractId: resourceId })).use(async ({ ctx, input, next }) => {
  const { contract, party, coordinator } = await contractFor(ctx.db, ctx.member.id, input.contractId, true);
  const contractRole: ContractRole = party ?? 'COORDINATOR';
  return next({ ctx: { contract, contractRole, coordinator } });
});

/** A negotiation the caller is the buyer or the seller in, by `input.negotiationId`; hands on `ctx.negotiation`. */
export const negotiationPartyProcedure = memberProcedure.input(z.object({ negotiationId: resourceId })).use(async ({ ctx, input, next }) => {
  const negotiation = await ctx.db.negotiation.findUnique({ where: { id: input.negotiationId }, select: negotiationSelect });
  if (!negotiation || (negotiation.buyerId !== ctx.member.id && negotiation.sellerId !== ctx.member.id)) {
    throw new DomainError('NOT_FOUND', 'You have no negotiation with that id.');
  }
  return next({ ctx: { negotiation } });
});

/** One of the caller's barter offers, by `input.offerId`; hands on `ctx.offer`. */
export const offerOwnerProcedure = memberProcedure.input(z.object({ offerId: resourceId })).use(async ({ ctx, input, next }) => {
  const offer = await ctx.db.barterOffer.findUnique({ where: { id: input.offerId }, select: { id: true, memberId: true, communityId: true } });
  if (!offer || offer.memberId !== ctx.member.id) throw new DomainError('NOT_FOUND', 'You have no barter offer with that id.');
  return next({ ctx: { offer } });
});

/** One of the caller's market orders, by `input.orderId`; hands on `ctx.order`. */
export const orderOwnerProcedure = memberProcedure.input(z.object({ orderId: resourceId })).use(async ({ ctx, input, next }) => {
  const order = await ctx.db.order.findUnique({ where: { id: input.orderId }, select: { id: true, memberId: true, communityId: true, category: true, status: true } });
  if (!order || order.memberId !== ctx.member.id) throw new DomainError('NOT_FOUND', 'You have no order with that id.');
  return next({ ctx: { order } });
});
