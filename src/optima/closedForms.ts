/**
 * Closed-form values of the two-sided InfoNCE `infonce` (THEORY 2.1, averaged-directions
 * convention) at the known optima of THEORY 3, with temperature τ:
 *
 *   ETF, full batch                          log(1 + (N-1)·exp(-N/((N-1)τ)))
 *   ETF, average over all C(N,B) batches     log(1 + (B-1)·exp(-N/((N-1)τ)))      (N in the exponent)
 *   fixed disjoint partition, batch ETFs     log(1 + (B-1)·exp(-B/((B-1)τ)))
 *   cross-polytope, N = 2d                   log(1 + exp(-2/τ) + (N-2)·exp(-1/τ))
 *
 * Each comes as a float64 function and as a high-precision one (mathjs BigNumber, `digits`
 * significant digits, default 50).
 *
 * Float64 evaluation: every value has the shape log1p(Σ c·exp(-x)) with x = n/(k·τ) > 0, so
 * nothing overflows as τ → 0 (exp underflows to 0 and the value to 0). Accuracy to a few ulps
 * needs care at small τ: exp(-x) amplifies the relative error of x by x (= 100 at τ = 0.01),
 * so x is formed in double-double arithmetic (Dekker's error-free product) and the low part is
 * applied as exp(-x_hi)·(1 - x_lo). The remaining errors are those of exp, log1p and two
 * roundings.
 *
 * High precision: a τ given as a JS number is taken at its exact binary value (so the float64
 * and BigNumber results describe the same input); a τ given as a string or BigNumber is taken
 * as that decimal. The value is computed with `digits + 20` working digits, log(1+a) by the
 * series 2·atanh(a/(2+a)) when a < 1 (no cancellation when a is tiny), and rounded to `digits`.
 *
 * Example: etfInfonce(4, 1) = log(1 + 3·exp(-4/3)) ≈ 0.58266;
 *          etfInfonceBig(4, 1, { digits: 30 }).toString() gives the same to 30 digits.
 */
import { createRequire } from 'node:module';
import type { BigNumber } from 'mathjs';
import { DomainError } from '../core/errors.ts';
import { assertTau } from '../core/validate.ts';
import { mutant } from '../core/mutants.ts';

// ---------------------------------------------------------------------------------------------
// Argument checks

function assertCount(op: string, name: string, x: number, min: number): void {
  if (!Number.isSafeInteger(x) || x < min) throw new DomainError(op, `${name} must be an integer >= ${min}, got ${x}`);
}

function assertBatch(op: string, N: number, B: number): void {
  assertCount(op, 'N', N, 2);
  assertCount(op, 'B', B, 2);
  if (B > N) throw new DomainError(op, `batch size B = ${B} exceeds N = ${N}`);
}

function assertPartition(op: string, N: number, B: number): void {
  assertBatch(op, N, B);
  if (N % B !== 0) throw new DomainError(op, `a disjoint partition into batches of B = ${B} needs N to be a multiple of B, got N = ${N}`);
}

function assertCrossPolytopeN(op: string, N: number): void {
  assertCount(op, 'N', N, 2);
  if (N % 2 !== 0) throw new DomainError(op, `a cross-polytope has N = 2d points (N even), got N = ${N}`);
}

// ---------------------------------------------------------------------------------------------
// Float64 kernels

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp splitting constant for float64

/** Dekker's TwoProduct: a·b = hi + lo exactly (barring over/underflow). Returns lo; hi is a*b. */
function twoProductLow(a: number, b: number, hi: number): number {
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  return ((ah * bh - hi) + ah * bl + al * bh) + al * bl;
}

/**
 * exp(-num/(k·τ)) for positive integers num, k (exact in float64) and τ > 0, with the quotient
 * formed in double-double precision so the result is accurate to about one ulp of exp.
 */
function expNegRatio(num: number, k: number, tau: number): number {
  const p = k * tau;
  const q = num / p;
  if (!(q <= 800)) return 0; // exp(-800) underflows to 0 (also catches p = 0 / q = Infinity)
  if (q < 1 || !(p < 1e290) || p < 1e-290) {
    // Error amplification x·ε <= ε (q < 1), or the error-free transforms could over/underflow;
    // in the latter case q >= 1 is impossible for p huge, and p tiny means q > 800 (handled above).
    return Math.exp(-q);
  }
  const pLo = twoProductLow(k, tau, p); // k·τ = p + pLo exactly
  const s = q * p;
  const sLo = twoProductLow(q, p, s); // q·p = s + sLo exactly
  const r = ((num - s) - sLo) - q * pLo; // num - q·(p + pLo), to a relative error ~ε
  const qLo = r / p; // num/(k·τ) = q + qLo to ~2^-104 relative
  return Math.exp(-q) * (1 - qLo);
}

/** The ETF value of the full-batch two-sided InfoNCE: log(1 + (N-1)·exp(-N/((N-1)τ))). N >= 2, τ > 0. */
export function etfInfonce(N: number, tau: number): number {
  assertCount('etfInfonce', 'N', N, 2);
  assertTau('etfInfonce', tau);
  return Math.log1p((N - 1) * expNegRatio(N, N - 1, tau));
}

/**
 * The average of the batch InfoNCE over all C(N,B) batches at the N-point ETF:
 * log(1 + (B-1)·exp(-N/((N-1)τ))). 2 <= B <= N, τ > 0.
 */
export function allBatchesInfonce(N: number, B: number, tau: number): number {
  assertBatch('allBatchesInfonce', N, B);
  assertTau('allBatchesInfonce', tau);
  return mutant('all-batches-b-exponent') ? Math.log1p((B - 1) * expNegRatio(B, B - 1, tau)) : Math.log1p((B - 1) * expNegRatio(N, N - 1, tau));
}

/**
 * The average of the batch InfoNCE over a fixed disjoint partition into N/B batches, each batch a
 * B-point ETF: log(1 + (B-1)·exp(-B/((B-1)τ))). 2 <= B <= N, B divides N, τ > 0.
 */
export function partitionInfonce(N: number, B: number, tau: number): number {
  assertPartition('partitionInfonce', N, B);
  assertTau('partitionInfonce', tau);
  return Math.log1p((B - 1) * expNegRatio(B, B - 1, tau));
}

/** The cross-polytope value (N = 2d points): log(1 + exp(-2/τ) + (N-2)·exp(-1/τ)). N even >= 2, τ > 0. */
export function crossPolytopeInfonce(N: number, tau: number): number {
  assertCrossPolytopeN('crossPolytopeInfonce', N);
  assertTau('crossPolytopeInfonce', tau);
  return Math.log1p((N - 2) * expNegRatio(1, 1, tau) + expNegRatio(2, 1, tau));
}

// ---------------------------------------------------------------------------------------------
// High precision (mathjs BigNumber = decimal.js)

/** A τ for the high-precision forms: a JS number (its exact binary value), a decimal string, or a BigNumber. */
export type BigInput = number | string | BigNumber;

export interface HighPrecisionOptions {
  /** Significant decimal digits of the result (integer in [1, 10000]); default 50. */
  readonly digits?: number;
}

interface BigCtor {
  new (x: number | string | BigNumber): BigNumber;
  clone(config: { precision: number }): BigCtor;
}

// mathjs is loaded at the first high-precision call, not when the library is imported.
let baseCtor: BigCtor | null = null;
const ctorCache = new Map<number, BigCtor>();

function ctorFor(precision: number): BigCtor {
  let c = ctorCache.get(precision);
  if (c === undefined) {
    if (baseCtor === null) {
      const { bignumber } = createRequire(import.meta.url)('mathjs') as typeof import('mathjs');
      baseCtor = bignumber(0).constructor as unknown as BigCtor;
    }
    c = baseCtor.clone({ precision });
    ctorCache.set(precision, c);
  }
  return c;
}

/** The exact value of a finite double as a decimal string (integer significand over a power of two). */
function exactBig(C: BigCtor, x: number): BigNumber {
  let m = x;
  let k = 0;
  while (!Number.isInteger(m)) {
    m *= 2; // exact: scaling by 2 never rounds
    k++;
  }
  const num = new C(BigInt(m).toString());
  return k === 0 ? num : num.div(new C(2).pow(k));
}

function digitsOf(op: string, opts: HighPrecisionOptions): number {
  const digits = opts.digits ?? 50;
  if (!Number.isInteger(digits) || digits < 1 || digits > 10000) {
    throw new DomainError(op, `digits must be an integer in [1, 10000], got ${digits}`);
  }
  return digits;
}

function tauBig(op: string, C: BigCtor, tau: BigInput): BigNumber {
  let t: BigNumber;
  if (typeof tau === 'number') {
    assertTau(op, tau);
    t = exactBig(C, tau);
  } else {
    try {
      t = new C(tau);
    } catch {
      throw new DomainError(op, `tau must be a number, a decimal string or a BigNumber, got ${String(tau)}`);
    }
    if (!t.isFinite() || !t.gt(0)) throw new DomainError(op, `tau must be a finite number > 0, got ${t.toString()}`);
  }
  return t;
}

/** log(1 + a) for a >= 0 at the constructor's precision; for a < 1 through 2·atanh(a/(2+a)). */
function log1pBig(C: BigCtor, a: BigNumber, precision: number): BigNumber {
  if (a.isZero()) return new C(0);
  if (a.gte(1)) return a.plus(1).ln();
  const y = a.div(a.plus(2)); // in (0, 1/3)
  const y2 = y.times(y);
  let power = y;
  let sum = y;
  const eps = new C(10).pow(-(precision + 2));
  for (let k = 3; ; k += 2) {
    power = power.times(y2);
    const term = power.div(k);
    sum = sum.plus(term);
    if (term.lt(sum.times(eps))) break;
  }
  return sum.times(2);
}

/** log(1 + Σ_t c_t·exp(-n_t/(k_t·τ))) in high precision, rounded to `digits`. */
function closedFormBig(
  op: string,
  terms: ReadonlyArray<{ c: number; n: number; k: number }>,
  tau: BigInput,
  opts: HighPrecisionOptions,
): BigNumber {
  const digits = digitsOf(op, opts);
  const work = digits + 20;
  const C = ctorFor(work);
  const t = tauBig(op, C, tau);
  let a = new C(0);
  for (const { c, n, k } of terms) {
    if (c === 0) continue;
    const x = new C(n).div(new C(k).times(t));
    a = a.plus(new C(c).times(x.neg().exp()));
  }
  const out = ctorFor(digits);
  return new out(log1pBig(C, a, work).toSignificantDigits(digits));
}

/** High-precision `etfInfonce`: a mathjs BigNumber with `digits` significant digits (`.toString()` for the decimal). */
export function etfInfonceBig(N: number, tau: BigInput, opts: HighPrecisionOptions = {}): BigNumber {
  assertCount('etfInfonceBig', 'N', N, 2);
  return closedFormBig('etfInfonceBig', [{ c: N - 1, n: N, k: N - 1 }], tau, opts);
}

/** High-precision `allBatchesInfonce`. */
export function allBatchesInfonceBig(N: number, B: number, tau: BigInput, opts: HighPrecisionOptions = {}): BigNumber {
  assertBatch('allBatchesInfonceBig', N, B);
  return closedFormBig('allBatchesInfonceBig', [{ c: B - 1, n: N, k: N - 1 }], tau, opts);
}

/** High-precision `partitionInfonce`. */
export function partitionInfonceBig(N: number, B: number, tau: BigInput, opts: HighPrecisionOptions = {}): BigNumber {
  assertPartition('partitionInfonceBig', N, B);
  return closedFormBig('partitionInfonceBig', [{ c: B - 1, n: B, k: B - 1 }], tau, opts);
}

/** High-precision `crossPolytopeInfonce`. */
export function crossPolytopeInfonceBig(N: number, tau: BigInput, opts: HighPrecisionOptions = {}): BigNumber {
  assertCrossPolytopeN('crossPolytopeInfonceBig', N);
  return closedFormBig('crossPolytopeInfonceBig', [{ c: 1, n: 2, k: 1 }, { c: N - 2, n: 1, k: 1 }], tau, opts);
}
