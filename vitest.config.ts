import { defineConfig } from 'vitest/config';
import projects from './vitest.workspace.ts';

// CI asks for a JSON summary beside the usual output (see .ci/run); locally only the default reporter runs.
const report = process.env['SHUNT_TEST_REPORT'];

export default defineConfig({
  test: {
    projects,
    ...(report === undefined
      ? {}
      : { reporters: ['default', 'json'], outputFile: { json: report } }),
  },
});
