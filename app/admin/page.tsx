'use client';

import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { ErrorAlert } from '../_components/form';
import { LoadMore, rowsOf } from '../_components/load-more';
import { Pending } from '../_components/loading';
import { RequireMember } from '../_components/require-member';
import { money, whenShort } from '../_lib/format';
import { useTRPC } from '../_lib/trpc';

const WHAT: Record<string, string> = {
  DISPUTE_DECIDED: 'Dispute decided',
  CASH_DEPOSIT: 'Cash deposit',
  CASH_WITHDRAWAL: 'Cash withdrawal',
  POOL_FUNDED: 'Credits issued to the pool',
  DRAW_COMMITTED: 'Sweepstakes draw committed',
  DRAW_REVEALED: 'Sweepstakes draw revealed',
  LINK_PROPOSED: 'Federation link proposed',
};
const STATE_WORDS: Record<string, string> = { MATCHED: 'matched', ACTIVE: 'active', DELIVERED: 'delivered', DISPUTED: 'disputed', SETTLED: 'settled', FAILED: 'failed', REFUNDED: 'refunded' };

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
function duration(seconds: number) {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3_600).toFixed(1)} h`;
}

/** The system administrator's screen: the coordinator's health, every community, the audit trail. */
export default function AdminPage() {
  return <RequireMember what="administer this coordinator">{() => <Admin />}</RequireMember>;
}

function Admin() {
  const trpc = useTRPC();
  const allowed = useQuery(trpc.system.amAdmin.queryOptions());
  if (allowed.isPending) return <Pending query={allowed} />;
  if (!allowed.data) {
    return (
      <div className="card" data-testid="not-admin">
        <h1>Administration</h1>
        <p>Only this coordinator&apos;s administrators can open this screen. Whoever runs it names them in SWAPMESH_ADMINS.</p>
      </div>
    );
  }
  return (
    <>
      <h1>Administration</h1>
      <Health />
      <Communities />
      <Audit />
    </>
  );
}

function Health() {
  const trpc = useTRPC();
  const health = useQuery({ ...trpc.system.health.queryOptions(), refetchInterval: 5_000 });
  if (health.isPending) return <Pending query={health} />;
  if (health.isError) return <ErrorAlert error={health.error} />;
  const { totals, process, logSyncs } = health.data;
  const contracts = Object.entries(totals.contracts).map(([state, n]) => `${n} ${STATE_WORDS[state] ?? state.toLowerCase()}`).join(' · ');
  return (
    <div className="card stack" data-testid="health">
      <h2>Coordinator health</h2>
      <table className="values">
        <tbody>
          <tr><td>Members · communities</td><td className="num">{totals.members} · {totals.communities}</td></tr>
          <tr><td>Open orders</td><td className="num">{totals.openOrders}</td></tr>
          <tr><td>Contracts</td><td className="num wrap">{contracts || 'none yet'}</td></tr>
          <tr><td>Live events kept</td><td className="num">{totals.liveEvents}</td></tr>
          <tr><td>Up for</td><td className="num">{duration(process.uptimeSeconds)}</td></tr>
          <tr><td>Memory (resident · heap)</td><td className="num">{megabytes(process.rssBytes)} · {megabytes(process.heapUsedBytes)}</td></tr>
          <tr><td>Event loop delay (p50 · p99)</td><td className="num">{process.eventLoopDelay.p50Ms} · {process.eventLoopDelay.p99Ms} ms</td></tr>
          {logSyncs && (
            <tr data-testid="log-syncs">
              <td>Commits waiting for the disk, last minute (p50 · p99 · longest)</td>
              <td className="num wrap">
                {logSyncs.p50Ms} · {logSyncs.p99Ms} · {logSyncs.maxMs} ms{logSyncs.slow ? `, ${logSyncs.slow} of ${logSyncs.count} over ${logSyncs.slowMs} ms` : ''}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <h3 style={{ margin: 0 }}>Background work</h3>
      <ul className="list" data-testid="tasks">
        {process.tasks.map((task) => (
          <li key={task.name}>
            <div className="row spread">
              <strong>{task.name}</strong>
              <span className={task.lagMs && task.lagMs > 10_000 ? 'pill' : 'muted small'}>{task.lagMs && task.lagMs > 10_000 ? `${Math.round(task.lagMs / 1000)} s behind` : 'on time'}</span>
            </div>
            <div className="muted small">
              {task.runs} runs{task.failures ? `, ${task.failures} failed` : ''} · last {task.lastRunAt ? whenShort(task.lastRunAt) : 'never'}
              {task.lastDurationMs !== null ? `, took ${task.lastDurationMs} ms` : ''}
            </div>
            {task.lastError ? <div className="alert error small">{task.lastError}</div> : null}
          </li>
        ))}
        {process.queues.map((queue) => (
          <li key={queue.name}>
            <div className="row spread">
              <strong>{queue.name} writer</strong>
              <span className="muted small">{queue.pending} waiting</span>
            </div>
            <div className="muted small">{Object.entries(queue.stats).map(([k, v]) => `${k} ${v}`).join(' · ')}</div>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Communities() {
  const trpc = useTRPC();
  const communities = useInfiniteQuery(trpc.system.communities.infiniteQueryOptions({ limit: 20 }, { getNextPageParam: (page) => page.nextCursor }));
  const rows = rowsOf(communities.data);
  return (
    <div className="card" data-testid="all-communities">
      <h2>Communities</h2>
      {communities.isError ? <ErrorAlert error={communities.error} /> : null}
      <ul className="list">
        {rows.map((c) => (
          <li key={c.id}>
            <Link className="item" href={`/communities/${c.slug}`}>
              <strong>{c.name}</strong>
              <div className="muted small">
                {c.members} {c.members === 1 ? 'member' : 'members'} · {c.openOrders} open {c.openOrders === 1 ? 'order' : 'orders'} · {c.openContracts} running{' '}
                {c.openContracts === 1 ? 'contract' : 'contracts'} · {(c.commissionBps / 100).toFixed(2)}% commission{c.inviteOnly ? ' · invite only' : ''}
              </div>
            </Link>
          </li>
        ))}
      </ul>
      <LoadMore query={communities} label="More communities" />
    </div>
  );
}

function Audit() {
  const trpc = useTRPC();
  const audit = useInfiniteQuery(trpc.system.audit.infiniteQueryOptions({ limit: 20 }, { getNextPageParam: (page) => page.nextCursor }));
  const rows = rowsOf(audit.data);
  return (
    <div className="card" data-testid="audit">
      <h2>Coordinators&apos; decisions</h2>
      {audit.isError ? <ErrorAlert error={audit.error} /> : null}
      {rows.length === 0 && !audit.isPending ? <p className="muted small">No decisions recorded yet.</p> : null}
      <ul className="list">
        {rows.map((line) => (
          <li key={`${line.what}:${line.id}`} className="statement-line">
            <div className="statement-what">
              <div className="statement-title">{WHAT[line.what] ?? line.what}</div>
              <div className="muted small">
                {line.community ? `${line.community.name} · ` : ''}
                {line.actor ? `@${line.actor} · ` : ''}
                {whenShort(line.createdAt)}
              </div>
              {line.detail ? <div className="small">{line.detail}</div> : null}
            </div>
            {line.amount !== null ? <div className="statement-amount">{money(line.amount)}</div> : null}
          </li>
        ))}
      </ul>
      <LoadMore query={audit} label="Earlier decisions" />
    </div>
  );
}
