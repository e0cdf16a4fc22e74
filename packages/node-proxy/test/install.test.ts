/**
 * What an install needs besides the code: the license and the links in every published package,
 * and @shunt/store-redis (with ioredis) kept out of a plain proxy install. The install itself (the
 * packed tarballs installed together, `shunt` on PATH) runs in CI: scripts/install-from-checkout.sh.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PUBLISHED = ['core', 'node-proxy', 'store-redis'];

interface Manifest {
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const manifest = async (dir: string): Promise<Manifest> => JSON.parse(await readFile(join(root, dir, 'package.json'), 'utf8')) as Manifest;

describe('the published packages', () => {
  it('should each carry the MIT license file and the repository, homepage and bugs links', async () => {
    const license = await readFile(join(root, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n/);
    const rootRepo = (await manifest('.')).repository?.url;
    expect(rootRepo).toMatch(/^git\+https:\/\/.+\.git$/);
    for (const name of PUBLISHED) {
      const dir = join('packages', name);
      // npm packs a LICENSE file from the package's own folder whatever `files` says.
      expect(await readFile(join(root, dir, 'LICENSE'), 'utf8'), name).toBe(license);
      const pkg = await manifest(dir);
      expect(pkg.license, name).toBe('MIT');
      expect(pkg.repository, name).toEqual({ type: 'git', url: rootRepo, directory: dir });
      expect(pkg.homepage, name).toMatch(new RegExp(`/tree/main/${dir}#readme$`));
      expect(pkg.bugs?.url, name).toMatch(/\/issues$/);
    }
  });

  it('should make @shunt/store-redis an optional peer of the proxy, not a dependency', async () => {
    const pkg = await manifest('packages/node-proxy');
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('@shunt/store-redis');
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('ioredis');
    expect(pkg.peerDependencies?.['@shunt/store-redis']).toBeDefined();
    expect(pkg.peerDependenciesMeta?.['@shunt/store-redis']?.optional).toBe(true);
  });

  it('should document both install paths', async () => {
    const proxyDoc = await readFile(join(root, 'docs', 'proxy.md'), 'utf8');
    expect(proxyDoc).toContain('npm i -g @shunt/node-proxy');
    expect(proxyDoc).toContain('scripts/install-from-checkout.sh');
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    expect(readme).toContain('scripts/install-from-checkout.sh');
  });
});
