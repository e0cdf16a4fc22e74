/**
 * @module
 * `shunt service install`: a systemd user unit (Linux) or a launchd agent (macOS) that runs
 * `shunt start --foreground` at login, at the paths the Rust shunt used, so its users can keep
 * their habits. The command line is this very process's (node, its flags, the CLI script), made
 * absolute, so the unit starts the same shunt from any working directory.
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Which service manager a file is for. */
export type ServicePlatform = 'systemd' | 'launchd';

/** A service file to write: where, and what. */
export interface ServiceFile {
  readonly platform: ServicePlatform;
  /** Where it goes (`~/.config/systemd/user/shunt.service`, `~/Library/LaunchAgents/sh.shunt.proxy.plist`). */
  readonly path: string;
  readonly content: string;
  /** The commands that load and start it, one per line. */
  readonly enable: readonly string[];
  /** The commands that stop and unload it, one per line. */
  readonly disable: readonly string[];
}

/** Options for {@link serviceFile}. */
export interface ServiceOptions {
  readonly platform: ServicePlatform;
  /** The command that runs shunt: node, its flags, the CLI script (absolute). */
  readonly command: readonly string[];
  /** The configuration file (absolute). */
  readonly configPath: string;
  /** The home directory. @default os.homedir() */
  readonly home?: string | undefined;
  /** `$XDG_CONFIG_HOME`, when set. */
  readonly xdgConfigHome?: string | undefined;
}

/** The launchd label (the Rust shunt's). */
export const LAUNCHD_LABEL = 'sh.shunt.proxy';

/** The service file for `platform`, running `command start --foreground --config configPath`. */
export function serviceFile(options: ServiceOptions): ServiceFile {
  const home = options.home ?? homedir();
  const args = [...options.command, 'start', '--foreground', '--config', options.configPath];
  if (options.platform === 'systemd') {
    const xdg = options.xdgConfigHome !== undefined && isAbsolute(options.xdgConfigHome) ? options.xdgConfigHome : join(home, '.config');
    const content = [
      '# Written by `shunt service install`. Secrets: put KEY=value lines (your api_key_env variables)',
      `# in ${join(dirname(options.configPath), 'env')} (mode 0600), or use the credentials file.`,
      '[Unit]',
      'Description=shunt: several Claude accounts behind one endpoint',
      'After=network-online.target',
      '',
      '[Service]',
      'Type=simple',
      `EnvironmentFile=-${systemdEscape(join(dirname(options.configPath), 'env'))}`,
      `ExecStart=${args.map(systemdQuote).join(' ')}`,
      // A configuration error (exit 2) would fail the same way every 5 s: not restarted.
      'Restart=on-failure',
      'RestartSec=5',
      'RestartPreventExitStatus=2',
      // SIGTERM finishes requests under way for up to 10 s, then saves the state (15 s at most).
      'KillMode=mixed',
      'TimeoutStopSec=20',
      '',
      '[Install]',
      'WantedBy=default.target',
      '',
    ].join('\n');
    return {
      platform: 'systemd',
      path: join(xdg, 'systemd', 'user', 'shunt.service'),
      content,
      enable: ['systemctl --user daemon-reload', 'systemctl --user enable --now shunt', 'journalctl --user -u shunt -f   # its log'],
      disable: ['systemctl --user disable --now shunt', 'systemctl --user daemon-reload'],
    };
  }
  const log = join(home, 'Library', 'Logs', 'shunt.log');
  const path = join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
  const content = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `shunt service install`. launchd passes no shell variables: keep API keys in the',
    '     credentials file (server.credentials_path), or add them under EnvironmentVariables. -->',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>\n  <string>${LAUNCHD_LABEL}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...args.map((arg) => `    <string>${xmlEscape(arg)}</string>`),
    '  </array>',
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    `    <key>HOME</key>\n    <string>${xmlEscape(home)}</string>`,
    '  </dict>',
    '  <key>RunAtLoad</key>\n  <true/>',
    // Restarted when it fails, not when it was stopped on purpose.
    '  <key>KeepAlive</key>\n  <dict>\n    <key>SuccessfulExit</key>\n    <false/>\n  </dict>',
    `  <key>StandardOutPath</key>\n  <string>${xmlEscape(log)}</string>`,
    `  <key>StandardErrorPath</key>\n  <string>${xmlEscape(log)}</string>`,
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
  return {
    platform: 'launchd',
    path,
    content,
    enable: [`launchctl bootstrap gui/$(id -u) ${shellQuote(path)}`, `tail -f ${shellQuote(log)}   # its log`],
    disable: [`launchctl bootout gui/$(id -u)/${LAUNCHD_LABEL}`],
  };
}

/**
 * The command line that runs this shunt again: node, its flags (a bare `--import tsx` made an
 * absolute URL, so the unit does not depend on the working directory), and the CLI script.
 */
export function currentCommand(execPath: string = process.execPath, execArgv: readonly string[] = process.execArgv, script: string | undefined = process.argv[1], cwd: string = process.cwd()): string[] {
  if (script === undefined) throw new Error('cannot tell which script is running');
  const require = createRequire(join(cwd, 'noop.js'));
  const flags: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    const inline = /^--(import|require|loader|experimental-loader)=(.*)$/.exec(arg);
    if (inline !== null) {
      flags.push(`--${inline[1]}=${absoluteSpecifier(inline[2] as string, require)}`);
    } else if (/^--(import|require|loader|experimental-loader)$/.test(arg) && i + 1 < execArgv.length) {
      flags.push(arg, absoluteSpecifier(execArgv[++i] as string, require));
    } else if (!arg.startsWith('--inspect')) {
      flags.push(arg);
    }
  }
  return [execPath, ...flags, realpathOr(isAbsolute(script) ? script : join(cwd, script))];
}

/** Split an `ExecStart=` value as systemd does (double quotes, backslash escapes). For tests and `shunt service`. */
export function systemdSplit(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === ' ') i++;
    if (i >= line.length) break;
    let word = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') i++;
        word += line[i++] ?? '';
      }
      i++;
    } else {
      while (i < line.length && line[i] !== ' ') word += line[i++];
    }
    out.push(word.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return out;
}

function absoluteSpecifier(specifier: string, require: NodeJS.Require): string {
  if (specifier.startsWith('file:') || specifier.startsWith('data:') || specifier.startsWith('node:') || isAbsolute(specifier)) return specifier;
  try {
    return pathToFileURL(require.resolve(specifier)).href;
  } catch {
    return specifier;
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** `%` and `$` are systemd specifiers and variables: doubled to stand for themselves. */
function systemdEscape(text: string): string {
  return text.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

function systemdQuote(arg: string): string {
  const escaped = systemdEscape(arg);
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
