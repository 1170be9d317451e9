'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { safeNextPath } from '../signin/safe-next';
import { useState } from 'react';
import { useTRPC } from '@/app/_lib/trpc';
import { ErrorAlert, Field, fieldErrors } from './form';

export function AuthForm({ mode }: { mode: 'signIn' | 'signUp' }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const next = useSearchParams().get('next');
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const options = mode === 'signIn' ? trpc.auth.signIn.mutationOptions() : trpc.auth.signUp.mutationOptions();
  const submit = useMutation({
    ...options,
    onSuccess: async () => {
      await queryClient.invalidateQueries();
      router.push(safeNextPath(next));
    },
  });
  const errors = fieldErrors(submit.error);
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
        <ErrorAlert error={submit.error} />
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
          <>New here? <Link href="/signup">Create an account</Link></>
        ) : (
          <>Have an account? <Link href="/signin">Sign in</Link></>
        )}
      </p>
    </div>
  );
}
