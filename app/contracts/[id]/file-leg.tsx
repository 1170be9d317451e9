'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../../_lib/trpc';

type Leg = { id: string; communityId: string; quantity: number; seller: { id: string; handle: string } };

/**
 * A barter's file leg, for its receiver: the giver's files in the community to take against it (each verified copy
 * proves one file of the trade, server/content/file-legs.ts); for its giver: what proves it.
 */
export function FileLeg({ contract, side }: { contract: Leg; side: 'BUYER' | 'SELLER' }) {
  const trpc = useTRPC();
  const items = useQuery({ ...trpc.content.search.queryOptions({ communityId: contract.communityId }), enabled: side === 'BUYER' });
  const files = contract.quantity === 1 ? 'one file' : `${contract.quantity} files`;
  if (side === 'SELLER') {
    return (
      <p className="muted" style={{ margin: 0 }} data-testid="file-leg">
        The receiver takes {contract.quantity === 1 ? 'one of your files' : `${contract.quantity} of your files`} in this community straight from your device; each copy whose fingerprint checks out on
        their device proves one file, and the contract pays you when all have arrived (pro rata to those that did when its window closes). Keep Swapmesh open on the device that offers them.
      </p>
    );
  }
  const theirs = (items.data ?? []).filter((i) => i.owner.id === contract.seller.id);
  return (
    <div className="stack" data-testid="file-leg">
      <p className="muted" style={{ margin: 0 }}>
        Take {files} of @{contract.seller.handle}&apos;s for this trade: each comes straight from their device and is checked against its fingerprint on yours, and
        each verified copy proves one file. Nothing more is charged.
      </p>
      {items.data && theirs.length === 0 ? <p className="empty">@{contract.seller.handle} offers no files in this community yet.</p> : null}
      <ul className="list">
        {theirs.map((item) => (
          <li key={item.id}>
            <Link className="button secondary block" href={`/content/items/${item.id}?leg=${contract.id}`}>
              {item.title}
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}
