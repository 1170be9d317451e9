'use client';

import { useCallback, useRef, useState } from 'react';
import type { Manifest } from '@/app/_lib/transfer/chunks';
import { importOffer, persistStorage, storageSupported } from '@/app/_lib/transfer/storage';
import styles from '../content.module.css';
import { formatBytes } from './format';

export type Imported = { file: File; manifest: Manifest };

/** Copies a picked file into this device's offered files while fingerprinting it (SHA-256 per chunk). */
export function useFileImport() {
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [imported, setImported] = useState<Imported | null>(null);
  const busy = useRef(false);

  const run = useCallback(async (file: File): Promise<Imported | null> => {
    if (busy.current) return null;
    busy.current = true;
    setError(null);
    setImported(null);
    setProgress({ done: 0, total: file.size });
    try {
      if (file.size === 0) throw new Error('This file is empty: there is nothing to offer.');
      if (!storageSupported()) throw new Error('This browser cannot keep files for sharing (no Origin Private File System).');
      void persistStorage();
      const manifest = await importOffer(file, { onProgress: (p) => setProgress({ done: p.bytesDone, total: p.sizeBytes }) });
      const result = { file, manifest };
      setImported(result);
      return result;
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return null;
    } finally {
      busy.current = false;
      setProgress(null);
    }
  }, []);

  const reset = useCallback(() => {
    setImported(null);
    setError(null);
  }, []);

  return { run, progress, error, imported, reset };
}

export function ImportProgress({ progress, label = 'Fingerprinting and keeping a copy on this device…' }: { progress: { done: number; total: number }; label?: string }) {
  const pct = progress.total ? Math.floor((progress.done / progress.total) * 100) : 100;
  return (
    <div className="stack" role="status" aria-live="polite">
      <div className="row spread small">
        <span>{label}</span>
        <strong data-testid="import-percent">{pct}%</strong>
      </div>
      <div className="progress" aria-hidden="true">
        <div style={{ width: `${pct}%` }} />
      </div>
      <span className="muted small">
        {formatBytes(progress.done)} of {formatBytes(progress.total)}
      </span>
    </div>
  );
}

/** A large tap target that opens the file picker. */
export function FilePicker({ onFile, label = 'Choose a file', disabled }: { onFile: (file: File) => void; label?: string; disabled?: boolean }) {
  return (
    <label className={styles.drop} style={{ position: 'relative' }}>
      <svg width="36" height="36" viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" aria-hidden="true" style={{ color: 'var(--accent)' }}>
        <path d="M12 16V4m0 0l-4 4m4-4l4 4M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
      <strong>{label}</strong>
      <span className="muted small">It stays on this device: others copy it from here, directly.</span>
      <input
        type="file"
        aria-label={label}
        disabled={disabled}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) onFile(file);
        }}
      />
    </label>
  );
}
