import { createCallerFactory, router } from '../trpc';
import { authRouter } from './auth';
import { communityRouter } from './community';
import { deviceRouter } from './device';
import { ledgerRouter } from './ledger';

export const appRouter = router({
  auth: authRouter,
  community: communityRouter,
  device: deviceRouter,
  ledger: ledgerRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
