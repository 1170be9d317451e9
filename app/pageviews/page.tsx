'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState, useSyncExternalStore } from 'react';
import { ErrorAlert, Field, fieldErrors } from '../_components/form';
import { money, unitPrice } from '../_lib/format';
import { parseCredits } from '../_lib/money';
import { getPageViewServer, type PageViewServer } from '../_lib/pageviews/page-view-server';
import { forgetServing, rememberServing } from '../_lib/pageviews/serving-choice';
import { useTRPC } from '../_lib/trpc';
import { ContentShell, useContent, WithCommunity, type Community } from '../content/_components/content-context';
import styles from './pageviews.module.css';

const NETWORK_WORDS: Record<string, string> = { wifi: 'Wi-Fi', cellular: 'Mobile data', ethernet: 'Ethernet', other: 'Other or unknown' };
const STATE_WORDS: Record<string, string> = { off: 'Off', waiting: 'Waiting for views', loading: 'Loading a page', paused: 'Stopped' };

function useServer(server: PageViewServer) {
  return useSyncExternalStore(server.subscribe, server.getSnapshot, server.getSnapshot);
}

function ServeCard({ community }: { community: Community }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { deviceId } = useContent();
  const server = getPageViewServer(deviceId, community.id);
  const live = useServer(server);
  const status = useQuery(trpc.pageviews.serving.queryOptions({ communityId: community.id, deviceId }, { refetchInterval: 10_000 }));
  const [floor, setFloor] = useState('0.01');
  const toggle = useMutation(
    trpc.pageviews.setServing.mutationOptions({
      onSuccess: (result) => {
        if (result.serving) {
          rememberServing(deviceId, community.id);
          server.start();
        } else {
          forgetServing(deviceId, community.id);
          server.stop();
        }
        void queryClient.invalidateQueries(trpc.pageviews.serving.pathFilter());
      },
    }),
  );
  const serving = status.data?.serving ?? false;
  useEffect(() => {
    if (serving) server.start();
  }, [serving, server]);
  const floorMicro = parseCredits(floor);
  return (
    <section className="card stack" aria-labelledby="serve-title">
      <h2 id="serve-title" style={{ margin: 0 }}>Serve page views</h2>
      <p className="muted small" style={{ margin: 0 }}>
        Alongside donating, this device can load pages of sites their owners verified, one request at a time, and report how long they took.
        Each validated view pays its price. Nothing of the page runs here and none of your cookies is sent.
      </p>
      {status.data ? (
        <div className={styles.figures} data-testid="serving-figures">
          <div><strong data-testid="views-served">{status.data.views.valid}</strong><span>views paid</span></div>
          <div><strong>{status.data.views.errors}</strong><span>errors</span></div>
          <div><strong data-testid="views-earned">{money(status.data.earned)}</strong><span>credits earned</span></div>
        </div>
      ) : null}
      <p className="small" style={{ margin: 0 }} data-testid="serving-state">
        {serving ? STATE_WORDS[live.state === 'off' ? 'waiting' : live.state] : 'Not serving'}
        {live.last?.outcome.ok ? ` · last page ${live.last.outcome.durationMs} ms` : ''}
        {live.note ? ` · ${live.note}` : ''}
      </p>
      {serving ? (
        <button className="button secondary block" type="button" disabled={toggle.isPending} onClick={() => toggle.mutate({ communityId: community.id, deviceId, on: false })}>
          Stop serving page views
        </button>
      ) : (
        <>
          <Field label="Lowest price per view" hint="credits" name="floor" inputMode="decimal" value={floor} onChange={(e) => setFloor(e.target.value)} error={fieldErrors(toggle.error).floorPrice} />
          <button className="button block" type="button" disabled={toggle.isPending || !floorMicro} onClick={() => floorMicro && toggle.mutate({ communityId: community.id, deviceId, on: true, floorPrice: floorMicro })}>
            Serve page views from this device
          </button>
        </>
      )}
      <ErrorAlert error={toggle.error} />
    </section>
  );
}

function SitesCard() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const sites = useQuery(trpc.pageviews.sites.queryOptions());
  const [origin, setOrigin] = useState('');
  const [rate, setRate] = useState('30');
  const refresh = () => void queryClient.invalidateQueries(trpc.pageviews.sites.pathFilter());
  const add = useMutation(trpc.pageviews.addSite.mutationOptions({ onSuccess: () => { setOrigin(''); refresh(); } }));
  const verify = useMutation(trpc.pageviews.verifySite.mutationOptions({ onSettled: refresh }));
  return (
    <section className="card stack" aria-labelledby="sites-title">
      <h2 id="sites-title" style={{ margin: 0 }}>Your sites</h2>
      <p className="muted small" style={{ margin: 0 }}>
        Prove a site is yours by serving a token at an address of it; only then can views of it be ordered, and never more per minute than you allow.
      </p>
      {sites.data?.length ? (
        <ul className="list" data-testid="sites">
          {sites.data.map((s) => (
            <li key={s.id} className="stack" style={{ gap: '0.5rem' }}>
              <span className="row spread">
                <strong className={styles.url}>{s.origin}</strong>
                <span className={s.verified ? 'pill' : 'pill gray'}>{s.verified ? 'verified' : 'not verified'}</span>
              </span>
              {!s.verified ? (
                <>
                  <span className="small">Serve a file at this address whose only content is the token:</span>
                  <span className={styles.token}>{s.tokenUrl}</span>
                  <span className={styles.token} data-testid="site-token">{s.token}</span>
                  {s.lastError && !verify.error ? <span className="small field-error">{s.lastError}</span> : null}
                  <button className="button block" type="button" disabled={verify.isPending} onClick={() => verify.mutate({ siteId: s.id })}>
                    Verify {s.origin.replace(/^https?:\/\//, '')}
                  </button>
                </>
              ) : (
                <span className="small muted">At most {s.ratePerMinute} views a minute</span>
              )}
            </li>
          ))}
        </ul>
      ) : null}
      {verify.error ? <ErrorAlert error={verify.error} /> : null}
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate({ origin, ratePerMinute: Number(rate) || 30 });
        }}
      >
        <Field label="Site address" name="origin" placeholder="https://example.org" inputMode="url" value={origin} onChange={(e) => setOrigin(e.target.value)} error={fieldErrors(add.error).origin} />
        <Field label="Most views per minute" hint="at most 60" name="rate" type="number" min={1} max={60} value={rate} onChange={(e) => setRate(e.target.value)} error={fieldErrors(add.error).ratePerMinute} />
        <button className="button secondary block" type="submit" disabled={add.isPending || !origin.trim()}>Add site</button>
        <ErrorAlert error={add.error} />
      </form>
    </section>
  );
}

function OrderCard({ community }: { community: Community }) {
  const trpc = useTRPC();
  const router = useRouter();
  const sites = useQuery(trpc.pageviews.sites.queryOptions());
  const verified = sites.data?.filter((s) => s.verified) ?? [];
  const [siteId, setSiteId] = useState('');
  const [path, setPath] = useState('/');
  const [quantity, setQuantity] = useState('10');
  const [price, setPrice] = useState('0.05');
  const [networks, setNetworks] = useState<string[]>([]);
  const chosen = verified.find((s) => s.id === siteId) ?? verified[0];
  const order = useMutation(trpc.pageviews.order.mutationOptions({ onSuccess: (r) => router.push(`/pageviews/${r.campaignId}`) }));
  const priceMicro = parseCredits(price);
  const errors = fieldErrors(order.error);
  return (
    <section className="card stack" aria-labelledby="order-title">
      <h2 id="order-title" style={{ margin: 0 }}>Order page views</h2>
      {verified.length === 0 ? (
        <p className="muted small" style={{ margin: 0 }}>Verify a site first: views can only be ordered of a site you proved is yours.</p>
      ) : (
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            if (!chosen || !priceMicro) return;
            order.mutate({ communityId: community.id, siteId: chosen.id, path, quantity: Number(quantity), price: priceMicro, networks: networks as ('wifi' | 'cellular' | 'ethernet' | 'other')[], hours: 24 });
          }}
        >
          <label>
            Site
            <select name="site" value={chosen?.id ?? ''} onChange={(e) => setSiteId(e.target.value)}>
              {verified.map((s) => <option key={s.id} value={s.id}>{s.origin}</option>)}
            </select>
          </label>
          <Field label="Page" hint="a path of that site" name="path" value={path} onChange={(e) => setPath(e.target.value)} error={errors.path} />
          <Field label="Views" name="quantity" type="number" min={1} max={10000} value={quantity} onChange={(e) => setQuantity(e.target.value)} error={errors.quantity} />
          <Field label="Price per view" hint="credits, paid for each validated view" name="price" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} error={errors.price} />
          <fieldset className={styles.networks}>
            <legend>From devices on <span className="hint">(none ticked: any)</span></legend>
            {Object.entries(NETWORK_WORDS).map(([value, word]) => (
              <label key={value} className="check">
                <input type="checkbox" checked={networks.includes(value)} onChange={(e) => setNetworks(e.target.checked ? [...networks, value] : networks.filter((n) => n !== value))} /> {word}
              </label>
            ))}
          </fieldset>
          {priceMicro && Number(quantity) > 0 ? (
            <p className="small muted" style={{ margin: 0 }}>Holds up to {money(priceMicro * Number(quantity))} credits plus commission until the views are done; unused views are refunded.</p>
          ) : null}
          <button className="button block" type="submit" disabled={order.isPending || !priceMicro}>Order {Number(quantity) || 0} views</button>
          <ErrorAlert error={order.error} />
        </form>
      )}
    </section>
  );
}

function OrdersCard() {
  const trpc = useTRPC();
  const orders = useQuery(trpc.pageviews.orders.queryOptions());
  if (!orders.data?.length) return null;
  return (
    <section className="card" aria-labelledby="orders-title">
      <h2 id="orders-title">Your page-view orders</h2>
      <ul className="list" data-testid="pageview-orders">
        {orders.data.map((o) => (
          <li key={o.id}>
            <Link className="item" href={`/pageviews/${o.id}`}>
              <span className="row spread">
                <strong className={styles.url}>{o.url}</strong>
                <span className={o.status === 'OPEN' ? 'pill' : 'pill gray'}>{o.status === 'OPEN' ? 'open' : o.status === 'FILLED' ? 'all handed out' : o.status.toLowerCase()}</span>
              </span>
              <span className="small muted">{o.valid} of {o.quantity} views done · {o.errors} errors · {unitPrice(o.price)} per view</span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

function PageViewsScreen({ community }: { community: Community }) {
  return (
    <div className="stack" style={{ gap: 0 }}>
      <h1>Page views</h1>
      <p className="muted">Measure how fast your site loads from members&rsquo; phones on real networks, or earn by loading other members&rsquo; sites.</p>
      <ServeCard community={community} />
      <SitesCard />
      <OrderCard community={community} />
      <OrdersCard />
    </div>
  );
}

export default function PageViewsPage() {
  return <ContentShell>{<WithCommunity>{(community) => <PageViewsScreen community={community} />}</WithCommunity>}</ContentShell>;
}
