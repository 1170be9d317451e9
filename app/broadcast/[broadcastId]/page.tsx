'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { use, useEffect, useRef, useState } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { CastSession, type CastSnapshot } from '../../_lib/broadcast/session';
import { money, unitPrice } from '../../_lib/format';
import { getLiveHub } from '../../_lib/live-client';
import { mbText } from '../../_lib/relay/words';
import { useTRPC } from '../../_lib/trpc';
import styles from '../broadcast.module.css';

const DEVICE_ID_KEY = 'swapmesh.deviceId';
const RELAY_FAN_OUT = 3;

const LINK_WORDS = { waiting: 'Connecting…', connecting: 'Connecting…', connected: 'Live', closed: 'Closed' } as const;

/** A video element playing a MediaStream (muted: browsers only autoplay muted media; the viewer can unmute). */
function StreamVideo({ stream, muted, testId }: { stream: MediaStream | null; muted: boolean; testId: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    if (video.srcObject !== stream) video.srcObject = stream;
    if (stream) void video.play().catch(() => undefined);
  }, [stream]);
  return <video ref={ref} className={styles.video} data-testid={testId} autoPlay playsInline muted={muted} />;
}

function useCast(broadcastId: string, deviceId: string, role: 'BROADCASTER' | 'VIEWER', relay: boolean) {
  const [snap, setSnap] = useState<CastSnapshot | null>(null);
  const [error, setError] = useState<unknown>(null);
  const session = useRef<CastSession | null>(null);
  useEffect(() => {
    const s = new CastSession(broadcastId, deviceId, role, setSnap);
    session.current = s;
    s.start({ relay, fanOut: relay ? RELAY_FAN_OUT : 0 }).catch(setError);
    return () => {
      s.close();
      session.current = null;
    };
    // one session per broadcast, device and role; the relay choice changes through setRelay
  }, [broadcastId, deviceId, role]); // eslint-disable-line react-hooks/exhaustive-deps
  return { snap, error, session };
}

type TreeViewer = { id: string; handle: string; state: 'WATCHING' | 'WAITING'; parentId: string | null; relay: boolean; fanOut: number; earned: number; bytes: number };

function TreeList({ viewers, parentId }: { viewers: TreeViewer[]; parentId: string | null }) {
  const children = viewers.filter((v) => v.state === 'WATCHING' && v.parentId === parentId);
  if (children.length === 0) return null;
  return (
    <ul>
      {children.map((v) => (
        <li key={v.id}>
          <div className={styles.node} data-testid="tree-node">
            <strong>
              @{v.handle}
              {v.relay ? ' · relays' : ''}
            </strong>
            <span className="small muted">
              {mbText(v.bytes)} received here{v.relay ? ` · earned ${money(v.earned)} credits` : ''}
            </span>
          </div>
          <TreeList viewers={viewers} parentId={v.id} />
        </li>
      ))}
    </ul>
  );
}

function BroadcasterView({ broadcastId, deviceId }: { broadcastId: string; deviceId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { snap, error } = useCast(broadcastId, deviceId, 'BROADCASTER', false);
  const tree = useQuery({ ...trpc.broadcast.tree.queryOptions({ broadcastId }), refetchInterval: 3_000 });
  useEffect(
    () =>
      getLiveHub().watchEvents((event) => {
        if (event.type === 'broadcast' && event.broadcastId === broadcastId) void queryClient.invalidateQueries(trpc.broadcast.tree.queryFilter({ broadcastId }));
      }),
    [broadcastId, queryClient, trpc],
  );
  const end = useMutation(trpc.broadcast.end.mutationOptions({ onSuccess: () => queryClient.invalidateQueries(trpc.broadcast.pathFilter()) }));
  const ended = snap?.ended || end.isSuccess || tree.data?.broadcast.state === 'ENDED';
  const viewers = tree.data?.viewers ?? [];
  const waiting = viewers.filter((v) => v.state === 'WAITING').length;
  return (
    <>
      {!ended ? (
        <div className={styles.stage}>
          <StreamVideo stream={snap?.local ?? null} muted testId="broadcast-preview" />
          {snap?.local ? <span className={styles.badge}>LIVE</span> : null}
        </div>
      ) : null}
      <ErrorAlert error={error} />
      {snap?.problem ? <div className="alert error" role="alert">{snap.problem}</div> : null}
      {ended ? (
        <div className="card" role="status">
          <p style={{ margin: 0 }}>
            The broadcast has ended.{end.data ? ` Relays were paid ${money(end.data.spent)} credits; ${money(end.data.refunded)} came back to you.` : ''}
          </p>
        </div>
      ) : null}
      {ended ? (
        tree.data ? (
          <p className="small muted" data-testid="relay-spent">
            Relays earned {money(tree.data.spent)} of your {money(tree.data.budget)} credit budget.
          </p>
        ) : null
      ) : (
      <>
      <div className="card stack">
        <div className={styles.figure} data-testid="viewer-count">
          {viewers.length} <small>{viewers.length === 1 ? 'viewer' : 'viewers'}{waiting ? `, ${waiting} waiting for a place` : ''}</small>
        </div>
        <p className="small muted" style={{ margin: 0 }}>
          You send to {snap?.children.length ?? 0} directly ({snap?.children.filter((c) => c.state === 'connected').length ?? 0} connected); the rest watch through relays.
        </p>
        {tree.data ? (
          <p className="small muted" style={{ margin: 0 }} data-testid="relay-spent">
            Relays earned {money(tree.data.spent)} of your {money(tree.data.budget)} credit budget.
          </p>
        ) : null}
      </div>
      <div className="card">
        <h2>Relay tree</h2>
        {viewers.length === 0 ? (
          <p className="muted" style={{ margin: 0 }}>Nobody is watching yet.</p>
        ) : (
          <div className={styles.tree}>
            <div className={styles.node}>
              <strong>You</strong>
            </div>
            <TreeList viewers={viewers} parentId={null} />
          </div>
        )}
      </div>
      </>
      )}
      {!ended ? (
        <>
          <ErrorAlert error={end.error} />
          <button className="button danger block" type="button" disabled={end.isPending} onClick={() => end.mutate({ broadcastId })}>
            End broadcast
          </button>
        </>
      ) : null}
    </>
  );
}

function ViewerView({ broadcastId, deviceId, pricePerMb }: { broadcastId: string; deviceId: string; pricePerMb: number }) {
  const [relay, setRelay] = useState(false);
  const [muted, setMuted] = useState(true);
  const { snap, error, session } = useCast(broadcastId, deviceId, 'VIEWER', false);
  const toggle = useMutation({ mutationFn: (on: boolean) => session.current!.setRelay(on, RELAY_FAN_OUT) });
  const node = snap?.node;
  const viewer = node?.viewer;
  // while the coordinator has not answered, the switch shows what was asked for
  const on = toggle.isPending ? relay : (viewer?.relay ?? relay);
  return (
    <>
      <div className={styles.stage}>
        <StreamVideo stream={snap?.incoming ?? null} muted={muted} testId="broadcast-video" />
        {snap?.incoming ? <span className={styles.badge}>LIVE</span> : null}
      </div>
      <ErrorAlert error={error} />
      {snap?.problem ? <div className="alert error" role="alert">{snap.problem}</div> : null}
      {snap?.ended ? (
        <div className="card" role="status">
          <p style={{ margin: 0 }}>The broadcast has ended.</p>
        </div>
      ) : (
        <div className="card stack">
          <p style={{ margin: 0 }} data-testid="watch-status">
            {!node
              ? 'Joining…'
              : viewer?.state === 'WAITING'
                ? 'Waiting for a place: every viewer who relays is full. You are next when one opens.'
                : node.link
                  ? `${LINK_WORDS[snap.link]} · ${node.link.fromBroadcaster ? `from @${node.broadcast.broadcaster} directly` : `through @${node.link.parentHandle}`}`
                  : 'Finding you a place…'}
          </p>
          {snap?.video.width ? (
            <p className="small muted" style={{ margin: 0 }}>
              {snap.video.width}×{snap.video.height} at {Math.round(snap.video.fps)} frames/s · {mbText(snap.countedBytes)} counted
            </p>
          ) : null}
          <button className="button secondary block" type="button" onClick={() => setMuted((m) => !m)}>
            {muted ? 'Unmute' : 'Mute'}
          </button>
        </div>
      )}
      {!snap?.ended ? (
        <div className="card stack">
          <label className={styles.toggle}>
            <input
              type="checkbox"
              data-testid="relay-toggle"
              checked={on}
              disabled={!node || toggle.isPending}
              onChange={(e) => {
                setRelay(e.target.checked);
                toggle.mutate(e.target.checked);
              }}
            />
            <span>
              Relay for others
              <small>
                Pass the stream on to up to {RELAY_FAN_OUT} viewers and earn {unitPrice(pricePerMb)} credits per MB they receive.
              </small>
            </span>
          </label>
          <ErrorAlert error={toggle.error} />
          {viewer && (viewer.relay || viewer.earned > 0) ? (
            <dl className={styles.facts}>
              <dt>Sending to</dt>
              <dd data-testid="relay-children">{snap?.children.length ? snap.children.map((c) => `@${c.handle}`).join(', ') : 'nobody yet'}</dd>
              <dt>Received from you</dt>
              <dd>{mbText(viewer.relayedBytes)}</dd>
              <dt>Earned</dt>
              <dd data-testid="relay-earned">{money(viewer.earned)} credits</dd>
              {viewer.due > 0 ? (
                <>
                  <dt>Due</dt>
                  <dd>{money(viewer.due)} credits, paid when a viewer moves on or the broadcast ends</dd>
                </>
              ) : null}
            </dl>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

function BroadcastPage({ broadcastId }: { broadcastId: string }) {
  const trpc = useTRPC();
  const query = useQuery(trpc.broadcast.get.queryOptions({ broadcastId }));
  const [deviceId, setDeviceId] = useState<string | null | undefined>(undefined);
  useEffect(() => setDeviceId(localStorage.getItem(DEVICE_ID_KEY)), []);
  if (query.isPending) return <Pending query={query} />;
  if (query.isError) return <ErrorAlert error={query.error} />;
  const b = query.data;
  const sending = b.mine && b.broadcasterDeviceId === deviceId;
  return (
    <div className="stack">
      <Link href="/broadcast" className="small" style={{ minHeight: 48, display: 'inline-flex', alignItems: 'center' }}>
        ← Broadcasts
      </Link>
      <h1 style={{ margin: 0, overflowWrap: 'anywhere' }}>{b.title}</h1>
      <p className="muted" style={{ margin: 0 }}>{sending ? (b.state === 'LIVE' ? 'You are live.' : 'Your broadcast has ended.') : `@${b.broadcaster} is ${b.state === 'LIVE' ? 'live' : 'no longer live'}.`}</p>
      {deviceId === undefined ? null : deviceId === null ? (
        <div className="card stack">
          <p style={{ margin: 0 }}>Register this device first: the stream runs between registered devices.</p>
          <Link className="button block" href="/device">Register this device</Link>
        </div>
      ) : b.state === 'ENDED' && !sending ? (
        <div className="card">The broadcast has ended.</div>
      ) : sending ? (
        <BroadcasterView broadcastId={b.id} deviceId={deviceId} />
      ) : (
        <ViewerView broadcastId={b.id} deviceId={deviceId} pricePerMb={b.pricePerMb} />
      )}
    </div>
  );
}

export default function Page({ params }: { params: Promise<{ broadcastId: string }> }) {
  const { broadcastId } = use(params);
  return <RequireMember what="watch broadcasts">{() => <BroadcastPage broadcastId={broadcastId} />}</RequireMember>;
}
