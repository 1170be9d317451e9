/**
 * One error type for the domain. Domain code throws a `DomainError` with a kind and a message written for
 * the person who tried the action; `server/trpc.ts` maps kinds to tRPC codes in one place. Anything else
 * that escapes a procedure is a bug: it is logged with its stack and reaches the client as a generic
 * message carrying an error id, never a database message.
 */
export const ERROR_KINDS = [
  'BAD_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PRECONDITION',
  'RATE_LIMITED',
  'TOO_LARGE',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export class DomainError extends Error {
  override readonly name = 'DomainError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** seconds after which a rate-limited caller may try again */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const badInput = (message: string) => new DomainError('BAD_INPUT', message);
export const notFound = (message: string) => new DomainError('NOT_FOUND', message);
export const conflict = (message: string) => new DomainError('CONFLICT', message);
export const forbidden = (message: string) => new DomainError('FORBIDDEN', message);
export const precondition = (message: string) => new DomainError('PRECONDITION', message);
export const rateLimited = (message: string, retryAfterSeconds: number) => new DomainError('RATE_LIMITED', message, retryAfterSeconds);
