import { Prisma } from './generated/sqlite/client';
import type { Json } from '../../workers/kernels/types';

/** A JSON value as Prisma writes it to a Json column (a top-level null is Prisma's JsonNull). */
export const jsonInput = (value: Json): Prisma.InputJsonValue | typeof Prisma.JsonNull =>
  value === null ? Prisma.JsonNull : value;
