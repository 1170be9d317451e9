import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { createContext } from '@/server/context';
import { getDb } from '@/server/db/client';
import { appRouter } from '@/server/routers/_app';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

function handler(req: Request) {
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    createContext: ({ resHeaders }) =>
      createContext({
        db: getDb(),
        headers: req.headers,
        resHeaders,
        secure: new URL(req.url).protocol === 'https:' || req.headers.get('x-forwarded-proto') === 'https',
      }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`tRPC ${path ?? '?'} failed:`, error.cause ?? error);
    },
  });
}

export { handler as GET, handler as POST };
