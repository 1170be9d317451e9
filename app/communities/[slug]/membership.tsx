'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useState } from 'react';
import { ErrorAlert, Field, fieldErrors } from '../../_components/form';
import { formatCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';

export function JoinCard({
  community,
  signedIn,
}: {
  community: { slug: string; name: string; inviteOnly: boolean; startingGrant: number };
  signedIn: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pathname = usePathname();
  const [inviteCode, setInviteCode] = useState('');
  const join = useMutation({
    ...trpc.community.join.mutationOptions(),
    onSuccess: () => queryClient.invalidateQueries(),
  });
  if (!signedIn) {
    return (
      <div className="card center">
        <p>Sign in to join {community.name}.</p>
        <Link className="button" href={`/signin?next=${encodeURIComponent(pathname)}`}>Sign in</Link>
      </div>
    );
  }
  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        join.mutate({ slug: community.slug, inviteCode: community.inviteOnly ? inviteCode : undefined });
      }}
    >
      <h2>Join {community.name}</h2>
      <p className="muted">You get {formatCredits(community.startingGrant)} credits when you join for the first time.</p>
      <ErrorAlert error={join.error} />
      {community.inviteOnly ? (
        <Field label="Invite code" name="inviteCode" autoCapitalize="characters" value={inviteCode} onChange={(e) => setInviteCode(e.target.value)} error={fieldErrors(join.error).inviteCode} required />
      ) : null}
      <button className="button block" type="submit" disabled={join.isPending}>
        {join.isPending ? 'Joining…' : 'Join'}
      </button>
    </form>
  );
}

export function LeaveButton({ communityId }: { communityId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const leave = useMutation({
    ...trpc.community.leave.mutationOptions(),
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      router.push('/communities');
    },
  });
  return (
    <div className="stack">
      <ErrorAlert error={leave.error} />
      <button
        className="button danger block"
        disabled={leave.isPending}
        onClick={() => {
          if (window.confirm('Leave this community? Your balance stays here if you come back.')) leave.mutate({ communityId });
        }}
      >
        Leave community
      </button>
    </div>
  );
}
