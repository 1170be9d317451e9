import { randomInt } from 'node:crypto';

// Crockford base32 without I, L, O, U: easy to read aloud and to type on a phone.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newInviteCode(length = 8): string {
  let code = '';
  for (let i = 0; i < length; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}

export const normalizeInviteCode = (code: string) => code.trim().toUpperCase().replace(/[\s-]/g, '');
