/** Whether a write failed on a unique index (Prisma's P2002): the row exists already, or another caller made it first. */
export const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && (error as { code: unknown }).code === 'P2002';
