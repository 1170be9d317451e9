/** Next.js calls this once when the server starts: the coordinator's periodic work begins here. */
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    // first, so that every request's socket address is recorded (see server/auth/client-address.ts)
    const { installAddressHook } = await import('./server/auth/client-address');
    installAddressHook();
    const { startSweeper } = await import('./server/maintenance/sweeper');
    startSweeper();
    const { getDb } = await import('./server/db/client');
    const { startRetention } = await import('./server/maintenance/retention');
    startRetention(getDb);
  }
}
