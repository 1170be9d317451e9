'use client';

import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect } from 'react';
import { ErrorAlert } from '../_components/form';
import { Pending } from '../_components/loading';
import { RequireMember } from '../_components/require-member';
import { whenShort } from '../_lib/format';
import { getLiveHub } from '../_lib/live-client';
import { mbText } from '../_lib/relay/words';
import { useTRPC } from '../_lib/trpc';
import styles from './relay.module.css';

const ROLE_WORDS = { SENDER: 'Sending', RECEIVER: 'Receiving', RELAY: 'Relaying' } as const;

function Relays() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const query = useQuery(trpc.relay.list.queryOptions());
  useEffect(
    () =>
      getLiveHub().watchEvents((event) => {
        if (event.type === 'relay' || event.type === 'contract') void queryClient.invalidateQueries(trpc.relay.pathFilter());
      }),
    [queryClient, trpc],
  );
  if (query.isPending) return <Pending query={query} />;
  if (query.isError) return <ErrorAlert error={query.error} />;
  return (
    <div className="stack">
      <h1>Relays</h1>
      <p className="muted">
        A network contract in MB is delivered by the seller&rsquo;s device relaying a file between two other members&rsquo; devices. The file is
        encrypted end to end: the relay carries bytes it cannot read, and is paid for the bytes both ends confirm.
      </p>
      {query.data.length === 0 ? (
        <div className="card">
          <p className="muted">No relays yet. Buy network (MB) on the market, then send a file through the seller from the contract.</p>
        </div>
      ) : (
        <ul className={styles.list}>
          {query.data.map((s) => {
            const other = s.role === 'RELAY' ? `@${s.sender.handle} → @${s.receiver.handle}` : s.role === 'SENDER' ? `to @${s.receiver.handle} through @${s.relay.handle}` : `from @${s.sender.handle} through @${s.relay.handle}`;
            return (
              <li key={s.id}>
                <Link href={`/relay/${s.id}`}>
                  <strong>
                    {ROLE_WORDS[s.role]} {other}
                  </strong>
                  <span className="small muted">
                    {s.state === 'LIVE' ? 'Live' : 'Ended'} · {mbText(s.provenBytes)} confirmed of {mbText(s.wholeBytes)} · opened {whenShort(s.openedAt)}
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
  return <RequireMember what="see your relays">{() => <Relays />}</RequireMember>;
}
