import { Prisma } from './generated/sqlite/client';
import type { Json } from '../../workers/kernels/types';

/** A Json column as a raw query returns it (server/db/direct.ts): its text on SQLite, parsed by PostgreSQL's driver. */
export const fromJson = (value: unknown): Json => (typeof value === 'string' ? JSON.parse(value) : value) as Json;

/** A JSON value as Prisma writes it to a Json column (a top-level null is Prisma's JsonNull). */
export const jsonInput = (value: Json): Prisma.InputJsonValue | typeof Prisma.JsonNull =>
  value === null ? Prisma.JsonNull : value;
