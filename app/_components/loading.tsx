'use client';

import type { UseQueryResult } from '@tanstack/react-query';

/**
 * What to show while a query has no data: a loading line, or — when the device is offline and the
 * query is paused waiting for a connection — a clear word that this needs a connection.
 */
export function Pending({ query }: { query: Pick<UseQueryResult, 'fetchStatus'> }) {
  if (query.fetchStatus === 'paused') {
    return (
      <div className="card center" role="status">
        <h2>You&rsquo;re offline</h2>
        <p className="muted">This part of Swapmesh needs a connection. It will load as soon as you are back online.</p>
      </div>
    );
  }
  return <p className="muted">Loading…</p>;
}
