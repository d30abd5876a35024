/**
 * The kill matrix of the claims catalogue against the named mutants (src/claims/mutants.ts).
 *   npm run mutants -- [--size smoke|full] [--json] [--workers N] [--claims ID,...] [--mutants ID,...] [--out FILE]
 * Prints the matrix (or, with --json, one object { claims, mutants, killed, ... }) and its findings
 * (stderr). Exit 1 when a claim misses a mutant it declares or fails on the code as it is; the
 * other gaps (a claim that kills nothing, a mutant nothing kills) are findings, listed, exit 0.
 */
import { parseArgs } from 'node:util';
import { CLAIMS } from '../proofs-checks/index.ts';
import { killMatrixFindings, killMatrixTable, runKillMatrix } from '../src/claims/mutants.ts';
import { MUTANTS, type MutantId } from '../src/core/mutants.ts';
import { writeFileAtomic } from '../src/io/atomic.ts';

const { values } = parseArgs({ options: {
  size: { type: 'string', default: 'smoke' }, json: { type: 'boolean' }, workers: { type: 'string' },
  claims: { type: 'string' }, mutants: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' },
} });
const fail = (m: string): never => { process.stderr.write(`mutants: ${m}\n`); process.exit(2); };
const size = values.size === 'smoke' || values.size === 'full' ? values.size : fail(`--size must be smoke or full, got '${values.size}'`);
const workers = values.workers === undefined ? undefined : /^[1-9]\d*$/.test(values.workers) ? Number(values.workers) : fail(`--workers must be a positive integer, got '${values.workers}'`);
const mutants = values.mutants?.split(',').map((m) => (m in MUTANTS ? m as MutantId : fail(`unknown mutant '${m}' (one of ${Object.keys(MUTANTS).join(', ')})`)));
const claims = values.claims?.split(',');
for (const c of claims ?? []) if (!CLAIMS.some((x) => x.id.startsWith(c))) fail(`no claim id starts with '${c}'`);
const t0 = Date.now();
const m = await runKillMatrix(CLAIMS, {
  size, ...(workers ? { workers } : {}), ...(mutants ? { mutants } : {}), ...(claims ? { claims } : {}),
  onProgress: values.quiet ? undefined : (done, total, text) => process.stderr.write(`[mutants ${Math.round((Date.now() - t0) / 1000)} s] ${done}/${total} ${text}\n`),
});
const json = JSON.stringify({
  claims: m.claims, mutants: m.mutants, killed: m.killed, declared: m.declared, missing: m.missing,
  claimsWithoutKill: m.claimsWithoutKill, mutantsNotKilled: m.mutantsNotKilled, baselineFailures: m.baselineFailures,
  baseline: m.baseline, cells: m.cells, size: m.size, seed: m.seed, workers: m.workers, seconds: m.seconds,
}, null, 1);
if (values.out) writeFileAtomic(values.out, `${json}\n`, { overwrite: true });
if (values.json) process.stdout.write(`${json}\n`);
else process.stdout.write(`${killMatrixTable(m)}\n\n${m.claims.length} claims x ${m.mutants.length} mutants, ${m.seconds.toFixed(0)} s on ${m.workers} workers (size ${size})\n`);
const findings = killMatrixFindings(m);
for (const f of findings) process.stderr.write(`finding: ${f}\n`);
process.exitCode = m.missing.length > 0 || m.baselineFailures.length > 0 ? 1 : 0;
