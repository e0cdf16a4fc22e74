/**
 * @module
 * `shunt demo`: a mock Anthropic API with three accounts of different headroom, the real proxy in
 * front of it, and a short scripted session through it, narrated. No network, no credentials.
 */
import { parseConfig } from './config.js';
import { jsonLogger, silentLogger } from './logger.js';
import { createMockUpstream, type MockReply } from './mock-upstream.js';
import { createProxy, type RequestRecord, type ShuntProxy } from './proxy.js';

/** Options for {@link runDemo}. */
export interface DemoOptions {
  /**
   * Where the transcript goes.
   * @default writes to process.stdout
   */
  readonly write?: ((text: string) => void) | undefined;
  /**
   * Also write the proxy's JSON log to stderr.
   * @default false
   */
  readonly verbose?: boolean | undefined;
  /**
   * Record the demo's traffic to this trace file (as `shunt start --record` does), to try
   * `pnpm sim FILE` on it.
   * @default none
   */
  readonly record?: string | undefined;
}

/** One scripted request of the demo. */
interface Step {
  readonly kind: 'stream' | 'json';
  /** Which conversation it continues (the same system prompt and first message). */
  readonly conversation: string;
  /** What the mock's accounts answer before the request is sent. */
  readonly script?: ReadonlyArray<readonly [string, MockReply]>;
  /** Pin an account through the control API first (`auto` unpins). */
  readonly pin?: string;
  /** A note printed under the line. */
  readonly note?: string;
}

const ACCOUNTS = [
  { name: 'alpha', key: 'demo-key-alpha', utilization5h: 0.82, utilization7d: 0.3 },
  { name: 'bravo', key: 'demo-key-bravo', utilization5h: 0.35, utilization7d: 0.2 },
  { name: 'charlie', key: 'demo-key-charlie', utilization5h: 0.6, utilization7d: 0.25 },
] as const;

const STEPS: readonly Step[] = [
  { kind: 'stream', conversation: 'refactor', note: 'nothing is known yet: every account scores 1, the first in config order wins' },
  { kind: 'json', conversation: 'tests', note: 'alpha reported 82 % of its 5-hour window used; the unknown accounts score higher' },
  { kind: 'stream', conversation: 'docs' },
  { kind: 'json', conversation: 'review', note: 'every account has reported its windows: the most headroom wins' },
  { kind: 'stream', conversation: 'refactor', note: 'same conversation as #1: it stays on alpha, where its prompt cache is' },
  {
    kind: 'json',
    conversation: 'tests',
    script: [['bravo', { kind: 'burst-429', retryAfterSecs: 20 }]],
    note: 'bravo answers 429 (retry-after 20 s): shunt fails over before the client sees a byte',
  },
  { kind: 'stream', conversation: 'tests', note: 'the conversation moved with the failover and stays on its new account' },
  {
    kind: 'stream',
    conversation: 'release',
    script: [
      ['alpha', { kind: 'burst-429', retryAfterSecs: 1 }],
      ['charlie', { kind: 'burst-429', retryAfterSecs: 1 }],
    ],
    note: 'alpha and charlie answer 429 and bravo is still cooling: the request waits for the first one back',
  },
  { kind: 'json', conversation: 'refactor', pin: 'charlie', note: '`shunt pin charlie` overrides stickiness and the strategy' },
  { kind: 'json', conversation: 'refactor', pin: 'auto', note: '`shunt pin auto`: back to automatic routing' },
];

/**
 * Run the demo and write its transcript. Resolves to the process exit code (0 when every request
 * was served by the account the script expects to see).
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const mock = createMockUpstream({ accounts: ACCOUNTS, usagePerRequest: 0.002 });
  const upstreamUrl = await mock.listen();
  const config = parseConfig(
    {
      server: {
        port: 0,
        control_port: 0,
        upstream_url: upstreamUrl,
        routing_strategy: 'maximus',
        ...(options.record === undefined ? {} : { record_trace: options.record }),
      },
      accounts: ACCOUNTS.map((a) => ({ name: a.name, plan_type: 'max', api_key: a.key })),
    },
    { file: '<demo>', env: {} },
  );
  const waiting: Array<(record: RequestRecord) => void> = [];
  let proxy: ShuntProxy;
  try {
    proxy = createProxy({
      config,
      logger: options.verbose === true ? jsonLogger({ level: 'debug' }) : silentLogger,
      onRequest: (record) => waiting.shift()?.(record),
    });
  } catch (error) {
    // A recording that cannot be written: the mock goes too.
    await mock.close();
    throw error;
  }
  const { proxyUrl, controlUrl } = await proxy.listen();

  write(
    [
      '',
      'shunt demo: a mock Anthropic API with three accounts, and shunt in front of it.',
      'No network and no credentials: everything runs in this process, on 127.0.0.1.',
      '',
      `  proxy    ${proxyUrl}   (what ANTHROPIC_BASE_URL would point at)`,
      `  accounts ${ACCOUNTS.map((a) => `${a.name} (${Math.round(a.utilization5h * 100)} % of its 5-hour window used)`).join(', ')}`,
      `  strategy ${proxy.strategy().name}: the most headroom wins; a conversation sticks to its account`,
      '',
      `  ${pad('#', 3)}${pad('kind', 8)}${pad('conversation', 14)}${pad('account', 9)}why`,
      `  ${'─'.repeat(90)}`,
      '',
    ].join('\n'),
  );

  let failures = 0;
  try {
    for (const [index, step] of STEPS.entries()) {
      for (const [account, reply] of step.script ?? []) mock.script(account, reply);
      if (step.pin !== undefined) {
        await fetch(`${controlUrl}/use`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ account: step.pin }),
        });
      }
      const recorded = new Promise<RequestRecord>((resolve) => waiting.push(resolve));
      const response = await fetch(`${proxyUrl}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
          'x-api-key': 'any-key-the-proxy-replaces-it',
        },
        body: JSON.stringify({
          model: 'claude-sonnet-4-6',
          max_tokens: 256,
          stream: step.kind === 'stream',
          system: `You are helping with the ${step.conversation} task.`,
          messages: [{ role: 'user', content: `Let us work on ${step.conversation}.` }],
        }),
      });
      const text = await response.text();
      const record = await recorded;
      const servedBy = response.headers.get('x-shunt-account') ?? '-';
      const ok = response.status === 200 && replyText(step.kind, text) === `served by ${servedBy}`;
      if (!ok) failures += 1;
      write(
        `  ${pad(String(index + 1), 3)}${pad(step.kind, 8)}${pad(step.conversation, 14)}${pad(ok ? servedBy : `${response.status}!`, 9)}${why(record)}\n`,
      );
      if (step.note !== undefined) write(`  ${' '.repeat(34)}${dim(step.note)}\n`);
    }

    write(`\n  after the session (GET ${controlUrl}/status):\n`);
    for (const account of proxy.status().accounts) {
      const cooling = account.cooldown_until_ms > Date.now() ? `, cooling ${Math.ceil((account.cooldown_until_ms - Date.now()) / 1000)} s` : '';
      write(`    ${pad(account.name, 9)}${pad(account.status, 11)}5h ${pct(account.utilization_5h)} used, 7d ${pct(account.utilization_7d)} used${cooling}\n`);
    }
    write(
      [
        '',
        failures === 0 ? 'Every request was served; the client never saw a 429.' : `${failures} request(s) were not served as expected.`,
        '',
        ...(options.record === undefined
        ? []
        : [`Recorded ${proxy.status().recording?.rows ?? 0} rows to ${options.record}: replay them with \`pnpm sim ${options.record}\` (docs/recording.md).`, '']),
      'Next: put your accounts in ~/.config/shunt/config.toml (see docs/proxy.md), run `shunt start`,',
        'and point Claude Code at it: ANTHROPIC_BASE_URL=http://127.0.0.1:8082 claude',
        '',
      ].join('\n'),
    );
  } finally {
    await proxy.close();
    await mock.close();
  }
  return failures === 0 ? 0 : 1;
}

/** The "why" column: what went wrong on the way, how long it waited, what decided in the end. */
export function why(record: RequestRecord): string {
  const steps: string[] = [];
  const failovers = record.attempts.filter((a) => a.action === 'failover');
  if (failovers.length > 0) {
    steps.push(
      failovers
        .map((a) => `${a.status ?? 'error'} on ${a.account}${a.cooldownMs === undefined ? '' : ` (cools ${formatMs(a.cooldownMs)})`}`)
        .join(', '),
    );
  }
  if (record.heldMs > 0) steps.push(`held ${(record.heldMs / 1000).toFixed(1)} s`);
  if (record.reason === 'pinned') steps.push('pinned');
  else if (record.reason === 'sticky') steps.push('sticky (same conversation)');
  else if (record.reason === 'strategy') {
    const score = record.explain?.['score'];
    const others = record.candidates
      .filter((c) => c.name !== record.account && typeof c.explain['score'] === 'number')
      .map((c) => `${c.name} ${(c.explain['score'] as number).toFixed(2)}`);
    const scored = typeof score === 'number' ? ` score ${score.toFixed(2)}` : '';
    steps.push(`${record.strategy}${scored}${others.length > 0 ? ` (vs ${others.join(', ')})` : ' (the only candidate)'}`);
  }
  if (record.outcome !== 'served') steps.push(record.outcome);
  return steps.join(' → ');
}

/** The text of a reply: the message's text, or the text deltas of a stream put together. */
function replyText(kind: 'stream' | 'json', body: string): string {
  try {
    if (kind === 'json') {
      const message = JSON.parse(body) as { content?: Array<{ text?: string }> };
      return (message.content ?? []).map((block) => block.text ?? '').join('');
    }
    let text = '';
    for (const line of body.split('\n')) {
      if (!line.startsWith('data: ')) continue;
      const data = JSON.parse(line.slice(6)) as { type?: string; delta?: { text?: string } };
      if (data.type === 'content_block_delta') text += data.delta?.text ?? '';
    }
    return text;
  } catch {
    return '';
  }
}

function formatMs(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

function pct(value: number): string {
  return `${Math.round(value * 100)} %`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + ' '.repeat(width - text.length);
}

function dim(text: string): string {
  return process.stdout.isTTY === true && process.env['NO_COLOR'] === undefined ? `\x1b[2m${text}\x1b[0m` : text;
}
