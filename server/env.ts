import { z } from 'zod';

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, 'DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)')
    .default('file:./data/swapmesh.db'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
});

export type Env = z.infer<typeof envSchema>;

/** Validated once at start-up so that a bad setting fails loudly instead of at the first query. */
export const env: Env = envSchema.parse(process.env);
