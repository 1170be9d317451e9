import { randomFillSync } from 'node:crypto';

let lastTime = 0;
let counter = 0;
// random bytes drawn 4 KiB at a time: one call to the system per 512 ids
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomTail(): string {
  if (poolAt + 8 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const value = pool.readBigUInt64BE(poolAt);
  poolAt += 8;
  return value.toString(36).padStart(13, '0').slice(-11);
}

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
  return `c${time}${count}${randomTail()}`;
}
