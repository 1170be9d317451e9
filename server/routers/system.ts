import { z } from 'zod';
import { DomainError } from '../errors';
import { parseEnv } from '../env';
import { pageFields } from '../paging';
import { auditTrail } from '../system/audit';
import { allCommunities, systemHealth } from '../system/overview';
import { memberProcedure, publicProcedure, router } from '../trpc';

/** Whoever runs this coordinator: members whose handle SWAPMESH_ADMINS names (server/env.ts), read at each call. */
export const isSystemAdmin = (handle: string) => parseEnv({ SWAPMESH_ADMINS: process.env.SWAPMESH_ADMINS }).SWAPMESH_ADMINS.includes(handle.toLowerCase());

const systemAdminProcedure = memberProcedure.use(({ ctx, next }) => {
  if (!isSystemAdmin(ctx.member.handle)) {
    throw new DomainError('FORBIDDEN', "Only this coordinator's administrators can see that (their handles are set in SWAPMESH_ADMINS).");
  }
  return next();
});

/** The system administrator's screen: the coordinator's health, every community, the audit trail of coordinators' decisions. */
export const systemRouter = router({
  /** Whether the caller may open the screen (false when signed out). */
  amAdmin: publicProcedure.query(({ ctx }) => (ctx.member ? isSystemAdmin(ctx.member.handle) : false)),
  health: systemAdminProcedure.query(({ ctx }) => systemHealth(ctx.db)),
  communities: systemAdminProcedure.input(z.object(pageFields)).query(({ ctx, input }) => allCommunities(ctx.db, input)),
  audit: systemAdminProcedure.input(z.object(pageFields)).query(({ ctx, input }) => auditTrail(ctx.db, input)),
});
