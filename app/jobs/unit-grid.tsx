'use client';

/** Where each unit stands (server/compute/scheduler.ts `unitPhase`), in the job page's words and colours. */
export type UnitPhase = 'waiting' | 'computing' | 'awaiting' | 'confirming' | 'validated' | 'failed';

export const PHASE_TEXT: Record<UnitPhase, string> = {
  waiting: 'not started',
  computing: 'being computed',
  awaiting: 'computed, waiting for a second device to confirm',
  confirming: 'computed, a second device is checking it',
  validated: 'validated',
  failed: 'failed: the devices did not agree',
};

const PHASE_STYLE: Record<UnitPhase, { background: string; border?: string }> = {
  waiting: { background: '#e7e5e4' },
  computing: { background: '#bfdbfe' },
  awaiting: { background: 'repeating-linear-gradient(135deg, #fcd34d 0 4px, #fef3c7 4px 8px)', border: '1px solid #d97706' },
  confirming: { background: '#fde68a', border: '1px solid #d97706' },
  validated: { background: 'var(--accent)' },
  failed: { background: '#fca5a5' },
};

const ORDER: UnitPhase[] = ['validated', 'awaiting', 'confirming', 'computing', 'waiting', 'failed'];

/** One square per unit, with a legend counting each phase; the list under it says the same unit by unit. */
export function UnitGrid({ phases }: { phases: UnitPhase[] }) {
  const counts = new Map<UnitPhase, number>();
  for (const p of phases) counts.set(p, (counts.get(p) ?? 0) + 1);
  return (
    <div className="stack" style={{ gap: '0.6rem' }}>
      <div
        role="img"
        aria-label={ORDER.filter((p) => counts.get(p)).map((p) => `${counts.get(p)} ${PHASE_TEXT[p]}`).join('; ')}
        data-testid="unit-grid"
        style={{ display: 'grid', gridTemplateColumns: `repeat(${Math.min(16, Math.max(8, Math.ceil(Math.sqrt(phases.length))))}, 1fr)`, gap: 3 }}
      >
        {phases.map((p, i) => (
          <span key={i} data-phase={p} title={`Unit ${i + 1}: ${PHASE_TEXT[p]}`} style={{ aspectRatio: '1', borderRadius: 3, boxSizing: 'border-box', ...PHASE_STYLE[p] }} />
        ))}
      </div>
      <ul className="small" style={{ listStyle: 'none', margin: 0, padding: 0, display: 'grid', gap: '0.3rem' }} data-testid="unit-legend">
        {ORDER.filter((p) => counts.get(p)).map((p) => (
          <li key={p} className="row" style={{ gap: '0.5rem', alignItems: 'flex-start' }}>
            <span aria-hidden style={{ flex: 'none', width: 14, height: 14, marginTop: 3, borderRadius: 3, boxSizing: 'border-box', ...PHASE_STYLE[p] }} />
            <span><strong>{counts.get(p)}</strong> {PHASE_TEXT[p]}</span>
          </li>
        ))}
      </ul>
      <details>
        <summary style={{ cursor: 'pointer', minHeight: 48, display: 'flex', alignItems: 'center' }}>Unit by unit</summary>
        <ol className="small" style={{ margin: 0, paddingLeft: '1.6rem', columns: 1 }} data-testid="unit-list">
          {phases.map((p, i) => (
            <li key={i}>{PHASE_TEXT[p].replace(/^./, (c) => c.toUpperCase())}</li>
          ))}
        </ol>
      </details>
    </div>
  );
}
