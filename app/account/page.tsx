'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { RequireMember } from '../_components/require-member';
import { ErrorAlert } from '../_components/form';
import { forgetLastKnown } from '../_lib/last-known';
import { useTRPC } from '../_lib/trpc';

export default function AccountPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const admin = useQuery(trpc.system.amAdmin.queryOptions());
  const signOut = useMutation({
    ...trpc.auth.signOut.mutationOptions(),
    onSuccess: async () => {
      // the last known Home stays on this device only while its member is signed in here
      const member = queryClient.getQueryData(trpc.auth.me.queryKey());
      if (member) forgetLastKnown(member.id);
      queryClient.clear();
      router.push('/');
    },
  });
  return (
    <RequireMember what="see your account">
      {(member) => (
        <div className="card stack">
          <h1>@{member.handle}</h1>
          <p className="muted">Signed in on this device.</p>
          {admin.data ? (
            <Link className="button secondary block" href="/admin">
              Administration
            </Link>
          ) : null}
          <ErrorAlert error={signOut.error} />
          <button className="button secondary block" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
            Sign out
          </button>
        </div>
      )}
    </RequireMember>
  );
}
