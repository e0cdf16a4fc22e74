import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fc, test } from '@fast-check/vitest';
import { stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { ConfigError, configPathCandidates, DEFAULT_SERVER_CONFIG, loadConfig, parseConfig, parseConfigText } from './config.js';

const FILE = '/home/u/.config/shunt/config.toml';

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function toml(text: string, env: Record<string, string> = {}) {
  return parseConfigText(text, { file: FILE, env });
}

describe('the Rust shunt config.toml', () => {
  it('should read the template `shunt setup` writes, with every default', () => {
    const config = toml(
      `[server]\nhost = "127.0.0.1"\nport = 8082\ncontrol_port = 19081\nlog_level = "info"\n\n[[accounts]]\nname = "main"\nplan_type = "max"\napi_key_env = "MAIN_KEY"\n`,
      { MAIN_KEY: 'sk-1' },
    );
    expect(config.server).toEqual({ ...DEFAULT_SERVER_CONFIG, statePath: expect.stringMatching(/shunt\/state\.json$/) });
    expect(config.accounts).toEqual([{ name: 'main', planType: 'max', upstreamUrl: null, apiKey: 'sk-1', missingCredential: null }]);
    expect(config.warnings).toEqual([]);
  });

  it('should apply the defaults of the seed', () => {
    const { server } = parseConfig({ accounts: [{ name: 'a', api_key_env: 'K' }] }, { env: { K: 'k' } });
    expect(server).toMatchObject({
      host: '127.0.0.1',
      port: 8082,
      controlPort: 19081,
      routingStrategy: 'maximus',
      stickyTtlMinutes: 10,
      expirySoonMinutes: 30,
      requestTimeoutSecs: 600,
      requestDeadlineSecs: 600,
      clientRetryLimitSecs: 60,
      upstreamUrl: 'https://api.anthropic.com',
      remoteKey: null,
      controlToken: null,
      maxBodyMb: 32,
      logLevel: 'info',
    });
  });

  it('should warn about keys it does not support, and skip accounts of other providers', () => {
    const config = toml(
      `[server]\nrate_limit_rpm = 60\nhealth_check_enabled = true\ncolour = "blue"\n\n[model_mapping]\nx = "y"\n\n` +
        `[[accounts]]\nname = "a"\napi_key_env = "K"\nmodel = "m"\n\n[[accounts]]\nname = "g"\nprovider = "groq"\n`,
      { K: 'k' },
    );
    expect(config.accounts.map((a) => a.name)).toEqual(['a']);
    expect(config.warnings.join('\n')).toMatch(/server\.rate_limit_rpm: not supported/);
    expect(config.warnings.join('\n')).toMatch(/server\.colour: unknown key, ignored/);
    expect(config.warnings.join('\n')).toMatch(/model_mapping: model mapping is not supported/);
    expect(config.warnings.join('\n')).toMatch(/accounts\[0\]\.model: per-account models/);
    expect(config.warnings.join('\n')).toMatch(/accounts\[1\]\.provider: "groq" accounts are not supported .* skipped/);
    for (const warning of config.warnings) expect(warning.startsWith(`${FILE}: `)).toBe(true);
  });

  it('should accept strategy aliases and store the canonical name', () => {
    const config = toml(`[server]\nrouting_strategy = "round-robin"\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    expect(config.server.routingStrategy).toBe('carousel');
  });

  it('should warn about an inline api_key, and disable an account whose key is missing', () => {
    const config = toml(`[[accounts]]\nname = "a"\napi_key = "k"\n[[accounts]]\nname = "b"\napi_key_env = "UNSET_VAR"\n[[accounts]]\nname = "c"\n`);
    expect(config.accounts.map((a) => [a.name, a.apiKey, a.missingCredential])).toEqual([
      ['a', 'k', null],
      ['b', null, 'environment variable UNSET_VAR is not set'],
      ['c', null, 'no api_key_env or api_key'],
    ]);
    expect(config.warnings.join('\n')).toMatch(/accounts\[0\]\.api_key: the key is written in the file/);
    // The warning never repeats the key itself.
    expect(config.warnings.join('\n')).not.toContain('"k"');
  });

  it('should read JSON with the same keys', () => {
    const config = parseConfigText(JSON.stringify({ server: { port: 9000 }, accounts: [{ name: 'a', api_key_env: 'K' }] }), {
      file: '/x/config.json',
      env: { K: 'k' },
    });
    expect(config.server.port).toBe(9000);
    expect(config.accounts[0]?.apiKey).toBe('k');
  });

  it('should take the upstream from SHUNT_UPSTREAM_URL when the file does not set it', () => {
    const config = parseConfig({ accounts: [{ name: 'a', api_key: 'k' }] }, { env: { SHUNT_UPSTREAM_URL: 'https://gateway.example/anthropic/' } });
    expect(config.server.upstreamUrl).toBe('https://gateway.example/anthropic');
  });

  it('should resolve a relative state_path against the config file', () => {
    const config = toml(`[server]\nstate_path = "state/shunt.json"\n[[accounts]]\nname = "a"\napi_key = "k"\n`);
    expect(config.server.statePath).toBe('/home/u/.config/shunt/state/shunt.json');
  });
});

describe('errors name the file, the key and what is wrong', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['[server]\nport = "8082"\n[[accounts]]\nname = "a"\n', 'server.port', /must be a port number from 0 to 65535, got "8082"/],
    ['[server]\nport = 70000\n[[accounts]]\nname = "a"\n', 'server.port', /got 70000/],
    ['[server]\ncontrol_port = 8082\n[[accounts]]\nname = "a"\n', 'server.control_port', /must differ from server\.port/],
    ['[server]\nrouting_strategy = "fastest"\n[[accounts]]\nname = "a"\n', 'server.routing_strategy', /Unknown routing strategy "fastest".*maximus/],
    ['[server]\nrequest_timeout_secs = 0\n[[accounts]]\nname = "a"\n', 'server.request_timeout_secs', /greater than 0/],
    ['[server]\nrequest_deadline_secs = 0\n[[accounts]]\nname = "a"\n', 'server.request_deadline_secs', /greater than 0/],
    ['[server]\nclient_retry_limit_secs = -1\n[[accounts]]\nname = "a"\n', 'server.client_retry_limit_secs', /at least 0|>= 0|0 or more/],
    ['[server]\nmax_body_mb = -1\n[[accounts]]\nname = "a"\n', 'server.max_body_mb', /greater than 0/],
    ['[server]\nsticky_ttl_minutes = -5\n[[accounts]]\nname = "a"\n', 'server.sticky_ttl_minutes', /at least 0/],
    ['[server]\nupstream_url = "ftp://x"\n[[accounts]]\nname = "a"\n', 'server.upstream_url', /http or https/],
    ['[server]\nupstream_url = "not a url"\n[[accounts]]\nname = "a"\n', 'server.upstream_url', /is not a URL/],
    ['[server]\nremote_key = ""\n[[accounts]]\nname = "a"\n', 'server.remote_key', /must not be empty/],
    ['[server]\nhost = ""\n[[accounts]]\nname = "a"\n', 'server.host', /must not be empty/],
    ['server = 3\n[[accounts]]\nname = "a"\n', 'server', /must be a table/],
    ['[server]\n', 'accounts', /no accounts/],
    ['[[accounts]]\nname = "a"\n[[accounts]]\nname = "a"\n', 'accounts[1].name', /duplicate account name "a" \(also accounts\[0\]\)/],
    ['[[accounts]]\nplan_type = "max"\n', 'accounts[0].name', /missing/],
    ['[[accounts]]\nname = "a b\\n"\n', 'accounts[0].name', /printable ASCII/],
    ['[[accounts]]\nname = "a"\napi_key_env = "not a name"\n', 'accounts[0].api_key_env', /not an environment variable name/],
    ['[[accounts]]\nname = "a"\nupstream_url = "https://user:pw@x.example"\n', 'accounts[0].upstream_url', /must not carry credentials/],
    ['[[accounts]]\nname = "g"\nprovider = "openai"\n', 'accounts', /no Anthropic account/],
  ];
  it.each(cases)('%j → %s', (text, key, reason) => {
    const error = errorOf(() => toml(text));
    expect(error.file).toBe(FILE);
    expect(error.key).toBe(key);
    expect(error.reason).toMatch(reason);
    expect(error.message).toBe(`${FILE}: ${key}: ${error.reason}`);
  });

  it('should point at the line and column of a TOML syntax error', () => {
    const error = errorOf(() => toml('[server]\nport = = 3\n'));
    expect(error.key).toBe('line 2, column 8');
    expect(error.reason).toMatch(/not valid TOML/);
  });

  it('should suggest the key an unknown one is likely a typo of, and nothing for a stranger', () => {
    const config = toml(
      `prot = 1\n[server]\nprot = 8090\ncontol_port = 1\nrouting_stratgy = "reaper"\nrecord_trace_max = 8\ncolour = "blue"\n` +
        `[state]\nbackedn = "memory"\n[[accounts]]\nname = "a"\napi_key_evn = "K"\nplan = "max"\n`,
    );
    expect(config.warnings).toEqual([
      `${FILE}: prot: unknown key, ignored`,
      `${FILE}: server.prot: unknown key, ignored (did you mean "port"?)`,
      `${FILE}: server.contol_port: unknown key, ignored (did you mean "control_port"?)`,
      `${FILE}: server.routing_stratgy: unknown key, ignored (did you mean "routing_strategy"?)`,
      `${FILE}: server.record_trace_max: unknown key, ignored (did you mean "record_trace_max_mb"?)`,
      `${FILE}: server.colour: unknown key, ignored`,
      `${FILE}: state.backedn: unknown key, ignored (did you mean "backend"?)`,
      `${FILE}: accounts[0].api_key_evn: unknown key, ignored (did you mean "api_key_env"?)`,
      `${FILE}: accounts[0].plan: unknown key, ignored`,
      `${FILE}: accounts[0].api_key_env: no api_key_env or api_key; account "a" is disabled until it has a key`,
    ]);
  });

  it('should expand ~ in every path key, and keep other paths relative to the config file', () => {
    const config = parseConfig(
      {
        server: { state_path: '~/shunt/state.json', record_trace: '~/rec.csv', credentials_path: '~' },
        accounts: [{ name: 'a', api_key: 'k' }],
      },
      { file: '/etc/shunt/config.toml', env: { HOME: '/home/me' } },
    );
    expect(config.server.statePath).toBe('/home/me/shunt/state.json');
    expect(config.server.recordTrace).toBe('/home/me/rec.csv');
    expect(config.oauth.credentialsPath).toBe('/home/me');
    const relative = parseConfig(
      { server: { state_path: '~state.json', record_trace: 'x/~/r.csv' }, accounts: [{ name: 'a', api_key: 'k' }] },
      { file: '/etc/shunt/config.toml', env: { HOME: '/home/me' } },
    );
    expect(relative.server.statePath).toBe('/etc/shunt/~state.json');
    expect(relative.server.recordTrace).toBe('/etc/shunt/x/~/r.csv');
  });

  it('should say so when the file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shunt-config-'));
    const file = join(dir, 'missing.toml');
    await expect(loadConfig(file)).rejects.toThrow(new RegExp(`^${file}: no such file`));
  });

  it('should read a file from disk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shunt-config-'));
    const file = join(dir, 'config.toml');
    await writeFile(file, '[[accounts]]\nname = "a"\napi_key_env = "K"\n');
    const config = await loadConfig(file, { env: { K: 'k' } });
    expect(config.file).toBe(file);
    expect(config.accounts[0]?.apiKey).toBe('k');
  });
});

describe('where the file is looked for', () => {
  it('should prefer SHUNT_CONFIG, then XDG_CONFIG_HOME, then ~/.config, then (macOS) the Rust shunt location', () => {
    expect(configPathCandidates({ SHUNT_CONFIG: '/etc/shunt.toml' }, '/home/u', 'linux')).toEqual(['/etc/shunt.toml']);
    expect(configPathCandidates({ XDG_CONFIG_HOME: '/xdg' }, '/home/u', 'linux')).toEqual(['/xdg/shunt/config.toml']);
    expect(configPathCandidates({}, '/home/u', 'linux')).toEqual(['/home/u/.config/shunt/config.toml']);
    expect(configPathCandidates({}, '/Users/u', 'darwin')).toEqual([
      '/Users/u/.config/shunt/config.toml',
      '/Users/u/Library/Application Support/shunt/config.toml',
    ]);
  });
});

describe('round trip', () => {
  const arbName = fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/);
  const arbServer = fc.record(
    {
      host: fc.constantFrom('127.0.0.1', 'localhost', '::1'),
      port: fc.integer({ min: 0, max: 65_535 }),
      routing_strategy: fc.constantFrom('maximus', 'cushion', 'reaper', 'carousel'),
      sticky_ttl_minutes: fc.integer({ min: 0, max: 10_000 }),
      expiry_soon_minutes: fc.integer({ min: 0, max: 10_000 }),
      request_timeout_secs: fc.integer({ min: 1, max: 100_000 }),
      request_deadline_secs: fc.integer({ min: 1, max: 100_000 }),
      client_retry_limit_secs: fc.integer({ min: 0, max: 100_000 }),
      upstream_url: fc.constantFrom('https://api.anthropic.com', 'http://127.0.0.1:9999', 'https://gw.example/anthropic'),
      remote_key: fc.stringMatching(/^[!-~]{1,40}$/),
      control_token: fc.stringMatching(/^[!-~]{1,40}$/),
      max_body_mb: fc.integer({ min: 1, max: 4096 }),
      log_level: fc.constantFrom('debug', 'info', 'warn', 'error'),
    },
    { requiredKeys: [] },
  );
  const arbAccounts = fc.uniqueArray(
    fc.record({ name: arbName, plan_type: fc.constantFrom('pro', 'max', 'team'), api_key: fc.stringMatching(/^[!-~]{1,40}$/) }, { requiredKeys: ['name', 'api_key'] }),
    { minLength: 1, maxLength: 5, selector: (a) => a.name },
  );

  test.prop([arbServer, arbAccounts])('should read a TOML file exactly as the object it was written from', (server, accounts) => {
    // control_port may not collide with port.
    const port = server.port ?? 8082;
    const raw = { server: { ...server, control_port: port === 65_535 ? 1 : port + 1 }, accounts };
    const fromObject = parseConfig(raw, { file: FILE, env: {} });
    const fromToml = parseConfigText(stringify(raw), { file: FILE, env: {} });
    const fromJson = parseConfigText(JSON.stringify(raw), { file: FILE, env: {}, format: 'json' });
    expect(fromToml).toEqual(fromObject);
    expect(fromJson).toEqual(fromObject);
    expect(fromObject.accounts.map((a) => a.name)).toEqual(accounts.map((a) => a.name));
    if (server.port !== undefined) expect(fromObject.server.port).toBe(server.port);
    if (server.remote_key !== undefined) expect(fromObject.server.remoteKey).toBe(server.remote_key);
  });
});

describe('subscription (OAuth) settings', () => {
  it('should default to the claude.ai endpoints and $XDG_CONFIG_HOME/shunt/credentials.json', () => {
    const config = parseConfig({ accounts: [{ name: 'max', auth: 'oauth' }] }, { file: '/etc/shunt/config.toml', env: { XDG_CONFIG_HOME: '/cfg' } });
    expect(config.oauth).toEqual({
      credentialsPath: '/cfg/shunt/credentials.json',
      tokenUrl: 'https://platform.claude.com/v1/oauth/token',
      authorizeUrl: 'https://claude.ai/oauth/authorize',
      clientId: '9d1c250a-e61b-44d9-88ed-5944d1962f5e',
    });
    // An OAuth account needs no key, and is not warned about: its tokens are in the credentials file.
    expect(config.accounts[0]).toMatchObject({ name: 'max', auth: 'oauth', apiKey: null });
    expect(config.warnings).toEqual([]);
  });

  it('should read credentials_path (relative to the config file) and the oauth_* keys', () => {
    const config = parseConfig(
      {
        server: { credentials_path: 'creds.json', oauth_token_url: 'http://127.0.0.1:7777/token', oauth_authorize_url: 'http://127.0.0.1:7777/auth', oauth_client_id: 'cid' },
        accounts: [{ name: 'max', auth: 'oauth' }],
      },
      { file: '/etc/shunt/config.toml', env: {} },
    );
    expect(config.oauth).toEqual({ credentialsPath: '/etc/shunt/creds.json', tokenUrl: 'http://127.0.0.1:7777/token', authorizeUrl: 'http://127.0.0.1:7777/auth', clientId: 'cid' });
    expect(config.warnings).toEqual([]);
  });

  it('should refuse an unknown auth and a token URL that is not http(s)', () => {
    expect(() => parseConfig({ accounts: [{ name: 'max', auth: 'cookie' }] }, { env: {} })).toThrow(/accounts\[0\]\.auth: "cookie" is not "oauth" or "api_key"/);
    expect(() => parseConfig({ server: { oauth_token_url: 'ftp://x' }, accounts: [{ name: 'max', auth: 'oauth' }] }, { env: {} })).toThrow(/server\.oauth_token_url/);
  });
});
