// Imported first by the live tests: the safety-net poll is set far beyond any test's length, so that an
// event that arrives proves the wake-up (in process, or LISTEN/NOTIFY across processes), not the poll.
process.env.SWAPMESH_LIVE_POLL_MS = '600000';
export {};
