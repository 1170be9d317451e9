import { randomBytes } from 'node:crypto';

let lastTime = 0;
let counter = 0;

/**
 * A new row id in the shape of Prisma's `cuid()` (25 characters, starting with "c"), for rows the
 * server writes in bulk and must know the id of before they are written. Ids made in one process
 * sort by the time they were made (millisecond, then a counter); the random tail keeps ids from
 * several processes apart.
 */
export function newId(): string {
  const now = Date.now();
  if (now === lastTime) counter++;
  else {
    lastTime = now;
    counter = 0;
  }
  const time = now.toString(36).padStart(9, '0');
  const count = (counter % 36 ** 4).toString(36).padStart(4, '0');
  const random = BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).padStart(13, '0').slice(-11);
  return `c${time}${count}${random}`;
}
