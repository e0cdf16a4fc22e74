/**
 * The public API report: every published entry point's bundled declarations (tsup's `dist/*.d.ts`,
 * which is what users compile against) copied to `api/<entry>.d.ts` in its package, checked in.
 * A change to the public surface then shows in review as a diff of that file.
 *
 *   pnpm build && pnpm api:report          rewrite the reports
 *   pnpm build && pnpm api:report --check  exit 1, with the diff, when a report is out of date (CI)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

/** Each published package and the declaration files of its entry points, relative to the package. */
const ENTRIES: ReadonlyArray<{ readonly dir: string; readonly files: readonly string[] }> = [
  { dir: 'packages/core', files: ['dist/index.d.ts', 'dist/trace/index.d.ts'] },
  { dir: 'packages/node-proxy', files: ['dist/index.d.ts'] },
  { dir: 'packages/store-redis', files: ['dist/index.d.ts'] },
];

let stale = 0;
for (const { dir, files } of ENTRIES) {
  for (const file of files) {
    const built = join(root, dir, file);
    if (!existsSync(built)) {
      console.error(`api-report: ${join(dir, file)} is missing; run \`pnpm build\` first`);
      process.exit(2);
    }
    const report = join(root, dir, 'api', file.replace(/^dist\//, '').replace(/\/index\.d\.ts$/, '.d.ts'));
    const text = `// The public API of ${JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')).name as string}: written by \`pnpm api:report\`, checked by CI. Review every change.\n${readFileSync(built, 'utf8')}`;
    const current = existsSync(report) ? readFileSync(report, 'utf8') : null;
    if (current === text) continue;
    if (check) {
      stale++;
      console.error(`api-report: ${report.slice(root.length + 1)} is out of date with ${join(dir, file)}:`);
      if (current !== null) {
        const temp = `${report}.new`;
        writeFileSync(temp, text);
        try {
          execFileSync('diff', ['-u', report, temp], { stdio: 'inherit' });
        } catch {
          // diff exits 1 when the files differ: that is the point.
        } finally {
          execFileSync('rm', ['-f', temp]);
        }
      }
      continue;
    }
    mkdirSync(dirname(report), { recursive: true });
    writeFileSync(report, text);
    console.log(`api-report: wrote ${report.slice(root.length + 1)}`);
  }
}
if (stale > 0) {
  console.error(`\napi-report: ${stale} report(s) out of date: the public API changed. Run \`pnpm build && pnpm api:report\`, review the diff, commit it (with a changeset).`);
  process.exit(1);
}
