'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { ErrorAlert, Field, fieldErrors } from '@/app/_components/form';
import { useTRPC } from '@/app/_lib/trpc';
import { safeNextPath } from './safe-next';

/** Seconds to wait when the coordinator refused the attempt as too many (TOO_MANY_REQUESTS), else null. */
function retryAfter(error: unknown): number | null {
  if (!(error instanceof TRPCClientError)) return null;
  const data = error.data as { code?: string; retryAfterSeconds?: number | null } | undefined;
  return data?.code === 'TOO_MANY_REQUESTS' && typeof data.retryAfterSeconds === 'number' ? data.retryAfterSeconds : null;
}

const inMinutes = (seconds: number) => {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
};

export function SignInForm() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const next = safeNextPath(useSearchParams().get('next'));
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const submit = useMutation({
    ...trpc.auth.signIn.mutationOptions(),
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      router.push(next);
    },
  });
  const errors = fieldErrors(submit.error);
  const wait = retryAfter(submit.error);
  return (
    <div className="card">
      <h1>Sign in</h1>
      <form
        className="stack"
        onSubmit={(event) => {
          event.preventDefault();
          submit.mutate({ handle, password });
        }}
      >
        {wait !== null ? (
          <div className="alert error" role="alert">
            Too many attempts: try again in {inMinutes(wait)}.
          </div>
        ) : (
          <ErrorAlert error={submit.error} />
        )}
        <Field
          label="Handle"
          name="handle"
          autoComplete="username"
          autoCapitalize="none"
          value={handle}
          onChange={(e) => setHandle(e.target.value)}
          error={errors.handle}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          required
        />
        <button className="button block" type="submit" disabled={submit.isPending}>
          {submit.isPending ? 'One moment…' : 'Sign in'}
        </button>
      </form>
      <p className="muted small center" style={{ marginTop: '1rem' }}>
        New here? <Link href={next === '/' ? '/signup' : `/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
      </p>
    </div>
  );
}
