'use client';

import { useMutation } from '@tanstack/react-query';
import { useRef, useState, type DragEvent } from 'react';
import { ErrorAlert } from '@/app/_components/form';
import { BUNDLE_MEDIA_TYPE, buildBundle, bundleTitle, describeCounts, partsProblem, relativePathOf, textPart, type BundlePart } from '@/app/_lib/transfer/bundle';
import { importOffer, persistStorage, storageSupported } from '@/app/_lib/transfer/storage';
import { useTRPC } from '@/app/_lib/trpc';
import { MAX_TEXT_BYTES } from '@/server/content/bundle-manifest';
import styles from '../content.module.css';
import { useContent } from './content-context';
import { ImportProgress } from './file-import';
import { FolderIcon, NoteIcon } from './bundle-icons';
import { formatBytes, normalizeMediaType, titleFromName } from './format';

export type Target = { deviceId: string; name: string; handle: string };

type Picked = BundlePart & { key: string; fromFolder: boolean };

let keySeq = 0;
const keyOf = () => `p${++keySeq}`;

/** Files of a dropped folder, with their paths inside it (FileSystemEntry API: every Chromium and Safari). */
async function filesOfEntry(entry: FileSystemEntry): Promise<{ file: File; path: string }[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    return [{ file, path: entry.fullPath.replace(/^\/+/, '') }];
  }
  if (!entry.isDirectory) return [];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: { file: File; path: string }[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) out.push(...(await filesOfEntry(child)));
  }
  return out;
}

/** Groups what was picked for the list: a folder is one row, each loose file and snippet one row. */
function rows(picked: Picked[]) {
  const folders = new Map<string, Picked[]>();
  const single: Picked[] = [];
  for (const p of picked) {
    const top = p.fromFolder && p.path.includes('/') ? p.path.split('/')[0]! : null;
    if (top) folders.set(top, [...(folders.get(top) ?? []), p]);
    else single.push(p);
  }
  return { folders: [...folders.entries()], single };
}

/**
 * "Send to nearby": files, folders (picked or dropped) and text snippets to one or several devices at once,
 * as one transfer per device. One file alone travels as a plain item; anything more as a bundle whose
 * receiver sees each file's progress and checks each file's SHA-256.
 */
export function SendComposer({ targets, initial, onClose }: { targets: Target[]; initial: Target; onClose: () => void }) {
  const trpc = useTRPC();
  const { deviceId, manager } = useContent();
  const [picked, setPicked] = useState<Picked[]>([]);
  const [text, setText] = useState('');
  const [textError, setTextError] = useState<string | null>(null);
  const [chosen, setChosen] = useState<Set<string>>(new Set([initial.deviceId]));
  const [progress, setProgress] = useState<{ label: string; done: number; total: number } | null>(null);
  const [sent, setSent] = useState<{ title: string; to: Target[] } | null>(null);
  const [dragging, setDragging] = useState(false);
  const giveMany = useMutation(trpc.content.giveMany.mutationOptions());
  const snippetSeq = useRef(0);
  const everyone = [initial, ...targets.filter((t) => t.deviceId !== initial.deviceId)];
  const receivers = everyone.filter((t) => chosen.has(t.deviceId));

  const addFiles = (files: { file: File; path?: string }[], fromFolder: boolean) => {
    setSent(null);
    setPicked((old) => [
      ...old,
      ...files.map(({ file, path }) => ({ key: keyOf(), kind: 'file' as const, path: relativePathOf(file, path), mediaType: normalizeMediaType(file.type), blob: file, fromFolder: fromFolder || Boolean(path?.includes('/')) })),
    ]);
  };

  const addSnippet = () => {
    try {
      const part = textPart(text, ++snippetSeq.current);
      setPicked((old) => [...old, { ...part, key: keyOf(), fromFolder: false }]);
      setText('');
      setTextError(null);
      setSent(null);
    } catch (e) {
      snippetSeq.current--;
      setTextError(e instanceof Error ? e.message : String(e));
    }
  };

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const entries = [...e.dataTransfer.items].map((i) => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => Boolean(x));
    if (entries.length === 0) return addFiles([...e.dataTransfer.files].map((file) => ({ file })), false);
    const found = (await Promise.all(entries.map(filesOfEntry))).flat();
    addFiles(found, entries.some((x) => x.isDirectory));
  };

  const send = useMutation({
    mutationFn: async () => {
      if (!storageSupported()) throw new Error('This browser cannot keep files for sharing (no Origin Private File System).');
      if (receivers.length === 0) throw new Error('Choose at least one device to send to.');
      // a snippet typed but not added yet goes too
      let parts: BundlePart[] = picked;
      if (text.trim()) parts = [...parts, textPart(text, snippetSeq.current + 1)];
      const problem = partsProblem(parts);
      if (problem) throw new Error(problem);
      void persistStorage();
      const single = parts.length === 1 && parts[0]!.kind === 'file' && !parts[0]!.path.includes('/') ? parts[0]! : null;
      let header;
      let bundle;
      if (single) {
        setProgress({ label: 'Fingerprinting and keeping a copy on this device…', done: 0, total: single.blob.size });
        const manifest = await importOffer(single.blob, { onProgress: (p) => setProgress({ label: 'Fingerprinting and keeping a copy on this device…', done: p.bytesDone, total: p.sizeBytes }) });
        header = { title: titleFromName(single.path), mediaType: single.mediaType, manifest };
      } else {
        const built = await buildBundle(parts, { onProgress: (done, total) => setProgress({ label: 'Fingerprinting each file…', done, total }) });
        const manifest = await importOffer(built.stream, { onProgress: (p) => setProgress({ label: 'Keeping a copy on this device…', done: p.bytesDone, total: p.sizeBytes }) });
        header = { title: bundleTitle(built.entries), mediaType: BUNDLE_MEDIA_TYPE, manifest };
        bundle = built.entries;
      }
      const { manifest } = header;
      const { items } = await giveMany.mutateAsync({
        deviceId,
        toDeviceIds: receivers.map((r) => r.deviceId),
        header: {
          title: header.title, description: '', audience: '', purpose: '', environment: '', mediaType: header.mediaType,
          sizeBytes: manifest.sizeBytes, sha256: manifest.sha256, chunkSize: manifest.chunkSize, chunkHashes: manifest.chunkHashes,
        },
        ...(bundle ? { bundle } : {}),
      });
      for (const item of items) if (item.recipientDeviceId) manager.offerGift(item.recipientDeviceId, { id: item.id, title: item.title, sizeBytes: item.sizeBytes });
      return { title: header.title, to: receivers };
    },
    onSuccess: (result) => {
      setSent(result);
      setPicked([]);
      setText('');
      snippetSeq.current = 0;
    },
    onSettled: () => setProgress(null),
  });

  const { folders, single } = rows(picked);
  const total = picked.reduce((sum, p) => sum + p.blob.size, 0);
  const counts = { fileCount: picked.filter((p) => p.kind === 'file').length, textCount: picked.filter((p) => p.kind === 'text').length };
  const busy = send.isPending;
  const remove = (keys: string[]) => setPicked((old) => old.filter((p) => !keys.includes(p.key)));
  const handles = (to: Target[]) => to.map((t) => `@${t.handle}`).join(' and ');

  return (
    <div className="card stack" data-testid="send-panel">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>{receivers.length === 1 ? `Send to @${receivers[0]!.handle}` : receivers.length > 1 ? `Send to ${receivers.length} devices` : 'Send'}</h2>
        <button type="button" className="button secondary" onClick={onClose}>Close</button>
      </div>

      {sent ? (
        <div className="alert info" role="status">“{sent.title}” is offered to {handles(sent.to)}: it copies as soon as they accept.</div>
      ) : null}

      {progress ? (
        <ImportProgress progress={progress} label={progress.label} />
      ) : (
        <>
          <div
            className={`${styles.drop} ${dragging ? styles.dragging : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => void onDrop(e)}
            data-testid="drop-zone"
          >
            <strong>Drop files or folders here</strong>
            <div className={styles.pickRow}>
              <label className="button secondary">
                Add files
                <input
                  type="file"
                  multiple
                  aria-label="Choose a file to send"
                  disabled={busy}
                  onChange={(e) => {
                    const files = [...(e.target.files ?? [])];
                    e.target.value = '';
                    addFiles(files.map((file) => ({ file })), false);
                  }}
                />
              </label>
              <label className="button secondary">
                Add a folder
                <input
                  type="file"
                  aria-label="Choose a folder to send"
                  disabled={busy}
                  // a folder picker: every file inside, with its path in the folder
                  {...{ webkitdirectory: '' }}
                  onChange={(e) => {
                    const files = [...(e.target.files ?? [])];
                    e.target.value = '';
                    addFiles(files.map((file) => ({ file })), true);
                  }}
                />
              </label>
            </div>
            <span className="muted small">They stay on this device: the others copy them from here, directly.</span>
          </div>

          <div className="stack" style={{ gap: '0.4rem' }}>
            <label htmlFor="snippet" className="small" style={{ fontWeight: 600 }}>Text or a link</label>
            <textarea
              id="snippet"
              className={styles.textarea}
              maxLength={MAX_TEXT_BYTES}
              placeholder="Paste something to send along…"
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
            <button type="button" className="button secondary" disabled={busy || !text.trim()} onClick={addSnippet}>Add this snippet</button>
            {textError ? <div className="field-error">{textError}</div> : null}
          </div>
        </>
      )}

      {picked.length > 0 ? (
        <div className="stack" style={{ gap: '0.4rem' }} data-testid="picked">
          <div className="row spread small">
            <strong>{describeCounts(counts)}</strong>
            <span className="muted">{formatBytes(total)}</span>
          </div>
          <ul className={styles.pickedList}>
            {folders.map(([name, files]) => (
              <li key={`folder-${name}`}>
                <span className={styles.pickedName}><FolderIcon />{name}/ <span className="muted small">{files.length} files · {formatBytes(files.reduce((s, f) => s + f.blob.size, 0))}</span></span>
                <button type="button" className={styles.removeButton} aria-label={`Remove folder ${name}`} disabled={busy} onClick={() => remove(files.map((f) => f.key))}>×</button>
              </li>
            ))}
            {single.map((p) => (
              <li key={p.key}>
                <span className={styles.pickedName}>
                  {p.kind === 'text' ? <NoteIcon /> : null}
                  {p.path} <span className="muted small">{formatBytes(p.blob.size)}</span>
                </span>
                <button type="button" className={styles.removeButton} aria-label={`Remove ${p.path}`} disabled={busy} onClick={() => remove([p.key])}>×</button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}

      {everyone.length > 1 ? (
        <fieldset className={styles.receivers}>
          <legend className="small" style={{ fontWeight: 600 }}>Send to</legend>
          {everyone.map((t) => (
            <label key={t.deviceId} className={styles.receiver}>
              <input
                type="checkbox"
                checked={chosen.has(t.deviceId)}
                disabled={busy}
                onChange={(e) =>
                  setChosen((old) => {
                    const next = new Set(old);
                    if (e.target.checked) next.add(t.deviceId);
                    else next.delete(t.deviceId);
                    return next;
                  })
                }
              />
              <span>{t.name} <span className="muted small">@{t.handle}</span></span>
            </label>
          ))}
        </fieldset>
      ) : null}

      <button type="button" className="button block" disabled={busy || (picked.length === 0 && !text.trim()) || receivers.length === 0} onClick={() => send.mutate()}>
        {busy ? 'Preparing…' : receivers.length > 1 ? `Send to ${receivers.length} devices` : 'Send'}
      </button>
      <ErrorAlert error={send.error} />
      <p className="muted small" style={{ margin: 0 }}>
        A private gift: only the devices you choose see it, it is in no catalog, and no credits change hands. Each device gets its own copy, straight from this one.
      </p>
    </div>
  );
}
