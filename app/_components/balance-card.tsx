'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { money } from '@/app/_lib/format';
import { useLastKnown } from '@/app/_lib/last-known';
import { useTRPC } from '@/app/_lib/trpc';

export function BalanceFigure({ communityId }: { communityId: string }) {
  const trpc = useTRPC();
  const balance = useLastKnown(`ledger.balance.${communityId}`, useQuery(trpc.ledger.balance.queryOptions({ communityId })));
  if (!balance.data) return <div className="balance muted">…</div>;
  return (
    <div>
      <div className="balance" data-testid="balance-available">
        {money(balance.data.available)} <small>credits</small>
      </div>
      {balance.data.escrow !== 0 ? (
        <div className="muted small">{money(balance.data.escrow)} held in escrow</div>
      ) : null}
    </div>
  );
}

export function BalanceCard({ community }: { community: { id: string; name: string; slug: string; role: string | null } }) {
  return (
    <Link href={`/communities/${community.slug}`} className="card" style={{ display: 'block', color: 'inherit', textDecoration: 'none' }}>
      <div className="row spread">
        <h2 style={{ margin: 0 }}>{community.name}</h2>
        {community.role === 'COORDINATOR' ? <span className="pill">coordinator</span> : null}
      </div>
      <BalanceFigure communityId={community.id} />
    </Link>
  );
}
