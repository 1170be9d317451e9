import { releaseProxy, type Remote } from 'comlink';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WorkerCrashedError, WorkerLifetime, type StartedWorker } from '@/app/_lib/worker-lifetime';

type Api = { work(ms: number): Promise<string> };

/** A worker stand-in: its calls finish when the test says, and it can crash. */
function fakeWorkers() {
  const started: { terminated: boolean; released: boolean; crash: (message: string) => void; finish: (value: string) => void }[] = [];
  const start = (): StartedWorker<Api> => {
    let onCrash: (message: string) => void = () => undefined;
    let finish: (value: string) => void = () => undefined;
    const entry = { terminated: false, released: false, crash: (m: string) => onCrash(m), finish: (v: string) => finish(v) };
    started.push(entry);
    const remote = {
      work: () => new Promise<string>((resolve) => (finish = resolve)),
      [releaseProxy]: () => {
        entry.released = true;
      },
    } as unknown as Remote<Api>;
    return { remote, terminate: () => void (entry.terminated = true), watch: (f) => void (onCrash = f) };
  };
  return { start, started };
}

afterEach(() => vi.useRealTimers());

describe('WorkerLifetime', () => {
  it('starts the worker on first use and keeps it for the next calls', async () => {
    const w = fakeWorkers();
    const life = new WorkerLifetime(w.start, { name: 'The test worker', idleMs: null });
    expect(life.alive).toBe(false);
    const first = life.call((r) => r.work(1));
    w.started[0]!.finish('a');
    await expect(first).resolves.toBe('a');
    const second = life.call((r) => r.work(1));
    w.started[0]!.finish('b');
    await expect(second).resolves.toBe('b');
    expect(w.started).toHaveLength(1);
    expect(life.alive).toBe(true);
  });

  it('rejects the call in flight when the worker crashes, and starts a new worker next time', async () => {
    const w = fakeWorkers();
    const life = new WorkerLifetime(w.start, { name: 'The test worker' });
    const call = life.call((r) => r.work(1));
    w.started[0]!.crash('out of memory');
    await expect(call).rejects.toThrow(WorkerCrashedError);
    await expect(call).rejects.toThrow(/The test worker: out of memory/);
    expect(w.started[0]!.terminated).toBe(true);
    expect(life.alive).toBe(false);
    const again = life.call((r) => r.work(1));
    w.started[1]!.finish('ok');
    await expect(again).resolves.toBe('ok');
  });

  it('terminates the worker when a call is aborted and rejects with the reason', async () => {
    const w = fakeWorkers();
    const life = new WorkerLifetime(w.start, { name: 'The test worker' });
    const abort = new AbortController();
    const call = life.call((r) => r.work(1), { signal: abort.signal });
    abort.abort(new Error('stopped by the member'));
    await expect(call).rejects.toThrow('stopped by the member');
    expect(w.started[0]!).toMatchObject({ terminated: true, released: true });
  });

  it('ends a worker that sits idle, never one with a call in flight', async () => {
    vi.useFakeTimers();
    const w = fakeWorkers();
    const life = new WorkerLifetime(w.start, { name: 'The test worker', idleMs: 1_000 });
    const call = life.call((r) => r.work(1));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(w.started[0]!.terminated).toBe(false);
    w.started[0]!.finish('done');
    await call;
    await vi.advanceTimersByTimeAsync(999);
    expect(w.started[0]!.terminated).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.started[0]!.terminated).toBe(true);
    expect(life.alive).toBe(false);
  });
});
