/** Inputs of a job's source items and results location (placement.ts), apart so that job-input.ts stays free of I/O. */
import { z } from 'zod';
import { MAX_INPUTS } from '../../workers/kernels/custom';

const id = z.string().min(1).max(64);

export const jobSourceInput = z
  .object({
    /** a content item holding the code (instead of `params.code`) */
    codeItemId: id.optional(),
    /** a content item holding the inputs as a JSON array (instead of `params.inputs`), and how many it holds */
    dataItemId: id.optional(),
    count: z.number().int('The number of inputs is a whole number.').min(1, 'The data item must hold at least one input.').max(MAX_INPUTS, `A job can have at most ${MAX_INPUTS} inputs.`).optional(),
  })
  .superRefine((s, ctx) => {
    if (!s.codeItemId && !s.dataItemId) ctx.addIssue({ code: 'custom', message: 'Name a content item for the code, the data, or both.' });
    if (s.dataItemId && s.count === undefined) ctx.addIssue({ code: 'custom', path: ['count'], message: 'Say how many inputs the data item holds (one unit each).' });
  });

export const jobResultsInput = z.object({
  /** keep the results as one file to download from the job page */
  keepFile: z.boolean().default(true),
  /** one of the owner's devices that receives the results file */
  toDeviceId: id.optional(),
  /** an http(s) address the results file is POSTed to, signed */
  url: z.string().trim().max(4096).optional(),
});

export type JobSourceInput = z.infer<typeof jobSourceInput>;
export type JobResultsInput = z.infer<typeof jobResultsInput>;

