/**
 * @module
 * What shunt does per request beyond a bare pass-through, each piece timed on its own in this
 * process: where the CPU time per request in the load tables goes.
 */
import { openSync, writeSync } from 'node:fs';
import { classifyResponse, explainPick, fingerprint, memoryStore, recordResponse, resolveStrategy } from '@shunt/core';
import { clientResponseHeaders, upstreamRequestHeaders } from '../src/headers.js';
import { jsonLogger } from '../src/logger.js';
import { sseUsageScanner } from '../src/recorder.js';
import { sseErrorSniffer } from '../src/sse.js';
import { requestBody } from './load.js';

/** One measured piece of work. */
export interface WorkRow {
  readonly work: string;
  readonly micros: number;
}

export function benchWork(): WorkRow[] {
  const rows: WorkRow[] = [];
  const time = (work: string, iterations: number, run: () => unknown): void => {
    for (let i = 0; i < Math.max(10, iterations / 5); i++) run();
    const started = performance.now();
    for (let i = 0; i < iterations; i++) run();
    rows.push({ work, micros: ((performance.now() - started) / iterations) * 1000 });
  };
  const small = requestBody(10_240, 1, false);
  const large = requestBody(1_048_576, 1, false);
  time('`fingerprint`, 10 KB body', 20_000, () => fingerprint(small));
  time('`fingerprint` as the proxy calls it (`validate: false`), 10 KB body', 20_000, () => fingerprint(small, { validate: false }));
  time('`JSON.parse`, 10 KB body (for comparison)', 20_000, () => JSON.parse(small.toString()));
  time('`fingerprint`, 1 MB body', 100, () => fingerprint(large));
  time('`fingerprint` as the proxy calls it (`validate: false`), 1 MB body', 100, () => fingerprint(large, { validate: false }));
  time('`JSON.parse`, 1 MB body (for comparison)', 100, () => JSON.parse(large.toString()));

  const store = memoryStore();
  const accounts = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
  const strategy = resolveStrategy('maximus');
  const conversation = fingerprint(small);
  time('`explainPick`, 3 accounts, sticky hit', 50_000, () =>
    explainPick(accounts, store, { fingerprint: conversation, tried: new Set(), strategy, stickyTtlMs: 600_000, expirySoonSecs: 1800 }),
  );
  const resetSecs = Math.floor(Date.now() / 1000);
  const upstreamHeaders = {
    'content-type': 'application/json',
    'content-length': '312',
    'request-id': 'req_1',
    'anthropic-ratelimit-unified-status': 'allowed',
    'anthropic-ratelimit-unified-5h-utilization': '0.31',
    'anthropic-ratelimit-unified-5h-reset': String(resetSecs + 3600),
    'anthropic-ratelimit-unified-5h-status': 'allowed',
    'anthropic-ratelimit-unified-7d-utilization': '0.12',
    'anthropic-ratelimit-unified-7d-reset': String(resetSecs + 86_400),
    'anthropic-ratelimit-unified-7d-status': 'allowed',
    'anthropic-ratelimit-unified-representative-claim': 'five_hour',
    connection: 'keep-alive',
    'keep-alive': 'timeout=30',
  };
  time('`classifyResponse` + `recordResponse` of a 200', 50_000, () =>
    recordResponse(store, { name: 'a' }, classifyResponse({ status: 200, headers: upstreamHeaders }, { nowMs: Date.now(), canRefresh: false })),
  );
  const clientHeaders = {
    host: '127.0.0.1:8082',
    'content-type': 'application/json',
    'content-length': '10240',
    'anthropic-version': '2023-06-01',
    'anthropic-beta': 'claude-code-20250219',
    'x-api-key': 'client',
    'user-agent': 'claude-cli/2.0',
    connection: 'keep-alive',
  };
  time('header allow-list, both ways', 100_000, () => {
    upstreamRequestHeaders(clientHeaders, { 'x-api-key': 'account' });
    clientResponseHeaders(upstreamHeaders, 'a');
  });
  // A short stream as the API writes it: usage in message_start and message_delta.
  const events = Buffer.from(
    'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-5","id":"msg_01","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,' +
      '"usage":{"input_tokens":3,"cache_creation_input_tokens":1602,"cache_read_input_tokens":19641,"cache_creation":{"ephemeral_5m_input_tokens":1602,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello there"}}\n\n'.repeat(8) +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":188}}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
  );
  // One event per read, as the API's events usually arrive.
  const reads = events.toString().split(/(?<=\n\n)/).map((event) => Buffer.from(event));
  time(`SSE error sniffer, a ${(events.length / 1024).toFixed(1)} KB stream in ${reads.length} reads`, 50_000, () => {
    const sniffer = sseErrorSniffer(() => {});
    for (const read of reads) sniffer.push(read);
    sniffer.end();
  });
  time(`SSE usage scanner, the same stream (tokens for the log line and the trace)`, 50_000, () => {
    const usage = sseUsageScanner();
    for (const read of reads) usage.push(read);
    usage.end();
    return usage.tokens();
  });
  const devNull = openSync('/dev/null', 'w');
  const logger = jsonLogger({ write: (line) => writeSync(devNull, line) });
  time('one log line (written to /dev/null)', 50_000, () =>
    logger.info('request', {
      id: 'k3f-1a',
      method: 'POST',
      path: '/v1/messages',
      status: 200,
      outcome: 'served',
      account: 'a',
      reason: 'sticky',
      attempts: 1,
      failovers: [],
      held_ms: 0,
      duration_ms: 3,
      stream: false,
    }),
  );
  return rows;
}
