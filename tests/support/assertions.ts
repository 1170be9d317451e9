import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';

/** Asserts the call fails with this tRPC code (and, when given, a message matching `message`). */
export async function rejects(call: Promise<unknown>, code: TRPCError['code'], message?: RegExp) {
  await expect(call).rejects.toSatisfy((error) => error instanceof TRPCError && error.code === code && (!message || message.test(error.message)));
}
