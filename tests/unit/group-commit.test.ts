import { describe, expect, it } from 'vitest';
import { GroupCommit, outcomeOf, type Outcome } from '@/server/db/group-commit';
import { newId } from '@/server/db/ids';

/** One turn of the event loop: what the writer waits before it cuts a batch. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A batch runner whose batches end when the test says so. */
function gatedRunner() {
  const batches: { key: string; commands: number[] }[] = [];
  const gates: (() => void)[] = [];
  const run = async (key: string, commands: number[]): Promise<Outcome<number>[]> => {
    batches.push({ key, commands });
    await new Promise<void>((resolve) => gates.push(resolve));
    return commands.map((c) => (c < 0 ? { ok: false, error: new Error(`refused ${c}`) } : { ok: true, value: c * 10 }));
  };
  const release = async () => {
    await turn();
    gates.shift()?.();
    await turn();
    await turn();
  };
  return { batches, run, release };
}

describe('GroupCommit', () => {
  it('starts one command alone after one turn of the event loop, and groups what arrives meanwhile and while a batch runs', async () => {
    const { batches, run, release } = gatedRunner();
    const writer = new GroupCommit(run);
    const first = writer.submit('book', 1);
    await turn();
    const rest = [2, 3, 4].map((c) => writer.submit('book', c));
    expect(batches).toEqual([{ key: 'book', commands: [1] }]);
    await release();
    expect(await first).toBe(10);
    expect(batches[1]).toEqual({ key: 'book', commands: [2, 3, 4] });
    await release();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(writer.pending).toBe(0);
  });

  it('keeps books apart: a batch of one key does not wait for another key', async () => {
    const { batches, run, release } = gatedRunner();
    const writer = new GroupCommit(run);
    const a = writer.submit('a', 1);
    const b = writer.submit('b', 2);
    await turn();
    expect(batches.map((x) => x.key)).toEqual(['a', 'b']);
    await release();
    await release();
    expect([await a, await b]).toEqual([10, 20]);
  });

  it("answers each caller with its own outcome, and fails every caller of a batch that throws", async () => {
    const { run, release } = gatedRunner();
    const writer = new GroupCommit(run);
    const blocker = writer.submit('book', 0);
    const good = writer.submit('book', 5);
    const bad = writer.submit('book', -1);
    bad.catch(() => {});
    await release();
    await release();
    await blocker;
    expect(await good).toBe(50);
    await expect(bad).rejects.toThrow('refused -1');

    const broken = new GroupCommit<number, number>(async () => {
      throw new Error('database gone');
    });
    const settled = await Promise.allSettled([broken.submit('k', 1), broken.submit('k', 2)]);
    expect(settled.map((s) => (s.status === 'rejected' ? String(s.reason) : 'fulfilled'))).toEqual(['Error: database gone', 'Error: database gone']);
  });

  it('takes at most maxBatch commands per batch', async () => {
    const { batches, run, release } = gatedRunner();
    const writer = new GroupCommit(run, { maxBatch: 3 });
    const calls = Array.from({ length: 8 }, (_, i) => writer.submit('book', i));
    for (let i = 0; i < 3; i++) await release();
    await Promise.all(calls);
    expect(batches.map((b) => b.commands.length)).toEqual([3, 3, 2]);
  });

  it('with `durable`, runs the next batch at once but answers a batch only once it is durable, in order', async () => {
    const { batches, run, release } = gatedRunner();
    const syncs: (() => void)[] = [];
    const durable = () => new Promise<void>((resolve) => syncs.push(resolve));
    const writer = new GroupCommit(run, { durable });
    const answered: number[] = [];
    const first = writer.submit('book', 1).then((v) => answered.push(v));
    await turn();
    const second = writer.submit('book', 2).then((v) => answered.push(v));
    await release(); // the first batch commits
    expect(batches.map((b) => b.commands)).toEqual([[1], [2]]); // the second runs while the first waits for its sync
    expect(answered).toEqual([]);
    await release(); // the second commits: neither is durable yet
    expect(answered).toEqual([]);
    syncs.shift()!();
    await first;
    expect(answered).toEqual([10]);
    syncs.shift()!();
    await second;
    expect(answered).toEqual([10, 20]);
  });

  it('with `durable`, a failed sync fails its batch’s callers (their commit is not known to be on disk)', async () => {
    const { run, release } = gatedRunner();
    const writer = new GroupCommit(run, { durable: () => Promise.reject(new Error('fsync failed')) });
    const call = writer.submit('book', 1).then(() => null, (error: Error) => error.message);
    await release();
    expect(await call).toBe('fsync failed');
  });

  it('outcomeOf records a value or an error without throwing', async () => {
    expect(await outcomeOf(async () => 7)).toEqual({ ok: true, value: 7 });
    const failed = await outcomeOf(async () => {
      throw new Error('no');
    });
    expect(failed.ok).toBe(false);
  });
});

describe('newId', () => {
  it('makes distinct cuid-shaped ids that sort in the order they were made', () => {
    const ids = Array.from({ length: 5_000 }, newId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^c[0-9a-z]{24}$/);
    expect([...ids].sort()).toEqual(ids);
  });
});
