'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { useTRPC } from '../../_lib/trpc';
import { MyJobs } from '../_components/my-jobs';

/** The Jobs tab: the member's compute jobs in each of their communities, and a way to post one. */
function Jobs() {
  const trpc = useTRPC();
  const mine = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  if (mine.isPending) return <Pending query={mine} />;
  const items = mine.data?.items ?? [];
  return (
    <>
      <div className="card">
        <h1>Compute jobs</h1>
        <p className="muted" style={{ margin: 0 }}>
          A job is split into work units that members&rsquo; devices compute while they donate. You pay only for units checked by
          more than one device.
        </p>
      </div>
      {items.length === 0 ? (
        <div className="card empty">
          <p>Join a community to post a job in it.</p>
          <Link className="button" href="/communities">Find a community</Link>
        </div>
      ) : (
        items.map((c) => (
          <MyJobs key={c.id} communityId={c.id} title={items.length > 1 ? `In ${c.name}` : 'Your jobs'} />
        ))
      )}
    </>
  );
}

export default function JobsPage() {
  return <RequireMember what="see your compute jobs">{() => <Jobs />}</RequireMember>;
}
