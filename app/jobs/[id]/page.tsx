'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { use } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { formatCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';
import { FractalCanvas } from '../fractal-canvas';

type MandelbrotParams = { width: number; height: number; maxIterations: number };
type Tile = { x: number; y: number; w: number; h: number; counts: string };

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
  const cancel = useMutation({ ...trpc.compute.cancelJob.mutationOptions(), onSuccess: () => queryClient.invalidateQueries(trpc.compute.pathFilter()) });
  if (job.isPending) return <Pending query={job} />;
  if (job.isError) return <ErrorAlert error={job.error} />;
  const j = job.data;
  const done = j.progress.validated + j.progress.failed;
  const percent = Math.round((done / j.unitCount) * 100);
  const download = () => {
    const blob = new Blob([JSON.stringify(j.result, null, 2)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${j.kernel}-${j.id}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
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
        <p className="muted small" style={{ margin: 0 }}>
          Replication {j.replication}, quorum {j.quorum} · {formatCredits(j.pricePerUnit)} credits per validated replica · due {new Date(j.deadline).toLocaleString()}
        </p>
        {j.status === 'OPEN' && j.owner ? (
          <button className="button danger block" disabled={cancel.isPending} onClick={() => cancel.mutate({ jobId })}>Cancel the job (unused credits are refunded)</button>
        ) : null}
      </div>
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
          <button className="button secondary block" onClick={download}>Download JSON</button>
        </div>
      ) : null}
    </>
  );
}

export default function JobPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = use(params);
  return <RequireMember what="see this job">{() => <JobView jobId={id} />}</RequireMember>;
}
