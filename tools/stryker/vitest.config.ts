/**
 * The vitest configuration Stryker runs (tools/stryker/stryker.config.mjs): the repository's own
 * vitest.config.ts (its global setup, which builds the WebAssembly kernels, and its timeouts), with
 * the test files narrowed to the suites that exercise the mutated folders. Stryker's vitest runner
 * narrows further per mutant (vitest "related" mode and per-test coverage).
 *
 * Left out: the independent re-implementations, the reliability and gpujs suites, and anything
 * slow or unrelated to src/objectives, src/estimators, src/samplers, src/optima.
 *
 * STRYKER_TESTS (a comma-separated list of globs relative to the repository root) replaces the
 * default list, e.g. to run one folder's mutants against that folder's tests only.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import base from '../../vitest.config.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

const DEFAULT_TESTS = [
  'tests/objectives/**/*.test.ts',
  'tests/estimators/**/*.test.ts',
  'tests/samplers/**/*.test.ts',
  'tests/optima/**/*.test.ts',
];

const include = process.env.STRYKER_TESTS ? process.env.STRYKER_TESTS.split(',').map((s) => s.trim()).filter(Boolean) : DEFAULT_TESTS;

export default mergeConfig(
  base,
  defineConfig({
    root,
    test: {
      // Stryker switches mutants at run time (globalThis.__stryker__), so a test file's module graph
      // need not be re-imported for every mutant: without isolation the workers keep it.
      isolate: false,
      include,
      exclude: ['**/node_modules/**', 'tests/independent/**', 'tests/reliability/**', 'tests/backend/gpujs.test.ts'],
    },
  }),
);
