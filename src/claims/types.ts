/**
 * A claim: one statement of a paper (or a lemma under it) made runnable. Each lives in its own file
 * in `proofs-checks/<paper>/`, exports `claim`, and is judged with numbers:
 *
 *   id           e.g. 'cho.thm4.all-batches-share-minimiser'
 *   source       paper, where (theorem / figure / section) and THEORY's tag for it
 *   statement    the claim in one sentence; assumptions; kind
 *   check(ctx)   generates instances at the requested size (smoke: seconds, run in CI; full: minutes),
 *                evaluates, and returns a Verdict: pass/fail, a SIGNED margin (> 0: holds with that much
 *                room, in the unit given; < 0: fails by that much) and the numbers behind it.
 *
 * Honesty rules: a claim tagged 'unverified' says so in its output (the runner prints the tag); a
 * claim that fails on correct code stays failing and is reported as a finding; `expected: 'refuted'`
 * is set only when the evidence shows the statement, as reconstructed, does not hold — the check then
 * demonstrates the refutation and `explanation` says why. Thresholds come from the maths or the float
 * precision, with the derivation in a comment next to them. Stochastic claims judge over several seeds
 * with a stated confidence rule.
 */
import type { Backend } from '../backend/types.ts';
import type { Rng } from '../core/random.ts';
import type { MutantId } from '../core/mutants.ts';

export type ClaimSize = 'smoke' | 'full';
export type ClaimKind = 'identity' | 'optimality' | 'inequality' | 'convergence' | 'counterexample' | 'rate';
export type SourceTag = 'proved' | 'derived' | 'unverified' | 'code' | 'fig';

export interface ClaimSource {
  readonly paper: 'CHO' | 'SOG' | 'iSogCLR' | 'numerics' | 'SigLIP';
  /** Theorem / proposition / figure / section, e.g. 'Thm 4', 'Fig. 1(a)', 'THEORY 5'. */
  readonly where: string;
  readonly tag: SourceTag;
}

export interface ClaimContext {
  readonly size: ClaimSize;
  /** The float64 CPU backend (claims that need another make their own). */
  readonly backend: Backend;
  /** A float32 backend under test (`check --backend`): the float32-rule claim checks it instead of the CPU backend. */
  readonly f32Backend?: Backend;
  /** A generator for a named purpose, derived from the run's seed: `ctx.rng('instances')`. */
  rng(label: string): Rng;
  /** Progress text for long checks (shown on a terminal). */
  progress(message: string): void;
}

export interface ClaimFigure {
  readonly name: string;
  /** A Vega-Lite spec (see src/plot); rendered to SVG and PNG beside the report. */
  readonly spec: object;
}

export interface Verdict {
  readonly pass: boolean;
  /** Signed margin: > 0 means the statement holds with that much room; < 0 means it fails by that much. */
  readonly margin: number;
  /** What the margin measures, e.g. 'relative error below 1e-12 (log10)', 'epochs', 'standard errors'. */
  readonly marginUnit: string;
  /** The numbers behind the verdict (JSON-serialisable). */
  readonly numbers: Record<string, unknown>;
  readonly figures?: readonly ClaimFigure[];
  /** One or two sentences: what was found. */
  readonly summary: string;
}

export interface Claim {
  readonly id: string;
  readonly source: ClaimSource;
  readonly statement: string;
  readonly assumptions: readonly string[];
  readonly kind: ClaimKind;
  /** 'holds' (default) or 'refuted' (see the honesty rules above). */
  readonly expected?: 'holds' | 'refuted';
  /** Why the statement is expected refuted, or any caveat worth printing with the verdict. */
  readonly explanation?: string;
  /**
   * The named mutants (src/core/mutants.ts) this check must detect: run with one of them active,
   * the check must fail. The kill matrix (`npm run mutants`) verifies it and lists every other kill.
   */
  readonly mutants?: readonly MutantId[];
  check(ctx: ClaimContext): Verdict | Promise<Verdict>;
}

/** Margin helper: log10(bound / error), > 0 when error < bound (error 0 counts as 16 decades of room). */
export function decadesBelow(error: number, bound: number): number {
  if (!(error >= 0) || !(bound > 0)) return Number.NaN;
  return error === 0 ? 16 : Math.log10(bound / error);
}
