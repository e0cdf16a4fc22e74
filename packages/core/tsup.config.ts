import { defineConfig } from 'tsup';

// Kept minimal on purpose (tsup is unmaintained upstream): a later move to tsdown stays mechanical.
export default defineConfig({
  entry: { index: 'src/index.ts', 'trace/index': 'src/trace/index.ts', 'testing/index': 'src/testing/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
});
