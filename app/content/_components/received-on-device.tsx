'use client';

import { useEffect, useState } from 'react';
import { ErrorAlert } from '@/app/_components/form';
import { listResumes, receivedFile, storageSupported, type ResumeRecord } from '@/app/_lib/transfer/storage';
import { formatBytes } from './format';

/** Hands a file kept on this device to the browser as a download named after its title. */
export async function saveReceived(transferId: string, title: string, mediaType: string) {
  const file = await receivedFile(transferId);
  if (!file) throw new Error('The file is no longer on this device.');
  const url = URL.createObjectURL(file);
  const a = document.createElement('a');
  a.href = url;
  const ext = mediaType.split('/')[1]?.split(/[+.]/)[0] ?? 'bin';
  a.download = /\.[a-z0-9]{1,5}$/i.test(title) ? title : `${title}.${ext}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The files this device received whole, read from its own storage (the Origin Private File System, where each
 * received file sits beside a small record of what it is): shown while the coordinator cannot be reached, when the
 * transfers list cannot be read, so that what is on the phone still opens.
 */
export function ReceivedOnDevice() {
  const [files, setFiles] = useState<ResumeRecord[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!storageSupported()) return setFiles([]);
    let live = true;
    listResumes()
      .then((records) => {
        if (live) setFiles(records.filter((r) => r.complete).sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)));
      })
      .catch(() => live && setFiles([]));
    return () => {
      live = false;
    };
  }, []);
  if (files === null) return null;
  return (
    <div className="card" data-testid="received-on-device">
      <h2>Received files on this device</h2>
      <ErrorAlert error={error} />
      {files.length === 0 ? <p className="empty">No file received whole on this device yet.</p> : null}
      <ul className="list">
        {files.map((f) => (
          <li key={f.transferId} className="row spread">
            <span style={{ minWidth: 0 }}>
              <strong>{f.title}</strong>
              <span className="muted small"> {formatBytes(f.sizeBytes)} · SHA-256 verified</span>
            </span>
            <button
              type="button"
              className="button secondary"
              onClick={() => {
                setError(null);
                saveReceived(f.transferId, f.title, f.mediaType).catch(setError);
              }}
            >
              Save to device
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
