import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  blobSha256,
  buildBundle,
  bundleTitle,
  describeCounts,
  entryProgress,
  fileNameOf,
  linkRuns,
  partsProblem,
  placeEntries,
  relativePathOf,
  safeHref,
  textPart,
  verifyEntries,
  type BundlePart,
} from '@/app/_lib/transfer/bundle';
import { buildManifest } from '@/app/_lib/transfer/chunks';
import {
  bundleManifestSchema,
  bundleSizeProblem,
  MAX_BUNDLE_ENTRIES,
  MAX_TEXT_BYTES,
  pathProblem,
  type BundleEntry,
} from '@/server/content/bundle-manifest';

const sha = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

function bytesOf(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const filePart = (path: string, bytes: Uint8Array<ArrayBuffer>): BundlePart => ({ kind: 'file', path, mediaType: 'application/octet-stream', blob: new Blob([bytes]) });
const entry = (path: string, over: Partial<BundleEntry> = {}): BundleEntry => ({ kind: 'file', path, mediaType: 'image/jpeg', sizeBytes: 10, sha256: 'a'.repeat(64), ...over });

describe('bundle manifest: paths', () => {
  it('accepts relative paths inside the folder sent', () => {
    for (const ok of ['a.txt', 'photos/2024/IMG_0001.jpg', 'with space/ünïcode ✓.md', '.hidden/file', 'a..b/c']) expect(pathProblem(ok)).toBeNull();
  });

  it('refuses paths that could leave the folder, or name nothing', () => {
    const bad = ['', '/etc/passwd', '../up.txt', 'a/../../b', 'a/./b', 'a//b', 'a/', 'C:\\Windows\\x', 'a\u0000b', 'line\nbreak', 'x'.repeat(513), `${'y'.repeat(256)}/z`];
    for (const path of bad) expect(pathProblem(path), JSON.stringify(path)).not.toBeNull();
    expect(pathProblem('a/../b')).toMatch(/cannot leave the folder/);
  });

  it('the schema refuses too many entries, twin names, long snippets and an oversized manifest, with a reason', () => {
    const many = Array.from({ length: MAX_BUNDLE_ENTRIES + 1 }, (_, i) => entry(`f${i}`));
    expect(bundleManifestSchema.safeParse(many).error?.issues[0]?.message).toMatch(/at most 1000 files/);
    expect(bundleManifestSchema.safeParse([entry('A.jpg'), entry('a.jpg')]).error?.issues[0]?.message).toMatch(/both called/);
    expect(bundleManifestSchema.safeParse([entry('note', { kind: 'text', sizeBytes: MAX_TEXT_BYTES + 1 })]).error?.issues[0]?.message).toMatch(/snippet can be at most/);
    const longNames = Array.from({ length: 900 }, (_, i) => entry(`${'n'.repeat(240)}/${'m'.repeat(60)}${i}`));
    expect(bundleManifestSchema.safeParse(longNames).error?.issues[0]?.message).toMatch(/too long/);
    expect(bundleManifestSchema.safeParse([entry('../x')]).error?.issues[0]?.message).toMatch(/cannot leave/);
    expect(bundleManifestSchema.safeParse([]).success).toBe(false);
    // two snippets may share a label; files may not
    expect(bundleManifestSchema.safeParse([entry('Snippet 1', { kind: 'text' }), entry('Snippet 1', { kind: 'text' })]).success).toBe(true);
  });

  it('the sizes must add up to the item', () => {
    expect(bundleSizeProblem([entry('a', { sizeBytes: 3 }), entry('b', { sizeBytes: 4 })], 7)).toBeNull();
    expect(bundleSizeProblem([entry('a', { sizeBytes: 3 })], 4)).toMatch(/add up to 3 bytes/);
  });
});

describe('bundle: building, progress and checking', () => {
  it('builds one stream of every part in order, each part hashed on its own', async () => {
    const a = bytesOf(70_000, 1);
    const b = bytesOf(0, 2);
    const c = bytesOf(200_001, 3);
    const parts = [filePart('trip/a.bin', a), filePart('trip/empty', b), filePart('trip/sub/c.bin', c), textPart('see https://example.org/x.', 1)];
    const { entries, stream } = await buildBundle(parts);
    expect(entries.map((e) => [e.kind, e.path, e.sizeBytes])).toEqual([
      ['file', 'trip/a.bin', 70_000],
      ['file', 'trip/empty', 0],
      ['file', 'trip/sub/c.bin', 200_001],
      ['text', 'Snippet 1', 26],
    ]);
    expect(entries.map((e) => e.sha256)).toEqual([sha(a), sha(b), sha(c), sha('see https://example.org/x.')]);
    expect(bundleManifestSchema.parse(entries)).toHaveLength(4);
    const bytes = new Uint8Array(await stream.arrayBuffer());
    expect(sha(bytes)).toBe(sha(Buffer.concat([a, b, c, Buffer.from('see https://example.org/x.')])));
    expect(bundleSizeProblem(entries, stream.size)).toBeNull();
    // the stream is an ordinary item: the same manifest a single file of these bytes would have
    const manifest = await buildManifest(stream);
    expect(manifest.sha256).toBe(sha(bytes));
    expect(bundleTitle(entries)).toBe('trip (3 files) + 1 snippet');
  });

  it('every entry of a received stream is checked against its own hash; a damaged one is named', async () => {
    const parts = [filePart('x/1', bytesOf(1000, 4)), filePart('x/2', bytesOf(5000, 5)), filePart('x/3', bytesOf(3, 6))];
    const { entries, stream } = await buildBundle(parts);
    const placed = placeEntries(entries);
    const received = new Uint8Array(await stream.arrayBuffer());
    const read = async (offset: number, length: number) => new Blob([received.slice(offset, offset + length)]);
    expect((await verifyEntries(placed, read)).map((c) => c.ok)).toEqual([true, true, true]);
    received[1000 + 2500]! ^= 1;
    expect(await verifyEntries(placed, read)).toEqual([
      { index: 0, path: 'x/1', ok: true },
      { index: 1, path: 'x/2', ok: false },
      { index: 2, path: 'x/3', ok: true },
    ]);
  });

  it('per-entry progress follows the received prefix of the stream', () => {
    const placed = placeEntries([entry('a', { sizeBytes: 100 }), entry('b', { sizeBytes: 0 }), entry('c', { sizeBytes: 50 })]);
    expect(placed.map((p) => p.offset)).toEqual([0, 100, 100]);
    expect(entryProgress(placed, 0).map((p) => [p.bytesDone, p.done])).toEqual([[0, false], [0, false], [0, false]]);
    expect(entryProgress(placed, 60).map((p) => [p.bytesDone, p.done])).toEqual([[60, false], [0, false], [0, false]]);
    expect(entryProgress(placed, 100).map((p) => [p.bytesDone, p.done])).toEqual([[100, true], [0, true], [0, false]]);
    expect(entryProgress(placed, 150).map((p) => [p.bytesDone, p.done])).toEqual([[100, true], [0, true], [50, true]]);
  });

  it('refuses what the coordinator would refuse before hashing anything', () => {
    expect(partsProblem([])).toMatch(/Add a file/);
    expect(partsProblem([filePart('a', bytesOf(1, 1)), filePart('A', bytesOf(1, 1))])).toMatch(/both called/);
    expect(partsProblem([filePart('../a', bytesOf(1, 1))])).toMatch(/cannot leave/);
    expect(partsProblem([filePart('a', bytesOf(0, 1))])).toMatch(/empty/);
    expect(() => textPart('   ', 1)).toThrow(/empty/);
    expect(() => textPart('x'.repeat(MAX_TEXT_BYTES + 1), 1)).toThrow(/at most 64 KiB/);
  });

  it('sends a picked folder under its relative paths, a single file under its name', () => {
    expect(relativePathOf({ name: 'c.jpg', webkitRelativePath: 'trip/day 1/c.jpg' })).toBe('trip/day 1/c.jpg');
    expect(relativePathOf({ name: 'c.jpg', webkitRelativePath: '' })).toBe('c.jpg');
    expect(relativePathOf({ name: 'c.jpg' }, 'dropped/c.jpg')).toBe('dropped/c.jpg');
    expect(fileNameOf('trip/day 1/c.jpg')).toBe('c.jpg');
    expect(describeCounts({ fileCount: 20, textCount: 1 })).toBe('20 files and 1 snippet');
    expect(bundleTitle([entry('a.jpg'), entry('b.jpg'), entry('c.jpg')])).toBe('a.jpg and 2 more');
    expect(bundleTitle([entry('Snippet 1', { kind: 'text' })])).toBe('A snippet');
  });

  it('hashes a large Blob a few MiB at a time', async () => {
    const big = bytesOf(9 * 1024 * 1024 + 7, 9);
    expect(await blobSha256(new Blob([big]))).toBe(sha(big));
  });
});

describe('snippets: links open safely', () => {
  it('only http(s) addresses become links, without trailing punctuation', () => {
    expect(linkRuns('go to https://example.org/a?b=1, then http://x.test.')).toEqual([
      { kind: 'text', text: 'go to ' },
      { kind: 'link', text: 'https://example.org/a?b=1', href: 'https://example.org/a?b=1' },
      { kind: 'text', text: ', then ' },
      { kind: 'link', text: 'http://x.test', href: 'http://x.test/' },
      { kind: 'text', text: '.' },
    ]);
    expect(linkRuns('javascript:alert(1) data:text/html,<b>x</b>')).toEqual([{ kind: 'text', text: 'javascript:alert(1) data:text/html,<b>x</b>' }]);
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('https://user:pw@example.org/')).toBeNull();
    expect(safeHref('https://example.org')).toBe('https://example.org/');
  });
});
