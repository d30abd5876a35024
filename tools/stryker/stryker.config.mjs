// Stryker Mutator configuration (mutation testing of src/objectives, src/estimators, src/samplers,
// src/optima). Run from the repository root: `npm run mutation` (installs this folder's pinned
// Stryker first), or, once installed,
//   tools/stryker/node_modules/.bin/stryker run tools/stryker/stryker.config.mjs --mutate 'src/optima/**/*.ts'
// Not a CI gate; scores and run times are recorded in benchmarks/README.md ("Mutation testing").
//
// vitest is NOT installed in this folder (.npmrc: legacy-peer-deps): the vitest runner resolves the
// root's node_modules/vitest, the same copy the tests import. Run `npm ci` in the root first.
// One run's reports (and incremental state) are named by STRYKER_REPORT (default "mutation"), so
// runs over different folders can go side by side: reports/mutation/<name>.{html,json,incremental.json}.
const name = process.env.STRYKER_REPORT || 'mutation';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: {
    configFile: 'tools/stryker/vitest.config.ts',
    related: true,
  },
  coverageAnalysis: 'perTest',
  // 2 cores: one vitest worker per core.
  concurrency: 2,
  mutate: [
    'src/objectives/**/*.ts',
    'src/estimators/**/*.ts',
    'src/samplers/**/*.ts',
    'src/optima/**/*.ts',
  ],
  // Error-message strings are not behaviour the suites should pin (every throw is tested for its
  // error class, not its wording): mutating them only adds equivalent mutants.
  mutator: { excludedMutations: ['StringLiteral'] },
  // Module-level constants would need a full module reload per mutant (hours on 2 cores).
  ignoreStatic: true,
  // The suites are numerical and the machine may be loaded several times over.
  timeoutMS: 20_000,
  timeoutFactor: 2,
  dryRunTimeoutMinutes: 30,
  // Stryker rewrites the sandbox's tsconfig.json with the TypeScript JS API, which the root's
  // TypeScript 7 (native tsc) does not have; nothing here needs it (no typescript checker, tsconfig
  // has no `extends`/`references`), so point it at a file that does not exist.
  tsconfigFile: 'tools/stryker/no-tsconfig.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['dist', 'results', 'docs', 'notebooks', 'reports', '.stryker-tmp', 'tools/typedoc/node_modules'],
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  // `--incremental` (used by `npm run mutation`) re-tests only mutants whose code or covering tests changed.
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 80, low: 60, break: null },
};
