'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { ErrorAlert, Field } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { formatCredits, parseCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';
import { getPath, PRESETS, setPath } from './job-presets';

function JobForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const communities = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  const kernels = useQuery(trpc.compute.kernels.queryOptions());
  const [communityId, setCommunityId] = useState('');
  const [kernel, setKernel] = useState('mandelbrot');
  const [params, setParams] = useState<Record<string, unknown>>(PRESETS.mandelbrot!.params);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [units, setUnits] = useState('64');
  const [replication, setReplication] = useState('2');
  const [price, setPrice] = useState('0.01');
  const [hours, setHours] = useState('1');
  const [localError, setLocalError] = useState<string | null>(null);
  const submit = useMutation({ ...trpc.compute.submitJob.mutationOptions(), onSuccess: (job) => router.push(`/jobs/${job.id}`) });

  if (communities.isPending || kernels.isPending) return <Pending query={communities.isPending ? communities : kernels} />;
  const mine = communities.data?.items ?? [];
  if (mine.length === 0) return <div className="card empty">Join a community to post compute jobs.</div>;
  const chosenCommunity = communityId || mine[0]!.id;
  const preset = PRESETS[kernel]!;
  const pricePerUnit = parseCredits(price);
  const replicas = Number(replication);
  const estimate = pricePerUnit !== null ? pricePerUnit * Number(units) * replicas : null;

  const pickKernel = (name: string) => {
    setKernel(name);
    setParams(PRESETS[name]!.params);
    setTexts({});
    setUnits(String(PRESETS[name]!.units));
  };
  const valueText = (path: string, kind: string) =>
    texts[path] ?? (kind === 'json' ? JSON.stringify(getPath(params, path)) : String(getPath(params, path) ?? ''));

  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        let built = params;
        for (const field of preset.fields) {
          const text = valueText(field.path, field.kind);
          let value: unknown = text;
          if (field.kind === 'number') {
            value = Number(text);
            if (text.trim() === '' || !Number.isFinite(value)) return setLocalError(`${field.label} must be a number.`);
          } else if (field.kind === 'json') {
            try {
              value = JSON.parse(text);
            } catch {
              return setLocalError(`${field.label} is not valid JSON.`);
            }
          }
          built = setPath(built, field.path, value);
        }
        if (pricePerUnit === null || pricePerUnit <= 0) return setLocalError('The price must be a number of credits, more than 0.');
        setLocalError(null);
        submit.mutate({
          communityId: chosenCommunity,
          kernel: kernel as 'mandelbrot',
          params: built,
          units: Number(units),
          replication: replicas,
          quorum: 2,
          deadline: new Date(Date.now() + Number(hours) * 3_600_000).toISOString(),
          pricePerUnit,
        });
      }}
    >
      <h1>New compute job</h1>
      {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={submit.error} />}
      <label>
        Community
        <select value={chosenCommunity} onChange={(e) => setCommunityId(e.target.value)}>
          {mine.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </label>
      <label>
        Kernel
        <select value={kernel} onChange={(e) => pickKernel(e.target.value)} aria-describedby="kernel-description">
          {kernels.data?.map((k) => <option key={k.name} value={k.name}>{k.title}</option>)}
        </select>
        <span className="hint" id="kernel-description">{kernels.data?.find((k) => k.name === kernel)?.description}</span>
      </label>
      <div className="grid2">
        {preset.fields.filter((f) => f.kind === 'number' || f.kind === 'text').map((f) => (
          <Field key={f.path} label={f.label} name={f.path} hint={f.hint} inputMode={f.kind === 'number' ? 'decimal' : undefined} value={valueText(f.path, f.kind)} onChange={(e) => setTexts((t) => ({ ...t, [f.path]: e.target.value }))} />
        ))}
      </div>
      {preset.fields.filter((f) => f.kind === 'code' || f.kind === 'json').map((f) => (
        <label key={f.path}>
          {f.label}
          {f.hint ? <span className="hint">{f.hint}</span> : null}
          <textarea rows={f.kind === 'code' ? 7 : 2} spellCheck={false} style={{ fontFamily: 'ui-monospace, monospace', fontSize: '0.85rem' }} value={valueText(f.path, f.kind)} onChange={(e) => setTexts((t) => ({ ...t, [f.path]: e.target.value }))} />
        </label>
      ))}
      <div className="grid2">
        <Field label="Work units" name="units" inputMode="numeric" value={units} onChange={(e) => setUnits(e.target.value)} />
        <Field label="Replication" name="replication" inputMode="numeric" hint="Each unit is computed this many times" value={replication} onChange={(e) => setReplication(e.target.value)} />
      </div>
      <div className="grid2">
        <Field label="Price per replica (credits)" name="price" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} />
        <Field label="Deadline (hours)" name="hours" inputMode="decimal" value={hours} onChange={(e) => setHours(e.target.value)} />
      </div>
      {estimate !== null && Number.isFinite(estimate) ? (
        <p className="muted small">About {formatCredits(Math.round(estimate))} credits if every replica is validated; unused credits are refunded.</p>
      ) : null}
      <button className="button block" type="submit" disabled={submit.isPending}>{submit.isPending ? 'Posting…' : 'Post job'}</button>
    </form>
  );
}

export default function NewJobPage() {
  return <RequireMember what="post a compute job">{() => <JobForm />}</RequireMember>;
}
