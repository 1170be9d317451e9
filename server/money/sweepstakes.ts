import { createHash } from 'node:crypto';
import { DomainError } from '../errors';
import type { Db, Queryable } from '../db/client';
import { transaction } from '../db/transaction';
import { communityAccount, memberAccount, transfer } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { toMicro } from '../money';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A ticket for a verified contribution (a validated compute unit, a completed transfer); once per contribution. */
export async function earnTicket(db: Queryable, communityId: string, memberId: string, source: 'COMPUTE_UNIT' | 'TRANSFER', reference: string) {
  const exists = await db.sweepstakesTicket.count({ where: { source, reference } });
  if (!exists) await db.sweepstakesTicket.create({ data: { communityId, memberId, source, reference } });
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

/** Reveals the secret after the period: checks it against the commitment, picks the winner and pays the pool. */
export async function revealDraw(db: Db, communityId: string, drawId: string, secret: string, now = new Date()) {
  return transaction(db, async (tx) => {
    const draw = await tx.sweepstakesDraw.findFirst({ where: { id: drawId, communityId } });
    if (!draw) throw new DomainError('NOT_FOUND', 'No such draw in this community.');
    if (draw.revealedAt) throw new DomainError('CONFLICT', 'This draw was already revealed.');
    if (draw.periodEnd > now) throw new DomainError('PRECONDITION', 'The period has not ended yet: reveal after it.');
    if (sha256(secret) !== draw.commitment) throw new DomainError('BAD_INPUT', 'That secret does not match the commitment made before the period.');
    const tickets = await tx.sweepstakesTicket.findMany({
      where: { communityId, createdAt: { gte: draw.periodStart, lt: draw.periodEnd } },
      orderBy: { id: 'asc' },
      select: { id: true, memberId: true },
    });
    const { ticketsHash, index } = pickWinner(secret, tickets.map((t) => t.id));
    const winner = index === null ? null : tickets[index]!;
    const pool = await tx.account.findFirstOrThrow({ where: { communityId, kind: 'SWEEPSTAKES', memberId: null }, select: { balance: true } });
    const prize = winner ? toMicro(pool.balance) : 0;
    if (winner && prize > 0) {
      const community = await tx.community.findUniqueOrThrow({ where: { id: communityId }, select: { creditLimit: true } });
      await postEntry(tx, communityId, { ...transfer(communityAccount('SWEEPSTAKES'), memberAccount(winner.memberId), prize, 'SWEEPSTAKES_PRIZE', 'Sweepstakes prize'), reference: `draw:${drawId}` }, { creditLimit: toMicro(community.creditLimit) });
    }
    return tx.sweepstakesDraw.update({
      where: { id: drawId },
      data: { secret, ticketsHash, ticketCount: tickets.length, winnerId: winner?.memberId ?? null, winningTicketId: winner?.id ?? null, prize: BigInt(prize), revealedAt: now },
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
