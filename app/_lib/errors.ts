import { TRPCClientError } from '@trpc/client';

type FieldErrors = Record<string, string[] | undefined>;

/** The message a person should read for a failed call, and per-field messages from input validation. */
export function describeError(error: unknown): { message: string; fields: FieldErrors } {
  if (error instanceof TRPCClientError) {
    const data = error.data as { zodError?: { formErrors: string[]; fieldErrors: FieldErrors } | null } | undefined;
    const zod = data?.zodError;
    if (zod) {
      const first = zod.formErrors[0] ?? Object.values(zod.fieldErrors).find((list) => list?.length)?.[0];
      return { message: first ?? 'Please check the form.', fields: zod.fieldErrors };
    }
    if (error.message === 'Failed to fetch' || error.message.includes('NetworkError')) {
      return { message: 'Could not reach Swapmesh: check your connection and try again.', fields: {} };
    }
    return { message: error.message, fields: {} };
  }
  return { message: error instanceof Error ? error.message : 'Something went wrong.', fields: {} };
}
