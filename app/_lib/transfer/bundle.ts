/**
 * Several files and text snippets as one transfer (the manifest is `server/content/bundle-manifest.ts`):
 * building a bundle's byte stream and manifest from picked files, dropped folders and typed text; per-entry
 * progress from the bytes received; checking every entry's SHA-256 once the stream is in; and showing a
 * snippet's links safely. Pure (Blob, bytes and plain data in and out): runs in the page, a worker and Node.
 */
import { createSHA256 } from 'hash-wasm';
import {
  BUNDLE_MEDIA_TYPE,
  countEntries,
  MAX_BUNDLE_ENTRIES,
  MAX_TEXT_BYTES,
  pathProblem,
  placeEntries,
  type BundleEntry,
  type PlacedEntry,
} from '@/server/content/bundle-manifest';

export { BUNDLE_MEDIA_TYPE, countEntries, placeEntries, type BundleEntry, type PlacedEntry };

/** A picked file or a typed snippet, before hashing. */
export type BundlePart = { kind: 'file' | 'text'; path: string; mediaType: string; blob: Blob };

const READ_BYTES = 4 * 1024 * 1024;

/** The path a picked or dropped file is sent under: its path inside the folder picked, else its name. */
export function relativePathOf(file: { name: string; webkitRelativePath?: string }, folderPath?: string): string {
  if (folderPath) return folderPath;
  return file.webkitRelativePath && file.webkitRelativePath.length > 0 ? file.webkitRelativePath : file.name;
}

/** A snippet as a part: UTF-8 text, refused over MAX_TEXT_BYTES or empty. */
export function textPart(text: string, n: number): BundlePart {
  const bytes = new TextEncoder().encode(text);
  if (text.trim().length === 0) throw new RangeError('The snippet is empty.');
  if (bytes.length > MAX_TEXT_BYTES) throw new RangeError(`A snippet can be at most ${MAX_TEXT_BYTES / 1024} KiB: send longer text as a file.`);
  return { kind: 'text', path: `Snippet ${n}`, mediaType: 'text/plain', blob: new Blob([bytes], { type: 'text/plain' }) };
}

/** Why these parts cannot be sent as one bundle (the coordinator checks the same), or null. */
export function partsProblem(parts: readonly BundlePart[]): string | null {
  if (parts.length === 0) return 'Add a file, a folder or a snippet first.';
  if (parts.length > MAX_BUNDLE_ENTRIES) return `One send can carry at most ${MAX_BUNDLE_ENTRIES} files and snippets: send the rest in another.`;
  const seen = new Set<string>();
  for (const part of parts) {
    const problem = pathProblem(part.path);
    if (problem) return problem;
    if (part.kind !== 'file') continue;
    const key = part.path.normalize('NFC').toLowerCase();
    if (seen.has(key)) return `Two files are both called "${part.path}".`;
    seen.add(key);
  }
  if (parts.every((p) => p.blob.size === 0)) return 'Everything picked is empty: there is nothing to send.';
  return null;
}

/** SHA-256 of a Blob, read a few MiB at a time (memory stays flat). */
export async function blobSha256(blob: Blob, signal?: AbortSignal): Promise<string> {
  const hasher = await createSHA256();
  hasher.init();
  for (let at = 0; at < blob.size; at += READ_BYTES) {
    signal?.throwIfAborted();
    hasher.update(new Uint8Array(await blob.slice(at, Math.min(blob.size, at + READ_BYTES)).arrayBuffer()));
  }
  return hasher.digest('hex');
}

/**
 * The bundle's manifest (each part hashed) and its byte stream: the parts' bytes one after the other (a Blob
 * that references them: nothing is copied here).
 */
export async function buildBundle(
  parts: readonly BundlePart[],
  options: { signal?: AbortSignal; onProgress?: (bytesDone: number, total: number) => void } = {},
): Promise<{ entries: BundleEntry[]; stream: Blob }> {
  const problem = partsProblem(parts);
  if (problem) throw new RangeError(problem);
  const total = parts.reduce((sum, p) => sum + p.blob.size, 0);
  const entries: BundleEntry[] = [];
  let done = 0;
  for (const part of parts) {
    const sha256 = await blobSha256(part.blob, options.signal);
    done += part.blob.size;
    options.onProgress?.(done, total);
    entries.push({ kind: part.kind, path: part.path, mediaType: part.mediaType, sizeBytes: part.blob.size, sha256 });
  }
  return { entries, stream: new Blob(parts.map((p) => p.blob), { type: BUNDLE_MEDIA_TYPE }) };
}

/** A title for the bundle: the folder's name when every file is in one folder, else the first name and a count. */
export function bundleTitle(entries: readonly Pick<BundleEntry, 'kind' | 'path'>[]): string {
  const files = entries.filter((e) => e.kind === 'file');
  const { textCount } = countEntries(entries as BundleEntry[]);
  const notes = textCount > 0 ? ` + ${textCount === 1 ? '1 snippet' : `${textCount} snippets`}` : '';
  if (files.length === 0) return (textCount === 1 ? 'A snippet' : `${textCount} snippets`).slice(0, 120);
  const tops = new Set(files.map((f) => (f.path.includes('/') ? f.path.split('/')[0] : null)));
  const [top] = [...tops];
  const name = tops.size === 1 && top ? `${top} (${files.length} ${files.length === 1 ? 'file' : 'files'})` : files.length === 1 ? files[0]!.path : `${files[0]!.path.split('/').pop()} and ${files.length - 1} more`;
  return `${name}${notes}`.slice(0, 120);
}

/** "20 files and 1 snippet" */
export function describeCounts({ fileCount, textCount }: { fileCount: number; textCount: number }): string {
  const parts = [
    fileCount > 0 ? `${fileCount} ${fileCount === 1 ? 'file' : 'files'}` : null,
    textCount > 0 ? `${textCount} ${textCount === 1 ? 'snippet' : 'snippets'}` : null,
  ].filter(Boolean);
  return parts.join(' and ') || 'nothing';
}

export type EntryProgress = { index: number; bytesDone: number; sizeBytes: number; done: boolean };

/**
 * How far each entry is when the first `bytesDone` bytes of the stream are in (chunks arrive in order, so the
 * received part of the stream is a prefix of it).
 */
export function entryProgress(placed: readonly PlacedEntry[], bytesDone: number): EntryProgress[] {
  return placed.map((e) => {
    const got = Math.max(0, Math.min(e.sizeBytes, bytesDone - e.offset));
    return { index: e.index, bytesDone: got, sizeBytes: e.sizeBytes, done: got === e.sizeBytes && bytesDone >= e.offset };
  });
}

/** Reads `length` bytes of the received stream from `offset` (a File slice, OPFS, or memory in tests). */
export type RangeReader = (offset: number, length: number) => Promise<Blob>;

export type EntryCheck = { index: number; path: string; ok: boolean };

/** Checks every entry of a received stream against its own SHA-256. */
export async function verifyEntries(placed: readonly PlacedEntry[], read: RangeReader, signal?: AbortSignal): Promise<EntryCheck[]> {
  const checks: EntryCheck[] = [];
  for (const e of placed) checks.push({ index: e.index, path: e.path, ok: (await blobSha256(await read(e.offset, e.sizeBytes), signal)) === e.sha256 });
  return checks;
}

/** A snippet's text cut into plain runs and links; only http(s) addresses become links (never javascript:, data:…). */
export type TextRun = { kind: 'text'; text: string } | { kind: 'link'; text: string; href: string };

export function linkRuns(text: string): TextRun[] {
  const runs: TextRun[] = [];
  const pattern = /\bhttps?:\/\/[^\s<>"']+/gi;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    let raw = match[0];
    // trailing punctuation belongs to the sentence, not the address
    while (/[.,;:!?)\]]$/.test(raw)) raw = raw.slice(0, -1);
    const at = match.index ?? 0;
    const href = safeHref(raw);
    if (!href) continue;
    if (at > last) runs.push({ kind: 'text', text: text.slice(last, at) });
    runs.push({ kind: 'link', text: raw, href });
    last = at + raw.length;
  }
  if (last < text.length) runs.push({ kind: 'text', text: text.slice(last) });
  return runs;
}

/** The address as a link target when it is a well-formed http(s) URL, else null. */
export function safeHref(raw: string): string | null {
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
    if (url.username || url.password) return null;
    return url.href;
  } catch {
    return null;
  }
}

/** The last segment of a path: what a saved file is called. */
export function fileNameOf(path: string): string {
  return path.split('/').pop() || 'file';
}
