import { z } from 'zod';

/**
 * A bundle: several files (a folder, a multi-file pick) and text snippets sent as ONE content item and ONE
 * transfer. The item's bytes are its entries' bytes one after the other, in manifest order, so the transfer,
 * its chunk hashes, resume and the whole-stream SHA-256 work exactly as for one file; the manifest says where
 * each entry starts (the sum of the sizes before it) and what each entry's own SHA-256 is.
 *
 * Shared by the coordinator (validating `content.give` / `content.giveMany`) and the browser (building a
 * bundle, showing per-file progress), so this file imports zod only.
 */

/** Most entries (files and snippets) in one bundle. */
export const MAX_BUNDLE_ENTRIES = 1000;
/** Most characters in an entry's relative path. */
export const MAX_PATH_LENGTH = 512;
/** Most characters in one path segment (a folder or file name), as on common file systems. */
export const MAX_SEGMENT_LENGTH = 255;
/** Most UTF-8 bytes in one text snippet. */
export const MAX_TEXT_BYTES = 64 * 1024;
/** Most characters in a bundle's manifest as JSON: the manifest is kept by the coordinator. */
export const MAX_MANIFEST_CHARS = 256 * 1024;
/** The media type of a bundle item's byte stream. */
export const BUNDLE_MEDIA_TYPE = 'application/x-swapmesh-bundle';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'A SHA-256 is 64 lower-case hex digits.');

/**
 * Why a relative path is unsafe to write on a receiving device, or null when it is fine: no absolute paths,
 * no backslashes, no control characters, no empty, "." or ".." segments (nothing can climb out of the
 * folder it is saved into).
 */
export function pathProblem(path: string): string | null {
  if (path.length === 0) return 'A file needs a name.';
  if (path.length > MAX_PATH_LENGTH) return `A path can have at most ${MAX_PATH_LENGTH} characters.`;
  if (/[\u0000-\u001f\u007f]/.test(path)) return `"${printable(path)}" contains control characters.`;
  if (path.includes('\\')) return `"${path}" contains a backslash: use "/" between folders.`;
  if (path.startsWith('/')) return `"${path}" is absolute: paths are relative to the folder sent.`;
  for (const segment of path.split('/')) {
    if (segment === '') return `"${path}" has an empty folder name.`;
    if (segment === '.' || segment === '..') return `"${path}" contains "${segment}": paths cannot leave the folder sent.`;
    if (segment.length > MAX_SEGMENT_LENGTH) return `A name in "${path.slice(0, 60)}…" is longer than ${MAX_SEGMENT_LENGTH} characters.`;
  }
  return null;
}

function printable(path: string) {
  return path.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 80);
}

export const bundleEntrySchema = z
  .object({
    kind: z.enum(['file', 'text']),
    path: z.string().superRefine((path, ctx) => {
      const problem = pathProblem(path);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
    mediaType: z.string().trim().toLowerCase().max(100).regex(/^[a-z]+\/[a-z0-9.+\-]+$/, 'A media type looks like "image/jpeg".'),
    sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    sha256: hex64,
  })
  .superRefine((entry, ctx) => {
    if (entry.kind === 'text' && entry.sizeBytes > MAX_TEXT_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['sizeBytes'], message: `A text snippet can be at most ${MAX_TEXT_BYTES / 1024} KiB: send longer text as a file.` });
    }
  });

export type BundleEntry = z.infer<typeof bundleEntrySchema>;

export const bundleManifestSchema = z
  .array(bundleEntrySchema)
  .min(1, 'A bundle carries at least one file or snippet.')
  .max(MAX_BUNDLE_ENTRIES, `One send can carry at most ${MAX_BUNDLE_ENTRIES} files and snippets: send the rest in another.`)
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    for (const [i, entry] of entries.entries()) {
      if (entry.kind !== 'file') continue;
      const key = entry.path.normalize('NFC').toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `Two files are both called "${entry.path}".` });
      seen.add(key);
    }
    if (JSON.stringify(entries).length > MAX_MANIFEST_CHARS) {
      ctx.addIssue({ code: 'custom', message: `This list of files is too long (more than ${MAX_MANIFEST_CHARS / 1024} KiB of names): send fewer files, or zip them.` });
    }
  });

export type BundleManifest = z.infer<typeof bundleManifestSchema>;

/** Why the manifest does not describe a byte stream of `sizeBytes`, or null. */
export function bundleSizeProblem(entries: readonly BundleEntry[], sizeBytes: number): string | null {
  const total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  if (total !== sizeBytes) return `The files add up to ${total} bytes, but the item has ${sizeBytes}.`;
  return null;
}

export type PlacedEntry = BundleEntry & { index: number; offset: number };

/** Each entry with where its bytes start in the item's byte stream. */
export function placeEntries(entries: readonly BundleEntry[]): PlacedEntry[] {
  let offset = 0;
  return entries.map((entry, index) => {
    const placed = { ...entry, index, offset };
    offset += entry.sizeBytes;
    return placed;
  });
}

/** How many of the entries are files and how many text snippets. */
export function countEntries(entries: readonly BundleEntry[]): { fileCount: number; textCount: number } {
  const textCount = entries.filter((e) => e.kind === 'text').length;
  return { fileCount: entries.length - textCount, textCount };
}
