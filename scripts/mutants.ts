/**
 * The kill matrix of the claims catalogue against the named mutants: `contrastlab check --mutants`.
 *   npm run mutants -- [--size smoke|full] [--json] [--workers N] [--only-mutants ID,...] [--matrix-out FILE] [CLAIM-ID...]
 * See src/claims/mutants.ts (the matrix) and src/core/mutants.ts (the mutants).
 */
import { main } from '../src/cli/main.ts';

process.exitCode = await main(['check', '--mutants', ...process.argv.slice(2)]);
