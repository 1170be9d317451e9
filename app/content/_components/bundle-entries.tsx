'use client';

import { useState } from 'react';
import { describeCounts, fileNameOf, linkRuns } from '@/app/_lib/transfer/bundle';
import type { EntryView, TransferView } from '@/app/_lib/transfer/manager';
import { receivedFile } from '@/app/_lib/transfer/storage';
import styles from '../content.module.css';
import { NoteIcon } from './bundle-icons';
import { formatBytes } from './format';

/** The folders of a path below the bundle's own top folder, as "photos/day 1 · " (empty at the top). */
function folderOf(path: string, prefix: string): string {
  const inner = path.startsWith(prefix) ? path.slice(prefix.length) : path;
  const cut = inner.lastIndexOf('/');
  return cut > 0 ? `${inner.slice(0, cut)} · ` : '';
}

/** "trip/" when every file is inside that one folder (the title names it already), else "". */
function commonTop(paths: string[]): string {
  const tops = new Set(paths.map((p) => (p.includes('/') ? p.split('/')[0] : '')));
  const [top] = [...tops];
  return tops.size === 1 && top ? `${top}/` : '';
}

/** Lists above this many entries start folded. */
const OPEN_UP_TO = 30;

/** Saves one file of a received bundle: its bytes are a slice of the received stream. */
async function saveEntry(transferId: string, entry: EntryView & { offset: number }) {
  const file = await receivedFile(transferId);
  if (!file) throw new Error('The files are no longer on this device.');
  const url = URL.createObjectURL(new Blob([file.slice(entry.offset, entry.offset + entry.sizeBytes)], { type: entry.mediaType }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileNameOf(entry.path);
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A received snippet: its text with http(s) links that open in a new tab without access to this page, and Copy. */
function Snippet({ entry }: { entry: EntryView }) {
  const [copied, setCopied] = useState(false);
  if (entry.text === null) return null;
  return (
    <div className="stack" style={{ gap: '0.35rem' }} data-testid="snippet">
      <p className={styles.snippet}>
        {linkRuns(entry.text).map((run, i) =>
          run.kind === 'link' ? (
            <a key={i} href={run.href} target="_blank" rel="noopener noreferrer nofollow">
              {run.text}
            </a>
          ) : (
            <span key={i}>{run.text}</span>
          ),
        )}
      </p>
      <button
        type="button"
        className="button secondary"
        onClick={() =>
          void navigator.clipboard.writeText(entry.text ?? '').then(
            () => {
              setCopied(true);
              setTimeout(() => setCopied(false), 2_000);
            },
            () => setCopied(false),
          )
        }
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

function EntryRow({ view, entry, offset, prefix }: { view: TransferView; entry: EntryView; offset: number; prefix: string }) {
  const [error, setError] = useState<string | null>(null);
  const pct = entry.sizeBytes ? Math.floor((entry.bytesDone / entry.sizeBytes) * 100) : entry.bytesDone >= 0 && view.bytesDone >= offset ? 100 : 0;
  const received = view.role === 'receive' && view.phase === 'completed';
  const state = entry.ok === true ? '✓ verified' : entry.ok === false ? 'does not match' : `${pct}%`;
  const showBar = view.phase !== 'completed';
  return (
    <li className={styles.entry} data-testid="bundle-entry" data-path={entry.path} data-ok={entry.ok === null ? '' : String(entry.ok)}>
      <span className={styles.entryText} title={entry.path}>
        <span className={styles.entryName}>
          {entry.kind === 'text' ? <NoteIcon /> : null}
          {fileNameOf(entry.path)}
        </span>
        <span className="muted small">
          {folderOf(entry.path, prefix)}
          {formatBytes(entry.sizeBytes)}
        </span>
      </span>
      <span className={`${styles.entryState} ${entry.ok === true ? styles.entryOk : entry.ok === false ? styles.entryBad : ''}`}>{state}</span>
      {received && entry.kind === 'file' && entry.ok ? (
        <button type="button" className={styles.saveButton} aria-label={`Save ${entry.path}`} title={`Save ${fileNameOf(entry.path)}`} onClick={() => void saveEntry(view.id, { ...entry, offset }).catch((e: unknown) => setError(String(e)))}>
          <svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2" aria-hidden="true">
            <path d="M12 4v12m0 0l-4-4m4 4l4-4M5 20h14" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
        </button>
      ) : (
        <span />
      )}
      {showBar ? (
      <div className={styles.entryBar} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={`${entry.path}: ${pct}%`}>
        <div style={{ width: `${pct}%` }} />
      </div>
      ) : null}
      {entry.kind === 'text' ? <div style={{ gridColumn: '1 / -1' }}><Snippet entry={entry} /></div> : null}
      {error ? <div className="field-error" style={{ gridColumn: '1 / -1' }}>{error}</div> : null}
    </li>
  );
}

/** Every file and snippet of a bundle transfer, each with its own progress bar and, once in, its hash check. */
export function BundleEntries({ view }: { view: TransferView }) {
  const entries = view.entries;
  if (!entries) return null;
  const offsets: number[] = [];
  entries.reduce((at, e) => (offsets.push(at), at + e.sizeBytes), 0);
  const counts = { fileCount: entries.filter((e) => e.kind === 'file').length, textCount: entries.filter((e) => e.kind === 'text').length };
  const done = entries.filter((e) => e.sizeBytes === 0 ? view.bytesDone >= offsets[e.index]! : e.bytesDone === e.sizeBytes).length;
  const snippets = entries.filter((e) => e.kind === 'text');
  const files = entries.filter((e) => e.kind === 'file');
  const prefix = commonTop(files.map((f) => f.path));
  // a finished send folds its list away; a receiver keeps its files (and their Save buttons) in view
  const open = files.length <= OPEN_UP_TO && (view.role === 'receive' || view.phase !== 'completed');
  const rowsOf = (list: EntryView[]) => list.map((e) => <EntryRow key={e.index} view={view} entry={e} offset={offsets[e.index]!} prefix={prefix} />);
  return (
    <div data-testid="bundle">
      {view.role === 'receive' ? <ul className={styles.entries}>{rowsOf(snippets)}</ul> : null}
      <details open={open} className={styles.bundleDetails}>
        <summary>
          {describeCounts(counts)} · {done} of {entries.length} {view.role === 'receive' ? 'in' : 'sent'}
        </summary>
        <ul className={styles.entries}>{rowsOf(view.role === 'receive' ? files : entries)}</ul>
      </details>
    </div>
  );
}
