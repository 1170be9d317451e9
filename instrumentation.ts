/** Next.js calls this once when the server starts. */
export async function register() {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  if (process.env.SWAPMESH_PAGES_THREAD === '1') {
    // `npm start` serves pages from a thread of their own (scripts/pages-thread.mjs): the front thread records
    // each request's address and runs the coordinator's periodic work
    const { trustRecordedAddresses } = await import('./server/auth/client-address');
    trustRecordedAddresses();
    return;
  }
  // `next dev`: this process is the whole coordinator
  const { startCoordinatorWork } = await import('./server/maintenance/start');
  startCoordinatorWork();
}
