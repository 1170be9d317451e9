#!/usr/bin/env node
/**
 * Where the app's garbage comes from: attaches to a node started with `--inspect=PORT` (for a bench's app:
 * BENCH_APP_NODE_ARGS="--inspect=PORT"), waits, then samples allocations for a while with V8's sampling heap
 * profiler — counting objects the garbage collector has already taken, which is most of a server's
 * allocations — and prints the bytes allocated by each function (self), largest first.
 *
 *   node bench/support/heap-sample.mjs --port 9339 --after 24 --for 8 [--top 40] [--out profile.json]
 *   BENCH_APP_NODE_ARGS="--inspect=9339" node bench/market-http.mjs --only sqlite --duration 20 --modes batch
 *
 * --after is seconds from attaching to sampling: long enough for the bench's sign-ups and baselines to be over.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: args } = parseArgs({
  options: { port: { type: 'string', default: '9339' }, after: { type: 'string', default: '0' }, for: { type: 'string', default: '8' }, top: { type: 'string', default: '40' }, out: { type: 'string' } },
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let url;
for (;;) {
  try {
    url = (await (await fetch(`http://127.0.0.1:${args.port}/json/list`)).json())[0].webSocketDebuggerUrl;
    break;
  } catch {
    await sleep(200);
  }
}
const ws = new WebSocket(url);
await new Promise((resolve) => ws.on('open', resolve));
let id = 0;
const pending = new Map();
ws.on('message', (text) => {
  const message = JSON.parse(text);
  pending.get(message.id)?.(message);
  pending.delete(message.id);
});
const send = (method, params = {}) => new Promise((resolve) => {
  pending.set(++id, resolve);
  ws.send(JSON.stringify({ id, method, params }));
});

await sleep(Number(args.after) * 1000);
await send('HeapProfiler.enable');
await send('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
await sleep(Number(args.for) * 1000);
const { result } = await send('HeapProfiler.stopSampling');
ws.close();
if (args.out) writeFileSync(args.out, JSON.stringify(result.profile));

const bytes = new Map();
let total = 0;
(function walk(node) {
  const frame = node.callFrame;
  const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
  bytes.set(name, (bytes.get(name) ?? 0) + node.selfSize);
  total += node.selfSize;
  for (const child of node.children) walk(child);
})(result.profile.head);
console.log(`${(total / 1e6).toFixed(0)} MB allocated in ${args.for} s; by function (self):`);
for (const [name, size] of [...bytes].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top))) {
  console.log(`${(size / 1e6).toFixed(1).padStart(8)} MB ${((100 * size) / total).toFixed(1).padStart(5)}%  ${name}`);
}
