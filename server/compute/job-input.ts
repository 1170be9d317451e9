import { z } from 'zod';
import { MAX_MICRO } from '../money';
import { KERNEL_NAMES } from '../../workers/kernels/types';

export const MAX_UNITS = 1024;
export const MAX_PARAMS_BYTES = 512 * 1024;
export const MAX_DEADLINE_MS = 7 * 86_400_000;

export const submitJobInput = z
  .object({
    communityId: z.string().min(1).max(64),
    kernel: z.enum(KERNEL_NAMES),
    title: z.string().trim().max(80).optional(),
    params: z.unknown().refine((p) => p !== undefined && JSON.stringify(p).length <= MAX_PARAMS_BYTES, {
      message: `Parameters (with any code) can be at most ${MAX_PARAMS_BYTES / 1024} KiB.`,
    }),
    units: z.number().int('Units are a whole number.').min(1, 'A job needs at least one unit.').max(MAX_UNITS, `A job can have at most ${MAX_UNITS} units.`),
    replication: z.number().int().min(2, 'Replication must be at least 2, so that results can be compared.').max(5, 'Replication can be at most 5.'),
    quorum: z.number().int().min(2, 'A quorum is at least 2 agreeing results.').max(5),
    deadline: z.iso.datetime({ offset: true, message: 'The deadline must be an ISO 8601 time.' }),
    pricePerUnit: z.number().int('Prices are whole micro-credits.').positive('The price must be more than zero.').max(MAX_MICRO),
  })
  .refine((j) => j.quorum <= j.replication, { path: ['quorum'], message: 'The quorum cannot be larger than the replication.' });

export type SubmitJobInput = z.infer<typeof submitJobInput>;
