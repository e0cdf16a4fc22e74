/**
 * The public API report: every declaration file a published package ships (tsup's `dist/**\/*.d.ts`,
 * entry points and shared chunks: what users compile against), gathered into `api-report.md` in the
 * package, checked in.
 * A change to the public surface then shows in review as a diff of that file.
 *
 *   pnpm build && pnpm api:report          rewrite the reports
 *   pnpm build && pnpm api:report --check  exit 1, with the diff, when a report is out of date (CI)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

/** The published packages. */
const PACKAGES: readonly string[] = ['packages/core', 'packages/node-proxy', 'packages/store-redis'];

/** Every declaration file under `dir`, sorted (entry points and the chunks tsup shares between them). */
function declarations(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...declarations(path));
    else if (entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

let stale = 0;
for (const dir of PACKAGES) {
  const dist = join(root, dir, 'dist');
  if (!existsSync(dist)) {
    console.error(`api-report: ${join(dir, 'dist')} is missing; run \`pnpm build\` first`);
    process.exit(2);
  }
  const name = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name as string;
  const sections = declarations(dist).map((file) => `## ${relative(join(root, dir), file)}\n\n\`\`\`ts\n${readFileSync(file, 'utf8').trimEnd()}\n\`\`\`\n`);
  const text = `# Public API of ${name}\n\nWritten by \`pnpm api:report\` from the declarations users compile against; CI fails when it is out of date. Review every change.\n\n${sections.join('\n')}`;
  const report = join(root, dir, 'api-report.md');
  const current = existsSync(report) ? readFileSync(report, 'utf8') : null;
  if (current === text) continue;
  if (check) {
    stale++;
    console.error(`api-report: ${relative(root, report)} is out of date with ${join(dir, 'dist')}:`);
    const temp = `${report}.new`;
    writeFileSync(temp, text);
    try {
      execFileSync('diff', ['-u', current === null ? '/dev/null' : report, temp], { stdio: 'inherit' });
    } catch {
      // diff exits 1 when the files differ: that is the point.
    } finally {
      rmSync(temp, { force: true });
    }
    continue;
  }
  writeFileSync(report, text);
  console.log(`api-report: wrote ${relative(root, report)}`);
}
if (stale > 0) {
  console.error(`\napi-report: ${stale} report(s) out of date: the public API changed. Run \`pnpm build && pnpm api:report\`, review the diff, commit it (with a changeset).`);
  process.exit(1);
}
