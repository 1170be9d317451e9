'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { ErrorAlert } from '../../../_components/form';
import { Pending } from '../../../_components/loading';
import { RequireMember } from '../../../_components/require-member';
import { useTRPC } from '../../../_lib/trpc';
import type { AppRouter } from '@/server/routers/_app';
import type { inferRouterOutputs } from '@trpc/server';

export type CoordinatedCommunity = inferRouterOutputs<AppRouter>['community']['get'];

/** A coordinator screen of one community: its title and a way back, and the screen only for its coordinator. */
export function CoordinatorGate({ slug, title, children }: { slug: string; title: string; children: (community: CoordinatedCommunity) => ReactNode }) {
  return (
    <RequireMember what="coordinate this community">
      {() => <Gate slug={slug} title={title}>{children}</Gate>}
    </RequireMember>
  );
}

function Gate({ slug, title, children }: { slug: string; title: string; children: (community: CoordinatedCommunity) => ReactNode }) {
  const trpc = useTRPC();
  const community = useQuery(trpc.community.get.queryOptions({ slug }));
  if (community.isPending) return <Pending query={community} />;
  if (community.isError) return <ErrorAlert error={community.error} />;
  const c = community.data;
  return (
    <>
      <div className="row spread" style={{ marginBottom: '0.75rem', alignItems: 'center' }}>
        <div style={{ minWidth: 0 }}>
          <h1 style={{ margin: 0 }}>{title}</h1>
          <div className="muted small">{c.name}</div>
        </div>
        <Link className="button secondary" href={title === 'Coordinator' ? `/communities/${c.slug}` : `/communities/${c.slug}/coordinator`} style={{ flex: 'none' }}>
          Back
        </Link>
      </div>
      {c.role === 'COORDINATOR' ? (
        children(c)
      ) : (
        <div className="alert error" role="alert">
          Only the coordinator of {c.name} can use this screen.
        </div>
      )}
    </>
  );
}
