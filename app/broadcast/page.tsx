'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { ErrorAlert, Field, fieldErrors } from '../_components/form';
import { Pending } from '../_components/loading';
import { RequireMember } from '../_components/require-member';
import { unitPrice, whenShort } from '../_lib/format';
import { parseCredits } from '../_lib/money';
import { useTRPC } from '../_lib/trpc';
import styles from './broadcast.module.css';

const DEVICE_ID_KEY = 'swapmesh.deviceId';

function StartForm({ deviceId }: { deviceId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const communities = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  const [communityId, setCommunityId] = useState('');
  const [title, setTitle] = useState('');
  const [fanOut, setFanOut] = useState('2');
  const [price, setPrice] = useState('0.10');
  const [budget, setBudget] = useState('5');
  const [localError, setLocalError] = useState<string | null>(null);
  const start = useMutation(trpc.broadcast.start.mutationOptions({ onSuccess: (node) => router.push(`/broadcast/${node.broadcast.id}`) }));
  if (communities.isPending) return <Pending query={communities} />;
  const mine = communities.data?.items ?? [];
  if (mine.length === 0) return <div className="card">Join a community to broadcast to its members.</div>;
  const chosen = communityId || mine[0]!.id;
  const errors = fieldErrors(start.error);
  return (
    <form
      className="card stack"
      onSubmit={(e) => {
        e.preventDefault();
        const pricePerMb = parseCredits(price);
        const budgetMicro = parseCredits(budget);
        if (pricePerMb === null || budgetMicro === null) return setLocalError('Write the price and the budget as credits, like 0.10 or 5.');
        setLocalError(null);
        start.mutate({ communityId: chosen, deviceId, title, fanOut: Number(fanOut), pricePerMb, budget: budgetMicro });
      }}
    >
      <h2 style={{ margin: 0 }}>Go live</h2>
      <label htmlFor="cast-community">
        Community
        <select id="cast-community" value={chosen} onChange={(e) => setCommunityId(e.target.value)}>
          {mine.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      <Field label="Title" name="title" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={80} required error={errors.title} />
      <Field
        label="Viewers your connection serves directly"
        hint="The others watch through viewers who relay for them."
        name="fanOut"
        type="number"
        inputMode="numeric"
        min={1}
        max={8}
        value={fanOut}
        onChange={(e) => setFanOut(e.target.value)}
        error={errors.fanOut}
      />
      <Field label="Pay relays per MB (credits)" name="pricePerMb" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} error={errors.pricePerMb} />
      <Field
        label="Relay budget (credits)"
        hint="Held while you are live; what relays did not earn comes back when you end."
        name="budget"
        inputMode="decimal"
        value={budget}
        onChange={(e) => setBudget(e.target.value)}
        error={errors.budget}
      />
      {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={start.error} />}
      <button className="button block" type="submit" disabled={start.isPending}>
        {start.isPending ? 'Starting…' : 'Start broadcasting'}
      </button>
      <p className="small muted" style={{ margin: 0 }}>Your camera and microphone are asked for on the next screen, not before.</p>
    </form>
  );
}

function Broadcasts() {
  const trpc = useTRPC();
  const list = useQuery({ ...trpc.broadcast.list.queryOptions(), refetchInterval: 10_000 });
  const [deviceId, setDeviceId] = useState<string | null | undefined>(undefined);
  useEffect(() => setDeviceId(localStorage.getItem(DEVICE_ID_KEY)), []);
  return (
    <div className="stack">
      <h1>Broadcasts</h1>
      <p className="muted">
        Go live with your camera to a community. Viewers who relay for others pass the stream on and are paid for what their viewers prove they
        received.
      </p>
      <section className="stack" aria-labelledby="live-now">
        <h2 id="live-now" style={{ margin: 0 }}>Live now</h2>
        {list.isPending ? (
          <Pending query={list} />
        ) : list.isError ? (
          <ErrorAlert error={list.error} />
        ) : list.data.length === 0 ? (
          <div className="card">
            <p className="muted" style={{ margin: 0 }}>Nobody in your communities is live right now.</p>
          </div>
        ) : (
          <ul className={styles.list} data-testid="broadcast-list">
            {list.data.map((b) => (
              <li key={b.id}>
                <Link href={`/broadcast/${b.id}`}>
                  <strong>{b.title}</strong>
                  <span className="small muted">
                    @{b.broadcaster} in {b.community?.name ?? 'a community'} · {b.viewers === 1 ? '1 viewer' : `${b.viewers} viewers`} · since {whenShort(b.startedAt)} · relays earn {unitPrice(b.pricePerMb)} per MB
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
      {deviceId === undefined ? null : deviceId === null ? (
        <div className="card stack">
          <p style={{ margin: 0 }}>Register this device to broadcast or watch: the stream runs between registered devices.</p>
          <Link className="button block" href="/device">Register this device</Link>
        </div>
      ) : (
        <StartForm deviceId={deviceId} />
      )}
    </div>
  );
}

export default function Page() {
  return <RequireMember what="watch and start broadcasts">{() => <Broadcasts />}</RequireMember>;
}
