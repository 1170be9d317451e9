import { DomainError } from '../errors';
import { z } from 'zod';
import { decoyHash, hashPassword, verifyPassword } from '../auth/password';
import { clearedSessionCookie, createSession, endSession, sessionCookie } from '../auth/session';
import { afterFailure, assertNotBlocked, countAttempt, forgive, uncount, type ThrottleRule } from '../auth/throttle';
import { publicProcedure, router } from '../trpc';

/** Wrong passwords allowed per handle, and per address (all handles), per window; then a block. */
export const SIGN_IN_PER_HANDLE: ThrottleRule = { limit: 5, windowMs: 15 * 60_000, blockMs: 15 * 60_000 };
export const SIGN_IN_PER_ADDRESS: ThrottleRule = { limit: 20, windowMs: 15 * 60_000, blockMs: 15 * 60_000 };
export const signInKeys = (handle: string, address: string) => ({
  handle: `signin:handle:${handle}`,
  // an unknown address (an in-process caller) is no address: it would lump everyone together
  address: address === 'unknown' ? null : `signin:address:${address}`,
});

export const handleSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(3, 'A handle needs at least 3 characters.')
  .max(32, 'A handle can have at most 32 characters.')
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'Use letters, digits, - and _ only, starting with a letter or digit.');

const credentials = z.object({
  handle: handleSchema,
  password: z
    .string()
    .min(8, 'A password needs at least 8 characters.')
    .max(200, 'A password can have at most 200 characters.'),
});

const memberSelect = { id: true, handle: true } as const;

export const authRouter = router({
  signUp: publicProcedure.input(credentials).mutation(async ({ ctx, input }) => {
    const taken = await ctx.db.member.findUnique({ where: { handle: input.handle }, select: { id: true } });
    if (taken) {
      throw new DomainError('CONFLICT', `The handle "${input.handle}" is taken: choose another.`);
    }
    const passwordHash = await hashPassword(input.password);
    const member = await ctx.db.member.create({ data: { handle: input.handle, passwordHash }, select: memberSelect });
    const session = await createSession(ctx.db, member.id);
    ctx.setCookie(sessionCookie(session.token, session.expiresAt, ctx.secure));
    return { member };
  }),

  signIn: publicProcedure.input(credentials).mutation(async ({ ctx, input }) => {
    const keys = signInKeys(input.handle, ctx.clientAddress);
    await assertNotBlocked(ctx.db, keys.address ? [keys.handle, keys.address] : [keys.handle]);
    // counted before the password is checked, so that guesses sent at once are counted too
    await countAttempt(ctx.db, keys.handle, SIGN_IN_PER_HANDLE);
    if (keys.address) {
      // refused by the address's count: this attempt is not made, so it does not count for the handle either
      await countAttempt(ctx.db, keys.address, SIGN_IN_PER_ADDRESS).catch(async (error: unknown) => {
        await uncount(ctx.db, keys.handle);
        throw error;
      });
    }
    const found = await ctx.db.member.findUnique({
      where: { handle: input.handle },
      select: { ...memberSelect, passwordHash: true },
    });
    const ok = await verifyPassword(input.password, found?.passwordHash ?? (await decoyHash()));
    if (!found || !ok) {
      await afterFailure(ctx.db, keys.handle, SIGN_IN_PER_HANDLE);
      if (keys.address) await afterFailure(ctx.db, keys.address, SIGN_IN_PER_ADDRESS);
      throw new DomainError('UNAUTHENTICATED', 'Wrong handle or password.');
    }
    await forgive(ctx.db, keys.handle);
    if (keys.address) await uncount(ctx.db, keys.address);
    const session = await createSession(ctx.db, found.id);
    ctx.setCookie(sessionCookie(session.token, session.expiresAt, ctx.secure));
    return { member: { id: found.id, handle: found.handle } };
  }),

  me: publicProcedure.query(({ ctx }) => ctx.member),

  signOut: publicProcedure.mutation(async ({ ctx }) => {
    await endSession(ctx.db, ctx.sessionToken);
    ctx.setCookie(clearedSessionCookie(ctx.secure));
    return { ok: true };
  }),
});
