'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { use, useEffect, useState } from 'react';
import { ErrorAlert } from '../../../_components/form';
import { Pending } from '../../../_components/loading';
import { RequireMember } from '../../../_components/require-member';
import { ensureDeviceKey } from '../../../_lib/device-keys';
import { whenShort } from '../../../_lib/format';
import { mbText } from '../../../_lib/relay/words';
import { useTRPC } from '../../../_lib/trpc';
import styles from '../../relay.module.css';

const DEVICE_ID_KEY = 'swapmesh.deviceId';

function Choose({ contractId, deviceId }: { contractId: string; deviceId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const relay = useQuery(trpc.relay.forContract.queryOptions({ contractId }));
  const receivers = useQuery(trpc.relay.receivers.queryOptions({ contractId, deviceId }, { enabled: relay.data?.role === 'SENDER' && !relay.data.session }));
  const [to, setTo] = useState<string | null>(null);
  const setKey = useMutation(trpc.device.setKey.mutationOptions());
  const openSession = useMutation(trpc.relay.open.mutationOptions());
  // the sending device signs its receipts and its key for the receiver: register its key first
  const open = useMutation({
    mutationFn: async (input: { contractId: string; deviceId: string; toDeviceId: string }) => {
      await ensureDeviceKey(input.deviceId, (k) => setKey.mutateAsync(k));
      return openSession.mutateAsync(input);
    },
    onSuccess: (session) => router.push(`/relay/${session.id}`),
  });
  useEffect(() => {
    if (relay.data?.session) router.replace(`/relay/${relay.data.session.id}`);
  }, [relay.data?.session, router]);

  if (relay.isPending) return <Pending query={relay} />;
  if (relay.isError) return <ErrorAlert error={relay.error} />;
  const data = relay.data;
  if (!data.contract.relayable) return <div className="alert info">Only network contracts in MB are delivered as a relay.</div>;
  if (data.role !== 'SENDER') return <div className="alert info">@{data.buyer} chooses where the relay sends; your device relays once they open it.</div>;
  if (data.session) return null;
  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        if (to) open.mutate({ contractId, deviceId, toDeviceId: to });
      }}
    >
      <h2>Send a file through @{data.seller} to…</h2>
      <p className="muted small">
        Up to {mbText(data.contract.wholeBytes)} until {whenShort(data.contract.windowEnd)}. Your device encrypts the file for the receiving device
        only; @{data.seller}&rsquo;s device carries it without being able to read it.
      </p>
      {receivers.isPending ? <Pending query={receivers} /> : null}
      <ErrorAlert error={receivers.error} />
      {receivers.data?.length === 0 ? <p className="muted">Nobody else in this community has a device yet. Pair with a device from Nearby to send to it.</p> : null}
      <fieldset className={styles.list} style={{ border: 0, padding: 0, margin: 0 }}>
        <legend className="small muted">Receiving device</legend>
        {receivers.data?.map((d) => (
          <label key={d.deviceId} className={styles.choice}>
            <input type="radio" name="to" value={d.deviceId} checked={to === d.deviceId} onChange={() => setTo(d.deviceId)} />
            <span>
              @{d.handle} · {d.name}
              <small>{d.lastSeen ? `seen ${whenShort(d.lastSeen)}` : 'not seen yet'}</small>
            </span>
          </label>
        ))}
      </fieldset>
      <ErrorAlert error={open.error} />
      <button type="submit" className="button block" disabled={!to || open.isPending}>
        Open the relay
      </button>
    </form>
  );
}

function SendPage({ contractId }: { contractId: string }) {
  const [deviceId, setDeviceId] = useState<string | null | undefined>(undefined);
  useEffect(() => setDeviceId(localStorage.getItem(DEVICE_ID_KEY)), []);
  return (
    <div className="stack">
      <h1>Relay a file</h1>
      {deviceId === undefined ? null : deviceId === null ? (
        <div className="card stack">
          <p>Register this device first: the file goes from this device through the relay.</p>
          <Link className="button block" href="/device">
            Register this device
          </Link>
        </div>
      ) : (
        <Choose contractId={contractId} deviceId={deviceId} />
      )}
    </div>
  );
}

export default function Page({ params }: { params: Promise<{ contractId: string }> }) {
  const { contractId } = use(params);
  return <RequireMember what="relay a file">{() => <SendPage contractId={contractId} />}</RequireMember>;
}
