'use client';

import { useInfiniteQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useDeferredValue, useState } from 'react';
import { ErrorAlert } from '@/app/_components/form';
import { LoadMore, rowsOf } from '@/app/_components/load-more';
import { LastKnownMark } from '@/app/_components/last-known-mark';
import { Pending } from '@/app/_components/loading';
import { useLastKnown } from '@/app/_lib/last-known';
import { useTRPC } from '@/app/_lib/trpc';
import { useContent, type Community } from './content-context';
import { MEDIA_KINDS } from './format';
import { ItemRow } from './item-row';
import styles from '../content.module.css';

const SIZES = [
  { value: 0, label: 'Any size' },
  { value: 10_000_000, label: 'Up to 10 MB' },
  { value: 100_000_000, label: 'Up to 100 MB' },
  { value: 1_000_000_000, label: 'Up to 1 GB' },
];

/** The community's files, searchable, for a member with a device and a community. */
export function Catalog({ community }: { community: Community }) {
  const trpc = useTRPC();
  const { communities, setCommunityId, deviceId } = useContent();
  const [text, setText] = useState('');
  const [kind, setKind] = useState('');
  const [maxBytes, setMaxBytes] = useState(0);
  const [nearbyOnly, setNearbyOnly] = useState(false);
  const search = useDeferredValue(text.trim());
  const items = useInfiniteQuery(
    trpc.content.searchPage.infiniteQueryOptions(
      {
        communityId: community.id,
        deviceId,
        text: search || undefined,
        mediaType: kind || undefined,
        maxBytes: maxBytes || undefined,
        nearbyOnly: nearbyOnly || undefined,
        limit: 30,
      },
      { refetchInterval: 15_000, getNextPageParam: (page) => page.nextCursor },
    ),
  );

  // offline, the catalog as last seen (unfiltered: the list a person opens the screen to), mine among it
  const filtered = Boolean(search || kind || maxBytes || nearbyOnly);
  const known = useLastKnown(`content.catalog.${community.id}`, items, { keep: !filtered });
  const list = rowsOf(known.data);

  return (
    <>
      <LastKnownMark asOf={known.asOf} />
      <div className="row spread" style={{ marginBottom: '0.75rem' }}>
        <h1 style={{ margin: 0 }}>Files</h1>
        <Link className="button" href="/content/publish">Offer a file</Link>
      </div>
      {communities.length > 1 ? (
        <div className={styles.chipLinks} role="group" aria-label="Community">
          {communities.map((c) => (
            <button key={c.id} type="button" aria-pressed={c.id === community.id} onClick={() => setCommunityId(c.id)}>
              {c.name}
            </button>
          ))}
        </div>
      ) : (
        <p className="muted small">Files offered in {community.name}, newest first.</p>
      )}
      <input
        type="search"
        placeholder="Search titles and descriptions"
        aria-label="Search files"
        value={text}
        onChange={(e) => setText(e.target.value)}
        style={{ marginBottom: '0.75rem' }}
      />
      <div className="chips" role="group" aria-label="Type" style={{ marginBottom: '0.5rem' }}>
        {MEDIA_KINDS.map((k) => (
          <button key={k.value} type="button" aria-pressed={kind === k.value} onClick={() => setKind(k.value)}>
            {k.label}
          </button>
        ))}
      </div>
      <div className="grid2" style={{ marginBottom: '1rem', alignItems: 'center' }}>
        <select aria-label="Size" value={maxBytes} onChange={(e) => setMaxBytes(Number(e.target.value))}>
          {SIZES.map((s) => (
            <option key={s.value} value={s.value}>{s.label}</option>
          ))}
        </select>
        <label className="check">
          <input type="checkbox" checked={nearbyOnly} onChange={(e) => setNearbyOnly(e.target.checked)} />
          Nearby only
        </label>
      </div>
      <div className="card" data-testid="catalog">
        {known.data ? null : <ErrorAlert error={items.error} />}
        {known.data || items.isError ? null : <Pending query={items} />}
        {known.data && list.length === 0 ? (
          <p className="empty">{search || kind || maxBytes || nearbyOnly ? 'No file matches.' : 'Nobody offers a file here yet: be the first.'}</p>
        ) : null}
        <ul className="list">
          {list.map((item) => (
            <li key={item.id}>
              <ItemRow item={item} />
            </li>
          ))}
        </ul>
        <LoadMore query={items} />
      </div>
    </>
  );
}
