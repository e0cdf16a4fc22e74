/**
 * The benchmark's load generator, in its own process (forked by proxy.bench.ts): `concurrency`
 * workers on an undici Pool with as many keep-alive connections, each sending Messages API
 * requests back to back. Reports requests per second and latency percentiles (whole response),
 * and for streams the time to the first body byte.
 */
import { Pool } from 'undici';

/** What one load run does. */
export interface LoadParams {
  readonly url: string;
  readonly concurrency: number;
  readonly bodyBytes: number;
  readonly stream: boolean;
  /** Measure for this long after the warm-up… */
  readonly durationMs?: number;
  readonly warmupMs?: number;
  /** …or send exactly this many requests (no warm-up). */
  readonly requests?: number;
}

/** What one load run measured. */
export interface LoadResult {
  /** Requests measured (after the warm-up). */
  readonly requests: number;
  /** Requests completed in all, the warm-up included. */
  readonly completed: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Time to the first body byte, median (streams only). */
  readonly ttfbP50Ms: number | null;
  readonly ttfbP99Ms: number | null;
}

/** A Claude-Code-like request body of about `bytes` bytes: a system prompt and a long conversation. */
export function requestBody(bytes: number, conversation: number, stream: boolean): Buffer {
  const messages: Array<{ role: 'user' | 'assistant'; content: string }> = [
    { role: 'user', content: `Conversation ${conversation}: please refactor the request path.` },
  ];
  const filler = 'The quick brown fox jumps over the lazy dog while the proxy routes requests. ';
  let size = 400;
  let turn = 0;
  while (size < bytes) {
    const content = filler.repeat(Math.max(1, Math.min(100, Math.floor((bytes - size) / filler.length))));
    messages.push({ role: turn % 2 === 0 ? 'assistant' : 'user', content });
    size += content.length + 30;
    turn++;
  }
  if (messages.at(-1)?.role === 'assistant') messages.push({ role: 'user', content: 'Continue.' });
  return Buffer.from(
    JSON.stringify({
      model: 'claude-bench',
      max_tokens: 1024,
      stream,
      system: `You are a careful engineer (session ${conversation}).`,
      messages,
      tools: [{ name: 'read_file', description: 'Read a file', input_schema: { type: 'object' } }],
    }),
  );
}

export async function runLoad(params: LoadParams): Promise<LoadResult> {
  const { url, concurrency } = params;
  const pool = new Pool(url, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const distinct = params.bodyBytes > 100_000 ? 16 : concurrency;
  const bodies = Array.from({ length: Math.min(distinct, concurrency) }, (_, i) => requestBody(params.bodyBytes, i, params.stream));
  const headers = {
    'content-type': 'application/json',
    'anthropic-version': '2023-06-01',
    'x-api-key': 'key-a',
  };
  const latencies: number[] = [];
  const ttfbs: number[] = [];
  let errors = 0;
  let sent = 0;
  let completed = 0;
  let measuring = params.requests !== undefined;
  let stopped = false;

  const one = async (body: Buffer): Promise<void> => {
    const started = performance.now();
    let firstByte = 0;
    try {
      const { statusCode, body: responseBody } = await pool.request({ path: '/v1/messages', method: 'POST', headers, body });
      for await (const chunk of responseBody) {
        if (firstByte === 0 && (chunk as Buffer).length > 0) firstByte = performance.now();
      }
      if (statusCode !== 200) errors++;
    } catch {
      errors++;
    }
    completed++;
    if (!measuring) return;
    latencies.push(performance.now() - started);
    if (params.stream && firstByte > 0) ttfbs.push(firstByte - started);
  };

  const worker = async (index: number): Promise<void> => {
    const body = bodies[index % bodies.length] as Buffer;
    for (;;) {
      if (stopped) return;
      if (params.requests !== undefined) {
        if (sent >= params.requests) return;
        sent++;
      }
      await one(body);
    }
  };

  let startedAt = performance.now();
  const workers = Array.from({ length: concurrency }, (_, i) => worker(i));
  if (params.requests === undefined) {
    await new Promise((resolve) => setTimeout(resolve, params.warmupMs ?? 500));
    measuring = true;
    errors = 0;
    startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, params.durationMs ?? 2_500));
    stopped = true;
    // Requests that finish after the window still count: they were measured from their start.
  }
  await Promise.all(workers);
  const elapsedMs = performance.now() - startedAt;
  await pool.close();
  return {
    requests: latencies.length,
    completed,
    errors,
    rps: (latencies.length / elapsedMs) * 1000,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    ttfbP50Ms: params.stream ? percentile(ttfbs, 0.5) : null,
    ttfbP99Ms: params.stream ? percentile(ttfbs, 0.99) : null,
  };
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

// As a forked child: run each load sent over IPC, one at a time, and send back its result.
if (process.send !== undefined) {
  process.on('message', (message: { id: number; params: LoadParams } | 'exit') => {
    if (message === 'exit') process.exit(0);
    void runLoad(message.params).then((result) => process.send?.({ id: message.id, result }));
  });
  process.send('ready');
}
