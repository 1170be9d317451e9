/**
 * The job owner's device confirming units a donor returned (compute.toConfirm / compute.confirm): in a
 * community with one donor device, nobody else can. Units are computed one at a time in the compute pool
 * (one worker), so the page stays responsive; with nothing to confirm it asks again every few seconds. A job
 * whose code or data are content items gets them as a donor does (this device's own copy first).
 */
import { ComputePool } from '../_lib/compute-pool';
import type { SourceFetcher } from '../_lib/job-source';
import { trpcClient } from '../_lib/trpc-client';

const DEVICE_ID_KEY = 'swapmesh.deviceId';

export type CheckProgress = { checked: number; agreed: number; disagreed: number; computing: number | null; error: string | null };

const IDLE_MS = 3_000;

export function startOwnerCheck(jobId: string, onProgress: (p: CheckProgress) => void): () => void {
  const client = trpcClient();
  const pool = new ComputePool({ size: 1, dutyCycle: 1 });
  const deviceId = localStorage.getItem(DEVICE_ID_KEY);
  // loaded only when there is a unit to confirm: it brings the transfer manager (WebRTC) with it
  let sources: Promise<SourceFetcher | null> | null = null;
  const sourcesFor = () => (sources ??= deviceId ? import('../_lib/job-source').then(({ MeshSources }) => new MeshSources(deviceId)) : Promise.resolve(null));
  const abort = new AbortController();
  const progress: CheckProgress = { checked: 0, agreed: 0, disagreed: 0, computing: null, error: null };
  const report = () => onProgress({ ...progress });
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    abort.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });

  void (async () => {
    while (!abort.signal.aborted) {
      try {
        const units = await client.compute.toConfirm.query({ jobId, max: 2 });
        if (units.length === 0) {
          await sleep(IDLE_MS);
          continue;
        }
        for (const unit of units) {
          if (abort.signal.aborted) return;
          progress.computing = unit.unitIndex;
          report();
          const fetcher = unit.kernel === 'custom' ? await sourcesFor() : null;
          const prepared = fetcher ? await fetcher.prepare({ jobId, kernel: unit.kernel, input: unit.input }) : { input: unit.input };
          const run = await pool.run({ jobId, kernel: unit.kernel, ...prepared }, { signal: abort.signal });
          const answer = await client.compute.confirm.mutate({ jobId, unitIndex: unit.unitIndex, output: run.output });
          progress.computing = null;
          progress.error = null;
          progress.checked++;
          progress.agreed += answer.agreed;
          progress.disagreed += answer.disagreed;
          report();
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        progress.computing = null;
        progress.error = err instanceof Error ? err.message : String(err);
        report();
        await sleep(IDLE_MS);
      }
    }
  })();

  return () => {
    abort.abort();
    pool.dispose();
  };
}
