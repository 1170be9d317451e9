import { createCallerFactory, router } from '../trpc';
import { authRouter } from './auth';
import { communityRouter } from './community';
import { computeRouter } from './compute';
import { contractRouter } from './contract';
import { deviceRouter } from './device';
import { ledgerRouter } from './ledger';
import { marketRouter } from './market';
import { negotiationRouter } from './negotiation';

export const appRouter = router({
  auth: authRouter,
  community: communityRouter,
  device: deviceRouter,
  ledger: ledgerRouter,
  market: marketRouter,
  negotiation: negotiationRouter,
  contract: contractRouter,
  compute: computeRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
