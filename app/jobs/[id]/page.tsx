'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { use, useEffect, useState } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { formatCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';
import { FractalCanvas } from '../fractal-canvas';
import { startOwnerCheck, type CheckProgress } from '../owner-check';
import { UnitGrid } from '../unit-grid';
import { ResultsCard } from '../results-card';

type MandelbrotParams = { width: number; height: number; maxIterations: number };
type Tile = { x: number; y: number; w: number; h: number; counts: string };

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The owner's device confirming returned units while `on`; its progress. */
function useOwnerCheck(jobId: string, on: boolean): CheckProgress | null {
  const [progress, setProgress] = useState<CheckProgress | null>(null);
  useEffect(() => {
    if (!on) return;
    setProgress({ checked: 0, agreed: 0, disagreed: 0, computing: null, error: null });
    return startOwnerCheck(jobId, setProgress);
  }, [jobId, on]);
  return on ? progress : null;
}

type Confirmation = { devicesPerResult: number; donatingDevices: number; devicesMissing: number; trustAfter: number; donorsTrusted: number; bestStreak: number };

/** Why results wait, and what the owner can do about it. */
function WaitCard({ awaiting, confirmation, owner, checking, progress, onCheck }: {
  awaiting: number;
  confirmation: Confirmation;
  owner: boolean;
  checking: boolean;
  progress: CheckProgress | null;
  onCheck: (on: boolean) => void;
}) {
  const c = confirmation;
  return (
    <div className="card stack" data-testid="job-wait" style={{ borderLeft: '4px solid #d97706' }}>
      <h2 style={{ margin: 0 }}>Waiting for a second device</h2>
      <p style={{ margin: 0 }}>
        {plural(awaiting, 'unit is', 'units are')} computed and waiting for a second device to confirm {awaiting === 1 ? 'it' : 'them'}.
        A result counts once {c.devicesPerResult} devices agree on it, and a device never confirms its own.
      </p>
      <p style={{ margin: 0 }} data-testid="job-devices">
        {c.donatingDevices === 0 ? 'No device donates' : `${plural(c.donatingDevices, 'device donates', 'devices donate')}`} to this job in this community
        {c.devicesMissing > 0 ? <>: <strong>{plural(c.devicesMissing, 'more device is', 'more devices are')} needed</strong>.</> : '.'}
      </p>
      <p className="muted small" style={{ margin: 0 }}>
        A device is trusted after {c.trustAfter} results confirmed in a row; then most of its units need no second device, and about one in ten is still checked.{' '}
        {c.donorsTrusted > 0
          ? `${plural(c.donorsTrusted, "of this job's donors is", "of this job's donors are")} trusted.`
          : `This job's donors have ${c.bestStreak} of ${c.trustAfter} so far.`}
      </p>
      {owner ? (
        <>
          <button type="button" className={`button block ${checking ? 'secondary' : ''}`} onClick={() => onCheck(!checking)} data-testid="confirm-here">
            {checking ? 'Stop confirming on this device' : 'Confirm results on this device'}
          </button>
          {checking && progress ? (
            <p className="small" role="status" style={{ margin: 0 }} data-testid="confirm-progress">
              {progress.computing !== null ? `Computing unit ${progress.computing + 1}… ` : progress.checked === 0 ? 'Looking for results to confirm… ' : ''}
              {progress.checked > 0 ? `${plural(progress.checked, 'unit')} confirmed here${progress.disagreed ? `, ${plural(progress.disagreed, 'result')} disagreed and will not be paid` : ', all agreed'}.` : ''}
              {progress.error ? <span style={{ color: 'var(--danger)' }}> {progress.error}</span> : null}
            </p>
          ) : (
            <p className="muted small" style={{ margin: 0 }}>Your device computes the returned units and compares; you pay nothing for the ones it computes. Or invite another member to donate.</p>
          )}
        </>
      ) : null}
    </div>
  );
}

type Terms = {
  workingSetMb: number;
  memoryPrice: number;
  memoryDevices: number;
  funding: { contractId: string; unit: string; quantity: number; state: string; seller: string; flop: number; cpuUs: number; units: number; mbUs: number } | null;
};

const amount = (n: number) => n.toLocaleString(undefined, { maximumFractionDigits: n < 10 ? 3 : 1 });

/** How much of a spent contract the validated units used, in the contract's own unit. */
function spentOf(f: NonNullable<Terms['funding']>): { amount: number; word: string } {
  switch (f.unit) {
    case 'GFLOP': return { amount: f.flop / 1e9, word: 'GFLOP' };
    case 'CPU_SECOND': return { amount: f.cpuUs / 1e6, word: 'CPU seconds' };
    case 'MB_HOUR': return { amount: f.mbUs / 3_600_000_000, word: 'MB·hours' };
    default: return { amount: f.units, word: 'work units' };
  }
}

/** What the job pays besides its work units, and who can run it because of that. */
function TermsCard({ terms, open }: { terms: Terms; open: boolean }) {
  const f = terms.funding;
  const spent = f ? spentOf(f) : null;
  return (
    <div className="card stack" data-testid="job-terms">
      {terms.workingSetMb > 0 && f?.unit !== 'MB_HOUR' ? (
        <>
          <h2 style={{ margin: 0 }}>Memory</h2>
          <p style={{ margin: 0 }} data-testid="job-memory">
            Each unit builds its working set of <strong>{terms.workingSetMb.toLocaleString()} MB</strong>: only devices that sell at least that much memory are given its units
            {open ? <> ({terms.memoryDevices === 0 ? 'none donates here now' : `${plural(terms.memoryDevices, 'device does', 'devices do')} here now`})</> : null}.
          </p>
          <p className="muted small" style={{ margin: 0 }}>
            Each device that ran a validated unit is paid for memory as well as for the work unit: {formatCredits(terms.memoryPrice)} credits per MB·hour, for the working set × the unit&apos;s run time as the kernel counted it.
            Credits for the most it can cost are held until the job ends; the rest comes back.
          </p>
        </>
      ) : null}
      {f ? (
        <>
          <h2 style={{ margin: 0 }}>{f.unit === 'MB_HOUR' ? 'Memory paid from a contract' : 'Paid from a contract'}</h2>
          <p style={{ margin: 0 }} data-testid="job-funding-spent">
            {amount(spent!.amount)} of {f.quantity.toLocaleString()} {spent!.word} spent by the units validated so far, counted by the kernel.
          </p>
          {f.unit === 'MB_HOUR' ? (
            <p className="muted small" style={{ margin: 0 }} data-testid="job-memory">
              Each unit builds its working set of <strong>{terms.workingSetMb.toLocaleString()} MB</strong>: only @{f.seller}&apos;s devices that offer that much memory run it
              {open ? <> ({terms.memoryDevices === 0 ? 'none offers it now' : `${plural(terms.memoryDevices, 'device does', 'devices do')} now`})</> : null}.
            </p>
          ) : null}
          <p className="muted small" style={{ margin: 0 }}>
            Only @{f.seller}&apos;s devices run this job. When it ends, the contract pays @{f.seller} for what was spent and refunds the rest
            {f.state === 'SETTLED' ? ' — done.' : '.'}{' '}
            <Link href={`/contracts/${f.contractId}`}>See the contract</Link>
          </p>
        </>
      ) : null}
    </div>
  );
}

function JobView({ jobId }: { jobId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const job = useQuery({ ...trpc.compute.job.queryOptions({ jobId }), refetchInterval: (q) => (q.state.data?.status === 'OPEN' ? 1_500 : false) });
  const isFractal = job.data?.kernel === 'mandelbrot' && job.data.owner;
  const outputs = useQuery({
    ...trpc.compute.outputs.queryOptions({ jobId, fromIndex: 0 }),
    enabled: Boolean(isFractal && job.data?.status === 'OPEN'),
    refetchInterval: 1_500,
  });
  const units = useQuery({ ...trpc.compute.units.queryOptions({ jobId }), refetchInterval: job.data?.status === 'OPEN' ? 1_500 : false });
  // the last units validated and the job's end are shown at once, not at the next poll (there is none after the end)
  const unitsRefetch = units.refetch;
  useEffect(() => {
    void unitsRefetch();
  }, [job.data?.status, job.data?.progress.validated, unitsRefetch]);
  const cancel = useMutation({ ...trpc.compute.cancelJob.mutationOptions(), onSuccess: () => queryClient.invalidateQueries(trpc.compute.pathFilter()) });
  const [checking, setChecking] = useState(false);
  const progress = useOwnerCheck(jobId, checking && job.data?.status === 'OPEN' && job.data.owner);
  if (job.isPending) return <Pending query={job} />;
  if (job.isError) return <ErrorAlert error={job.error} />;
  const j = job.data;
  const done = j.progress.validated + j.progress.failed;
  const percent = Math.round((done / j.unitCount) * 100);
  const params = j.params as MandelbrotParams;
  return (
    <>
      <div className="card stack">
        <div className="row spread">
          <h1 style={{ margin: 0 }}>{j.title}</h1>
          <span className={`state ${j.status === 'COMPLETED' ? 'SETTLED' : j.status === 'OPEN' ? 'OPEN' : 'FAILED'}`} data-testid="job-status">{j.status.toLowerCase()}</span>
        </div>
        <div className="progress" role="progressbar" aria-valuenow={percent} aria-valuemin={0} aria-valuemax={100} aria-label="Units validated">
          <div style={{ width: `${percent}%` }} />
        </div>
        <div className="row spread small">
          <span data-testid="job-progress">{j.progress.validated}/{j.unitCount} units validated{j.progress.failed ? `, ${j.progress.failed} failed` : ''}</span>
          <span className="muted">{j.progress.unitsPerSecond} units/s · {j.progress.donors} {j.progress.donors === 1 ? 'donor' : 'donors'}</span>
        </div>
        {j.status === 'OPEN' && j.progress.awaitingConfirmation > 0 ? (
          <p className="small" style={{ margin: 0, color: '#92400e' }} data-testid="job-awaiting">
            {j.progress.awaitingConfirmation} computed, waiting for a second device to confirm
          </p>
        ) : null}
        <p className="muted small" style={{ margin: 0 }}>
          Replication {j.replication}, quorum {j.quorum} · {j.terms?.funding && j.terms.funding.unit !== 'MB_HOUR' ? 'paid from a contract' : `${formatCredits(j.pricePerUnit)} credits per validated replica`} · due {new Date(j.deadline).toLocaleString()}
        </p>
        {j.status === 'OPEN' && j.owner ? (
          <button className="button danger block" disabled={cancel.isPending} onClick={() => cancel.mutate({ jobId })}>Cancel the job (unused credits are refunded)</button>
        ) : null}
      </div>
      {j.terms ? <TermsCard terms={j.terms} open={j.status === 'OPEN'} /> : null}
      {j.owner ? <ResultsCard jobId={jobId} open={j.status === 'OPEN'} /> : null}
      {j.status === 'OPEN' && (j.progress.awaitingConfirmation > 0 || checking) ? (
        <WaitCard awaiting={j.progress.awaitingConfirmation} confirmation={j.confirmation} owner={j.owner} checking={checking} progress={progress} onCheck={setChecking} />
      ) : null}
      {units.data && (j.status === 'OPEN' || j.progress.failed > 0) ? (
        <div className="card stack">
          <h2 style={{ margin: 0 }}>Units</h2>
          <UnitGrid phases={units.data.phases} />
        </div>
      ) : null}
      {isFractal ? (
        <div className="card">
          <h2>Result</h2>
          <FractalCanvas
            width={params.width}
            height={params.height}
            maxIterations={params.maxIterations}
            tiles={(outputs.data ?? []).map((o) => o.output as Tile)}
            result={j.result as { counts: string } | null}
          />
        </div>
      ) : j.result !== null ? (
        <div className="card stack">
          <h2>Result</h2>
          <pre className="small" style={{ overflowX: 'auto', margin: 0 }} data-testid="job-result">{JSON.stringify(j.result, null, 2).slice(0, 2_000)}</pre>
        </div>
      ) : null}
    </>
  );
}

export default function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = use(params);
  return <RequireMember what="see this job">{() => <JobView jobId={id} />}</RequireMember>;
}
