/**
 * @module
 * The Rust shunt's commands that have no counterpart here, each with a one-line pointer to what
 * replaces it, so a Rust user's habit gets an answer instead of "unknown command". The commands
 * that do exist here (`start`, `status`, `use`, `stop`, `strategy`, `service`, …) are in cli.ts;
 * docs/proxy.md's migration section lists both, and a test keeps the three in step.
 */

/** Rust command → what to do instead (one line, exit 2). */
export const RUST_POINTERS: Readonly<Record<string, string>> = Object.freeze({
  setup:
    'write ~/.config/shunt/config.toml (docs/proxy.md#configuration), then `shunt import-claude-code <account>` or `shunt login <account>`, and `shunt service install` to run it at login',
  restart: 'restart the service: `systemctl --user restart shunt` (Linux) or `launchctl kickstart -k gui/$(id -u)/sh.shunt.proxy` (macOS); in a terminal, Ctrl-C and `shunt start` again',
  logs: 'shunt logs JSON lines to stderr: `journalctl --user -u shunt -f` under systemd, `tail -f ~/Library/Logs/shunt.log` under launchd',
  config: 'edit the configuration file (docs/proxy.md#configuration) and restart shunt; `shunt login <account>` logs a subscription account in',
  'add-account': 'add an [[accounts]] entry to the configuration file, then `shunt login <account>` (subscription) or set its api_key_env variable',
  'remove-account': 'delete the [[accounts]] entry from the configuration file (and its entry from the credentials file) and restart shunt',
  logout: "delete the account's entry from the credentials file (server.credentials_path) and restart shunt",
  model: 'model overrides are not supported: shunt forwards the model each request names',
  monitor: '`shunt status` shows the accounts (`watch -n 2 shunt status` to follow them); GET /metrics serves Prometheus series',
  share: 'not supported: to share the proxy, bind it with server.host, remote_key and control_token (docs/proxy.md#security)',
  connect: 'not supported: point the client at the shared proxy with ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY (the remote_key)',
  disconnect: 'not supported: unset ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY where you set them',
  live: 'not supported: put shunt behind your own tunnel or reverse proxy, with remote_key set (docs/proxy.md#security)',
  relay: 'not supported: put shunt behind your own tunnel or reverse proxy, with remote_key set (docs/proxy.md#security)',
  update: 'update with npm: `npm i -g @shunt/node-proxy@latest`, or `git pull && pnpm install` in a checkout',
  uninstall: '`shunt service uninstall`, then `npm rm -g @shunt/node-proxy`; your configuration stays in ~/.config/shunt',
  report: '`shunt --version` and `shunt status --json` (it holds no credentials) say what a bug report needs',
});
