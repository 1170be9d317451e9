'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useState } from 'react';
import { ErrorAlert, Field } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { formatCredits, parseCredits } from '../../_lib/money';
import { unitName } from '../../_lib/units';
import { useTRPC } from '../../_lib/trpc';
import { getPath, PRESETS, setPath } from './job-presets';
import { EMPTY_PLACEMENT, PlacementFields, placementInput, type PlacementState } from './placement-fields';
import { hashJoinKernel } from '../../../workers/kernels/hash-join';

function useSubmitJob(onPosted: (jobId: string) => void) {
  const trpc = useTRPC();
  return useMutation({ ...trpc.compute.submitJob.mutationOptions(), onSuccess: (job) => onPosted(job.id) });
}

/** What a hash-join job holds for memory (as the coordinator's `planMemory`): the most its replicas can be paid, in whole MB·hours; null while the fields do not make a job. */
function memoryHoldFor(params: Record<string, unknown>, texts: Record<string, string>, units: number, replication: number, price: number): number | null {
  const hashJoin = hashJoinKernel;
  const raw = { ...params, ...Object.fromEntries(Object.entries(texts).map(([k, v]) => [k, Number(v)])) };
  const parsed = hashJoin.paramsSchema.safeParse(raw);
  if (!parsed.success || !(units >= 1) || !(replication >= 1)) return null;
  let bound = 0;
  for (const input of hashJoin.split(parsed.data, units)) bound += hashJoin.workingSetMb(parsed.data) * (hashJoin.maxCpuUs?.(input) ?? 0);
  return Math.max(1, Math.ceil((bound * (replication + 1)) / 3_600_000_000)) * price;
}

/** Kernels whose units compute in floating point: only they can spend a GFLOP contract (the coordinator checks too). */
const FLOP_KERNELS = ['mandelbrot', 'montecarlo-pi'];

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
  const [memoryPrice, setMemoryPrice] = useState('0.01');
  // the contract page's "Run a job with it" comes here with ?funding=<contract id>
  const [funding, setFunding] = useState(useSearchParams().get('funding') ?? '');
  const [localError, setLocalError] = useState<string | null>(null);
  const submit = useSubmitJob((id) => router.push(`/jobs/${id}`));
  const [placement, setPlacement] = useState<PlacementState>(EMPTY_PLACEMENT);

  if (communities.isPending || kernels.isPending) return <Pending query={communities.isPending ? communities : kernels} />;
  const mine = communities.data?.items ?? [];
  if (mine.length === 0) return <div className="card empty">Join a community to post compute jobs.</div>;
  const chosenCommunity = communityId || mine[0]!.id;
  return (
    <JobFormFor
      communities={mine}
      communityId={chosenCommunity}
      setCommunityId={setCommunityId}
      kernels={kernels.data ?? []}
      state={{ kernel, setKernel, params, setParams, texts, setTexts, units, setUnits, replication, setReplication, price, setPrice, hours, setHours, memoryPrice, setMemoryPrice, funding, setFunding, localError, setLocalError }}
      submit={submit}
      placement={placement}
      setPlacement={setPlacement}
    />
  );
}

type Setter<T> = (value: T | ((old: T) => T)) => void;
type FormState = {
  kernel: string; setKernel: Setter<string>; params: Record<string, unknown>; setParams: Setter<Record<string, unknown>>;
  texts: Record<string, string>; setTexts: Setter<Record<string, string>>; units: string; setUnits: Setter<string>;
  replication: string; setReplication: Setter<string>; price: string; setPrice: Setter<string>; hours: string; setHours: Setter<string>;
  memoryPrice: string; setMemoryPrice: Setter<string>; funding: string; setFunding: Setter<string>; localError: string | null; setLocalError: Setter<string | null>;
};

const unitWord = (unit: string) => (unit === 'MB_HOUR' ? 'MB·hours of memory' : unitName(unit));

function JobFormFor({ communities: mine, communityId: chosenCommunity, setCommunityId, kernels, state, submit, placement, setPlacement }: {
  placement: PlacementState;
  setPlacement: (next: PlacementState) => void;
  communities: { id: string; name: string }[];
  communityId: string;
  setCommunityId: Setter<string>;
  kernels: { name: string; title: string; description: string }[];
  state: FormState;
  submit: ReturnType<typeof useSubmitJob>;
}) {
  const trpc = useTRPC();
  const { kernel, setKernel, params, setParams, texts, setTexts, units, setUnits, replication, setReplication, price, setPrice, hours, setHours, memoryPrice, setMemoryPrice, funding, setFunding, localError, setLocalError } = state;
  const contracts = useQuery(trpc.compute.fundingContracts.queryOptions({ communityId: chosenCommunity }));
  const preset = PRESETS[kernel]!;
  const pricePerUnit = parseCredits(price);
  const replicas = Number(replication);
  const workingSet = kernel === 'hash-join' ? Number(texts.workingSetMb ?? getPath(params, 'workingSetMb')) : 0;
  const spendable = (contracts.data ?? []).filter((c) =>
    c.unit === 'MB_HOUR' ? workingSet > 0 : c.unit === 'GFLOP' ? FLOP_KERNELS.includes(kernel) : c.unit === 'WORK_UNIT' || kernel !== 'custom');
  const spending = spendable.find((c) => c.id === funding) ?? null;
  // a compute contract pays the work units; a memory contract pays the memory
  const unitsPaid = spending !== null && spending.unit !== 'MB_HOUR';
  const memoryPaid = spending?.unit === 'MB_HOUR';
  const estimate = unitsPaid ? 0 : pricePerUnit !== null ? pricePerUnit * Number(units) * replicas : null;
  const memoryMicro = parseCredits(memoryPrice);
  const memoryHold = workingSet > 0 && !memoryPaid && memoryMicro !== null ? memoryHoldFor(params, texts, Number(units), replicas, memoryMicro) : null;

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
        const located = placementInput(placement, kernel);
        if (typeof located === 'string') return setLocalError(located);
        for (const field of preset.fields) {
          // code or inputs that come from a content item are not read from the form
          if ((field.path === 'code' && located.source?.codeItemId) || (field.path === 'inputs' && located.source?.dataItemId)) continue;
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
        if (!unitsPaid && (pricePerUnit === null || pricePerUnit <= 0)) return setLocalError('The price must be a number of credits, more than 0.');
        if (workingSet > 0 && !memoryPaid && (memoryMicro === null || memoryMicro <= 0)) return setLocalError('The memory price must be a number of credits, more than 0.');
        setLocalError(null);
        submit.mutate({
          communityId: chosenCommunity,
          kernel: kernel as 'mandelbrot',
          params: built,
          units: Number(units),
          replication: replicas,
          quorum: 2,
          deadline: new Date(Date.now() + Number(hours) * 3_600_000).toISOString(),
          pricePerUnit: unitsPaid ? 0 : (pricePerUnit ?? 0),
          ...(workingSet > 0 && !memoryPaid && memoryMicro ? { memoryPrice: memoryMicro } : {}),
          ...(spending ? { fundingContractId: spending.id } : {}),
          ...located,
        });
      }}
    >
      <h1>New compute job</h1>
      {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={submit.error} />}
      <label>
        Community
        <select value={chosenCommunity} onChange={(e) => { setCommunityId(e.target.value); setFunding(''); }}>
          {mine.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </label>
      <label>
        Kernel
        <select value={kernel} onChange={(e) => pickKernel(e.target.value)} aria-describedby="kernel-description">
          {kernels.map((k) => <option key={k.name} value={k.name}>{k.title}</option>)}
        </select>
        <span className="hint" id="kernel-description">{kernels.find((k) => k.name === kernel)?.description}</span>
      </label>
      <div className="grid2">
        {preset.fields.filter((f) => f.kind === 'number' || f.kind === 'text').map((f) => (
          <Field key={f.path} label={f.label} name={f.path} hint={f.hint} inputMode={f.kind === 'number' ? 'decimal' : undefined} value={valueText(f.path, f.kind)} onChange={(e) => setTexts((t) => ({ ...t, [f.path]: e.target.value }))} />
        ))}
      </div>
      {preset.fields.filter((f) => (f.kind === 'code' || f.kind === 'json') && !(f.path === 'code' && placement.codeItemId.trim()) && !(f.path === 'inputs' && placement.dataItemId.trim())).map((f) => (
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
      {spendable.length > 0 ? (
        <label>
          Pay with
          <select value={spending?.id ?? ''} onChange={(e) => setFunding(e.target.value)} data-testid="job-funding" aria-describedby="job-funding-hint">
            <option value="">A price per replica</option>
            {spendable.map((c) => (
              <option key={c.id} value={c.id}>{`My contract: ${c.quantity.toLocaleString()} ${unitWord(c.unit)} from @${c.seller}`}</option>
            ))}
          </select>
          <span className="hint" id="job-funding-hint">
            {spending
              ? `Only @${spending.seller}'s devices run this job; the contract pays for the ${unitWord(spending.unit)} the validated units count, and the rest is refunded.${spending.unit === 'WORK_UNIT' ? ` It holds ${spending.quantity.toLocaleString()} work units: the job can have at most that many.` : ''}`
              : 'A compute or memory contract you bought can pay for this job.'}
          </span>
        </label>
      ) : null}
      <div className="grid2">
        {unitsPaid ? null : <Field label="Price per replica (credits)" name="price" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} />}
        <Field label="Deadline (hours)" name="hours" inputMode="decimal" value={hours} onChange={(e) => setHours(e.target.value)} />
      </div>
      {workingSet > 0 && !memoryPaid ? (
        <Field
          label="Memory price (credits per MB·hour)"
          name="memoryPrice"
          inputMode="decimal"
          hint={`Each unit uses ${workingSet.toLocaleString()} MB: only devices that sell that much memory get it, and each is paid for MB × the unit's counted run time, besides the work unit.`}
          value={memoryPrice}
          onChange={(e) => setMemoryPrice(e.target.value)}
        />
      ) : null}
      {memoryHold !== null ? (
        <p className="muted small" data-testid="memory-hold">Memory: at most {formatCredits(memoryHold)} credits held until the job ends; each device is paid only for what its units used.</p>
      ) : null}
      {estimate !== null && Number.isFinite(estimate) && !unitsPaid ? (
        <p className="muted small">About {formatCredits(Math.round(estimate))} credits if every replica is validated; unused credits are refunded.</p>
      ) : null}
      <PlacementFields kernel={kernel} value={placement} onChange={setPlacement} />
      <button className="button block" type="submit" disabled={submit.isPending}>{submit.isPending ? 'Posting…' : 'Post job'}</button>
    </form>
  );
}

export default function NewJobPage() {
  return (
    <Suspense>
      <RequireMember what="post a compute job">{() => <JobForm />}</RequireMember>
    </Suspense>
  );
}
