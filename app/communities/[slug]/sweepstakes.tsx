'use client';

import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ErrorAlert, Field } from '../../_components/form';
import { LoadMore, rowsOf } from '../../_components/load-more';
import { money, when, whenShort } from '../../_lib/format';
import { useTRPC } from '../../_lib/trpc';

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

type SavedDraw = { drawId: string; secret: string; periodEnd: string };

/**
 * The sweepstakes as every member sees it — the pool, the open draw with the fingerprint the coordinator
 * published before it started, my tickets, past draws and their winners — and, for the coordinator, starting
 * a draw (the secret is made and kept on this device; only its SHA-256 is published) and revealing it.
 */
export function Sweepstakes({ communityId, coordinator }: { communityId: string; coordinator: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const overview = useInfiniteQuery(trpc.admin.sweepstakes.infiniteQueryOptions({ communityId, limit: 5 }, { getNextPageParam: (page) => page.past.nextCursor }));
  const first = overview.data?.pages[0];
  const past = rowsOf(overview.data ? { pages: overview.data.pages.map((p) => p.past) } : undefined);

  const storageKey = `swapmesh.draw.${communityId}`;
  const [saved, setSaved] = useState<SavedDraw | null>(null);
  const [days, setDays] = useState('7');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: trpc.admin.sweepstakes.infiniteQueryKey({ communityId, limit: 5 }) });
  const commit = useMutation(trpc.admin.commitDraw.mutationOptions({ onSuccess: refresh }));
  const reveal = useMutation(trpc.admin.revealDraw.mutationOptions({ onSuccess: refresh }));
  useEffect(() => setSaved(JSON.parse(localStorage.getItem(storageKey) ?? 'null')), [storageKey, commit.data, reveal.data]);

  const startDraw = async () => {
    const secret = hex(crypto.getRandomValues(new Uint8Array(32)).buffer);
    const commitment = hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)));
    const periodStart = new Date(Date.now() + 60_000);
    const periodEnd = new Date(periodStart.getTime() + Number(days) * 86_400_000);
    const draw = await commit.mutateAsync({ communityId, commitment, periodStart: periodStart.toISOString(), periodEnd: periodEnd.toISOString() });
    localStorage.setItem(storageKey, JSON.stringify({ drawId: draw.id, secret, periodEnd: periodEnd.toISOString() }));
  };

  return (
    <div className="card stack" data-testid="sweepstakes">
      <h2>Sweepstakes</h2>
      <p className="muted small">
        Part of every commission goes to a pool. Validated compute and paid file transfers earn tickets; at the end of a draw
        one ticket wins the whole pool, picked from a secret the coordinator committed to before the draw began.
      </p>
      <p style={{ margin: 0 }}>
        Pool now: <strong data-testid="sweepstakes-pool">{money(first?.pool ?? 0)} credits</strong>
      </p>
      {first?.open.map((draw) => (
        <div key={draw.id} className="small" data-testid="open-draw">
          <div>
            Draw open until {when(draw.periodEnd)}: {plural(draw.tickets, 'ticket', 'tickets')} so far, {plural(draw.mine, 'is', 'are')} yours.
          </div>
          <div className="muted" style={{ overflowWrap: 'anywhere' }}>
            Published fingerprint: <code>{draw.commitment}</code>
          </div>
        </div>
      ))}
      {first && first.open.length === 0 ? <p className="muted small">No draw is open.</p> : null}

      {coordinator ? (
        <>
          <ErrorAlert error={commit.error ?? reveal.error} />
          {saved ? (
            <>
              <div className="alert info" role="note">
                The secret of this draw lives only on this device: reveal it from here after {when(saved.periodEnd)}. Clearing this
                browser&apos;s data loses it, and the draw can then never be drawn.
              </div>
              <button
                className="button block"
                type="button"
                disabled={reveal.isPending}
                onClick={() => reveal.mutate({ communityId, drawId: saved.drawId, secret: saved.secret }, { onSuccess: () => localStorage.removeItem(storageKey) })}
              >
                Reveal and draw the winner
              </button>
            </>
          ) : (
            <div className="row">
              <Field label="Period (days)" name="drawDays" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
              <button className="button" type="button" style={{ alignSelf: 'flex-end' }} disabled={commit.isPending} onClick={() => void startDraw()}>
                Start a draw
              </button>
            </div>
          )}
        </>
      ) : null}
      {reveal.data ? (
        <div className="alert info" role="status">
          {reveal.data.winnerId ? `Winner drawn from ${plural(reveal.data.tickets.length, 'ticket', 'tickets')}: ${money(reveal.data.prize)} credits paid.` : 'No tickets in that period: no winner.'}
        </div>
      ) : null}

      {past.length > 0 ? (
        <>
          <h3 style={{ margin: '0.5rem 0 0' }}>Past draws</h3>
          <ul className="list" data-testid="past-draws">
            {past.map((draw) => (
              <li key={draw.id} className="statement-line">
                <div className="statement-what">
                  <div className="statement-title">{draw.winner ? `Won by @${draw.winner.handle}` : 'No winner'}</div>
                  <div className="muted small">
                    {plural(draw.tickets, 'ticket', 'tickets')} · ended {whenShort(draw.periodEnd)}
                  </div>
                </div>
                <div className="statement-amount">{money(draw.prize)}</div>
              </li>
            ))}
          </ul>
          <LoadMore query={overview} label="Earlier draws" />
        </>
      ) : null}
    </div>
  );
}
