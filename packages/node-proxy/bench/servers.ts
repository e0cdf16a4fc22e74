/**
 * The benchmark's servers, one per child process (forked by proxy.bench.ts):
 * - `mock <port>`: the mock Anthropic upstream (three accounts, windows that never fill);
 * - `bare <upstream>`: the floor any Node proxy pays, about twenty lines of node:http that buffer
 *   the body and forward it with a keep-alive agent, no routing;
 * - `shunt <upstream>`: @shunt/node-proxy with three accounts, at its default log level (the log
 *   goes to this process's stderr, which the parent discards).
 * Each sends `{"port": N}` over IPC once listening, answers `"rss"` (resident set size after a GC)
 * and `"cpu"` (process.cpuUsage() and the system calls made so far), and exits on `"exit"`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { parseConfig } from '../src/config.js';
import { createMockUpstream } from '../src/mock-upstream.js';
import { jsonLogger } from '../src/logger.js';
import { createProxy } from '../src/proxy.js';

const [mode, arg] = process.argv.slice(2);

/** Read and write system calls made so far (Linux's /proc/self/io; writev counts as a write), or null. */
function syscalls(): { readonly reads: number; readonly writes: number } | null {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    return { reads: Number(/syscr: (\d+)/.exec(io)?.[1]), writes: Number(/syscw: (\d+)/.exec(io)?.[1]) };
  } catch {
    return null;
  }
}
const send = (message: unknown): void => void process.send?.(message);
// Pause time per kind of collection: a scavenge is cheap, an old-generation one (mark-compact)
// means per-request state outlived young collections.
const gc = { youngMs: 0, oldMs: 0, old: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gc.youngMs += entry.duration;
    else {
      gc.oldMs += entry.duration;
      gc.old += 1;
    }
  }
}).observe({ entryTypes: ['gc'] });
// ALLOC_PROF=file: a sampling profile of every allocation (collected ones included, unlike
// `--heap-prof`), written on "exit": where a server's garbage comes from. ALLOC_PROF_OLD=1 leaves out
// what the young generation collected: what was promoted before it died (the old generation's work).
const allocProfile = process.env['ALLOC_PROF'];
const inspector = allocProfile === undefined ? null : new Session();
if (inspector !== null) {
  inspector.connect();
  inspector.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env['ALLOC_PROF_OLD'] === undefined });
}
process.on('message', (message) => {
  if (message === 'exit' && inspector !== null) {
    inspector.post('HeapProfiler.stopSampling', (error, result) => {
      if (error === null) writeFileSync(`${allocProfile as string}.${mode}.${process.pid}.heapprofile`, JSON.stringify(result.profile));
      process.exit(0);
    });
    return;
  }
  if (message === 'exit') process.exit(0);
  // HEAP_SNAPSHOT=dir: a heap snapshot on "snapshot" (what a server holds under load, and why).
  if (message === 'snapshot' && process.env['HEAP_SNAPSHOT'] !== undefined) send({ snapshot: writeHeapSnapshot(join(process.env['HEAP_SNAPSHOT'], `${mode}.${process.pid}.heapsnapshot`)) });
  if (message === 'cpu') send({ cpu: process.cpuUsage(), io: syscalls(), gc });
  if (message === 'rss') {
    globalThis.gc?.();
    send({ rss: process.memoryUsage().rss });
  }
});

if (mode === 'mock') {
  const mock = createMockUpstream({
    accounts: [
      { name: 'a', key: 'key-a' },
      { name: 'b', key: 'key-b' },
      { name: 'c', key: 'key-c' },
    ],
    usagePerRequest: 0,
    // Keep no request log: over a whole benchmark it would hold gigabytes of bodies.
    requestLog: 0,
  });
  const url = await mock.listen(Number(arg ?? 0));
  send({ port: Number(new URL(url).port) });
} else if (mode === 'bare') {
  // ---- the bare pass-through proxy: the floor ----
  const upstream = new URL(arg as string);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      const out = http.request(upstream.origin + (req.url ?? '/'), { method: req.method ?? 'GET', headers, agent }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      out.on('error', () => res.writeHead(502).end());
      out.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
  // ---- end of the bare proxy ----
} else if (mode === 'bare-undici') {
  // The same bare pass-through, forwarding with undici's Agent as shunt does (ab-compare's BASE=bare-undici).
  const upstream = new URL(arg as string);
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) } as unknown as Record<string, string>;
      agent.request({ origin: upstream.origin, path: req.url ?? '/', method: (req.method ?? 'GET') as 'POST', headers, body }).then(
        (up) => {
          res.writeHead(up.statusCode, up.headers);
          up.body.pipe(res);
        },
        () => res.writeHead(502).end(),
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => send({ port: (server.address() as AddressInfo).port }));
} else if (mode === 'shunt') {
  const config = parseConfig(
    {
      server: { port: 0, control_port: 0, upstream_url: arg, ...(process.env['BENCH_LOG_LEVEL'] === undefined ? {} : { log_level: process.env['BENCH_LOG_LEVEL'] }) },
      accounts: [
        { name: 'a', api_key_env: 'BENCH_KEY_A' },
        { name: 'b', api_key_env: 'BENCH_KEY_B' },
        { name: 'c', api_key_env: 'BENCH_KEY_C' },
      ],
    },
    { file: '<bench>', env: { BENCH_KEY_A: 'key-a', BENCH_KEY_B: 'key-b', BENCH_KEY_C: 'key-c' } },
  );
  // BENCH_LOG_SINK=none: the default log, its lines built and written nowhere (to price the writing apart from the building).
  const proxy = createProxy({ config, ...(process.env['BENCH_LOG_SINK'] === 'none' ? { logger: jsonLogger({ level: config.server.logLevel, write: () => {} }) } : {}) });
  const { proxyUrl } = await proxy.listen();
  send({ port: Number(new URL(proxyUrl).port) });
} else {
  throw new Error(`unknown mode ${String(mode)}`);
}
