// @shunt/core must run unchanged in Node, Bun, Deno, Workers and browsers, and stay pure.
// These tests guard the package manifest and the source; test/portability-vm.test.ts runs the
// built bundle in a context that has no Node globals at all.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;

// The routing core. `src/testing/` is the `@shunt/core/testing` entry, for a gateway's own test
// suite: it runs under vitest with fast-check, its optional peers, and nowhere else.
const sourceFiles = listFiles(join(root, 'src')).filter(
  (file) => file.endsWith('.ts') && !/\.(test|spec|bench)\.ts$/.test(file) && !relative(join(root, 'src'), file).startsWith('testing'),
);

describe('@shunt/core portability', () => {
  it('should declare no runtime dependencies', () => {
    for (const key of ['dependencies', 'optionalDependencies', 'bundleDependencies']) {
      expect(manifest[key], `package.json must not have "${key}"`).toBeUndefined();
    }
    // Only the testing entry's peers, and optional: installing @shunt/core never pulls them in.
    expect(Object.keys(manifest['peerDependencies'] as object).sort()).toEqual(['fast-check', 'vitest']);
    expect(manifest['peerDependenciesMeta']).toEqual({ 'fast-check': { optional: true }, vitest: { optional: true } });
  });

  it('should find the library sources it guards', () => {
    expect(sourceFiles.length).toBeGreaterThan(5);
  });

  it('should not import node: modules (or any bare package) statically', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles) {
      const code = stripComments(readFileSync(file, 'utf8'));
      for (const match of code.matchAll(/\b(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|\brequire\s*\(/g)) {
        const specifier = match[1] ?? match[2] ?? 'require(';
        if (!specifier.startsWith('./') && !specifier.startsWith('../')) {
          offenders.push(`${relative(root, file)}: ${specifier}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });

  it('should not read the clock, draw randomness or set timers itself', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles) {
      const code = stripComments(readFileSync(file, 'utf8'));
      for (const match of code.matchAll(/\b(?:Date\.now\s*\(|new Date\s*\(\s*\)|Math\.random\s*\(|performance\.now\s*\(|setTimeout\s*\(|setInterval\s*\(|queueMicrotask\s*\(|crypto\.getRandomValues\s*\()/g)) {
        offenders.push(`${relative(root, file)}: ${match[0]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

function stripComments(code: string): string {
  // Good enough for this codebase: JSDoc examples mention Date.now() and imports in comments.
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}
