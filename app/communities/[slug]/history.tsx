'use client';

import { useInfiniteQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo } from 'react';
import { mergeStatementLines, type StatementLine } from '@/server/ledger/statement';
import { money, signedMoney, unitPrice, when } from '../../_lib/format';
import { useLastKnown } from '../../_lib/last-known';
import { useTRPC } from '../../_lib/trpc';
import { categoryWord, quantityText, unitName } from '../../_lib/units';
import { Pending } from '../../_components/loading';
import { LoadMore } from '../../_components/load-more';

const who = (handles: string[]) =>
  handles.length === 0 ? '' : handles.length === 1 ? `@${handles[0]}` : handles.length === 2 ? `@${handles[0]} and @${handles[1]}` : `@${handles[0]} and ${handles.length - 1} others`;

/** "10 GFLOP of compute", or a file's title. */
function goods(line: StatementLine): string {
  if (line.itemTitle) return `“${line.itemTitle}”`;
  if (line.quantity === null || !line.unit) return line.category ? categoryWord(line.category) : 'a trade';
  return `${quantityText(line.quantity, line.unit)}${line.category ? ` of ${categoryWord(line.category)}` : ''}`;
}

/** What happened, from the member's side, in one sentence. */
export function lineTitle(line: StatementLine): string {
  const other = who(line.counterparties);
  const withOther = (word: string) => (other ? ` ${word} ${other}` : '');
  switch (line.verb) {
    case 'GRANT':
      return line.memo || 'Welcome grant';
    case 'BID':
      return `Bid for ${goods(line)}`;
    case 'RELEASED':
      return `Released from your bid for ${goods(line)}`;
    case 'HELD':
      return `More held for your bid for ${goods(line)}`;
    case 'BOUGHT':
      return `Bought ${goods(line)}${withOther('from')}`;
    case 'SOLD':
      return `Sold ${goods(line)}${withOther('to')}`;
    case 'REFUNDED':
      return `Refund for ${goods(line)}${withOther('from')}`;
    case 'SPLIT':
      return line.side === 'SELLER' ? `Dispute split: part paid for ${goods(line)}${withOther('by')}` : `Dispute split: part refunded for ${goods(line)}${withOther('from')}`;
    case 'CASH_DEPOSIT':
      return 'Cash deposit';
    case 'CASH_WITHDRAWAL':
      return 'Cash withdrawal';
    case 'PRIZE':
      return 'Sweepstakes prize';
    case 'BARTER_PAID':
      return `Credits paid in a barter${withOther('to')}`;
    case 'BARTER_RECEIVED':
      return `Credits received in a barter${withOther('from')}`;
    case 'BARTER_HELD':
      return `Held for a barter leg: ${goods(line)}${withOther('from')}`;
    case 'JOB':
      return `Compute job${line.jobTitle ? ` “${line.jobTitle}”` : ''}`;
    case 'COMPUTED':
      return `Computed ${line.quantity ? quantityText(line.quantity, line.unit ?? 'WORK_UNIT') : 'work'} for ${other ? `${other}’s` : 'a'} job${line.jobTitle ? ` “${line.jobTitle}”` : ''}`;
    default:
      return line.memo || 'Movement';
  }
}

/** The detail under the title: the price, a job's donors and units. */
function lineDetail(line: StatementLine): string | null {
  if (line.verb === 'JOB') {
    const parts = [];
    if (line.quantity) parts.push(`${quantityText(line.quantity, line.unit ?? 'WORK_UNIT')} paid for`);
    if (line.counterparties.length) parts.push(`${line.counterparties.length} ${line.counterparties.length === 1 ? 'donor' : 'donors'}`);
    return parts.join(' · ') || null;
  }
  if (line.verb === 'CASH_DEPOSIT' || line.verb === 'CASH_WITHDRAWAL') return line.memo.replace(/^Cash (deposit|withdrawal) /, 'Reference ');
  if (line.price !== null && line.unit && ['BID', 'BOUGHT', 'SOLD', 'REFUNDED', 'SPLIT'].includes(line.verb)) {
    return `${line.verb === 'BID' ? 'up to ' : ''}${unitPrice(line.price)} credits per ${unitName(line.unit, 1)}`;
  }
  return null;
}

/** The escrow part of a line, as a sub-line ("10.20 held in escrow"); null when escrow did not move. */
function escrowText(line: StatementLine): string | null {
  if (line.escrow === 0) return null;
  if (line.escrow > 0) return `${money(line.escrow)} held in escrow`;
  if (line.available > 0) return `${money(line.available)} back from escrow`;
  return `paid from escrow`;
}

function StatementRow({ line }: { line: StatementLine }) {
  const net = line.available + line.escrow;
  const detail = lineDetail(line);
  const escrow = escrowText(line);
  const body = (
    <div className="statement-line">
      <div className="statement-what">
        <div className="statement-title">{lineTitle(line)}</div>
        {detail ? <div className="muted small">{detail}</div> : null}
        {escrow && net !== 0 ? <div className="muted small statement-escrow">{escrow}</div> : null}
        <div className="muted small">
          <time dateTime={line.at}>{when(line.at)}</time>
        </div>
      </div>
      <div className="statement-amount">
        {net !== 0 ? (
          <strong className={net > 0 ? 'amount-plus' : 'amount-minus'} data-testid="statement-amount">{signedMoney(net)}</strong>
        ) : escrow ? (
          <span className="muted small" data-testid="statement-amount">{escrow}</span>
        ) : (
          <span className="muted">{money(0)}</span>
        )}
      </div>
    </div>
  );
  const href = line.contractId ? `/contracts/${line.contractId}` : line.jobId ? `/jobs/${line.jobId}` : null;
  return (
    <li data-verb={line.verb}>
      {href ? (
        <Link className="item statement-link" href={href} aria-label={`${lineTitle(line)}: open the ${line.contractId ? 'contract' : 'job'}`}>
          {body}
        </Link>
      ) : (
        body
      )}
    </li>
  );
}

/** The member's account statement in a community: one line per event, newest first. */
export function History({ communityId }: { communityId: string }) {
  const trpc = useTRPC();
  const statement = useInfiniteQuery(
    trpc.ledger.statement.infiniteQueryOptions({ communityId, limit: 20 }, { getNextPageParam: (page) => page.nextCursor }),
  );
  const known = useLastKnown(`statement.${communityId}`, statement);
  const lines = useMemo(
    () => (known.data?.pages ?? []).reduce<StatementLine[]>((all, page) => mergeStatementLines(all, page.items), []),
    [known.data],
  );
  return (
    <div className="card">
      <h2>Statement</h2>
      {!known.data ? <Pending query={statement} /> : null}
      {known.data && lines.length === 0 ? <p className="empty">No movements yet.</p> : null}
      <ul className="list" data-testid="history">
        {lines.map((line) => (
          <StatementRow key={line.key} line={line} />
        ))}
      </ul>
      <LoadMore query={statement} />
    </div>
  );
}
