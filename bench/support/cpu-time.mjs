// CPU time of a process tree from /proc (Linux), in nanoseconds: every thread's time on a CPU
// (schedstat), summed over the process and all its descendants. What a run cost, whatever else
// the machine was doing meanwhile; NaN where /proc is not there.
import { readFileSync, readdirSync } from 'node:fs';

function children() {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const byParent = new Map();
  for (const [pid, ppid] of parentOf) byParent.set(ppid, [...(byParent.get(ppid) ?? []), pid]);
  return byParent;
}

/** The pids of `root`'s descendants (not `root` itself). */
export function descendants(root) {
  const byParent = children();
  const out = [];
  const stack = [...(byParent.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(byParent.get(pid) ?? []));
  }
  return out;
}

/** Nanoseconds on a CPU so far, summed over the threads of `pids`. */
export function cpuNs(pids) {
  let total = 0;
  let seen = false;
  for (const pid of pids) {
    let tids;
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        seen = true;
      } catch {
        // thread ended meanwhile
      }
    }
  }
  return seen ? total : NaN;
}
