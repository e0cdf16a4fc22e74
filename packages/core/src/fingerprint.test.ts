import { createHash } from 'node:crypto';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  claudeBodyArb,
  claudeBodyTextArb,
  claudeLikeBody,
  corruptedBytesArb,
  corruptedTextArb,
  jsonTextArb,
  referenceFingerprint,
  stringifyNoisy,
} from '../test/fingerprint-reference.js';
import { fingerprint } from './fingerprint.js';

/** The digest fingerprint must give for this exact message (system, NUL, user, NUL, tools part). */
const digestOf = (message: string): string => createHash('sha256').update(message, 'utf8').digest('hex');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
/** Fingerprint of a body given as a value, checking that string and byte input agree. */
const fp = (body: unknown): string | null => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const result = fingerprint(text);
  expect(fingerprint(utf8(text)), 'bytes input must agree with string input').toBe(result);
  return result;
};
/** Property runs scaled by FC_NUM_RUNS (see test/setup.ts), relative to its default of 100. */
const runs = (n: number): number => Math.max(1, Math.round((n * (fc.readConfigureGlobal().numRuns ?? 100)) / 100));

const CLAUDE_BODY = {
  model: 'claude-sonnet-4-5',
  max_tokens: 32000,
  system: [
    { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
    { type: 'text', text: '\nBe concise.' },
  ],
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'Fix the bug in ' }, { type: 'text', text: 'src/a.ts' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'Read', input: { path: 'src/a.ts' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '     1→export {}' }] },
  ],
  tools: [
    { name: 'Read', description: 'Reads a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } } },
    { name: 'Bash', description: 'Runs a command', input_schema: { type: 'object' } },
  ],
  stream: true,
};
const CLAUDE_MESSAGE = "You are Claude Code, Anthropic's official CLI for Claude.\nBe concise.\0Fix the bug in src/a.ts\0Bash,Read";

describe('fingerprint', () => {
  describe('digest', () => {
    it('should hash system text, NUL, first user text, NUL and sorted tool names', () => {
      expect(fp(CLAUDE_BODY)).toBe(digestOf(CLAUDE_MESSAGE));
      expect(fp(CLAUDE_BODY)).toBe('6010fca1a7bf4322401741eca67f99ae668842e42d5ff71bcad3b3c0e2538c7e');
    });

    it('should give the same digest for a string, its UTF-8 bytes and a Buffer of them', () => {
      const text = JSON.stringify(CLAUDE_BODY);
      expect(fingerprint(utf8(text))).toBe(fingerprint(text));
      expect(fingerprint(Buffer.from(text))).toBe(fingerprint(text));
    });

    it('should read bytes at any offset of a larger buffer', () => {
      const body = utf8(JSON.stringify(CLAUDE_BODY));
      for (let offset = 0; offset < 8; offset++) {
        const host = new Uint8Array(body.length + offset + 3);
        host.set(body, offset);
        expect(fingerprint(host.subarray(offset, offset + body.length))).toBe(digestOf(CLAUDE_MESSAGE));
      }
    });

    it('should use a string system prompt and string content as is', () => {
      expect(fp({ system: 'sys', messages: [{ role: 'user', content: 'hi' }] })).toBe(digestOf('sys\0hi\0null'));
    });

    it('should hash non-ASCII text as UTF-8 and decode escapes', () => {
      const body = '{"system":"caf\\u00e9 \\ud83d\\ude80 \\n","messages":[{"role":"user","content":"→ 日本"}]}';
      expect(fp(body)).toBe(digestOf('café 🚀 \n\0→ 日本\0null'));
    });

    it('should be stable for the same content and differ for different content', () => {
      const a = { system: 'a', messages: [{ role: 'user', content: 'x' }] };
      expect(fp(a)).toBe(fp(structuredClone(a)));
      expect(fp(a)).not.toBe(fp({ system: 'b', messages: [{ role: 'user', content: 'x' }] }));
      expect(fp(a)).not.toBe(fp({ system: 'a', messages: [{ role: 'user', content: 'y' }] }));
      expect(fp(a)).not.toBe(fp({ ...a, tools: [] }));
    });

    it('should ignore whitespace and formatting', () => {
      expect(fp(JSON.stringify(CLAUDE_BODY, null, 2))).toBe(fp(CLAUDE_BODY));
      expect(fp(` \r\n\t${JSON.stringify(CLAUDE_BODY, null, '\t')}\n `)).toBe(fp(CLAUDE_BODY));
    });

    test.prop([claudeBodyArb, fc.infiniteStream(fc.integer({ min: 0, max: 0xffff }))], { numRuns: runs(150) })(
      'should not depend on whitespace, escapes or overwritten duplicate keys',
      (body, noise) => {
        expect(fp(stringifyNoisy(body, noise[Symbol.iterator]()))).toBe(fp(body));
      },
    );

    it('should ignore the model, later messages, other blocks and tool schemas', () => {
      const changed = structuredClone(CLAUDE_BODY) as unknown as {
        model: string;
        max_tokens: number;
        metadata?: unknown;
        messages: Array<{ role: string; content: unknown[] }>;
        tools: Array<Record<string, unknown>>;
      };
      changed.model = 'claude-opus-4-1';
      changed.max_tokens = 1;
      changed.messages.push({ role: 'user', content: [{ type: 'text', text: 'and another thing' }] });
      changed.messages[0]!.content.push({ type: 'image', source: { type: 'base64', data: 'AAAA' } });
      changed.tools[0]!['description'] = 'changed';
      changed.tools[0]!['input_schema'] = { type: 'object', properties: {} };
      changed.metadata = { user_id: 'someone' };
      expect(fp(changed)).toBe(fp(CLAUDE_BODY));
    });
  });

  describe('text extraction', () => {
    it('should take the first message whose role is "user", skipping other roles and non-objects', () => {
      const body = {
        system: 's',
        messages: [1, 'user', null, ['user'], { role: 'assistant', content: 'a' }, { role: 'User', content: 'b' }, { role: 'user', content: 'c' }, { role: 'user', content: 'd' }],
      };
      expect(fp(body)).toBe(digestOf('s\0c\0null'));
    });

    it('should use "" for a first user message without usable content', () => {
      expect(fp({ system: 's', messages: [{ role: 'user' }, { role: 'user', content: 'later' }] })).toBe(digestOf('s\0\0null'));
      expect(fp({ system: 's', messages: [{ role: 'user', content: 42 }] })).toBe(digestOf('s\0\0null'));
      expect(fp({ system: 's', messages: [{ role: 'user', content: { type: 'text', text: 'x' } }] })).toBe(digestOf('s\0\0null'));
    });

    it('should use "" for a system that is neither a string nor an array', () => {
      for (const system of [null, 1, true, { type: 'text', text: 'x' }]) {
        expect(fp({ system, messages: [{ role: 'user', content: 'u' }] })).toBe(digestOf('\0u\0null'));
      }
    });

    it('should concatenate the text of "text" blocks only, with no separator', () => {
      const content = [
        { type: 'text', text: 'a' },
        { type: 'image', text: 'no' },
        { text: 'no type' },
        { type: 'TEXT', text: 'wrong case' },
        { type: 'text' },
        { type: 'text', text: 7 },
        'bare string',
        ['nested'],
        null,
        { type: 'text', text: 'b', cache_control: { type: 'ephemeral' } },
      ];
      expect(fp({ system: content, messages: [{ role: 'user', content }] })).toBe(digestOf('ab\0ab\0null'));
    });

    it('should match keys and the values "user" and "text" after decoding escapes', () => {
      const body = '{"\\u0073ystem":"s","m\\u0065ssages":[{"rol\\u0065":"\\u0075ser","content":[{"typ\\u0065":"t\\u0065xt","t\\u0065xt":"u"}]}],"tool\\u0073":[{"n\\u0061me":"T"}]}';
      expect(fp(body)).toBe(digestOf('s\0u\0T'));
    });
  });

  describe('tools', () => {
    it('should hash the literal null when tools is absent or not an array', () => {
      for (const tools of [undefined, null, {}, 'Read', 3]) {
        expect(fp({ system: 's', messages: [], tools })).toBe(digestOf('s\0\0null'));
      }
    });

    it('should hash an empty string for an empty tools array', () => {
      expect(fp({ system: 's', messages: [], tools: [] })).toBe(digestOf('s\0\0'));
    });

    it('should skip tools that are not objects or have no string name', () => {
      const tools = [{ name: 'B' }, 'A', null, [{ name: 'C' }], { name: 5 }, {}, { Name: 'D' }, { name: 'A' }];
      expect(fp({ system: 's', messages: [], tools })).toBe(digestOf('s\0\0A,B'));
    });

    it('should sort names by UTF-8 bytes, where JS string order differs', () => {
      // U+E000 is EE 80 80 in UTF-8 and U+1F600 is F0 9F 98 80: U+E000 first. As UTF-16, U+1F600
      // starts with the surrogate D83D, so JS's default sort puts it first.
      const names = ['\u{1F600}', '\uE000', 'b', 'a', 'é', 'Z'];
      expect([...names].sort()).toEqual(['Z', 'a', 'b', 'é', '\u{1F600}', '\uE000']);
      const body = { system: 's', messages: [], tools: names.map((name) => ({ name })) };
      expect(fp(body)).toBe(digestOf('s\0\0Z,a,b,é,\uE000,\u{1F600}'));
    });

    it('should keep duplicate names and names containing commas as they are', () => {
      const body = { system: 's', messages: [], tools: [{ name: 'b,c' }, { name: 'a' }, { name: 'a' }] };
      expect(fp(body)).toBe(digestOf('s\0\0a,a,b,c'));
    });
  });

  describe('duplicate keys', () => {
    it('should let the last occurrence of a top-level key win', () => {
      expect(fp('{"system":"old","system":"new","messages":[]}')).toBe(digestOf('new\0\0null'));
      expect(fp('{"system":"s","messages":1,"messages":[]}')).toBe(digestOf('s\0\0null'));
      expect(fp('{"system":"s","messages":[],"messages":1}')).toBeNull();
      expect(fp('{"system":"s","messages":[],"tools":[{"name":"a"}],"tools":null}')).toBe(digestOf('s\0\0null'));
    });

    it('should let the last role, content, type, text and name win', () => {
      const body =
        '{"system":[{"type":"text","text":"a","text":"b"},{"type":"text","type":"image","text":"c"}],' +
        '"messages":[{"role":"user","role":"assistant","content":"x"},{"role":"user","content":"y","content":"z"}],' +
        '"tools":[{"name":"n1","name":"n2"},{"name":"n3","name":null}]}';
      expect(fp(body)).toBe(digestOf('b\0z\0n2'));
    });
  });

  describe('null', () => {
    it.each([
      ['an empty object', '{}'],
      ['non-JSON text', 'not json'],
      ['an empty body', ''],
      ['whitespace', ' \n'],
      ['an array', '[{"system":"s","messages":[]}]'],
      ['a string', '"s"'],
      ['a number', '1'],
      ['null', 'null'],
      ['no messages', '{"system":"s"}'],
      ['messages not an array', '{"system":"s","messages":{}}'],
      ['messages null', '{"system":"s","messages":null}'],
      ['neither system nor first-user text', '{"system":"","messages":[{"role":"user","content":""}],"tools":[{"name":"a"}]}'],
      ['only assistant text', '{"messages":[{"role":"assistant","content":"a"}]}'],
      ['trailing garbage', '{"system":"s","messages":[]} x'],
      ['a trailing comma', '{"system":"s","messages":[],}'],
      ['a second top-level value', '{"system":"s","messages":[]}{}'],
      ['single quotes', "{'system':'s','messages':[]}"],
      ['an invalid escape elsewhere', '{"system":"s","messages":[],"x":"\\q"}'],
      ['a raw control character in a string', '{"system":"s\u0001","messages":[]}'],
      ['a bad number elsewhere', '{"system":"s","messages":[],"x":01}'],
      ['an unterminated string', '{"system":"s","messages":[],"x":"'],
      ['a lone high surrogate escape', '{"system":"\\ud800","messages":[]}'],
      ['a lone low surrogate escape', '{"system":"s","messages":[],"x":"\\udc00"}'],
      ['a high surrogate escape before a non-surrogate escape', '{"system":"s","messages":[],"x":"\\ud800\\u0041"}'],
      ['a lone surrogate escape in a key', '{"system":"s","messages":[],"\\udfff":1}'],
      ['a lone surrogate escape in an overwritten duplicate', '{"system":"\\ud800","system":"s","messages":[]}'],
    ])('should return null for %s', (_, body) => {
      expect(fp(body)).toBeNull();
      expect(referenceFingerprint(body)).toBeNull();
    });

    it('should return null for a string with a raw lone surrogate anywhere', () => {
      for (const lone of ['\ud800', '\udc00']) {
        expect(fingerprint(`{"system":"s${lone}","messages":[]}`)).toBeNull();
        expect(fingerprint(`{"system":"s","messages":[],"x":"${lone}"}`)).toBeNull();
        expect(fingerprint(`{"system":"s","messages":[]}${lone}`)).toBeNull();
      }
      expect(fingerprint('{"system":"s\ud83d\ude80","messages":[]}')).toBe(digestOf('s🚀\0\0null'));
    });

    it('should return null for a byte order mark before the JSON', () => {
      const body = JSON.stringify(CLAUDE_BODY);
      expect(fingerprint(`\ufeff${body}`)).toBeNull();
      expect(fingerprint(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(body)]))).toBeNull();
    });

    it('should return null for bytes that are not valid UTF-8, even inside an ignored value', () => {
      const body = utf8('{"system":"s","messages":[],"x":"__"}');
      const at = body.indexOf(0x5f);
      for (const bad of [[0xff, 0x20], [0xc0, 0x80], [0xed, 0xa0], [0x80, 0x20]]) {
        const corrupt = body.slice();
        corrupt.set(bad, at);
        expect(fingerprint(corrupt)).toBeNull();
      }
    });
  });

  describe('deep nesting', () => {
    it('should refuse 100k nested arrays, as serde_json does, without a stack overflow', () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      const body = `{"system":"s","messages":[],"x":${deep}}`;
      expect(fingerprint(body)).toBeNull();
      expect(fingerprint(utf8(body))).toBeNull();
      expect(referenceFingerprint(body)).toBeNull();
    });

    it('should reject unbalanced deep nesting', () => {
      const body = `{"system":"s","messages":[],"x":${'[{"a":'.repeat(50_000)}1${'}]'.repeat(49_999)}}`;
      expect(fp(body)).toBeNull();
    });

    it('should handle a string of millions of escapes or surrogate pairs without a stack overflow', () => {
      // An unbounded regex repetition per escape slows down superlinearly at this size, and overflows
      // V8's backtrack stack (RangeError) at about five times it.
      for (const unit of ['\\n', '\u{1F680}', '\\ud83d\\ude80', 'a\\"']) {
        const body = `{"system":"s","messages":[],"x":"${unit.repeat(1_000_000)}"}`;
        expect(fingerprint(body)).toBe(digestOf('s\0\0null'));
        expect(fingerprint(utf8(body))).toBe(digestOf('s\0\0null'));
      }
    });

    it('should return null for a deeply nested top-level array', () => {
      expect(fp('['.repeat(100_000))).toBeNull();
    });
  });

  describe('serde_json parity', () => {
    const nested = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    const SYSTEM_ONLY = digestOf('s\0\0null');

    // serde_json's recursion limit: 127 nested containers parse, the 128th is an error. `open` is
    // how many containers surround the value where the arrays start, so every reader is covered.
    it.each<[string, number, (inner: string) => string, string]>([
      ['an ignored top-level value', 1, (v) => `{"system":"s","messages":[],"x":${v}}`, SYSTEM_ONLY],
      ['a system text block', 3, (v) => `{"system":[{"type":"text","text":"s","x":${v}}],"messages":[]}`, SYSTEM_ONLY],
      ['a system array element', 2, (v) => `{"system":["a",${v},{"type":"text","text":"s"}],"messages":[]}`, SYSTEM_ONLY],
      ['a message', 3, (v) => `{"system":"s","messages":[{"role":"assistant","x":${v}}]}`, SYSTEM_ONLY],
      ['a messages element', 2, (v) => `{"system":"s","messages":[${v}]}`, SYSTEM_ONLY],
      ['a content block', 5, (v) => `{"messages":[{"role":"user","content":[{"type":"text","text":"u","x":${v}}]}]}`, digestOf('\0u\0null')],
      ['a content element', 4, (v) => `{"messages":[{"role":"user","content":[${v},{"type":"text","text":"u"}]}]}`, digestOf('\0u\0null')],
      ['a content value', 3, (v) => `{"system":"s","messages":[{"role":"user","content":${v}}]}`, SYSTEM_ONLY],
      ['a tool', 3, (v) => `{"system":"s","messages":[],"tools":[{"name":"t","x":${v}}]}`, digestOf('s\0\0t')],
      ['a tools element', 2, (v) => `{"system":"s","messages":[],"tools":[${v}]}`, digestOf('s\0\0')],
      ['a non-string block type', 3, (v) => `{"system":[{"type":${v},"text":"x"},{"type":"text","text":"s"}],"messages":[]}`, SYSTEM_ONLY],
    ])('should accept 127 levels of nesting in %s and refuse the 128th', (_, open, body, digest) => {
      expect(fp(body(nested(127 - open)))).toBe(digest);
      expect(referenceFingerprint(body(nested(127 - open)))).toBe(digest);
      expect(fp(body(nested(128 - open)))).toBeNull();
      expect(referenceFingerprint(body(nested(128 - open)))).toBeNull();
      // An object counts like an array, and an empty container at the limit is refused too.
      expect(fp(body(`${'{"k":'.repeat(128 - open)}1${'}'.repeat(128 - open)}`))).toBeNull();
      expect(fp(body(`${'['.repeat(127 - open)}{}${']'.repeat(127 - open)}`))).toBeNull();
    });

    it.each([
      ...['1e400', '-1e400', '1E+309', '2e308', '0.1e310', '123456789e999999999999'].map((n) => [n, n]),
      ['1 and 309 zeros', `1${'0'.repeat(309)}`],
      ['-1, 309 zeros and .5', `-1${'0'.repeat(309)}.5`],
    ])('should refuse the number %s, out of the double range, like serde_json', (_, number) => {
      for (const body of [`{"system":"s","messages":[],"x":${number}}`, `{"system":"s","messages":[],"x":[1,{"y":${number}}]}`]) {
        expect(fp(body)).toBeNull();
        expect(referenceFingerprint(body)).toBeNull();
      }
    });

    it.each([
      ...['1e-400', '-1e-400', '1.5e308', '0e999999', '1.7976931348623157e308', '1e+2', '-0'].map((n) => [n, n]),
      ['1 and 308 zeros', `1${'0'.repeat(308)}`],
      ['0. , 400 zeros and 1', `0.${'0'.repeat(400)}1`],
    ])('should accept the number %s, which is a finite double', (_, number) => {
      const body = `{"system":"s","messages":[],"x":${number}}`;
      expect(fp(body)).toBe(SYSTEM_ONLY);
      expect(referenceFingerprint(body)).toBe(SYSTEM_ONLY);
    });
  });

  // Thousands of runs each: more than vitest's default 5 s on a slow machine. fast-check's own time
  // limit (test/setup.ts) still applies.
  describe('agrees with the reference implementation', { timeout: 30_000 }, () => {
    const both = (text: string): void => {
      expect(fingerprint(text)).toBe(referenceFingerprint(text));
      const bytes = Buffer.from(text, 'utf8');
      expect(fingerprint(bytes)).toBe(referenceFingerprint(bytes));
    };

    it('should agree on large Claude-Code-like bodies', () => {
      for (const [size, seed] of [[20_000, 1], [200_000, 2], [1_000_000, 3]] as const) {
        const body = claudeLikeBody(size, seed);
        expect(fingerprint(body)).not.toBeNull();
        both(body);
      }
    });

    test.prop([claudeBodyTextArb], { numRuns: runs(600) })('should agree on Claude-like bodies', both);

    test.prop([jsonTextArb], { numRuns: runs(400) })('should agree on arbitrary JSON values', both);

    test.prop([corruptedTextArb], { numRuns: runs(1500) })('should agree on corrupted bodies', both);

    test.prop([corruptedBytesArb], { numRuns: runs(1000) })('should agree on corrupted bytes', (bytes) => {
      expect(fingerprint(bytes)).toBe(referenceFingerprint(bytes));
    });

    test.prop([fc.uint8Array({ maxLength: 200 })], { numRuns: runs(1000) })('should agree on arbitrary bytes', (bytes) => {
      expect(fingerprint(bytes)).toBe(referenceFingerprint(bytes));
    });

    test.prop([fc.string({ unit: 'binary', maxLength: 200 })], { numRuns: runs(1000) })(
      'should agree on arbitrary strings of code points and lone surrogates',
      both,
    );

    test.prop([fc.string({ unit: 'grapheme', maxLength: 200 })], { numRuns: runs(300) })(
      'should agree on arbitrary strings of graphemes',
      both,
    );

    test.prop([fc.string({ unit: fc.constantFrom(...'{}[]":,\\ 0-1eE.tfnrul"sytemag'.split('')), maxLength: 60 })], {
      numRuns: runs(1200),
    })('should agree on strings made of JSON punctuation and key letters', (text) => {
      both(`{"system":"s","messages":[],"x":${text}}`);
      both(text);
    });
  });

  // validate: false (the proxy's setting: the API checks the body) only skims skipped strings for
  // their closing quote; on valid JSON it must give exactly the validating digest.
  describe('without validation', { timeout: 30_000 }, () => {
    const HEX64 = /^[0-9a-f]{64}$/;
    const skim = (body: string | Uint8Array): string | null => fingerprint(body, { validate: false });
    /** Where the validating fingerprint is a digest, the skimming one is the same digest, for text and bytes. */
    const sameWhereValid = (text: string): void => {
      const validated = fingerprint(text);
      const skimmed = skim(text);
      const skimmedBytes = skim(Buffer.from(text, 'utf8'));
      if (validated !== null) {
        expect(skimmed).toBe(validated);
        expect(skimmedBytes).toBe(validated);
      }
      for (const result of [skimmed, skimmedBytes]) if (result !== null) expect(result).toMatch(HEX64);
    };

    it('should give the validating digest for a Claude-Code-like body and null where nothing identifies the conversation', () => {
      expect(skim(JSON.stringify(CLAUDE_BODY))).toBe(digestOf(CLAUDE_MESSAGE));
      expect(skim(utf8(JSON.stringify(CLAUDE_BODY)))).toBe(digestOf(CLAUDE_MESSAGE));
      for (const body of ['{"messages":[]}', '[]', '{"system":"s"}', '"x"', '', '{"system":"","messages":[{"role":"user","content":""}]}']) {
        expect(skim(body)).toBeNull();
        expect(skim(utf8(body))).toBeNull();
      }
    });

    it('should find the end of long skipped strings whatever runs of backslashes precede their quotes', () => {
      // Long enough (> 32 bytes) for the native search, with escaped quotes and backslash runs of every parity.
      const piece = fc.constantFrom('\\', '"', '\\"', '\\\\"', 'a', 'é', '\n', '\u0000', '}', ']', ',');
      fc.assert(
        fc.property(fc.array(piece, { minLength: 20, maxLength: 200 }), fc.array(piece, { maxLength: 40 }), (a, b) => {
          const long = a.join('');
          const body = JSON.stringify({
            system: 's',
            messages: [{ role: 'user', content: b.join('') || 'u' }, { role: 'assistant', content: long }, { role: 'user', content: [{ type: 'text', text: long }] }],
            x: { [long]: long, y: [long, 1, true, null] },
            tools: [{ name: `t${b.length}`, description: long }],
          });
          const validated = fingerprint(body);
          expect(validated).toMatch(HEX64);
          expect(skim(body)).toBe(validated);
          expect(skim(Buffer.from(body, 'utf8'))).toBe(validated);
        }),
        { numRuns: runs(500) },
      );
    });

    it('should agree on large Claude-Code-like bodies', () => {
      for (const [size, seed] of [[20_000, 1], [200_000, 2], [1_000_000, 3]] as const) sameWhereValid(claudeLikeBody(size, seed));
    });

    test.prop([claudeBodyTextArb], { numRuns: runs(600) })('should agree on Claude-like bodies', sameWhereValid);

    test.prop([jsonTextArb], { numRuns: runs(400) })('should agree on arbitrary JSON values', sameWhereValid);

    test.prop([corruptedTextArb], { numRuns: runs(1500) })('should return a digest or null on corrupted bodies, never throw', sameWhereValid);

    test.prop([corruptedBytesArb], { numRuns: runs(1000) })('should return a digest or null on corrupted bytes, never throw', (bytes) => {
      const result = skim(bytes);
      if (result !== null) expect(result).toMatch(HEX64);
      if (fingerprint(bytes) !== null) expect(result).toBe(fingerprint(bytes));
    });

    test.prop([fc.uint8Array({ maxLength: 200 })], { numRuns: runs(1000) })('should return a digest or null on arbitrary bytes', (bytes) => {
      const result = skim(bytes);
      if (result !== null) expect(result).toMatch(HEX64);
    });

    test.prop([fc.string({ unit: fc.constantFrom(...'{}[]":,\\ 0-1eE.tfnrul"sytemag'.split('')), maxLength: 60 })], { numRuns: runs(1200) })(
      'should agree on strings made of JSON punctuation and key letters',
      (text) => {
        sameWhereValid(`{"system":"s","messages":[],"x":${text}}`);
        sameWhereValid(text);
      },
    );
  });
});
