import styles from '../pageviews.module.css';

export type ChartGroup = { network: string; region: string; valid: number; errors: number; p50Ms: number | null; p95Ms: number | null };

const ROW = 46;
const LABEL = 118;
const WIDTH = 360;
const P50 = '#0f766e';
const P95 = '#99f6e4';

/** Load times as plain SVG: per network type and region, a bar to the p95 with the p50 inside it, in ms. */
export function TimingChart({ groups }: { groups: ChartGroup[] }) {
  const timed = groups.filter((g) => g.p95Ms !== null);
  if (timed.length === 0) return <p className="muted small">No load times yet: they appear as donors&rsquo; devices report their views.</p>;
  const max = Math.max(...timed.map((g) => g.p95Ms!));
  const scale = (ms: number) => Math.max(2, ((WIDTH - LABEL - 56) * ms) / max);
  const height = timed.length * ROW + 8;
  return (
    <figure style={{ margin: 0 }}>
      <svg className={styles.chart} viewBox={`0 0 ${WIDTH} ${height}`} role="img" aria-label="Load time by network type and region: p50 and p95 in milliseconds" data-testid="timing-chart">
        {timed.map((g, i) => {
          const y = i * ROW + 6;
          return (
            <g key={`${g.network}-${g.region}`}>
              <text x={0} y={y + 14} fontSize="13" fill="#1c1917">{g.network}</text>
              <text x={0} y={y + 31} fontSize="11" fill="#78716c">{g.region} · {g.valid} views</text>
              <rect x={LABEL} y={y + 4} width={scale(g.p95Ms!)} height={28} rx={4} fill={P95} />
              <rect x={LABEL} y={y + 11} width={scale(g.p50Ms!)} height={14} rx={3} fill={P50} />
              <text x={LABEL + scale(g.p95Ms!) + 6} y={y + 16} fontSize="11" fill="#1c1917">{g.p50Ms} ms</text>
              <text x={LABEL + scale(g.p95Ms!) + 6} y={y + 30} fontSize="11" fill="#78716c">{g.p95Ms} ms</text>
            </g>
          );
        })}
      </svg>
      <figcaption className={styles.legend}>
        <span><span className={styles.swatch} style={{ background: P50 }} />p50 (median)</span>
        <span><span className={styles.swatch} style={{ background: P95 }} />p95</span>
      </figcaption>
    </figure>
  );
}
