import { expect, it } from 'vitest';

// instrumentation-client.ts sets zod's `jitless` without importing zod (so a first visit does not download it);
// this checks that zod, loaded afterwards, adopts the setting, as the browser's lazily loaded zod must.
it('zod loaded after instrumentation-client.ts runs is jitless', async () => {
  await import('../../instrumentation-client');
  const { config } = await import('zod');
  expect(config().jitless).toBe(true);
});
