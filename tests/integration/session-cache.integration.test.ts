import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, endSession, memberForSession, sessionId } from '@/server/auth/session';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { signUp } from '../support/callers';

describe.each(databaseKinds)('the session cache on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(async () => t.drop());

  it('a sign-out under 24 concurrent lookups of the same session leaves it signed out, cached or not', async () => {
    const { member } = await signUp(t.db, `cache-${kind}`);
    for (let round = 0; round < 5; round++) {
      const { token } = await createSession(t.db, member.id);
      expect(await memberForSession(t.db, token)).toEqual({ id: member.id, handle: member.handle });
      // the session is cached now; 24 lookups race the sign-out, and none may leave it signed in
      const lookups = Array.from({ length: 24 }, (_, i) => (i % 2 ? memberForSession(t.db, token) : new Promise((r) => setTimeout(r, i)).then(() => memberForSession(t.db, token))));
      await Promise.all([endSession(t.db, token), ...lookups]);
      expect(await memberForSession(t.db, token)).toBeNull();
      expect(await t.db.session.count({ where: { id: sessionId(token) } })).toBe(0);
    }
  });
});
