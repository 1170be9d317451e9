'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { unitPrice, whenShort } from '../_lib/format';
import { useTRPC } from '../_lib/trpc';

/** Open jobs in the member's communities with units waiting for a device, and what each unit pays. */
export function WaitingJobs() {
  const trpc = useTRPC();
  const waiting = useQuery({ ...trpc.compute.waitingJobs.queryOptions({ limit: 5 }), refetchInterval: 30_000 });
  if (!waiting.data) return null;
  const { jobs, communities } = waiting.data;
  return (
    <div data-testid="waiting-jobs" style={{ background: 'var(--bg)', borderRadius: 12, padding: '0.6rem 0.75rem' }}>
      <div style={{ fontWeight: 600 }}>Jobs waiting{communities > 1 ? ' in your communities' : ''}</div>
      {jobs.length === 0 ? (
        <p className="muted small" style={{ margin: '0.25rem 0 0' }}>
          {communities === 0 ? 'Join a community to see its jobs.' : 'No job is waiting for devices right now: a switched-on device picks one up as soon as it is posted.'}
        </p>
      ) : (
        <ul className="list" style={{ margin: '0.25rem 0 0' }}>
          {jobs.map((job) => (
            <li key={job.id} className="row spread" style={{ padding: '0.4rem 0', borderColor: '#e0dedb', alignItems: 'flex-start' }} data-testid="waiting-job">
              <span style={{ minWidth: 0 }}>
                <strong>{job.kernelTitle}</strong>
                <span className="muted small" style={{ display: 'block' }}>
                  {job.unitsWaiting} {job.unitsWaiting === 1 ? 'unit' : 'units'} waiting · {job.community.name} · until {whenShort(job.deadline)}
                  {job.memoryMb > 0 ? ` · needs ${job.memoryMb.toLocaleString()} MB` : ''}
                </span>
              </span>
              <span style={{ whiteSpace: 'nowrap', fontVariantNumeric: 'tabular-nums' }}>
                {unitPrice(job.pricePerUnit)} <span className="muted small">/ unit</span>
              </span>
            </li>
          ))}
        </ul>
      )}
      {communities === 0 ? (
        <Link className="button secondary block" href="/communities" style={{ marginTop: '0.5rem' }}>Find a community</Link>
      ) : null}
    </div>
  );
}
