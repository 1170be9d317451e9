'use client';

import { describeError } from '@/app/_lib/errors';

/** A labelled input that shows the server's message for its field beneath it. */
export function Field({
  label,
  hint,
  error,
  ...input
}: React.InputHTMLAttributes<HTMLInputElement> & { label: string; hint?: string; error?: string[] }) {
  const id = input.id ?? input.name;
  return (
    <label htmlFor={id}>
      {label}
      {hint ? <span className="hint">{hint}</span> : null}
      <input id={id} aria-invalid={error?.length ? true : undefined} aria-describedby={error?.length ? `${id}-error` : undefined} {...input} />
      {error?.length ? (
        <span className="field-error" id={`${id}-error`}>
          {error[0]}
        </span>
      ) : null}
    </label>
  );
}

export function ErrorAlert({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <div className="alert error" role="alert">
      {describeError(error).message}
    </div>
  );
}

export const fieldErrors = (error: unknown) => (error ? describeError(error).fields : {});
