'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { TRPCClientError } from '@trpc/client';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { safeNextPath } from '@/app/signin/safe-next';
import { useTRPC } from '@/app/_lib/trpc';
import { ErrorAlert, Field, fieldErrors } from './form';

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

const withNext = (path: string, next: string) => (next === '/' ? path : `${path}?next=${encodeURIComponent(next)}`);

/** Sign-in and sign-up: after either, only a same-origin `next` path is followed. */
export function AuthForm({ mode }: { mode: 'signIn' | 'signUp' }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const next = safeNextPath(useSearchParams().get('next'));
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const options = mode === 'signIn' ? trpc.auth.signIn.mutationOptions() : trpc.auth.signUp.mutationOptions();
  const submit = useMutation({
    ...options,
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      router.push(next);
    },
  });
  const errors = fieldErrors(submit.error);
  const wait = retryAfter(submit.error);
  const title = mode === 'signIn' ? 'Sign in' : 'Create your account';
  return (
    <div className="card">
      <h1>{title}</h1>
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
          hint={mode === 'signUp' ? 'What others see: letters, digits, - and _' : undefined}
          value={handle}
          onChange={(e) => setHandle(e.target.value)}
          error={errors.handle}
          required
        />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete={mode === 'signIn' ? 'current-password' : 'new-password'}
          hint={mode === 'signUp' ? 'At least 8 characters' : undefined}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          required
        />
        <button className="button block" type="submit" disabled={submit.isPending}>
          {submit.isPending ? 'One moment…' : title}
        </button>
      </form>
      <p className="muted small center" style={{ marginTop: '1rem' }}>
        {mode === 'signIn' ? (
          <>New here? <Link className="text-link" href={withNext('/signup', next)}>Create an account</Link></>
        ) : (
          <>Have an account? <Link className="text-link" href={withNext('/signin', next)}>Sign in</Link></>
        )}
      </p>
    </div>
  );
}
