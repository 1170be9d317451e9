'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useDeferredValue, useState } from 'react';
import { money } from '../_lib/format';
import { useTRPC } from '../_lib/trpc';
import { Pending } from '../_components/loading';

export default function CommunitiesPage() {
  const trpc = useTRPC();
  const [search, setSearch] = useState('');
  const deferred = useDeferredValue(search.trim());
  const list = useQuery(trpc.community.list.queryOptions({ search: deferred || undefined, limit: 50 }));
  return (
    <>
      <div className="row spread" style={{ marginBottom: '0.75rem' }}>
        <h1 style={{ margin: 0 }}>Communities</h1>
        <Link className="button" href="/communities/new">New</Link>
      </div>
      <input
        type="search"
        placeholder="Search by name"
        aria-label="Search communities"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        style={{ marginBottom: '1rem' }}
      />
      <div className="card">
        {list.isPending ? <Pending query={list} /> : null}
        {list.data?.items.length === 0 ? <p className="empty">No communities match “{deferred}”.</p> : null}
        <ul className="list">
          {list.data?.items.map((c) => (
            <li key={c.id}>
              <Link className="item" href={`/communities/${c.slug}`}>
                <div className="row spread">
                  <strong>{c.name}</strong>
                  {c.role ? <span className="pill">{c.role === 'COORDINATOR' ? 'coordinator' : 'joined'}</span> : c.inviteOnly ? <span className="pill gray">invite only</span> : null}
                </div>
                <div className="muted small">
                  {c.memberCount} {c.memberCount === 1 ? 'member' : 'members'} · {money(c.startingGrant)} credits to start ·{' '}
                  {(c.commissionBps / 100).toFixed(2)}% commission
                </div>
              </Link>
            </li>
          ))}
        </ul>
      </div>
    </>
  );
}
