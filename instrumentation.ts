/** Next.js calls this once when the server starts: the coordinator's periodic work begins here. */
export async function register() {
  if (process.env.NEXT_RUNTIME === 'nodejs') {
    const { startSweeper } = await import('./server/market/sweeper');
    startSweeper();
  }
}
