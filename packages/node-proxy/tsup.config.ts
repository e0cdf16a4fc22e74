import { defineConfig } from 'tsup';

// Kept minimal on purpose (tsup is unmaintained upstream): a later move to tsdown stays mechanical.
// cli.ts starts with a shebang, which esbuild keeps, so dist/cli.js runs as the `shunt` bin.
export default defineConfig({
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  target: 'node20',
  sourcemap: true,
});
