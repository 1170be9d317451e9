'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { money } from '../../_lib/format';
import { useTRPC } from '../../_lib/trpc';

const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/**
 * Where an invitation link (or its QR code) lands: `/communities/join?c=<slug>&code=<invite code>`. It says what
 * the community is, has a newcomer sign up or sign in and come back here, and joins with one tap.
 */
function JoinInvitation() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const params = useSearchParams();
  const slug = (params.get('c') ?? '').trim().toLowerCase();
  const code = params.get('code')?.trim() || undefined;
  const valid = slug.length >= 3 && slug.length <= 40 && SLUG.test(slug);
  const me = useQuery(trpc.auth.me.queryOptions());
  const community = useQuery(trpc.community.get.queryOptions({ slug }, { enabled: valid }));
  const join = useMutation({
    ...trpc.community.join.mutationOptions(),
    onSuccess: async (joined) => {
      await queryClient.invalidateQueries();
      router.push(`/communities/${joined.slug}`);
    },
  });

  if (!valid) {
    return (
      <div className="card center">
        <h1>This invitation is incomplete</h1>
        <p className="muted">The link is missing the community’s name. Ask whoever invited you to send it again, or look for the community yourself.</p>
        <Link className="button" href="/communities">Find a community</Link>
      </div>
    );
  }
  if (community.isPending || me.isPending) return <Pending query={community.isPending ? community : me} />;
  if (community.isError) return <ErrorAlert error={community.error} />;
  const c = community.data;
  const here = `/communities/join?${params.toString()}`;
  return (
    <div className="card stack" data-testid="invitation">
      <p className="muted small" style={{ margin: 0 }}>You are invited to</p>
      <h1 style={{ margin: 0 }}>{c.name}</h1>
      {c.description ? <p style={{ margin: 0 }}>{c.description}</p> : null}
      <p className="muted small" style={{ margin: 0 }}>
        {c.memberCount} {c.memberCount === 1 ? 'member' : 'members'} · {money(c.startingGrant)} credits for you when you join ·{' '}
        {(c.commissionBps / 100).toFixed(2)}% commission on trades
      </p>
      {c.inviteOnly && !code ? (
        <div className="alert error" role="alert">
          This community is invite-only and the link has no invite code: ask for a new link.
        </div>
      ) : null}
      <ErrorAlert error={join.error} />
      {c.role ? (
        <>
          <div className="alert info" role="status">You are already a member.</div>
          <Link className="button block" href={`/communities/${c.slug}`}>Open {c.name}</Link>
        </>
      ) : me.data ? (
        <button className="button block" type="button" disabled={join.isPending || (c.inviteOnly && !code)} onClick={() => join.mutate({ slug: c.slug, inviteCode: code })}>
          {join.isPending ? 'Joining…' : `Join ${c.name} as @${me.data.handle}`}
        </button>
      ) : (
        <>
          <Link className="button block" href={`/signup?next=${encodeURIComponent(here)}`}>Create an account to join</Link>
          <Link className="button secondary block" href={`/signin?next=${encodeURIComponent(here)}`}>I have an account: sign in</Link>
        </>
      )}
    </div>
  );
}

export default function JoinPage() {
  return (
    <Suspense>
      <JoinInvitation />
    </Suspense>
  );
}
