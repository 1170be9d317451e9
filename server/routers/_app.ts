import { createCallerFactory, router } from '../trpc';
import { adminRouter } from './admin';
import { authRouter } from './auth';
import { barterRouter } from './barter';
import { broadcastRouter } from './broadcast';
import { communityRouter } from './community';
import { computeRouter } from './compute';
import { contentRouter } from './content';
import { contractRouter } from './contract';
import { deviceRouter } from './device';
import { homeRouter } from './home';
import { ledgerRouter } from './ledger';
import { marketRouter } from './market';
import { negotiationRouter } from './negotiation';
import { pageviewsRouter } from './pageviews';
import { peripheralRouter } from './peripheral';
import { relayRouter } from './relay';
import { signalRouter } from './signal';
import { systemRouter } from './system';
import { storageRouter } from './storage';

export const appRouter = router({
  auth: authRouter,
  community: communityRouter,
  device: deviceRouter,
  ledger: ledgerRouter,
  market: marketRouter,
  negotiation: negotiationRouter,
  contract: contractRouter,
  compute: computeRouter,
  content: contentRouter,
  signal: signalRouter,
  admin: adminRouter,
  system: systemRouter,
  barter: barterRouter,
  home: homeRouter,
  peripheral: peripheralRouter,
  storage: storageRouter,
  pageviews: pageviewsRouter,
  relay: relayRouter,
  broadcast: broadcastRouter,
});

export type AppRouter = typeof appRouter;
export const createCaller = createCallerFactory(appRouter);
