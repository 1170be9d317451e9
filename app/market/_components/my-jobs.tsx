'use client';

import { useInfiniteQuery } from '@tanstack/react-query';
import { LoadMore, rowsOf } from '@/app/_components/load-more';
import Link from 'next/link';
import { useTRPC } from '@/app/_lib/trpc';

export function MyJobs({ communityId, title = 'Compute jobs' }: { communityId: string; title?: string }) {
  const trpc = useTRPC();
  const jobs = useInfiniteQuery(trpc.compute.myJobs.infiniteQueryOptions({ communityId, limit: 10 }, { getNextPageParam: (page) => page.nextCursor }));
  const list = rowsOf(jobs.data);
  return (
    <div className="card">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>{title}</h2>
        <Link className="button secondary" href="/jobs/new">New job</Link>
      </div>
      {jobs.data && list.length === 0 ? <p className="empty">Post a job and let members&rsquo; devices compute it.</p> : null}
      <ul className="list">
        {list.map((j) => (
          <li key={j.id}>
            <Link className="item" href={`/jobs/${j.id}`}>
              <div className="row spread">
                <strong>{j.title}</strong>
                <span className={`state ${j.status === 'COMPLETED' ? 'SETTLED' : j.status === 'OPEN' ? 'OPEN' : 'FAILED'}`}>{j.status.toLowerCase()}</span>
              </div>
              <div className="muted small">{j.progress.validated} of {j.unitCount} {j.unitCount === 1 ? 'unit' : 'units'} done · {j.progress.donors} {j.progress.donors === 1 ? 'donor' : 'donors'}</div>
            </Link>
          </li>
        ))}
      </ul>
      <LoadMore query={jobs} />
    </div>
  );
}
