/**
 * The `shunt` command: `main()` in process for the control commands, and the real program (through
 * tsx, as `pnpm shunt` runs it) for the demo, start-up and its exit codes.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runMain, shunt, startStack, type Stack } from './helpers.js';


let stack: Stack | null = null;
afterEach(async () => {
  vi.restoreAllMocks();
  await stack?.close();
  stack = null;
});

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shunt-cli-'));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('control commands', () => {
  it('should pin, switch strategy and show status through the control API', async () => {
    stack = await startStack();
    const port = new URL(stack.controlUrl).port;
    const config = await tempFile('config.toml', `[server]\ncontrol_port = ${port}\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    expect(await runMain(['pin', 'b', '--config', config])).toMatchObject({ code: 0, out: 'pinned to b\n' });
    expect(stack.store.getPinned()).toBe('b');
    expect(await runMain(['pin', 'auto', '--config', config])).toMatchObject({ code: 0, out: 'automatic routing\n' });
    expect(await runMain(['strategy', '--config', config])).toMatchObject({ code: 0, out: 'maximus (from the configuration)\n' });
    expect(await runMain(['strategy', 'reaper', '--config', config])).toMatchObject({ code: 0, out: 'reaper (set at run time)\n' });
    expect(await runMain(['strategy', '--reset', '--config', config])).toMatchObject({ code: 0, out: 'maximus (from the configuration)\n' });
    const status = await runMain(['status', '--config', config]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^a {2}\S+ {2}✓ available/m);
    expect(status.out).not.toContain('\u001b['); // not a TTY: no colour
    const json = await runMain(['status', '--json', '--config', config]);
    expect(JSON.parse(json.out)).toMatchObject({ accounts: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] });
  });

  it('should refuse an unknown account or strategy with exit 2, listing the valid ones', async () => {
    stack = await startStack();
    const port = new URL(stack.controlUrl).port;
    const config = await tempFile('config.toml', `[server]\ncontrol_port = ${port}\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    expect(await runMain(['pin', 'nobody', '--config', config])).toMatchObject({ code: 2, err: "shunt: unknown account 'nobody'; accounts: a, b, c\n" });
    expect(await runMain(['use', 'nobody', '--config', config])).toMatchObject({ code: 2, err: "shunt: unknown account 'nobody'; accounts: a, b, c\n" });
    expect(await runMain(['strategy', 'fastest', '--config', config])).toMatchObject({
      code: 2,
      err: "shunt: unknown strategy 'fastest'; strategies: maximus, cushion, reaper, carousel\n",
    });
    expect(stack.store.getPinned()).toBeNull();
  });

  it('should say when no proxy is running', async () => {
    const config = await tempFile('config.toml', `[server]\ncontrol_port = 1\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    const result = await runMain(['status', '--config', config]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/no shunt is answering on http:\/\/127\.0\.0\.1:1/);
  });

  it('should print help for every command and exit 2 on bad usage', async () => {
    for (const command of ['start', 'demo', 'pin', 'strategy', 'status']) {
      const help = await runMain([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.out).toMatch(new RegExp(`^Usage: shunt ${command}`));
    }
    expect((await runMain(['--help'])).out).toMatch(/Commands:/);
    expect(await runMain(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "frobnicate"/) });
    expect(await runMain(['pin'])).toMatchObject({ code: 2, err: expect.stringMatching(/expected one account name/) });
    expect(await runMain(['start', '--bogus'])).toMatchObject({ code: 2, err: "shunt: Unknown option '--bogus'\nRun `shunt start --help`.\n" });
  });

  it('should report a configuration error in one line and exit 2', async () => {
    const config = await tempFile('config.toml', `[server]\nport = "x"\n[[accounts]]\nname = "a"\n`);
    expect(await runMain(['start', '--config', config])).toEqual({ code: 2, out: '', err: `shunt: ${config}: server.port: must be a port number from 0 to 65535, got "x"\n` });
    const missing = join(dirname(config), 'nope.toml');
    expect((await runMain(['start', '--config', missing])).err).toMatch(new RegExp(`^shunt: ${missing}: no such file`));
  });
});

describe('start --record', () => {
  it('should refuse a file that is not a trace, in one line, with exit 2', async () => {
    const config = await tempFile('config.toml', `[server]\nport = 0\ncontrol_port = 0\nstate_path = "state.json"\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    const notes = join(dirname(config), 'notes.csv');
    await writeFile(notes, 'name,amount\n');
    const { code, err } = await runMain(['start', '--config', config, '--record', notes]);
    expect(code).toBe(2);
    expect(err).toBe(
      `shunt: ${notes}: exists and is not a shunt trace v1 with this version's columns (its first line is "name,amount"); record to a new file or move this one away\n`,
    );
  });
});

describe('the program', () => {
  it('should run the demo and exit 0', { timeout: 30_000 }, async () => {
    const { code, out } = await shunt(['demo']).done;
    expect(code).toBe(0);
    expect(out).toMatch(/#\s+kind\s+conversation\s+account\s+why/);
    expect(out).toMatch(/429 on bravo/);
    expect(out).toMatch(/held \d\.\d s/);
    expect(out).toMatch(/sticky/);
    expect(out).toMatch(/Every request was served/);
  });

  it('should refuse to bind openly without keys, exit 2 and name the keys', { timeout: 30_000 }, async () => {
    const config = await tempFile('config.toml', `[server]\nport = 0\ncontrol_port = 0\n[[accounts]]\nname = "a"\napi_key_env = "A_KEY"\n`);
    const { code, err } = await shunt(['start', '--config', config, '--host', '0.0.0.0']).done;
    expect(code).toBe(2);
    expect(err).toBe(
      `shunt: ${config}: server.host: binding 0.0.0.0 would open the pooled accounts to anyone who can reach this machine; set server.remote_key and server.control_token, or bind 127.0.0.1\n`,
    );
  });

  it('should start, serve, and stop cleanly on SIGTERM', { timeout: 30_000 }, async () => {
    stack = await startStack();
    const config = await tempFile(
      'config.toml',
      `[server]\nport = 0\ncontrol_port = 0\nupstream_url = "${stack.mock.url}"\nstate_path = "state.json"\n[[accounts]]\nname = "a"\napi_key_env = "A_KEY"\n`,
    );
    const proc = shunt(['start', '--config', config], { env: { A_KEY: 'key-a' } });
    const url = await proc.seen(/ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)/);
    const response = await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'anything' },
      body: JSON.stringify({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.get('x-shunt-account')).toBe('a');
    expect(((await response.json()) as { content: Array<{ text: string }> }).content[0]?.text).toBe('served by a');
    proc.child.kill('SIGTERM');
    const result = await proc.done;
    expect(result.code).toBe(0);
    expect(result.err).toMatch(/"msg":"listening"/);
    expect(result.err).toMatch(/SIGTERM/);
    // The state was saved at shutdown, next to the config file (state_path is relative to it).
    const saved = JSON.parse(await readFile(join(dirname(config), 'state.json'), 'utf8')) as { lastUsed: string | null };
    expect(saved.lastUsed).toBe('a');
  });

  it('should record a trace with --record and write it out on SIGTERM', { timeout: 30_000 }, async () => {
    stack = await startStack();
    const config = await tempFile(
      'config.toml',
      `[server]\nport = 0\ncontrol_port = 0\nupstream_url = "${stack.mock.url}"\nstate_path = "state.json"\n[[accounts]]\nname = "a"\napi_key_env = "A_KEY"\n`,
    );
    const trace = join(dirname(config), 'week.csv');
    const proc = shunt(['start', '--config', config, '--record', trace], { env: { A_KEY: 'key-a' } });
    const url = await proc.seen(/ANTHROPIC_BASE_URL=(http:\/\/127\.0\.0\.1:\d+)/);
    await fetch(`${url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'anything' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 1, messages: [{ role: 'user', content: 'a secret prompt' }] }),
    }).then((r) => r.arrayBuffer());
    proc.child.kill('SIGTERM');
    expect((await proc.done).code).toBe(0);
    const text = await readFile(trace, 'utf8');
    const [marker, header, row, ...rest] = text.split('\n');
    expect(marker).toBe('# shunt-trace v1');
    expect(header?.startsWith('ts,request_id,session,account,model,status,')).toBe(true);
    expect(row).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z,[\w-]+,[0-9a-f]{64},a,claude-haiku-4-5,200,12,4,,,\d+,0\.001,\d+,allowed,0\.0001,\d+,allowed,,$/);
    expect(rest).toEqual(['']);
    expect(text).not.toContain('secret');
  });
});
