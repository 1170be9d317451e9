'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { use } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { money, unitPrice, whenShort } from '../../_lib/format';
import { useTRPC } from '../../_lib/trpc';
import { TimingChart } from '../_components/timing-chart';
import styles from '../pageviews.module.css';

const VIEW_WORDS: Record<string, string> = { LEASED: 'loading', VALID: 'paid', ERROR: 'error', EXPIRED: 'not reported' };
const STATUS_WORDS: Record<string, string> = { OPEN: 'open', FILLED: 'all handed out', CANCELLED: 'stopped', EXPIRED: 'ended' };

function Report({ campaignId }: { campaignId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const report = useQuery(trpc.pageviews.report.queryOptions({ campaignId }, { refetchInterval: 5_000 }));
  const cancel = useMutation(trpc.pageviews.cancel.mutationOptions({ onSuccess: () => void queryClient.invalidateQueries(trpc.pageviews.pathFilter()) }));
  if (report.isPending) return <Pending query={report} />;
  if (report.isError) return <ErrorAlert error={report.error} />;
  const r = report.data;
  const fmt = (ms: number | null) => (ms === null ? '–' : `${ms} ms`);
  return (
    <div className="stack" style={{ gap: 0 }}>
      <Link href="/pageviews" className="small" style={{ minHeight: 48, display: 'inline-flex', alignItems: 'center' }}>← Page views</Link>
      <h1>Page-view report</h1>
      <p className={`${styles.url} muted`} style={{ marginTop: 0 }}>{r.url}</p>
      <section className="card stack">
        <div className={styles.figures}>
          <div><strong data-testid="report-valid">{r.total.valid}</strong><span>of {r.quantity} views</span></div>
          <div><strong data-testid="report-p50">{fmt(r.total.p50Ms)}</strong><span>p50 load</span></div>
          <div><strong>{fmt(r.total.p95Ms)}</strong><span>p95 load</span></div>
        </div>
        <p className="small muted" style={{ margin: 0 }}>
          <span className={r.status === 'OPEN' ? 'pill' : 'pill gray'}>{STATUS_WORDS[r.status] ?? r.status.toLowerCase()}</span> {r.total.errors} errors · {r.total.expired} not reported · {r.total.pending} loading ·{' '}
          {unitPrice(r.price)} per view · {money(r.spent)} credits paid · at most {r.ratePerMinute} a minute
        </p>
        {r.status === 'OPEN' ? (
          <button className="button danger block" type="button" disabled={cancel.isPending} onClick={() => cancel.mutate({ campaignId })}>
            Stop this order ({r.notHandedOut} views not handed out)
          </button>
        ) : null}
        <ErrorAlert error={cancel.error} />
      </section>
      <section className="card stack" aria-labelledby="chart-title">
        <h2 id="chart-title" style={{ margin: 0 }}>Load time by network and region</h2>
        <TimingChart groups={r.groups} />
        {r.groups.length === 0 ? null : (
        <table className="values" data-testid="report-groups">
          <thead>
            <tr><th>Network</th><th className="num">Views</th><th className="num">p50</th><th className="num">p95</th><th className="num">Errors</th></tr>
          </thead>
          <tbody>
            {r.groups.map((g) => (
              <tr key={`${g.network}-${g.region}`}>
                <td>{g.network}<br /><span className="small muted">{g.region}</span></td><td className="num">{g.valid}</td><td className="num">{fmt(g.p50Ms)}</td><td className="num">{fmt(g.p95Ms)}</td><td className="num">{g.errors}</td>
              </tr>
            ))}
          </tbody>
        </table>
        )}
      </section>
      <section className="card" aria-labelledby="views-title">
        <h2 id="views-title">Each view</h2>
        <p className="small muted" style={{ marginTop: 0 }}>
          Each request carried its token as <code>swapmesh_view</code> in the query: your site&rsquo;s log can confirm every paid view.
        </p>
        {r.views.length === 0 ? (
          <p className="empty">No views handed out yet: they start as soon as a serving device is free.</p>
        ) : (
          <ul className={`list ${styles.views}`} data-testid="report-views">
            {[...r.views].reverse().map((v) => (
              <li key={v.id}>
                <span>
                  <code>{v.token.slice(0, 10)}…</code>
                  <br />
                  <span className="small muted">{v.network} · {v.region} · {whenShort(v.claimedAt)}</span>
                </span>
                <span style={{ textAlign: 'right' }}>
                  {v.state === 'VALID' ? `${v.durationMs} ms` : v.error ?? ''}
                  <br />
                  <span className={v.state === 'VALID' ? 'pill' : 'pill gray'}>{VIEW_WORDS[v.state] ?? v.state.toLowerCase()}</span>
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

export default function ReportPage({ params }: { params: Promise<{ campaignId: string }> }) {
  const { campaignId } = use(params);
  return <RequireMember what="see your page-view report">{() => <Report campaignId={campaignId} />}</RequireMember>;
}
