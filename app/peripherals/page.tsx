'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { ErrorAlert } from '../_components/form';
import { Pending } from '../_components/loading';
import { RequireMember } from '../_components/require-member';
import { whenShort } from '../_lib/format';
import { KIND_WORDS } from '../_lib/peripheral/client';
import { duration } from '../_lib/peripheral/duration';
import { useTRPC } from '../_lib/trpc';
import styles from './peripherals.module.css';

const STATE_WORDS: Record<string, string> = { MATCHED: 'not started', ACTIVE: 'open', SETTLED: 'settled', REFUNDED: 'refunded', FAILED: 'failed', DISPUTED: 'disputed', DELIVERED: 'delivered' };

function Rentals() {
  const trpc = useTRPC();
  const list = useQuery(trpc.peripheral.list.queryOptions());
  if (list.isPending) return <Pending query={list} />;
  if (list.isError) return <ErrorAlert error={list.error} />;
  return (
    <div className="stack">
      <h1>Peripheral rentals</h1>
      <p className="muted">
        A peripheral contract is delivered live: the seller&rsquo;s camera, microphone or screen streams to the buyer&rsquo;s device during the
        window, and the contract pays for the seconds the buyer&rsquo;s device proves it received.
      </p>
      <Link className="button secondary block" href="/market">
        Buy or sell device hours in the market
      </Link>
      {list.data.length === 0 ? (
        <p className="empty">No peripheral contracts yet.</p>
      ) : (
        <ul className={styles.rentals} data-testid="rentals">
          {list.data.map((r) => {
            const live = r.rental?.state === 'LIVE';
            const what = r.rental ? KIND_WORDS[r.rental.kind] : 'device';
            return (
              <li key={r.contractId}>
                <Link href={`/peripherals/${r.contractId}`}>
                  <span className="row spread">
                    <strong>{r.role === 'SELLER' ? `Your ${what} for @${r.counterparty}` : `@${r.counterparty}'s ${what}`}</strong>
                    <span className={live ? 'pill' : 'pill gray'}>{live ? 'live' : r.rental?.state === 'ENDED' ? 'ended' : STATE_WORDS[r.state] ?? r.state.toLowerCase()}</span>
                  </span>
                  <span className="small muted">
                    {whenShort(r.windowStart)} – {whenShort(r.windowEnd)} · {duration(r.wholeMs)}
                    {r.rental ? ` · ${Math.floor(r.rental.provenMs / 1000)} s proven` : ''}
                  </span>
                </Link>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}

export default function Page() {
  return <RequireMember what="see your peripheral rentals">{() => <Rentals />}</RequireMember>;
}
