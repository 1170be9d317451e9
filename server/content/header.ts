import { z } from 'zod';
import { MAX_MICRO } from '../money';
import { orderCostFits } from '../market/order-input';

export const MIN_CHUNK = 16 * 1024;
export const MAX_CHUNK = 4 * 1024 * 1024;
export const MAX_FILE_BYTES = 64 * 1024 ** 3;
export const MAX_CHUNKS = 200_000;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'A SHA-256 is 64 lower-case hex digits.');
const text = (max: number) => z.string().trim().max(max, `At most ${max} characters.`).default('');

/** The descriptive header of a content item, as a device publishes it (the file itself stays on the device). */
export const contentHeaderSchema = z
  .object({
    title: z.string().trim().min(1, 'Give the file a title.').max(120, 'A title can have at most 120 characters.'),
    description: text(2000),
    audience: text(200),
    purpose: text(200),
    environment: text(200),
    mediaType: z.string().trim().toLowerCase().max(100).regex(/^[a-z]+\/[a-z0-9.+\-]+$/, 'A media type looks like "video/mp4".'),
    sizeBytes: z.number().int().min(1, 'An empty file cannot be offered.').max(MAX_FILE_BYTES, 'Files can be at most 64 GiB.'),
    sha256: hex64,
    chunkSize: z.number().int().min(MIN_CHUNK).max(MAX_CHUNK),
    chunkHashes: z.array(hex64).min(1).max(MAX_CHUNKS),
  })
  .superRefine((h, ctx) => {
    const expected = Math.ceil(h.sizeBytes / h.chunkSize);
    if (h.chunkHashes.length !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['chunkHashes'],
        message: `The manifest lists ${h.chunkHashes.length} chunks, but ${h.sizeBytes} bytes in ${h.chunkSize}-byte chunks make ${expected}.`,
      });
    }
  });

export type ContentHeader = z.infer<typeof contentHeaderSchema>;

export const pricingSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('GIFT') }),
  z.object({
    mode: z.literal('CREDITS'),
    price: z
      .number()
      .int('A price is a whole number of micro-credits.')
      .positive('A price must be more than zero.')
      .max(MAX_MICRO, 'That price is too large.')
      // a request pays the price plus commission: that must fit what one order can cost
      .refine((price) => orderCostFits(1, price), 'That price is too large: with commission a copy can cost at most 1,000,000,000 credits.'),
  }),
]);
