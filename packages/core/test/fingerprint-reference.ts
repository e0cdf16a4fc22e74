/**
 * @module
 * Test-only reference for `fingerprint`: the obvious implementation (decode, `JSON.parse`, walk, hash
 * with node:crypto) that the fast scanner must agree with, plus fast-check arbitraries for request bodies
 * shaped like Claude Code's and for corrupted variants of them.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { mulberry32 } from './prng.js';

const CORRUPTION_SNIPPETS = [',', ':', '"', '\\', '{', '}', '[', ']', 'x', '0', '-', 'tru', ' ', '\\x', '\\u12'];
const INVALID_UTF8 = [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff], [0xf8]];
const WORDS = [
  'the', 'file', 'function', 'returns', 'value', 'request', 'account', 'limit', 'token', 'cache', 'error', 'should',
  'update', 'test', 'config', 'module', 'export', 'import', 'string', 'number', 'array', 'object', 'when', 'then',
  'user', 'tool', 'result', 'read', 'write', 'edit', 'search', 'pattern', 'directory', 'path', 'line', 'code',
];
const TOOL_NAMES = ['Read', 'Write', 'Edit', 'Bash', 'Glob', 'Grep', 'Task', 'WebFetch', 'TodoWrite', 'mcp__github__search'];
const CODE_LINES = [
  '  const value = await load("$");',
  '\tif (x === undefined) throw new Error(`$`);',
  "  return { kind: '$', path: \"C:\\\\Users\\\\dev\" };",
  '// $',
  '    expect(result).toEqual({ name: "$" });',
  'export function $() {}',
  '',
];
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LONG_TEXT_UNITS = ['a', 'b', ' ', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', '\u007f', 'é', '→', '\u2028', '\ufffd', '🚀', '\ue000'];

/** The fingerprint computed the slow, obvious way; null wherever the real one must be null. */
export function referenceFingerprint(body: string | Uint8Array): string | null {
  let text: string;
  if (typeof body === 'string') {
    if (!isWellFormed(body)) return null;
    text = body;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
    } catch {
      return null;
    }
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    // SyntaxError, or RangeError if nesting is deeper than JSON.parse supports.
    return null;
  }
  if (hasLoneSurrogateEscape(text)) return null;
  // serde_json refuses what JSON.parse accepts: 128 nested containers, and numbers out of range.
  if (exceedsSerdeLimits(root)) return null;
  if (!isObject(root)) return null;
  const messages = own(root, 'messages');
  if (!Array.isArray(messages)) return null;
  const systemText = textOf(own(root, 'system'));
  const firstUser = messages.find((m) => isObject(m) && own(m, 'role') === 'user') as object | undefined;
  const userText = firstUser === undefined ? '' : textOf(own(firstUser, 'content'));
  if (systemText === '' && userText === '') return null;
  const tools = own(root, 'tools');
  let toolsPart = 'null';
  if (Array.isArray(tools)) {
    const encoder = new TextEncoder();
    toolsPart = tools
      .filter((t): t is object => isObject(t) && typeof own(t, 'name') === 'string')
      .map((t) => own(t, 'name') as string)
      .sort((a, b) => Buffer.compare(encoder.encode(a), encoder.encode(b)))
      .join(',');
  }
  return createHash('sha256').update(`${systemText}\0${userText}\0${toolsPart}`, 'utf8').digest('hex');
}

/** Claude-Code-like request body values: system blocks, a conversation, tools with schemas. */
export const claudeBodyArb: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      model: fc.constantFrom('claude-sonnet-4-5', 'claude-opus-4-1', 'claude-haiku-4-5'),
      max_tokens: fc.integer({ min: 1, max: 64_000 }),
      system: fc.oneof(
        { weight: 1, arbitrary: textArb() },
        { weight: 3, arbitrary: fc.array(blockArb(), { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      ),
      messages: fc.oneof(
        { weight: 8, arbitrary: fc.array(messageArb(), { maxLength: 6 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      ),
      tools: fc.oneof(
        { weight: 4, arbitrary: fc.array(toolArb(), { maxLength: 5 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      ),
      stream: fc.boolean(),
      metadata: fc.record({ user_id: fc.string() }),
    },
    { requiredKeys: ['messages'] },
  )
  .map((body) => body as Record<string, unknown>);

/** JSON text of a Claude-like body, with random formatting, escapes and duplicated keys. */
export const claudeBodyTextArb: fc.Arbitrary<string> = fc
  .tuple(claudeBodyArb, fc.infiniteStream(fc.integer({ min: 0, max: 0xffff })))
  .map(([body, noise]) => stringifyNoisy(body, noise[Symbol.iterator]()));

/** JSON text of an arbitrary JSON value (any top-level type), with random formatting. */
export const jsonTextArb: fc.Arbitrary<string> = fc
  .tuple(fc.jsonValue(), fc.infiniteStream(fc.integer({ min: 0, max: 0xffff })))
  .map(([value, noise]) => stringifyNoisy(value, noise[Symbol.iterator]()));

/** A corrupted (usually, not always, invalid) variant of a JSON text. */
export const corruptedTextArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.oneof(claudeBodyTextArb, jsonTextArb),
    fc.constantFrom('truncate', 'control', 'loneEscape', 'loneRaw', 'bom', 'replace', 'delete', 'insert'),
    fc.nat(),
    fc.constantFrom(...CORRUPTION_SNIPPETS),
  )
  .map(([text, kind, at, snippet]) => {
    const i = at % (text.length + 1);
    switch (kind) {
      case 'truncate':
        return text.slice(0, i);
      case 'control':
        return text.slice(0, i) + String.fromCharCode(at % 32) + text.slice(i);
      case 'loneEscape':
        return insertInString(text, i, ['\\ud800', '\\udfff', '\\ud83d\\u0041', '\\uDBFF"', '\\udc00\\ud800'][at % 5]!);
      case 'loneRaw':
        return text.slice(0, i) + ['\ud800', '\udc00', '\udbff'][at % 3]! + text.slice(i);
      case 'bom':
        return `\ufeff${text}`;
      case 'replace':
        return text.slice(0, i) + snippet + text.slice(i + 1);
      case 'delete':
        return text.slice(0, i) + text.slice(i + 1);
      default:
        return text.slice(0, i) + snippet + text.slice(i);
    }
  });

/** A byte-level corruption of the UTF-8 of a JSON text: flipped bits, invalid sequences, BOM. */
export const corruptedBytesArb: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.oneof(claudeBodyTextArb, jsonTextArb),
    fc.constantFrom('flip', 'invalid', 'bom', 'truncate'),
    fc.nat(),
    fc.constantFrom(...INVALID_UTF8),
  )
  .map(([text, kind, at, invalid]) => {
    const bytes = Buffer.from(text, 'utf8');
    const i = at % (bytes.length + 1);
    switch (kind) {
      case 'flip': {
        if (bytes.length === 0) return new Uint8Array(bytes);
        const copy = new Uint8Array(bytes);
        copy[i % bytes.length]! ^= 1 << (at % 8);
        return copy;
      }
      case 'invalid':
        return new Uint8Array(Buffer.concat([bytes.subarray(0, i), Buffer.from(invalid), bytes.subarray(i)]));
      case 'bom':
        return new Uint8Array(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]));
      default:
        return new Uint8Array(bytes.subarray(0, i));
    }
  });

/** Deterministic Claude-Code-like request body of roughly `targetBytes` UTF-8 bytes. */
export function claudeLikeBody(targetBytes: number, seed = 1): string {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const words = (n: number): string => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(pick(WORDS));
    return out.join(' ');
  };
  const code = (lines: number): string => {
    const out: string[] = [];
    // Claude Code's Read tool numbers lines as `     1→…`: every line has a non-ASCII character.
    for (let i = 0; i < lines; i++) {
      out.push(`${String(i + 1).padStart(6)}→${pick(CODE_LINES).replace('$', words(1 + Math.floor(rand() * 4)))}`);
    }
    return out.join('\n');
  };

  // Claude Code's fixed part (system prompt and tools) is ~100 KB; small targets scale it down.
  const fixedBudget = Math.min(targetBytes * 0.5, 110_000);
  const systemBytes = Math.max(200, fixedBudget * 0.15);
  const system: unknown[] = [
    { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
  ];
  let systemSize = 0;
  while (systemSize < systemBytes) {
    const text = `# ${words(3)}\n\n${words(120)}\n- ${words(20)} → ${words(10)}\n`;
    systemSize += text.length;
    system.push({ type: 'text', text });
  }

  const tools: unknown[] = [];
  let toolsSize = 0;
  while (toolsSize < fixedBudget * 0.85 || tools.length < 2) {
    const tool = {
      name: `${pick(TOOL_NAMES)}${tools.length}`,
      description: words(80 + Math.floor(rand() * 200)),
      input_schema: {
        type: 'object',
        $schema: 'http://json-schema.org/draft-07/schema#',
        additionalProperties: false,
        required: ['path', 'mode'],
        properties: {
          path: { type: 'string', description: words(25) },
          mode: { type: 'string', enum: ['read', 'write', 'append'], description: words(10) },
          limit: { type: 'number', minimum: 0, maximum: 1e6, description: words(12) },
          edits: {
            type: 'array',
            items: {
              type: 'object',
              properties: { old_string: { type: 'string' }, new_string: { type: 'string' }, replace_all: { type: 'boolean', default: false } },
              required: ['old_string', 'new_string'],
            },
          },
        },
      },
    };
    toolsSize += JSON.stringify(tool).length;
    tools.push(tool);
  }

  const messages: unknown[] = [];
  let size = systemSize + toolsSize;
  let turn = 0;
  while (size < targetBytes - 400) {
    const remaining = targetBytes - size;
    let message: unknown;
    if (turn % 2 === 0) {
      const content: unknown[] =
        turn === 0
          ? [
              { type: 'text', text: `<system-reminder>\n${words(60)}\n</system-reminder>` },
              { type: 'text', text: words(30), cache_control: { type: 'ephemeral' } },
            ]
          : [
              {
                type: 'tool_result',
                tool_use_id: `toolu_${turn.toString(36).padStart(20, '0')}`,
                content: code(Math.min(300, Math.max(2, Math.floor(remaining / 45)))),
              },
            ];
      if (turn > 0 && turn % 14 === 0 && remaining > 60_000) {
        content.push({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: base64(rand, 40_000) } });
      }
      message = { role: 'user', content };
    } else {
      message = {
        role: 'assistant',
        content: [
          { type: 'text', text: `${words(40)} ✓ ${pick(['café', 'naïve', '日本語', '🚀 done'])}` },
          { type: 'tool_use', id: `toolu_${turn.toString(36).padStart(20, '0')}`, name: pick(TOOL_NAMES), input: { path: `/src/${words(1)}.ts`, mode: 'read' } },
        ],
      };
    }
    size += JSON.stringify(message).length;
    messages.push(message);
    turn++;
  }
  return JSON.stringify({
    model: 'claude-sonnet-4-5-20250929',
    max_tokens: 32000,
    messages,
    system,
    tools,
    metadata: { user_id: 'user_0123456789abcdef_account__session_00000000-0000-0000-0000-000000000000' },
    stream: true,
  });
}

/** JSON text with whitespace between tokens and `\u` escapes in strings, driven by `noise`. */
export function stringifyNoisy(value: unknown, noise: Iterator<number>): string {
  const next = (): number => noise.next().value as number;
  const ws = (): string => {
    const r = next();
    if (r % 3 !== 0) return '';
    return WHITESPACE[r % WHITESPACE.length]!;
  };
  const str = (s: string): string => {
    if (next() % 4 !== 0) return JSON.stringify(s);
    // Escape some characters as \uXXXX (surrogate pairs become two escapes, as JSON allows).
    let out = '"';
    for (const ch of s) {
      if (next() % 2 === 0) {
        for (let k = 0; k < ch.length; k++) {
          const hex = ch.charCodeAt(k).toString(16).padStart(4, '0');
          out += `\\u${next() % 2 === 0 ? hex : hex.toUpperCase()}`;
        }
      } else {
        out += JSON.stringify(ch).slice(1, -1);
      }
    }
    return `${out}"`;
  };
  const walk = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => ws() + walk(x) + ws()).join(',')}${ws()}]`;
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      const members: string[] = [];
      for (const [k, x] of entries) {
        // Sometimes repeat a key with a decoy first: the last occurrence must win.
        if (next() % 7 === 0) members.push(`${str(k)}:${walk(DECOYS[next() % DECOYS.length])}`);
        members.push(`${ws()}${str(k)}${ws()}:${ws()}${walk(x)}${ws()}`);
      }
      return `{${ws()}${members.join(',')}${ws()}}`;
    }
    if (typeof v === 'string') return str(v);
    return JSON.stringify(v);
  };
  return ws() + walk(value) + ws();
}

const WHITESPACE = [' ', '\n', '\t', '\r\n', '  \n    '];
const DECOYS: unknown[] = ['user', 'text', null, 1, [], {}, [{ type: 'text', text: 'decoy' }], 'decoy'];

/** Text strings for system prompts and messages: any Unicode, including astral characters. */
function textArb(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 8 }),
    // Long enough for the scanners' fast paths (four bytes at a time; a regex past 24 code units), and
    // dense in characters JSON must escape.
    fc.string({ unit: fc.constantFrom(...LONG_TEXT_UNITS), minLength: 20, maxLength: 90 }),
    fc.constantFrom('', 'hi', 'You are Claude Code.', 'naïve → 🚀', '\u0000', '\\', '"quoted"', '\ue000\u{1f600}'),
  );
}

/** A content block: mostly text blocks, some other kinds or malformed ones. */
function blockArb(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ type: fc.constant('text'), text: textArb() }) },
    {
      weight: 1,
      arbitrary: fc.record(
        { type: fc.constantFrom('text', 'image', 'tool_use', 'TEXT'), text: fc.oneof(textArb(), fc.jsonValue({ maxDepth: 1 })) },
        { requiredKeys: [] },
      ),
    },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('tool_result'), tool_use_id: fc.string(), content: textArb() }) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
  );
}

/** A message: user or assistant (or odd roles), with string or block content. */
function messageArb(): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record(
        {
          role: fc.constantFrom('user', 'assistant', 'user', 'system', 'User'),
          content: fc.oneof(textArb(), fc.array(blockArb(), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
        },
        { requiredKeys: ['role'] },
      ),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
  );
}

/** A tool definition with a JSON-schema-like input_schema; names include astral and private-use characters. */
function toolArb(): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        name: fc.oneof(
          fc.constantFrom('Read', 'Write', 'Bash', 'mcp__x__y', '\ue000', '\u{1f600}', 'é', 'a,b', ''),
          fc.string({ unit: 'grapheme', maxLength: 6 }),
        ),
        description: fc.string(),
        input_schema: fc.jsonValue({ maxDepth: 3 }),
      }),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
  );
}

/** Inserts `escape` just after the first quote at or after `i` (inside a string, when there is one). */
function insertInString(text: string, i: number, escape: string): string {
  const q = text.indexOf('"', i);
  if (q === -1) return `${text.slice(0, i)}"${escape}"${text.slice(i)}`;
  return text.slice(0, q + 1) + escape + text.slice(q + 1);
}

/**
 * Whether any string literal in (valid) JSON text decodes to a lone surrogate. Checked on the text, not
 * the parsed value, because JSON.parse drops the values of duplicated keys: serde_json still rejects them.
 */
function hasLoneSurrogateEscape(text: string): boolean {
  for (const literal of text.match(/"(?:[^"\\]|\\.)*"/gs) ?? []) {
    if (!isWellFormed(JSON.parse(literal) as string)) return true;
  }
  return false;
}

/** Text of a `system` or `content` value per the fingerprint rules. */
function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  let text = '';
  for (const block of value) {
    if (!isObject(block) || own(block, 'type') !== 'text') continue;
    const t = own(block, 'text');
    if (typeof t === 'string') text += t;
  }
  return text;
}

/** A JSON object (not an array, not null). */
function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property `key` of a parsed JSON object (ignores the prototype chain, e.g. for "constructor"). */
function own(obj: object, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
}

function base64(rand: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += B64[Math.floor(rand() * 64)];
  return out;
}


/** `String.prototype.isWellFormed` (ES2024; Node 20 has it, the ES2023 lib typings do not). */
function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/** Whether serde_json (recursion limit 128, no infinite numbers) would refuse what JSON.parse made of the text. */
function exceedsSerdeLimits(root: unknown): boolean {
  const pending: Array<[unknown, number]> = [[root, 0]];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [value, depth] = item;
    if (typeof value === 'number' && !Number.isFinite(value)) return true;
    if (typeof value !== 'object' || value === null) continue;
    if (depth + 1 >= 128) return true;
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
  return false;
}
