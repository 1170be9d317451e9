import { whenShort } from '@/app/_lib/format';
import styles from './home/home.module.css';

/** "Offline — as of 14:02": marks data shown from the last known copy (app/_lib/last-known.ts) while the coordinator cannot be reached. */
export function LastKnownMark({ asOf }: { asOf: string | null }) {
  if (asOf === null) return null;
  return (
    <p className={styles.offline} role="status" data-testid="last-known">
      <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
        <path d="M2 2l20 20M8.5 16.5a5 5 0 0 1 7 0M5 12.9a10 10 0 0 1 5.2-2.8M19 12.9a10 10 0 0 0-2.3-1.6M12 20h.01" />
      </svg>
      Offline — as of {whenShort(asOf)}
    </p>
  );
}
