import { z } from 'zod';
import { DomainError } from '../errors';
import { homeInbox } from '../home/inbox';
import { memberProcedure, router } from '../trpc';

/** How far back "today" may start: a day and a half covers every time zone's midnight. */
const MAX_DAY_MS = 36 * 3_600_000;

export const homeRouter = router({
  /**
   * The member's to-do inbox: contracts awaiting their delivery or sign-off, gifts offered to them, negotiations
   * and barter deals waiting on them, what their devices earned since `since` (the start of their day, at most
   * 36 hours ago; default: the last 24 hours), their balances and their first steps.
   */
  inbox: memberProcedure
    .input(z.object({ since: z.iso.datetime({ offset: true }).optional() }).default({}))
    .query(({ ctx, input }) => {
      const now = new Date();
      const since = input.since ? new Date(input.since) : new Date(now.getTime() - 24 * 3_600_000);
      if (since.getTime() > now.getTime() + 60_000 || now.getTime() - since.getTime() > MAX_DAY_MS) {
        throw new DomainError('BAD_INPUT', 'The start of the day must be within the last 36 hours.');
      }
      return homeInbox(ctx.db, ctx.member.id, since, now);
    }),
});
