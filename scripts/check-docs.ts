/**
 * Every code block in the docs runs in CI (`pnpm check:docs`, after `pnpm build`). It reads the
 * ```ts, ```js and ```sh blocks of README.md, docs/*.md and each package's and example's README:
 *
 * - ts/js blocks are typechecked (strict, against the built packages, as a user's project would
 *   see them) and then run with Node, each in a scratch folder; a block marked `typecheck` is only
 *   typechecked.
 * - sh blocks are parsed (`bash -n`); every `shunt …`, `pnpm shunt …` and `pnpm sim …` command must name a command
 *   and flags that its `--help` lists, every `pnpm X` a script that exists, and every `npm i @shunt/x`
 *   a package of the workspace. (Running them would start servers or install from npm.)
 * - The package table in docs/architecture.md must list each package's real dependencies.
 *
 * Markers are HTML comments on the lines right above a block, each with its reason where it
 * narrows the check:
 *
 *   <!-- docs-check: skip: an illustration of X, not a program -->
 *   <!-- docs-check: typecheck: needs a running proxy on 127.0.0.1:8082 -->
 *   <!-- docs-check: file weekly-first.ts -->      (later blocks of the page may import it)
 *   <!-- docs-check: output alice -->              (what the run must print)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

const repo = join(import.meta.dirname, '..');
const scratch = join(repo, '.docs-check');

/** One fenced block and what its markers ask. */
interface Block {
  readonly doc: string;
  /** 1-based line of the block's first code line. */
  readonly line: number;
  readonly lang: 'ts' | 'js' | 'sh';
  readonly code: string;
  readonly skip: string | null;
  readonly typecheckOnly: string | null;
  readonly file: string | null;
  readonly output: string | null;
}

const docs = [
  'README.md',
  ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
  ...['packages', 'examples'].flatMap((dir) =>
    readdirSync(join(repo, dir))
      .map((name) => `${dir}/${name}/README.md`)
      .filter((path) => existsSync(join(repo, path))),
  ),
  'traces/README.md',
];

const problems: string[] = [];
/** The blocks (`doc:line`) behind those problems, for the closing count. */
const failedBlocks = new Set<string>();
/** `--help` texts by command line: each CLI starts once per command, however often the docs name it. */
const helpCache = new Map<string, string | null>();
const blocks = docs.flatMap(extractBlocks);
const skipped = blocks.filter((b) => b.skip !== null);
const code = blocks.filter((b) => b.skip === null && b.lang !== 'sh');
const shell = blocks.filter((b) => b.skip === null && b.lang === 'sh');

for (const corePath of ['packages/core/dist/index.js', 'packages/node-proxy/dist/cli.js']) {
  if (!existsSync(join(repo, corePath))) fail(`${corePath} is missing: run \`pnpm build\` first`);
}

prepareScratch();
try {
  const files = code.map(writeBlock);
  typecheck(files);
  let ran = 0;
  for (const [i, block] of code.entries()) {
    if (block.typecheckOnly !== null) continue;
    runBlock(block, files[i] as string);
    ran++;
  }
  for (const block of shell) checkShell(block);
  checkArchitectureTable();

  console.log(`docs: ${String(blocks.length)} code blocks in ${String(docs.length)} files`);
  console.log(`  ${String(ran)} ts/js run, ${String(code.length - ran)} typechecked only, ${String(shell.length)} sh checked, ${String(skipped.length)} skipped:`);
  for (const block of [...code.filter((b) => b.typecheckOnly !== null), ...skipped]) {
    console.log(`  - ${where(block)} ${block.skip === null ? 'typecheck only' : 'skipped'}: ${block.skip ?? block.typecheckOnly ?? ''}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
if (problems.length > 0) {
  for (const problem of problems) console.error(`✗ ${problem}`);
  // The architecture table counts as one more check beside the blocks.
  const failed = failedBlocks.size + (problems.some((p) => p.startsWith('docs/architecture.md:')) ? 1 : 0);
  console.log(`check:docs: ${String(blocks.length - skipped.length + 1 - failed)} passed, ${String(failed)} failed`);
  process.exit(1);
}
console.log(`check:docs: ${String(blocks.length - skipped.length + 1)} passed, 0 failed, ${String(skipped.length)} skipped`);

function extractBlocks(doc: string): Block[] {
  const lines = readFileSync(join(repo, doc), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i] as string);
    if (open === null) continue;
    const end = lines.findIndex((l, k) => k > i && /^```\s*$/.test(l));
    if (end === -1) fail(`${doc}:${String(i + 1)}: a code block that never closes`);
    const lang = ({ ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', sh: 'sh', bash: 'sh', shell: 'sh' } as const)[open[1] as 'ts'];
    if (lang !== undefined) {
      const markers: string[] = [];
      for (let k = i - 1; k >= 0 && /^<!-- docs-check: .* -->$/.test(lines[k] as string); k--) {
        markers.push((lines[k] as string).replace(/^<!-- docs-check: /, '').replace(/ -->$/, ''));
      }
      const marker = (name: string): string | null => {
        const found = markers.find((m) => m === name || m.startsWith(`${name}:`) || m.startsWith(`${name} `));
        if (found === undefined) return null;
        const value = found.slice(name.length).replace(/^[: ]\s*/, '').trim();
        if (value === '') fail(`${doc}:${String(i)}: the docs-check marker "${name}" needs a reason or a value`);
        return value;
      };
      out.push({
        doc,
        line: i + 2,
        lang,
        code: lines.slice(i + 1, end).join('\n'),
        skip: marker('skip'),
        typecheckOnly: marker('typecheck'),
        file: marker('file'),
        output: marker('output'),
      });
    }
    i = end;
  }
  return out;
}

/** A folder at the repository root whose node_modules holds the workspace's packages, as installed. */
function prepareScratch(): void {
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(join(scratch, 'node_modules/@shunt'), { recursive: true });
  for (const name of readdirSync(join(repo, 'packages'))) {
    symlinkSync(join(repo, 'packages', name), join(scratch, 'node_modules/@shunt', name));
  }
  // The SDK the proxy's docs use, from the package that depends on it.
  mkdirSync(join(scratch, 'node_modules/@anthropic-ai'));
  symlinkSync(realpathSync(join(repo, 'sim/node_modules/@anthropic-ai/sdk')), join(scratch, 'node_modules/@anthropic-ai/sdk'));
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  // A user's strict project: the repository's settings, but resolving packages to their dist/.
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      extends: '../tsconfig.json',
      compilerOptions: { customConditions: [], types: ['node'], lib: ['ES2023', 'DOM'], isolatedDeclarations: false, noUnusedLocals: false },
      include: ['**/*.ts', '**/*.js'],
      exclude: ['node_modules'],
    }),
  );
}

function writeBlock(block: Block): string {
  const ext = block.lang === 'ts' ? 'ts' : 'mjs';
  const dir = join(scratch, block.doc.replace(/[/.]/g, '_'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, block.file ?? `line-${String(block.line)}.${ext}`);
  // `export {}` keeps a block with no import a module, so top-level await and names stay local.
  writeFileSync(file, `${block.code}\n${block.lang === 'ts' ? 'export {};\n' : ''}`);
  return file;
}

function typecheck(files: readonly string[]): void {
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: scratch, encoding: 'utf8' });
  if (result.status === 0) return;
  for (const line of result.stdout.split('\n').filter((l) => /error TS/.test(l))) {
    const match = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line);
    const index = match === null ? -1 : files.findIndex((f) => relative(scratch, f) === match[1]);
    const block = code[index];
    if (block !== undefined) failedBlocks.add(where(block));
    problems.push(block === undefined || match === null ? line : `${block.doc}:${String(block.line + Number(match[2]) - 1)}: ${match[4] ?? ''}`);
  }
}

function runBlock(block: Block, file: string): void {
  const before = problems.length;
  const result = spawnSync(process.execPath, ['--import', 'tsx', basename(file)], {
    cwd: dirname(file),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (result.status !== 0) {
    problems.push(`${where(block)}: exited ${String(result.status ?? result.signal)}:\n${(result.stderr || result.stdout).split('\n').slice(0, 12).join('\n')}`);
  } else if (block.output !== null && !result.stdout.includes(block.output)) {
    problems.push(`${where(block)}: printed ${JSON.stringify(result.stdout.trim())}, not ${JSON.stringify(block.output)}`);
  }
  if (problems.length > before) failedBlocks.add(where(block));
}

/** Commands in sh blocks that this repository defines must exist, with the flags they are given. */
function checkShell(block: Block): void {
  const before = problems.length;
  const syntax = spawnSync('bash', ['-n'], { input: block.code, encoding: 'utf8' });
  if (syntax.status !== 0) problems.push(`${where(block)}: not valid shell: ${syntax.stderr.trim()}`);
  const scripts = Object.keys((readJson('package.json')['scripts'] ?? {}) as object);
  const workspacePackages = ['core', 'node-proxy', 'store-redis'].map((p) => readJson(`packages/${p}/package.json`)['name']);
  for (const [offset, raw] of block.code.split('\n').entries()) {
    const at = `${block.doc}:${String(block.line + offset)}`;
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    for (const command of line.split(/&&|\|\||[|;]/)) {
      const words = command.trim().replace(/^\w+\$\s+/, '').split(/\s+/).filter((w) => w !== '' && !/^[A-Z_]+=/.test(w));
      const [tool, ...args] = words;
      if (tool === 'shunt' || (tool === 'npx' && args[0] === '@shunt/node-proxy')) {
        checkFlags(at, tool === 'npx' ? args.slice(1) : args, 'shunt', (sub) => helpOf(['packages/node-proxy/dist/cli.js', ...sub, '--help']));
      } else if (tool === 'pnpm') {
        const [script, ...rest] = args;
        if (script === undefined || ['install', 'i', 'test', 'exec', 'add', '--filter'].includes(script)) continue;
        if (!scripts.includes(script)) problems.push(`${at}: \`pnpm ${script}\` is not a script in package.json`);
        else if (script === 'shunt') checkFlags(at, rest, 'pnpm shunt', (sub) => helpOf(['packages/node-proxy/dist/cli.js', ...sub, '--help']));
        else if (script === 'sim' || script === 'sim:gen') {
          const cli = script === 'sim' ? 'sim/src/cli.ts' : 'sim/src/gen-cli.ts';
          checkFlags(at, rest, `pnpm ${script}`, () => helpOf(['--conditions=@shunt/source', '--import', 'tsx', cli, '--help']), false);
        }
      } else if (tool === 'npm' && ['i', 'install'].includes(args[0] ?? '')) {
        for (const name of args.filter((a) => a.startsWith('@shunt/'))) {
          if (!workspacePackages.includes(name)) problems.push(`${at}: ${name} is not a package of this repository`);
        }
      }
    }
  }
  if (problems.length > before) failedBlocks.add(where(block));
}

/** `args`' subcommand (when `subcommands`) and every `--flag` must appear in the tool's help. */
function checkFlags(at: string, args: readonly string[], tool: string, help: (sub: string[]) => string | null, subcommands = true): void {
  const sub = subcommands && args[0] !== undefined && !args[0].startsWith('-') ? [args[0]] : [];
  const text = help(sub);
  if (text === null) {
    problems.push(`${at}: \`${[tool, ...sub].join(' ')} --help\` fails: no such command`);
    return;
  }
  for (const flag of args.filter((a) => /^--?[a-zA-Z]/.test(a)).map((a) => a.split('=')[0] as string)) {
    if (!new RegExp(`(^|[\\s,\\[])${flag}\\b`).test(text)) problems.push(`${at}: \`${[tool, ...sub].join(' ')}\` has no ${flag} in its --help`);
  }
}

function helpOf(args: readonly string[]): string | null {
  const key = args.join(' ');
  if (!helpCache.has(key)) {
    const result = spawnSync(process.execPath, args, { cwd: repo, encoding: 'utf8', timeout: 60_000 });
    helpCache.set(key, result.status === 0 ? `${result.stdout}\n${result.stderr}` : null);
  }
  return helpCache.get(key) ?? null;
}

/** docs/architecture.md's "Depends on" column names each package's runtime dependencies, no more. */
function checkArchitectureTable(): void {
  const doc = readFileSync(join(repo, 'docs/architecture.md'), 'utf8');
  const rows: [string, string][] = [
    ['`@shunt/core`', 'packages/core/package.json'],
    ['`sim/` (private)', 'sim/package.json'],
    ['`@shunt/node-proxy`', 'packages/node-proxy/package.json'],
    ['`@shunt/store-redis`', 'packages/store-redis/package.json'],
  ];
  for (const [label, manifest] of rows) {
    const row = doc.split('\n').find((l) => l.startsWith(`| ${label} |`));
    if (row === undefined) {
      problems.push(`docs/architecture.md: no package-table row for ${label}`);
      continue;
    }
    const listed = (row.split('|')[3] ?? '').split(',').map((d) => d.trim().replace(/\s*\(.*\)$/, '')).filter((d) => d !== '' && d !== 'nothing').sort();
    const deps = Object.keys((readJson(manifest)['dependencies'] ?? {}) as object)
      .map((d) => (d.startsWith('@shunt/') ? d.slice('@shunt/'.length) : d))
      .sort();
    if (JSON.stringify(listed) !== JSON.stringify(deps)) {
      problems.push(`docs/architecture.md: ${label} depends on ${deps.join(', ') || 'nothing'} (${manifest}), the table says ${listed.join(', ') || 'nothing'}`);
    }
  }
}

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(repo, path), 'utf8')) as Record<string, unknown>;
}

function where(block: Block): string {
  return `${block.doc}:${String(block.line)} (${block.lang})`;
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

