/**
 * The kill matrix: every claim of the catalogue run against every named mutant of
 * src/core/mutants.ts. A claim kills a mutant when, with that mistake switched on, its check fails
 * (a wrong verdict, a thrown error, or a run over its time limit, as mutation testers count it)
 * while it passes on the code as it is.
 *
 * Work: one baseline run per claim records which mutant sites the claim reaches; a mutant whose site
 * it never reaches cannot change its result and is reported 'not-reached' without a run. The other
 * (claim, mutant) pairs run on worker threads (default: one per core). Results do not depend on the
 * number of workers: each run is a fresh check with the claim's own seeded generators.
 *
 * Internal: used by scripts/mutants.ts (`npm run mutants`) and `contrastlab check --mutants` in a
 * development checkout; not exported from the package's entry points.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MUTANTS, type MutantId } from '../core/mutants.ts';
import type { ClaimSize } from './types.ts';

export type CellStatus = 'killed' | 'survived' | 'not-reached';

export interface MatrixCell {
  readonly claim: string;
  readonly mutant: MutantId;
  readonly status: CellStatus;
  /** How a kill showed: 'verdict' (the check failed), 'error' (it threw), 'timeout' (over its limit). */
  readonly how?: 'verdict' | 'error' | 'timeout';
  readonly seconds: number;
  readonly summary?: string;
}

export interface BaselineRun {
  readonly claim: string;
  /** The check passed (as expected) on the code as it is. */
  readonly ok: boolean;
  readonly seconds: number;
  readonly reached: readonly MutantId[];
  readonly summary: string;
}

export interface KillMatrix {
  readonly size: ClaimSize;
  readonly seed: number;
  readonly claims: readonly string[];
  readonly mutants: readonly MutantId[];
  readonly baseline: readonly BaselineRun[];
  readonly cells: readonly MatrixCell[];
  /** claim id → the mutants it killed. */
  readonly killed: Readonly<Record<string, readonly MutantId[]>>;
  /** claim id → the mutants it declares (Claim.mutants). */
  readonly declared: Readonly<Record<string, readonly MutantId[]>>;
  /** Declared kills that did not happen (a claim that no longer detects what it says it detects). */
  readonly missing: readonly { claim: string; mutant: MutantId; status: CellStatus }[];
  readonly claimsWithoutKill: readonly string[];
  readonly mutantsNotKilled: readonly MutantId[];
  /** Claims that failed on the code as it is (their row says nothing about mutants). */
  readonly baselineFailures: readonly string[];
  readonly seconds: number;
  readonly workers: number;
}

export interface KillMatrixOptions {
  readonly size: ClaimSize;
  readonly seed?: number;
  /** Claim ids (prefixes) to run; default all. */
  readonly claims?: readonly string[];
  /** Mutants to run; default all. */
  readonly mutants?: readonly MutantId[];
  /** Worker threads (default: available parallelism, at most the number of runs). */
  readonly workers?: number;
  /** Limit of one mutant run: max(minTimeout, factor × the claim's baseline time); defaults 60 s and 20. */
  readonly timeoutFactor?: number;
  readonly minTimeoutSeconds?: number;
  /** Called after each run (done, total runs so far known, text). */
  readonly onProgress?: (done: number, total: number, text: string) => void;
}

/** What a worker receives and returns (see mutantWorker.ts). */
export interface MutantTask { readonly claim: string; readonly mutant: MutantId | null; readonly size: ClaimSize; readonly seed: number }
export interface MutantTaskResult {
  readonly claim: string;
  readonly mutant: MutantId | null;
  readonly ok: boolean;
  readonly error?: string;
  readonly seconds: number;
  readonly reached: readonly string[];
  readonly summary: string;
}

const workerUrl = () => new URL(`./mutantWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** A pool of worker threads running tasks with a per-task time limit (a timed-out worker is replaced). */
class Pool {
  private idle: Worker[] = [];
  private waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}
  private spawn(): Worker {
    const url = workerUrl();
    if (!url.pathname.endsWith('.ts')) return new Worker(url);
    // From the sources (a development checkout): register tsx's loader in the worker, then load it.
    return new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true });
  }
  private async take(): Promise<Worker> {
    for (;;) {
      const w = this.idle.pop();
      if (w) return w;
      if (this.live < this.size) {
        this.live++;
        return this.spawn();
      }
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }
  private live = 0;
  private give(w: Worker | null): void {
    if (w) this.idle.push(w);
    else this.live--;
    this.waiting.shift()?.();
  }
  async run(task: MutantTask, timeoutMs: number): Promise<MutantTaskResult | 'timeout'> {
    const w = await this.take();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        void w.terminate();
        this.give(null);
        resolve('timeout');
      }, timeoutMs);
      const onMessage = (r: MutantTaskResult) => { cleanup(); this.give(w); resolve(r); };
      const onError = (e: Error) => { cleanup(); void w.terminate(); this.give(null); reject(e); };
      const cleanup = () => { clearTimeout(timer); w.off('message', onMessage); w.off('error', onError); };
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage(task);
    });
  }
  async close(): Promise<void> {
    await Promise.all(this.idle.map((w) => w.terminate()));
    this.idle = [];
  }
}

/** Runs the matrix (see the file comment). `claimIds` and `declared` come from the catalogue. */
export async function runKillMatrix(catalogue: readonly { id: string; mutants?: readonly MutantId[] }[], opts: KillMatrixOptions): Promise<KillMatrix> {
  const t0 = performance.now();
  const seed = opts.seed ?? 0;
  const claims = (opts.claims && opts.claims.length > 0
    ? catalogue.filter((c) => opts.claims!.some((p) => c.id === p || c.id.startsWith(p)))
    : catalogue);
  const mutants = (opts.mutants ?? Object.keys(MUTANTS)) as MutantId[];
  const workers = Math.max(1, Math.min(opts.workers ?? availableParallelism(), Math.max(1, claims.length)));
  const pool = new Pool(workers);
  const factor = opts.timeoutFactor ?? 20;
  const minTimeout = (opts.minTimeoutSeconds ?? 60) * 1000;
  let done = 0;
  let total = claims.length;
  const cells: MatrixCell[] = [];
  const baseline: BaselineRun[] = [];
  try {
    // Each claim: its baseline, then its reached mutants; claims run concurrently on the pool.
    await Promise.all(claims.map(async (c) => {
      const b = await pool.run({ claim: c.id, mutant: null, size: opts.size, seed }, 3600_000);
      const base: BaselineRun = b === 'timeout'
        ? { claim: c.id, ok: false, seconds: 3600, reached: [], summary: 'baseline over 1 h' }
        : { claim: c.id, ok: b.ok, seconds: b.seconds, reached: mutants.filter((m) => b.reached.includes(m)), summary: b.error ?? b.summary };
      baseline.push(base);
      const toRun = base.ok ? base.reached : [];
      total += toRun.length;
      opts.onProgress?.(++done, total, `${c.id}: baseline ${base.ok ? 'passes' : 'FAILS'} (${base.seconds.toFixed(1)} s), reaches ${base.reached.length} mutant sites`);
      for (const m of mutants) if (!toRun.includes(m)) cells.push({ claim: c.id, mutant: m, status: 'not-reached', seconds: 0 });
      await Promise.all(toRun.map(async (m) => {
        const limit = Math.max(minTimeout, factor * base.seconds * 1000);
        const r = await pool.run({ claim: c.id, mutant: m, size: opts.size, seed }, limit);
        const cell: MatrixCell = r === 'timeout'
          ? { claim: c.id, mutant: m, status: 'killed', how: 'timeout', seconds: limit / 1000, summary: `over its ${Math.round(limit / 1000)} s limit` }
          : r.ok
            ? { claim: c.id, mutant: m, status: 'survived', seconds: r.seconds, summary: r.summary }
            : { claim: c.id, mutant: m, status: 'killed', how: r.error !== undefined ? 'error' : 'verdict', seconds: r.seconds, summary: r.error ?? r.summary };
        cells.push(cell);
        opts.onProgress?.(++done, total, `${c.id} × ${m}: ${cell.status}${cell.how ? ` (${cell.how})` : ''}`);
      }));
    }));
  } finally {
    await pool.close();
  }
  const ids = claims.map((c) => c.id);
  const order = (a: MatrixCell, b: MatrixCell) => ids.indexOf(a.claim) - ids.indexOf(b.claim) || mutants.indexOf(a.mutant) - mutants.indexOf(b.mutant);
  cells.sort(order);
  baseline.sort((a, b) => ids.indexOf(a.claim) - ids.indexOf(b.claim));
  const killed: Record<string, MutantId[]> = {};
  const declared: Record<string, MutantId[]> = {};
  for (const c of claims) {
    killed[c.id] = cells.filter((x) => x.claim === c.id && x.status === 'killed').map((x) => x.mutant);
    declared[c.id] = [...(c.mutants ?? [])].filter((m) => mutants.includes(m));
  }
  const missing = claims.flatMap((c) => declared[c.id]!.filter((m) => !killed[c.id]!.includes(m))
    .map((m) => ({ claim: c.id, mutant: m, status: cells.find((x) => x.claim === c.id && x.mutant === m)!.status })));
  return {
    size: opts.size, seed, claims: ids, mutants, baseline, cells, killed, declared, missing,
    claimsWithoutKill: ids.filter((id) => killed[id]!.length === 0),
    mutantsNotKilled: mutants.filter((m) => !ids.some((id) => killed[id]!.includes(m))),
    baselineFailures: baseline.filter((b) => !b.ok).map((b) => b.claim),
    seconds: (performance.now() - t0) / 1000,
    workers,
  };
}

/**
 * The matrix as text: one row per claim, one column per mutant (numbered; legend below).
 *   K killed (declared)   k killed (not declared)   ! declared but survived   . survived   (blank) not reached
 */
export function killMatrixTable(m: KillMatrix): string {
  const w = Math.max(...m.claims.map((c) => c.length), 5);
  const num = (i: number) => String(i + 1).padStart(2);
  const lines = [`${'claim'.padEnd(w)}  ${m.mutants.map((_, i) => num(i)).join(' ')}  kills`];
  for (const id of m.claims) {
    const row = m.mutants.map((mu) => {
      const cell = m.cells.find((x) => x.claim === id && x.mutant === mu)!;
      const dec = m.declared[id]!.includes(mu);
      const ch = cell.status === 'killed' ? (dec ? 'K' : 'k') : dec ? '!' : cell.status === 'survived' ? '.' : ' ';
      return ch.padStart(2);
    });
    const base = m.baseline.find((b) => b.claim === id)!;
    lines.push(`${id.padEnd(w)}  ${row.join(' ')}  ${base.ok ? m.killed[id]!.length : 'baseline fails'}`);
  }
  const colKills = m.mutants.map((mu) => m.claims.filter((id) => m.killed[id]!.includes(mu)).length);
  lines.push(`${'killed by'.padEnd(w)}  ${colKills.map((k) => String(k).padStart(2)).join(' ')}`);
  lines.push('', 'K killed (declared)  k killed (not declared)  ! declared, not killed  . reached, survived  (blank) not reached', '');
  m.mutants.forEach((mu, i) => lines.push(`${num(i)} ${mu}: ${MUTANTS[mu]}`));
  return lines.join('\n');
}

/** Findings of a matrix, one line each (empty when complete). */
export function killMatrixFindings(m: KillMatrix): string[] {
  const out: string[] = [];
  for (const id of m.baselineFailures) out.push(`baseline: ${id} fails on the code as it is`);
  for (const x of m.missing) out.push(`declared kill missing: ${x.claim} does not detect ${x.mutant} (${x.status})`);
  for (const id of m.claimsWithoutKill) if (!m.baselineFailures.includes(id)) out.push(`claim kills no mutant: ${id}`);
  for (const mu of m.mutantsNotKilled) out.push(`mutant survives every claim: ${mu}`);
  return out;
}
