import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { appendFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRACE_PREAMBLE } from '@shunt/core/trace';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it, vi } from 'vitest';
import { jsonLogger } from './logger.js';
import {
  TraceFileError,
  createTraceRecorder,
  jsonUsageScanner,
  requestModel,
  sseUsageScanner,
  traceRateLimitFields,
  type TraceRecorderFs,
} from './recorder.js';

const T0 = Date.UTC(2026, 0, 5, 9);
const dir = (): string => mkdtempSync(join(tmpdir(), 'shunt-recorder-'));
const row = (i: number) => ({ tsMs: T0 + i, requestId: `r${i}`, session: 'fp', account: 'a', model: 'claude-x', status: 200, outputTokens: i });
const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');

describe('createTraceRecorder', () => {
  it('should write the marker and header once, then append rows, with mode 0600', async () => {
    const path = join(dir(), 'trace.csv');
    const first = createTraceRecorder({ path });
    first.record(row(1));
    await first.close();
    const second = createTraceRecorder({ path });
    second.record(row(2));
    second.record(row(3));
    await second.close();
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith(TRACE_PREAMBLE)).toBe(true);
    expect(text.split('# shunt-trace v1').length).toBe(2);
    expect(lines(path).slice(2).map((l) => l.split(',')[1])).toEqual(['r1', 'r2', 'r3']);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('should keep appending to a trace begun before the cache-lifetime columns, in its own columns', async () => {
    const path = join(dir(), 'trace.csv');
    const header = 'ts,request_id,session,account,model,status,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens,duration_ms,util_5h,reset_5h,status_5h,util_7d,reset_7d,status_7d';
    writeFileSync(path, `# shunt-trace v1\n${header}\n2026-01-05T09:00:00.000Z,r0,fp,a,claude-x,200,,1,,,,,,,,,\n`);
    const recorder = createTraceRecorder({ path });
    recorder.record({ ...row(1), cacheCreationTokens: 30, cacheCreation5mTokens: 10, cacheCreation1hTokens: 20 });
    await recorder.close();
    const written = lines(path);
    expect(written[1]).toBe(header);
    expect(written.slice(2).map((l) => l.split(',').length)).toEqual([17, 17]);
    expect(written[3]).toMatch(/^2026-01-05T09:00:00\.001Z,r1,fp,a,claude-x,200,,1,,30,/);
  });

  it('should write nothing for an idle run, and accept an existing empty file', async () => {
    const path = join(dir(), 'trace.csv');
    await createTraceRecorder({ path }).close();
    expect(() => readFileSync(path)).toThrow();
    writeFileSync(path, '');
    const recorder = createTraceRecorder({ path });
    recorder.record(row(1));
    await recorder.close();
    expect(lines(path)).toHaveLength(3);
  });

  it('should create a missing folder, and refuse one it cannot create, naming the path', async () => {
    const root = dir();
    const path = join(root, 'not', 'yet', 'trace.csv');
    const recorder = createTraceRecorder({ path });
    recorder.record(row(1));
    await recorder.close();
    expect(lines(path)).toHaveLength(3);
    expect(statSync(join(root, 'not')).mode & 0o777).toBe(0o700);
    writeFileSync(join(root, 'a-file'), '');
    const blocked = join(root, 'a-file', 'trace.csv');
    expect(() => createTraceRecorder({ path: blocked })).toThrow(TraceFileError);
    expect(() => createTraceRecorder({ path: blocked })).toThrow(new RegExp(`^${blocked}: cannot `));
  });

  it('should refuse a file that is not a v1 trace, and leave it alone', () => {
    const path = join(dir(), 'notes.csv');
    writeFileSync(path, 'name,amount\nrent,1200\n');
    expect(() => createTraceRecorder({ path })).toThrow(TraceFileError);
    expect(() => createTraceRecorder({ path })).toThrow(/not a shunt trace v1 .*first line is "name,amount"/);
    writeFileSync(path, '# shunt-trace v2\nts\n');
    expect(() => createTraceRecorder({ path })).toThrow(/first line is "# shunt-trace v2"/);
    expect(readFileSync(path, 'utf8')).toBe('# shunt-trace v2\nts\n');
  });

  it('should rotate at the size limit and keep `keep` files, each a whole trace', async () => {
    const d = dir();
    const path = join(d, 'trace.csv');
    const recorder = createTraceRecorder({ path, maxBytes: 600, keep: 3 });
    for (let i = 0; i < 40; i++) {
      recorder.record(row(i));
      await recorder.flush();
    }
    await recorder.close();
    expect(readdirSync(d).sort()).toEqual(['trace.csv', 'trace.csv.1', 'trace.csv.2']);
    expect(recorder.stats().rotations).toBeGreaterThan(2);
    const kept: string[] = [];
    for (const name of ['trace.csv.2', 'trace.csv.1', 'trace.csv']) {
      const file = join(d, name);
      expect(readFileSync(file, 'utf8').startsWith(TRACE_PREAMBLE)).toBe(true);
      expect(statSync(file).size).toBeLessThanOrEqual(600);
      kept.push(...lines(file).slice(2).map((l) => l.split(',')[1] as string));
    }
    // The newest rows, in order, with nothing lost between the kept files.
    expect(kept.at(-1)).toBe('r39');
    expect(kept).toEqual(kept.map((_, i) => `r${40 - kept.length + i}`));
  });

  it('should log one warning when writing fails, drop rows, and recover', async () => {
    const path = join(dir(), 'trace.csv');
    const logs: string[] = [];
    let broken = true;
    const fs: TraceRecorderFs = {
      appendFile: async (p, data, options) => {
        if (broken) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        await appendFile(p, data, { mode: options.mode });
      },
      rename,
      rm,
      stat,
    };
    const recorder = createTraceRecorder({ path, fs, logger: jsonLogger({ level: 'info', write: (l) => logs.push(l) }) });
    for (let i = 0; i < 5; i++) {
      recorder.record(row(i));
      await recorder.flush();
    }
    expect(logs.filter((l) => l.includes('trace recording failed'))).toHaveLength(1);
    expect(logs[0]).toContain('ENOSPC');
    // Said in the stats too (for /status, /metrics and `shunt status`), for as long as it lasts.
    expect(recorder.stats()).toMatchObject({ rows: 5, dropped: 5, lastError: 'ENOSPC: no space left on device', failingSinceMs: expect.any(Number) });
    broken = false;
    recorder.record(row(9));
    await recorder.close();
    expect(recorder.stats()).toMatchObject({ rows: 6, dropped: 5, lastError: null, failingSinceMs: null });
    expect(lines(path).slice(2).map((l) => l.split(',')[1])).toEqual(['r9']);
    expect(logs.some((l) => l.includes('trace recording works again'))).toBe(true);
  });
});

describe('usage scanners', () => {
  const sse = [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"m","content":[],"usage":{"input_tokens":3,"cache_creation_input_tokens":1602,"cache_read_input_tokens":19641,"output_tokens":1}}}\n\n',
    `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${'x'.repeat(100_000)}"}}\n\n`,
    'event: message_delta\r\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":188}}\r\n\r\n',
  ].join('');

  it('should read message_start and message_delta usage from a stream split anywhere', () => {
    const bytes = Buffer.from(sse);
    for (const size of [1, 7, 4096, bytes.length]) {
      const scanner = sseUsageScanner();
      for (let at = 0; at < bytes.length; at += size) scanner.push(bytes.subarray(at, at + size));
      scanner.end();
      expect(scanner.tokens()).toEqual({ inputTokens: 3, outputTokens: 188, cacheReadTokens: 19_641, cacheCreationTokens: 1_602 });
    }
  });

  it('should read usage from data lines in any JSON form, and none from content that only mentions the events', () => {
    const stream = [
      'data:{ "type" : "message_start", "message": {"usage": {"input_tokens": 5, "cache_read_input_tokens": 7}}}\n\n',
      'data: {"type":"content_block_delta","delta":{"text":"\\"message_delta\\" \\"usage\\":{\\"output_tokens\\":999}"}}\n\n',
      'data: {"usage":{"output_tokens":9},"type":"message_delta"}\r\n\r\n',
      'data: {"type":"message_delta","usage":{"output_tokens":11}}',
    ].join('');
    const bytes = Buffer.from(stream);
    for (const size of [1, 5, bytes.length]) {
      const scanner = sseUsageScanner();
      for (let at = 0; at < bytes.length; at += size) scanner.push(bytes.subarray(at, at + size));
      scanner.end();
      expect(scanner.tokens()).toEqual({ inputTokens: 5, cacheReadTokens: 7, outputTokens: 11 });
    }
  });

  it('should read usage from a JSON answer, and nothing from one without it', () => {
    const json = jsonUsageScanner();
    const body = Buffer.from(JSON.stringify({ type: 'message', content: [], usage: { input_tokens: 12, output_tokens: 431, cache_read_input_tokens: 14000, cache_creation_input_tokens: 5210 } }));
    json.push(body.subarray(0, 10));
    json.push(body.subarray(10));
    json.end();
    expect(json.tokens()).toEqual({ inputTokens: 12, outputTokens: 431, cacheReadTokens: 14_000, cacheCreationTokens: 5_210 });
    const none = jsonUsageScanner();
    none.push(Buffer.from('{"type":"error"}'));
    expect(none.tokens()).toEqual({});
  });

  it('should read the cache writes by lifetime when usage splits them', () => {
    const json = jsonUsageScanner();
    const usage = {
      input_tokens: 4,
      output_tokens: 90,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 30_000,
      cache_creation: { ephemeral_5m_input_tokens: 1_000, ephemeral_1h_input_tokens: 29_000 },
    };
    json.push(Buffer.from(JSON.stringify({ type: 'message', content: [], usage })));
    json.end();
    expect(json.tokens()).toEqual({
      inputTokens: 4,
      outputTokens: 90,
      cacheReadTokens: 0,
      cacheCreationTokens: 30_000,
      cacheCreation5mTokens: 1_000,
      cacheCreation1hTokens: 29_000,
    });
  });
});

describe('usage of a JSON answer', () => {
  // Objects where "usage" turns up as a top-level member (anywhere in the order, or twice), as a
  // nested key, and as a string value: the tokens must be those of the top-level member JSON.parse keeps.
  const usage = fc.record({ input_tokens: fc.nat(), output_tokens: fc.nat() }, { requiredKeys: [] });
  const leaf = fc.oneof(fc.constant('usage'), fc.string({ maxLength: 6 }), fc.integer(), fc.constant(null));
  const nested = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, usage, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('usage', 'content', 'x'), tie('value'), { maxKeys: 3 })),
  })).value;
  const member = fc.tuple(fc.constantFrom('usage', 'content', 'id', 'stop_reason'), fc.oneof(usage, nested));
  const answer = fc.tuple(fc.array(member, { maxLength: 5 }), fc.constantFrom('', ' ', '\n', '  \r\n'), fc.boolean());

  // The answer arrives in any chunking: one read, single bytes, or random pieces.
  const cuts = fc.oneof(fc.constant('whole' as const), fc.constant('bytes' as const), fc.array(fc.nat({ max: 400 }), { maxLength: 6 }));
  test.prop([answer, cuts])('should read the usage JSON.parse sees, wherever "usage" occurs, in any chunking', ([members, trailing, pretty], cut) => {
    const text = `{${members.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v, null, pretty ? 1 : 0)}`).join(',')}}${trailing}`;
    const expected = parsedTokens(text);
    const scanner = jsonUsageScanner();
    pushInCuts(scanner, Buffer.from(text), cut);
    expect(scanner.tokens()).toEqual(expected);
  });
});

describe('usage read from the bytes', () => {
  // Usage objects written by hand, not by JSON.stringify: counts in every number form JSON allows,
  // duplicate keys, any whitespace, nested objects and arrays, strings holding `}`, `"` and escapes.
  // The tokens must be those readUsage takes from JSON.parse's object, and an answer the byte
  // reader understands must not be parsed at all.
  const ws = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 3 });
  const numberText = fc.oneof(
    { weight: 8, arbitrary: fc.nat().map(String) },
    fc.maxSafeNat().map(String),
    fc.bigInt({ min: 0n, max: 10n ** 22n }).map(String),
    fc.integer({ min: -1000, max: -1 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc
      .tuple(fc.constantFrom('', '-'), fc.nat({ max: 999 }), fc.constantFrom('', '.0', '.5', '.000'), fc.constantFrom('', 'e', 'E', 'e+', 'e-', 'E-'), fc.nat({ max: 400 }))
      .map(([sign, int, fraction, e, exponent]) => `${sign}${int}${fraction}${e === '' ? '' : `${e}${exponent}`}`),
    fc.constantFrom('0', '-0', '1e3', '1E3', '1e-400', '-1e-400', '1e400', '9007199254740991', '9007199254740992', '9007199254740993'),
  );
  const stringText = fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom('}', '{', ']', '"', '\\', ',', ':', 'a', '_', 'é', '\n', '\u2028', '\u0001', '😀'), maxLength: 8 }).map((t) => JSON.stringify(t)) },
    fc.constantFrom('"\\/\\u00e9\\uD83D\\uDE00"', '"\\b\\f\\n\\r\\t\\"}"', '"x\\"usage"', '"usage"', '""'),
  );
  const literalText = fc.constantFrom('true', 'false', 'null');
  const member = (key: fc.Arbitrary<string>, value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc.tuple(ws, key, ws, ws, value, ws).map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`);
  const objectText = (members: fc.Arbitrary<string>, maxLength: number): fc.Arbitrary<string> =>
    fc.tuple(fc.array(members, { maxLength }), ws).map(([ms, w]) => (ms.length === 0 ? `{${w}}` : `{${ms.join(',')}}`));
  // Keys anywhere else: any text, "usage" among them.
  const anyKey = fc.oneof(fc.constantFrom('usage', 'input_tokens', 'x', 'ephemeral_5m_input_tokens'), fc.string({ unit: fc.constantFrom('a', '"', '\\', '}', '_'), maxLength: 4 })).map((k) => JSON.stringify(k));
  const { value } = fc.letrec<{ value: string; array: string; object: string }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, numberText, stringText, literalText, tie('array'), tie('object')),
    array: fc.tuple(fc.array(fc.tuple(ws, tie('value'), ws), { maxLength: 3 }), ws).map(([items, w]) => `[${items.length === 0 ? w : items.map(([a, v, b]) => `${a}${v}${b}`).join(',')}]`),
    object: objectText(member(anyKey, tie('value')), 3),
  }));
  // Keys of usage and of cache_creation: the ones read (the first `reads` names, most often), near misses, and the ones read written with an
  // escape (`\u005f` for `_`): where a count is read, such a key sends the answer to JSON.parse.
  const namedKey = (names: readonly string[], reads: number): fc.Arbitrary<{ name: string; text: string; escaped: boolean }> =>
    fc.tuple(fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...names.slice(0, reads)) }, fc.constantFrom(...names)), fc.nat({ max: 30 })).map(([name, dice]) => {
      const escaped = dice === 0 && name.includes('_');
      return { name, text: escaped ? JSON.stringify(name).replace('_', '\\u005f') : JSON.stringify(name), escaped };
    });
  // `escaped`: whether a key the byte reader reads is written with an escape; null when a member's
  // value is an object of anyKey's keys read as cache_creation (its keys are not tracked).
  const namedObject = (members: fc.Arbitrary<{ text: string; escaped: boolean | null }>, maxLength: number): fc.Arbitrary<{ text: string; escaped: boolean | null }> =>
    fc.tuple(fc.array(members, { maxLength }), ws).map(([ms, w]) => ({
      text: ms.length === 0 ? `{${w}}` : `{${ms.map((m) => m.text).join(',')}}`,
      escaped: ms.some((m) => m.escaped === true) ? true : ms.some((m) => m.escaped === null) ? null : false,
    }));
  const namedMember = <V extends { text: string; escaped: boolean | null }>(key: fc.Arbitrary<{ name: string; text: string; escaped: boolean }>, value: fc.Arbitrary<V>) =>
    fc.tuple(ws, key, ws, ws, value, ws).map(([a, k, b, c, v, d]) => ({ name: k.name, text: `${a}${k.text}${b}:${c}${v.text}${d}`, keyEscaped: k.escaped, valueEscaped: v.escaped }));
  const countValue = fc
    .oneof({ weight: 6, arbitrary: numberText }, { weight: 1, arbitrary: stringText }, { weight: 1, arbitrary: literalText }, { weight: 1, arbitrary: value })
    .map((text) => ({ text, escaped: text.startsWith('{') ? null : false }));
  const splitText = namedObject(
    namedMember(namedKey(['ephemeral_5m_input_tokens', 'ephemeral_1h_input_tokens', 'ephemeral_5m', 'input_tokens', 'e'], 2), countValue).map((m) => ({ text: m.text, escaped: m.keyEscaped })),
    5,
  );
  const usageKey = namedKey(['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens', 'cache_creation', 'service_tier', 'server_tool_use', 'input_token', 'cache_creation_input', 'ephemeral_5m_input_tokens', 'i', 'o', 'c', ''], 5);
  // An escaped key inside cache_creation matters only there (elsewhere no count is read from it).
  const usageMember = namedMember(usageKey, fc.oneof({ weight: 4, arbitrary: countValue }, { weight: 1, arbitrary: splitText })).map((m) => ({
    text: m.text,
    escaped: m.keyEscaped ? true : m.name === 'cache_creation' ? m.valueEscaped : false,
  }));
  // Mostly a usage object as above; now and then any value (its keys are anyKey's, so whether it is
  // parsed is not predicted: `understood` is null, as for an untracked cache_creation).
  const usageText = fc.oneof(
    { weight: 12, arbitrary: namedObject(usageMember, 10).map(({ text, escaped }) => ({ text, understood: escaped === null ? null : !escaped && !text.includes('"usage"') })) },
    { weight: 1, arbitrary: value.map((text) => ({ text, understood: null })) },
  );
  const answerText = fc
    .tuple(fc.array(member(fc.constantFrom('"id"', '"content"', '"usage"', '"model"'), value), { maxLength: 3 }), ws, ws, usageText, ws, ws)
    .map(([before, a, b, usage, c, d]) => ({ usage, text: `{${before.map((m) => `${m},`).join('')}${a}"usage"${b}:${usage.text}${c}}${d}` }));

  test.prop([answerText], { numRuns: 500 })('should read the counts readUsage takes from JSON.parse, parsing only what the byte reader does not understand', ({ usage, text }) => {
    const expected = parsedTokens(text);
    const scanner = jsonUsageScanner();
    scanner.push(Buffer.from(text));
    scanner.end();
    const parse = vi.spyOn(JSON, 'parse');
    let tokens: unknown;
    let parsed: number;
    try {
      tokens = scanner.tokens();
      parsed = parse.mock.calls.length;
    } finally {
      parse.mockRestore();
    }
    expect(tokens).toEqual(expected);
    // The byte reader understands every generated usage object but one with an escape in a key it
    // reads, or one holding a later `"usage"` (the search finds that one, and the answer is parsed).
    if (usage.understood !== null) expect(parsed === 0).toBe(usage.understood);
  });

  it('should count 1e3 and 1.0 as JSON.parse does, and take the last of duplicate keys', () => {
    const scanner = jsonUsageScanner();
    scanner.push(
      Buffer.from(
        '{"type":"message","usage":{"input_tokens":1e3,"output_tokens":7.0,"cache_read_input_tokens":1.5,"output_tokens":2,"cache_creation_input_tokens":-3,' +
          '"cache_creation":{"ephemeral_5m_input_tokens":5},"cache_creation":{"ephemeral_1h_input_tokens":9007199254740993,"ephemeral_1h_input_tokens":6}}}',
      ),
    );
    expect(scanner.tokens()).toEqual({ inputTokens: 1000, outputTokens: 2, cacheCreation1hTokens: 6 });
  });

  // Stream events: `type` first (as the API writes them) or not, `message` and `usage` members
  // anywhere, twice, or holding any value, other members around them, now and then a second `type`.
  const eventType = fc.constantFrom('"message_start"', '"message_delta"', '"content_block_delta"', '"message_start" ', '"message_delta"\t');
  const messageText = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.array(member(fc.constantFrom('"id"', '"content"', '"model"', '"x\u0075"'), value), { maxLength: 3 }), ws, usageText, fc.array(member(fc.constantFrom('"stop_reason"', '"usage"'), value), { maxLength: 1 })).map(([before, w, usage, after]) => `{${[...before, `${w}"usage":${usage.text}`, ...after].join(',')}}`) },
    { weight: 1, arbitrary: value },
  );
  const eventMember = fc.oneof(
    { weight: 3, arbitrary: member(fc.constant('"message"'), messageText) },
    { weight: 3, arbitrary: usageText.chain((usage) => member(fc.constant('"usage"'), fc.constant(usage.text))) },
    { weight: 2, arbitrary: member(fc.constantFrom('"index"', '"delta"', '"usage"', '"message"', '"\u0075sage"'), value) },
    { weight: 1, arbitrary: member(fc.constant('"type"'), eventType) },
  );
  const eventText = fc
    .tuple(fc.boolean(), ws, eventType, fc.array(eventMember, { maxLength: 4 }), ws)
    .map(([typeFirst, w, type, members, tail]) => {
      const typed = [`${w}"type":${type}`, ...members];
      const ordered = typeFirst ? typed : [...members, typed[0] as string];
      // A data line holds no line break: JSON's own whitespace here is spaces and tabs only (a string
      // holds none raw, JSON.stringify escapes it).
      return `{${ordered.join(',')}}${tail}`.replace(/[\r\n]/g, ' ');
    });
  const sseCuts = fc.oneof(fc.constant('whole' as const), fc.constant('bytes' as const), fc.array(fc.nat({ max: 600 }), { maxLength: 4 }));

  test.prop([fc.array(eventText, { minLength: 1, maxLength: 3 }), fc.constantFrom('\n', '\r\n'), sseCuts], { numRuns: 400 })(
    'should read the stream events\' usage JSON.parse sees, in any chunking',
    (events, eol, cut) => {
      const expected: Record<string, number> = {};
      for (const text of events) Object.assign(expected, parsedEventTokens(text));
      const scanner = sseUsageScanner();
      pushInCuts(scanner, Buffer.from(events.map((text) => `event: x${eol}data: ${text}${eol}${eol}`).join('')), cut);
      expect(scanner.tokens()).toEqual(expected);
    },
  );

  it('should take the last of repeated message members whole, usage or none', () => {
    const start = sseUsageScanner();
    start.push(Buffer.from('data: {"type":"message_start","message":{"usage":{"input_tokens":5}},"message":{"id":"x"}}\n\n'));
    start.end();
    expect(start.tokens()).toEqual({});
    const delta = sseUsageScanner();
    delta.push(Buffer.from('data: {"type":"message_delta","usage":{"output_tokens":5},"usage":{"input_tokens":7}}\n\n'));
    delta.end();
    expect(delta.tokens()).toEqual({ inputTokens: 7 });
  });

  // The API's own events, counts of any size: read without a parse.
  const apiCount = fc.oneof(fc.nat(), fc.maxSafeNat());
  test.prop([apiCount, apiCount, apiCount, apiCount, apiCount])('should read message_start and message_delta as the API writes them without JSON.parse', (input, cacheWrite, cacheRead, first, output) => {
    const start = `{"type":"message_start","message":{"model":"claude-sonnet-4-5","id":"msg_01","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":${input},"cache_creation_input_tokens":${cacheWrite},"cache_read_input_tokens":${cacheRead},"cache_creation":{"ephemeral_5m_input_tokens":${cacheWrite},"ephemeral_1h_input_tokens":0},"output_tokens":${first},"service_tier":"standard"}}}`;
    const delta = `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":${input},"cache_creation_input_tokens":${cacheWrite},"cache_read_input_tokens":${cacheRead},"output_tokens":${output},"server_tool_use":{"web_search_requests":0}}}`;
    const scanner = sseUsageScanner();
    const parse = vi.spyOn(JSON, 'parse');
    try {
      scanner.push(Buffer.from(`event: message_start\ndata: ${start}\n\nevent: message_delta\ndata: ${delta}\n\n`));
      scanner.end();
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
    expect(scanner.tokens()).toEqual({ ...parsedEventTokens(start), ...parsedEventTokens(delta) });
    expect(scanner.tokens()).toEqual({ inputTokens: input, cacheCreationTokens: cacheWrite, cacheReadTokens: cacheRead, cacheCreation5mTokens: cacheWrite, cacheCreation1hTokens: 0, outputTokens: output });
  });

  it('should take no usage from a key that only ends in "usage"', () => {
    // `{"\"usage": …}` has no usage member, though its bytes end in `"usage": {…}}`.
    const scanner = jsonUsageScanner();
    scanner.push(Buffer.from('{"\\"usage":{"input_tokens":1}}'));
    expect(scanner.tokens()).toEqual({});
  });
});

describe('trace fields', () => {
  it('should take the unified headers as they came, leaving out values the format cannot hold', () => {
    expect(
      traceRateLimitFields({
        'anthropic-ratelimit-unified-5h-utilization': '0.0041',
        'anthropic-ratelimit-unified-5h-reset': '1767621600',
        'anthropic-ratelimit-unified-5h-status': 'allowed_warning',
        'anthropic-ratelimit-unified-7d-utilization': 'n/a',
        'anthropic-ratelimit-unified-7d-reset': '2026-01-05',
        'anthropic-ratelimit-unified-7d-status': 'exhausted',
      }),
    ).toEqual({ utilization5h: 0.0041, reset5hSecs: 1_767_621_600, status5h: 'allowed_warning' });
    expect(traceRateLimitFields({})).toEqual({});
  });

  it('should find the model near the start of a body, and nothing else of it', () => {
    expect(requestModel(Buffer.from('{"model":"claude-opus-4-5","messages":[]}'))).toBe('claude-opus-4-5');
    expect(requestModel(Buffer.from('{"messages":[{"role":"user","content":"my secret"}]}'))).toBeUndefined();
    expect(requestModel(Buffer.from('{"model":"has a space"}'))).toBeUndefined();
  });
});

describe('record_trace in the config', () => {
  it('should default to recording nothing, resolve a relative path against the config file, and check the limits', async () => {
    const { parseConfig } = await import('./config.js');
    const base = { accounts: [{ name: 'a', api_key: 'k' }] };
    expect(parseConfig(base, { env: {} }).server).toMatchObject({ recordTrace: null, recordTraceMaxMb: 64, recordTraceKeep: 4 });
    const server = parseConfig({ ...base, server: { record_trace: 'traces/week.csv', record_trace_max_mb: 8, record_trace_keep: 2 } }, { file: '/etc/shunt/config.toml', env: {} }).server;
    expect(server).toMatchObject({ recordTrace: '/etc/shunt/traces/week.csv', recordTraceMaxMb: 8, recordTraceKeep: 2 });
    expect(() => parseConfig({ ...base, server: { record_trace: '' } }, { file: '/c.toml', env: {} })).toThrow(/server\.record_trace: must not be empty/);
    expect(() => parseConfig({ ...base, server: { record_trace_keep: 0 } }, { file: '/c.toml', env: {} })).toThrow(/server\.record_trace_keep: must be a number of at least 1/);
    expect(() => parseConfig({ ...base, server: { record_trace_keep: 1.5 } }, { file: '/c.toml', env: {} })).toThrow(/server\.record_trace_keep: must be a whole number/);
    expect(() => parseConfig({ ...base, server: { record_trace_max_mb: 0 } }, { file: '/c.toml', env: {} })).toThrow(/server\.record_trace_max_mb: must be a number greater than 0/);
  });
});

/** The tokens readUsage takes from the `usage` JSON.parse finds in `text` (the reference for the byte reader). */
/** Push `bytes` into `scanner` cut as `cut` says (one read, single bytes, or at the given offsets), then end it. */
function pushInCuts(scanner: { push(chunk: Uint8Array): void; end(): void }, bytes: Buffer, cut: 'whole' | 'bytes' | readonly number[]): void {
  const at = cut === 'whole' ? [] : cut === 'bytes' ? Array.from({ length: bytes.length - 1 }, (_, i) => i + 1) : [...new Set(cut.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) scanner.push(bytes.subarray(from, to));
    from = Math.max(from, to);
  }
  scanner.end();
}

function parsedTokens(text: string): Record<string, number> {
  return tokensOf((JSON.parse(text) as { usage?: unknown }).usage);
}

/**
 * The tokens of a stream event's data as JSON.parse sees them (message_start's message.usage,
 * message_delta's usage), its type being the first member's when `type` comes first, written
 * plainly (the API never repeats a key; the scanner reads that first one in place).
 */
function parsedEventTokens(text: string): Record<string, number> {
  const event = JSON.parse(text) as { type?: unknown; message?: { usage?: unknown }; usage?: unknown };
  const type = /^[ \t\n\r]*\{[ \t\n\r]*"type"[ \t\n\r]*:[ \t\n\r]*"([^"\\]*)"/.exec(text)?.[1] ?? event.type;
  return tokensOf(type === 'message_start' ? event.message?.usage : type === 'message_delta' ? event.usage : undefined);
}

function tokensOf(top: unknown): Record<string, number> {
  const expected: Record<string, number> = {};
  if (typeof top !== 'object' || top === null) return expected;
  const u = top as Record<string, unknown>;
  const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  for (const [key, field] of [
    ['input_tokens', 'inputTokens'],
    ['output_tokens', 'outputTokens'],
    ['cache_read_input_tokens', 'cacheReadTokens'],
    ['cache_creation_input_tokens', 'cacheCreationTokens'],
  ] as const) {
    if (count(u[key])) expected[field] = u[key];
  }
  const split = u['cache_creation'];
  if (typeof split !== 'object' || split === null) return expected;
  const s = split as Record<string, unknown>;
  if (count(s['ephemeral_5m_input_tokens'])) expected['cacheCreation5mTokens'] = s['ephemeral_5m_input_tokens'];
  if (count(s['ephemeral_1h_input_tokens'])) expected['cacheCreation1hTokens'] = s['ephemeral_1h_input_tokens'];
  return expected;
}
