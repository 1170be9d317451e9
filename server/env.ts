import { z } from 'zod';

const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, 'DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)')
    .default('file:./data/swapmesh.db'),
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /**
   * How many reverse proxies in front of the coordinator append to X-Forwarded-For (0, the default: none,
   * so the address is the socket's and X-Forwarded-For is ignored). See server/auth/client-address.ts.
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .regex(/^\d{0,2}$/, 'TRUST_PROXY must be the number of proxies in front of the coordinator (0 to 10), or unset.')
    .default('')
    .transform((value) => (value === '' ? 0 : Number(value)))
    .pipe(z.number().int().min(0, 'TRUST_PROXY cannot be negative.').max(10, 'TRUST_PROXY can be at most 10 hops.')),
  /**
   * Handles of the system administrators: who may open the coordinator's own screen (/admin: every
   * community, the process's health, the audit trail). Comma-separated; unset, nobody may.
   */
  SWAPMESH_ADMINS: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)),
});

export type Env = z.infer<typeof envSchema>;

/** Validated once at start-up so that a bad setting fails loudly instead of at the first query. */
export const env: Env = envSchema.parse(process.env);

/** Parses the environment given (for tests of the rules above). */
export const parseEnv = (source: Record<string, string | undefined>): Env => envSchema.parse(source);
