/**
 * The CLI entry point the reliability suite spawns (`node --import tsx tests/reliability/entry.ts ...`):
 * bin/contrastlab.mjs, but on the TypeScript sources instead of the compiled dist/.
 *
 * Test hook: when CONTRASTLAB_TEST_READY names a file, it is created once every module is loaded,
 * just before main() runs, so a test can time a signal or a race against the command's own work
 * rather than against module loading.
 */
import { writeFileSync } from 'node:fs';
import { main } from '../../src/cli/main.ts';
import { processIO } from '../../src/cli/io.ts';

const ready = process.env.CONTRASTLAB_TEST_READY;
// main() loads a command's module when it runs; load them all first so "ready" means the command
// starts its work at once (a race test times itself from the marker).
if (ready) {
  await Promise.all(['bias', 'check', 'eval', 'optimum', 'report', 'run', 'solve'].map((c) => import(`../../src/cli/commands/${c}.ts`)));
}
if (ready) writeFileSync(ready, `${process.pid}\n`);
process.exitCode = await main(process.argv.slice(2), processIO);
