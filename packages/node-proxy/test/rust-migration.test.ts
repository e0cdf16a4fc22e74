/**
 * The Rust shunt drop-in, held to its documentation: every Rust command gets an answer (the command
 * itself, or a one-line pointer), and docs/proxy.md's migration section names every Rust command
 * and config key. The lists are the Rust CLI and config of 0.1.127 (seed-spec §3 and §12).
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUST_POINTERS } from '../src/rust-commands.js';
import { runMain } from './helpers.js';

const RUST_COMMANDS = [
  'setup', 'start', 'stop', 'restart', 'status', 'logs', 'config', 'add-account', 'remove-account', 'logout', 'use', 'model',
  'strategy', 'monitor', 'share', 'connect', 'disconnect', 'update', 'uninstall', 'service', 'report', 'live', 'relay',
];
const RUST_SERVER_KEYS = [
  'host', 'port', 'control_port', 'log_level', 'upstream_url', 'remote_key', 'relay_url', 'custom_domain', 'sticky_ttl_minutes',
  'expiry_soon_minutes', 'routing_strategy', 'request_timeout_secs', 'rate_limit_rpm', 'trust_proxy_headers', 'health_check_enabled',
  'health_check_interval_secs', 'health_check_timeout_secs', 'telemetry_url', 'telemetry_token', 'instance_name',
];
const RUST_ACCOUNT_KEYS = ['name', 'plan_type', 'provider', 'api_key', 'api_key_env', 'upstream_url', 'model'];
/** Commands this CLI runs itself (the rest answer with a pointer). */
const HANDLED = ['start', 'stop', 'status', 'use', 'strategy', 'service'];

const docs = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'docs', 'proxy.md');
async function migrationSection(): Promise<string> {
  const text = await readFile(docs, 'utf8');
  const start = text.indexOf('## Coming from the Rust shunt');
  expect(start).toBeGreaterThan(-1);
  return text.slice(start);
}

describe('the Rust shunt commands', () => {
  it('should run each Rust command this proxy has, and point every other at its replacement', async () => {
    for (const command of RUST_COMMANDS) {
      if (HANDLED.includes(command)) {
        const help = await runMain([command, '--help']);
        expect(help.code, command).toBe(0);
        expect(help.out, command).toMatch(/^Usage: shunt /);
      } else {
        expect(RUST_POINTERS[command], command).toBeDefined();
        const answer = await runMain([command, '--some-rust-flag']);
        expect(answer.code, command).toBe(2);
        expect(answer.err, command).toMatch(new RegExp(`^shunt: \`shunt ${command}\` is the Rust shunt's; here: .+\\n$`));
      }
    }
    expect(Object.keys(RUST_POINTERS).filter((command) => !RUST_COMMANDS.includes(command))).toEqual([]);
  });

  it('should refuse start --daemon with a pointer to the service', async () => {
    expect(await runMain(['start', '--daemon'])).toEqual({
      code: 2,
      out: '',
      err: 'shunt: --daemon: shunt does not daemonise itself; run it under a service manager (`shunt service install`)\nRun `shunt start --help`.\n',
    });
  });
});

describe("docs/proxy.md's migration section", () => {
  it('should name every Rust command and every Rust config key', async () => {
    const section = await migrationSection();
    for (const command of RUST_COMMANDS) expect(section, command).toMatch(new RegExp(`\`(shunt )?${command}[\` ]|, \`${command}\``));
    for (const flag of ['--foreground', '--verbose', '--daemon', '--host', '-V']) expect(section, flag).toContain(flag);
    for (const key of RUST_SERVER_KEYS) expect(section, key).toContain(`server.${key}`);
    for (const key of RUST_ACCOUNT_KEYS) expect(section, key).toMatch(new RegExp(`accounts\\.${key}\\b`));
    expect(section).toContain('[model_mapping]');
  });
});
