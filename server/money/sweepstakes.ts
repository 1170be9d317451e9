import { createHash } from 'node:crypto';
import { DomainError } from '../errors';
import type { Db, Queryable } from '../db/client';
import { transaction } from '../db/transaction';
import { communityAccount, memberAccount, transfer } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { toMicro } from '../money';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * A ticket for a contribution that cost something or was verified by someone else: a compute unit
 * validated by quorum, or a paid transfer (a priced item whose buyer paid and signed off on the verified
 * file). Free gifts earn none, so two accounts cannot farm tickets by gifting files back and forth.
 * Once per contribution: the (source, reference) pair is unique.
 */
export async function earnTicket(db: Queryable, communityId: string, memberId: string, source: 'COMPUTE_UNIT' | 'TRANSFER', reference: string) {
  const exists = await db.sweepstakesTicket.count({ where: { source, reference } });
  if (!exists) await db.sweepstakesTicket.create({ data: { communityId, memberId, source, reference } });
}

/**
 * A paid transfer's ticket, for its sender: only when the transfer settled a contract in which the buyer,
 * someone other than the sender, paid a price above zero.
 */
export async function earnTransferTicket(db: Queryable, transfer: { id: string; communityId: string; senderId: string; contractId: string | null }) {
  if (!transfer.contractId) return;
  const contract = await db.contract.findUnique({ where: { id: transfer.contractId }, select: { state: true, price: true, quantity: true, buyerId: true, sellerId: true } });
  if (!contract || contract.state !== 'SETTLED' || contract.price <= 0n || contract.quantity <= 0) return;
  if (contract.buyerId === transfer.senderId || contract.sellerId !== transfer.senderId) return;
  await earnTicket(db, transfer.communityId, transfer.senderId, 'TRANSFER', transfer.id);
}

/**
 * The winning ticket, recomputable by anyone: the period's ticket ids in order are hashed; the secret
 * and that hash, hashed together, read as a number modulo the number of tickets, index the winner.
 */
export function pickWinner(secret: string, ticketIds: string[]): { ticketsHash: string; index: number | null } {
  const ticketsHash = sha256(ticketIds.join('\n'));
  if (ticketIds.length === 0) return { ticketsHash, index: null };
  const roll = BigInt(`0x${sha256(`${secret}:${ticketsHash}`)}`);
  return { ticketsHash, index: Number(roll % BigInt(ticketIds.length)) };
}

export async function commitDraw(db: Db, communityId: string, input: { commitment: string; periodStart: Date; periodEnd: Date }, now = new Date()) {
  if (input.periodEnd <= input.periodStart) throw new DomainError('BAD_INPUT', 'The period must end after it starts.');
  if (input.periodStart < new Date(now.getTime() - 60_000)) {
    throw new DomainError('BAD_INPUT', 'Commit before the period starts, so no one can choose the secret after seeing the tickets.');
  }
  return db.sweepstakesDraw.create({ data: { communityId, commitment: input.commitment, periodStart: input.periodStart, periodEnd: input.periodEnd }, select: { id: true } });
}

/**
 * Reveals the secret after the period: checks it against the commitment, claims the draw (a conditional
 * write on `revealedAt: null`, so exactly one of any number of concurrent reveals goes on), picks the
 * winner and pays them the pool, once (the prize entry's once-key is the draw).
 */
export async function revealDraw(db: Db, communityId: string, drawId: string, secret: string, now = new Date()) {
  return transaction(db, async (tx) => {
    const draw = await tx.sweepstakesDraw.findFirst({ where: { id: drawId, communityId } });
    if (!draw) throw new DomainError('NOT_FOUND', 'No such draw in this community.');
    if (draw.revealedAt) throw new DomainError('CONFLICT', 'This draw was already revealed.');
    if (draw.periodEnd > now) throw new DomainError('PRECONDITION', 'The period has not ended yet: reveal after it.');
    if (sha256(secret) !== draw.commitment) throw new DomainError('BAD_INPUT', 'That secret does not match the commitment made before the period.');
    const claimed = await tx.sweepstakesDraw.updateMany({ where: { id: drawId, communityId, revealedAt: null }, data: { revealedAt: now, secret } });
    if (claimed.count !== 1) throw new DomainError('CONFLICT', 'This draw was already revealed.');

    const tickets = await tx.sweepstakesTicket.findMany({
      where: { communityId, createdAt: { gte: draw.periodStart, lt: draw.periodEnd } },
      orderBy: { id: 'asc' },
      select: { id: true, memberId: true },
    });
    const { ticketsHash, index } = pickWinner(secret, tickets.map((t) => t.id));
    const winner = index === null ? null : tickets[index]!;
    let prize = 0;
    if (winner) {
      // a no-op write takes the pool's row lock, so the balance read next is the latest committed one
      const poolWhere = { communityId, kind: 'SWEEPSTAKES' as const, memberId: null };
      await tx.account.updateMany({ where: poolWhere, data: { balance: { increment: 0n } } });
      const pool = await tx.account.findFirstOrThrow({ where: poolWhere, select: { balance: true } });
      prize = toMicro(pool.balance);
    }
    if (winner && prize > 0) {
      const community = await tx.community.findUniqueOrThrow({ where: { id: communityId }, select: { creditLimit: true } });
      await postEntry(
        tx,
        communityId,
        { ...transfer(communityAccount('SWEEPSTAKES'), memberAccount(winner.memberId), prize, 'SWEEPSTAKES_PRIZE', 'Sweepstakes prize'), reference: `draw:${drawId}`, onceKey: `draw:${drawId}` },
        { creditLimit: toMicro(community.creditLimit) },
      );
    }
    return tx.sweepstakesDraw.update({
      where: { id: drawId },
      data: { ticketsHash, ticketCount: tickets.length, winnerId: winner?.memberId ?? null, winningTicketId: winner?.id ?? null, prize: BigInt(prize) },
    });
  });
}

/** A draw with everything needed to recompute its winner independently. */
export async function drawView(db: Db, communityId: string, drawId: string) {
  const draw = await db.sweepstakesDraw.findFirst({ where: { id: drawId, communityId } });
  if (!draw) throw new DomainError('NOT_FOUND', 'No such draw in this community.');
  const tickets = draw.revealedAt
    ? await db.sweepstakesTicket.findMany({ where: { communityId, createdAt: { gte: draw.periodStart, lt: draw.periodEnd } }, orderBy: { id: 'asc' }, select: { id: true, memberId: true, source: true } })
    : [];
  return {
    id: draw.id,
    commitment: draw.commitment,
    periodStart: draw.periodStart.toISOString(),
    periodEnd: draw.periodEnd.toISOString(),
    secret: draw.secret,
    ticketsHash: draw.ticketsHash,
    tickets,
    winnerId: draw.winnerId,
    winningTicketId: draw.winningTicketId,
    prize: toMicro(draw.prize),
    revealedAt: draw.revealedAt?.toISOString() ?? null,
  };
}

/**
 * The sweepstakes as every member sees it: the pool a winner would get now, the draws committed and not
 * yet revealed (their published fingerprint, their period, how many tickets so far, how many are mine), and
 * past draws newest first (paged), each with its winner, prize and ticket count.
 */
export async function sweepstakesOverview(db: Db, communityId: string, memberId: string, page: PageRequest) {
  const pool = await db.account.findFirst({ where: { communityId, kind: 'SWEEPSTAKES', memberId: null }, select: { balance: true } });
  const open = await db.sweepstakesDraw.findMany({ where: { communityId, revealedAt: null }, orderBy: { periodEnd: 'asc' }, take: 10 });
  const openDraws = await Promise.all(
    open.map(async (draw) => {
      const period = { communityId, createdAt: { gte: draw.periodStart, lt: draw.periodEnd } };
      const [tickets, mine] = await Promise.all([db.sweepstakesTicket.count({ where: period }), db.sweepstakesTicket.count({ where: { ...period, memberId } })]);
      return { id: draw.id, commitment: draw.commitment, periodStart: draw.periodStart.toISOString(), periodEnd: draw.periodEnd.toISOString(), tickets, mine };
    }),
  );
  const past = await db.sweepstakesDraw.findMany({
    where: { communityId, revealedAt: { not: null }, ...afterCursor(page.cursor, 'desc') },
    orderBy: pageOrder('desc'),
    take: page.limit + 1,
  });
  const winners = await db.member.findMany({ where: { id: { in: past.flatMap((d) => (d.winnerId ? [d.winnerId] : [])) } }, select: { id: true, handle: true } });
  return {
    pool: toMicro(pool?.balance ?? 0n),
    open: openDraws,
    past: toPage(past, page.limit, (draw) => ({
      id: draw.id,
      periodEnd: draw.periodEnd.toISOString(),
      tickets: draw.ticketCount,
      prize: toMicro(draw.prize),
      winner: winners.find((w) => w.id === draw.winnerId) ?? null,
      revealedAt: draw.revealedAt!.toISOString(),
    })),
  };
}
