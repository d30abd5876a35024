/**
 * `contrastlab check --mutants` (development checkout only): the kill matrix of the catalogue against
 * the named mutants (src/claims/mutants.ts). `npm run mutants` runs the same thing.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLAIMS } from '../../../proofs-checks/index.ts';
import { killMatrixFindings, killMatrixTable, runKillMatrix } from '../../claims/mutants.ts';
import type { ClaimSize } from '../../claims/types.ts';
import { ConfigError } from '../../core/errors.ts';
import { MUTANTS, type MutantId } from '../../core/mutants.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import type { CommandIO } from '../io.ts';
import { createProgress } from '../progress.ts';

/** The repository root when this code runs from a development checkout (sources and scripts/mutants.ts present), else null. */
export function developmentRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json'))) return existsSync(join(dir, 'scripts', 'mutants.ts')) && existsSync(join(dir, 'src', 'core', 'mutants.ts')) ? dir : null;
    dir = dirname(dir);
  }
  return null;
}

export interface MutantsOptions {
  readonly size: ClaimSize;
  readonly seed: number;
  readonly claims: readonly string[];
  readonly mutants?: readonly string[];
  readonly workers?: number;
  readonly json: boolean;
  readonly out?: string;
  readonly force: boolean;
  readonly quiet: boolean;
  readonly intervalMs: number;
}

export async function checkMutants(opts: MutantsOptions, io: CommandIO): Promise<number> {
  const op = 'contrastlab check --mutants';
  if (developmentRoot() === null) {
    throw new ConfigError(op, 'the kill matrix runs only in a development checkout of contrastlab (git clone; npm ci; npm run mutants), not from an installed package');
  }
  const mutants = opts.mutants?.map((m) => {
    if (!(m in MUTANTS)) throw new ConfigError(op, `unknown mutant '${m}' (one of ${Object.keys(MUTANTS).join(', ')})`);
    return m as MutantId;
  });
  const bar = createProgress(io, { label: 'mutants', total: CLAIMS.length, unit: 'runs', quiet: opts.quiet, intervalMs: opts.intervalMs });
  let m;
  try {
    m = await runKillMatrix(CLAIMS, {
      size: opts.size, seed: opts.seed, claims: opts.claims, ...(mutants ? { mutants } : {}), ...(opts.workers ? { workers: opts.workers } : {}),
      // The total grows as baselines tell which mutant sites each claim reaches.
      onProgress: (done, total, text) => { bar.setTotal(total); bar.update(done, text); },
    });
    bar.finish();
  } finally {
    bar.close();
  }
  const json = JSON.stringify({
    claims: m.claims, mutants: m.mutants, killed: m.killed, declared: m.declared, missing: m.missing,
    claimsWithoutKill: m.claimsWithoutKill, mutantsNotKilled: m.mutantsNotKilled, baselineFailures: m.baselineFailures,
    size: m.size, seed: m.seed, workers: m.workers, seconds: Math.round(m.seconds * 10) / 10, baseline: m.baseline, cells: m.cells,
  });
  if (opts.out !== undefined) writeFileAtomic(opts.out, `${json}\n`, { overwrite: opts.force, op });
  if (opts.json) io.out(json);
  else io.out(`${killMatrixTable(m)}\n\n${m.claims.length} claims x ${m.mutants.length} mutants: ${m.seconds.toFixed(0)} s on ${m.workers} worker threads (size ${m.size})`);
  for (const f of killMatrixFindings(m)) io.err(`finding: ${f}`);
  return m.missing.length > 0 || m.baselineFailures.length > 0 ? 1 : 0;
}
