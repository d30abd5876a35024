/**
 * The max shift at τ = 0.01 (THEORY 1: "at τ = 0.01, exp(1/τ) overflows float32; the toolkit must not").
 *
 * Three parts, all at τ = 0.01 and over every objective of OBJECTIVE_NAMES (the variants of
 * gradients.ts: infonce, infonce-uv, minibatch all / list, gcl-bimodal and gcl-unimodal with
 * ε₀ = 0 and > 0, and the sigmoid loss). The sigmoid loss has no τ: its analogue of τ = 0.01 is the
 * scale t = 1/τ = 100, checked with SigLIP's initial bias b = −10 and with b = 0; its logits are
 * t·u_i·v_j + b, so aligned unit rows give t·S_ii = 100 as well.
 *
 * 1. Finite: values and every gradient entry are finite on the blocked CPU backend in float64 and
 *    float32 (block sizes 128 and 8), on random unit rows, on aligned rows (V = U, so S_ii = 1/τ = 100
 *    and e^100 > float32's max 3.4e38), and on the shifted instances of part 2 (logits up to 900:
 *    e^900 overflows float64 too). For the sigmoid loss the shifted instances are evaluated for
 *    finiteness only (part 2 does not apply): its logits are then t·(s_ij ± a²) + b, up to about 900
 *    in size, and an unshifted log(1 + e^y) overflows float64 beyond y ≈ 709.8 (the negatives'
 *    terms at c = +800, the positives' at c = −800).
 *
 * 2. Shift invariance. Appending one coordinate a to every row of U and ±a to every row of V adds
 *    the same c = ±a²/τ to every logit S_ij (both signs for the U–V objectives; for gcl-unimodal,
 *    whose logits are all pairs of Z = [U; V], only +a with +a is a common shift, so only c > 0).
 *    Every objective here depends on the logits only through differences S_ij − S_ii or
 *    lse − S_ii, so its value is unchanged; the computed values may differ by rounding only. With
 *    a² ∈ {1, 8}: c ∈ {±100, ±800}. The tolerance is the sum of the two evaluations' forward
 *    rounding bounds (`valueRoundingBound` in gradients.ts, derived there):
 *      (2d' + 4n + 16)·ε·(1 + σ')·max(1, τ) + (2d + 4n + 16)·ε·(1 + σ)·max(1, τ),
 *    d' = d + 1 and σ' the shifted logit scale, ε of the backend's dtype (the float32 backend
 *    accumulates in float32: the same model with ε32). Float32 instances are rounded to float32
 *    first so that both evaluations see the same inputs (and a common shift of them).
 *    The sigmoid loss is skipped here: it is NOT invariant under a common shift c of the logits
 *    (Σ_ij softplus(−z_ij(ℓ_ij + c)) changes with c: it depends on the logits themselves, each pair
 *    being its own binary problem, not on differences within a softmax).
 *
 * 3. High precision. On small instances the blocked float64 value is compared with the same
 *    objective evaluated from its THEORY 2 definition in mathjs BigNumber arithmetic (120
 *    significant digits, log-sum-exp, exp and ln in decimal), from the exact decimal values of the
 *    float64 inputs and of the double nearest 0.01. The reference is exact far beyond float64, so
 *    the float64 value must lie within its forward rounding bound (2d + 4n + 16)·ε64·(1 + σ)·max(1, τ).
 *    The sigmoid loss likewise from its definition (1/N) Σ_{i,j} softplus(−z_ij(t·u_i·v_j + b)), with
 *    softplus(y) = max(y, 0) + ln(1 + e^{−|y|}) in BigNumber (the stable form; at 120 digits it is the
 *    same number as ln(1 + e^y), without forming e^900), at t = 100 (exact) and b ∈ {−10, 0}; the
 *    float64 value L must lie within the bound derived for it in gradients.ts,
 *    ε64·[(d + 2)·Y·min(N, L) + (N² + 5)·L] with Y = t·σ₁ + |b| (`sigmoidRoundingBound`).
 */
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import type { Backend } from '../../src/backend/types.ts';
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { evaluateObjective, type LossAndGrad, OBJECTIVE_NAMES, type ObjectiveSpec } from '../../src/objectives/index.ts';
import { bignumber, type BigNumber } from 'mathjs';
import { NonFiniteError } from '../../src/core/errors.ts';
import { absLogitScale, objectiveSpecs, sigmoidRoundingBound, specLabel, stack, valueRoundingBound } from './gradients.ts';

const TAU = 0.01;
const EPS = { f64: 2 ** -52, f32: 2 ** -23 } as const;
/** The sigmoid loss's analogue of τ = 0.01: the scale t = 1/τ = 100, with SigLIP's initial bias −10 and 0. */
const SIGMOID_T = 100;
const SIGMOID_BS = [-10, 0] as const;

/** The specs at τ = 0.01: the softmax objectives with τ = 0.01, the sigmoid loss at t = 100 and each bias. */
function atTau(spec: ObjectiveSpec): ObjectiveSpec[] {
  if (spec.name === 'sigmoid') return SIGMOID_BS.map((b) => ({ name: 'sigmoid', t: SIGMOID_T, b }));
  return [{ ...spec, tau: TAU }];
}

function label(spec: ObjectiveSpec): string {
  return spec.name === 'sigmoid' ? `sigmoid t=${spec.t} b=${spec.b}` : specLabel(spec);
}

/** The sigmoid loss's forward rounding bound (gradients.ts) at (U, V), for the computed value L. */
function sigmoidTol(spec: ObjectiveSpec, U: Matrix64, V: Matrix64, L: number): number {
  return sigmoidRoundingBound(U.rows, U.cols, spec.t! * absLogitScale(stack(U, V), 1) + Math.abs(spec.b!), L);
}

/** The evaluation, or the NonFiniteError's message (an overflow the op caught). */
function evaluate(spec: ObjectiveSpec, U: Matrix64, V: Matrix64, backend: Backend, grad = true): LossAndGrad | string {
  try {
    return evaluateObjective(spec, U, V, { backend, grad });
  } catch (e) {
    if (e instanceof NonFiniteError) return e.message;
    throw e;
  }
}

function finiteResult(r: LossAndGrad | string): r is LossAndGrad {
  return typeof r !== 'string' && Number.isFinite(r.value) && allFinite(r.gradU?.data ?? null) && allFinite(r.gradV?.data ?? null);
}

// ------------------------------------------------------------------------------------------------
// Instances

function unitRows(rng: Rng, n: number, d: number, f32: boolean): Matrix64 {
  const m = zeros(n, d);
  for (let i = 0; i < m.data.length; i++) m.data[i] = rng.normal();
  const u = normalizeRows(m);
  if (f32) for (let i = 0; i < u.data.length; i++) u.data[i] = Math.fround(u.data[i]!);
  return u;
}

/** [X, a·1]: X with one more coordinate equal to a on every row. */
export function appendCoordinate(X: Matrix64, a: number): Matrix64 {
  const out = zeros(X.rows, X.cols + 1);
  for (let i = 0; i < X.rows; i++) {
    for (let k = 0; k < X.cols; k++) out.data[i * (X.cols + 1) + k] = X.data[i * X.cols + k]!;
    out.data[i * (X.cols + 1) + X.cols] = a;
  }
  return out;
}

function allFinite(a: ArrayLike<number> | null): boolean {
  if (a === null) return false;
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

// ------------------------------------------------------------------------------------------------
// High-precision reference (mathjs BigNumber = decimal.js)

interface BigCtor {
  new (x: number | string | BigNumber): BigNumber;
  clone(config: { precision: number }): BigCtor;
}
const DIGITS = 120;
const Big = (bignumber(0).constructor as unknown as BigCtor).clone({ precision: DIGITS });

/**
 * The exact value of a double as a BigNumber. toPrecision(100) is the correctly rounded 100-digit
 * decimal (ECMAScript), which is the exact value whenever that has at most 100 significant digits:
 * true for 1e-15 ≤ |x| < 2^53 (at most 102 fractional bits, at least 15 leading zeros). Smaller
 * nonzero inputs are refused rather than misread.
 */
export function exactBig(x: number): BigNumber {
  if (x === 0) return new Big(0);
  if (!(Math.abs(x) >= 1e-15 && Math.abs(x) < 2 ** 53)) throw new RangeError(`exactBig: ${x} outside [1e-15, 2^53)`);
  return new Big(x.toPrecision(100));
}

function bigLse(xs: BigNumber[]): BigNumber {
  let mx = xs[0]!;
  for (const x of xs) if (x.gt(mx)) mx = x;
  let s = new Big(0);
  for (const x of xs) s = s.plus(x.minus(mx).exp());
  return mx.plus(s.ln());
}

/** Logits K_ab = x_a·y_b / τ in BigNumber (exact products and sums at 120 digits; one rounding in the division). */
function bigLogits(X: Matrix64, Y: Matrix64, tau: BigNumber): BigNumber[][] {
  const xb = Array.from(X.data, exactBig);
  const yb = Array.from(Y.data, exactBig);
  const d = X.cols;
  return Array.from({ length: X.rows }, (_, a) => Array.from({ length: Y.rows }, (_, b) => {
    let s = new Big(0);
    for (let k = 0; k < d; k++) s = s.plus(xb[a * d + k]!.times(yb[b * d + k]!));
    return s.div(tau);
  }));
}

function bigInfonce(S: BigNumber[][], idx: number[], twoSided: boolean): BigNumber {
  let sum = new Big(0);
  for (const i of idx) {
    sum = sum.plus(bigLse(idx.map((j) => S[i]![j]!)).minus(S[i]![i]!));
    if (twoSided) sum = sum.plus(bigLse(idx.map((j) => S[j]![i]!)).minus(S[i]![i]!));
  }
  return sum.div((twoSided ? 2 : 1) * idx.length);
}

/** log(ε₀ + g) with g = (1/M) Σ exp(x_z − pos) over the negatives x. */
function bigLogEpsG(neg: BigNumber[], pos: BigNumber, eps0: BigNumber): BigNumber {
  const g = bigLse(neg).minus(pos).exp().div(neg.length);
  return eps0.plus(g).ln();
}

/** softplus(y) = log(1 + e^y) = max(y, 0) + ln(1 + e^{−|y|}) (no e^{|y|} formed). */
function bigSoftplus(y: BigNumber): BigNumber {
  const pos = y.gt(0) ? y : new Big(0);
  return pos.plus(new Big(1).plus(y.abs().neg().exp()).ln());
}

/** The sigmoid loss (1/N) Σ_{i,j} softplus(−z_ij(t·u_i·v_j + b)), z_ii = 1, z_ij = −1 (i ≠ j), in BigNumber. */
function bigSigmoid(U: Matrix64, V: Matrix64, t: BigNumber, b: BigNumber): BigNumber {
  const S = bigLogits(U, V, new Big(1));
  const n = U.rows;
  let sum = new Big(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const l = t.times(S[i]![j]!).plus(b);
      sum = sum.plus(bigSoftplus(i === j ? l.neg() : l));
    }
  }
  return sum.div(n);
}

/** The objective of `spec` at (U, V) from THEORY 2's definitions, in BigNumber. */
export function highPrecisionObjective(spec: ObjectiveSpec, U: Matrix64, V: Matrix64): BigNumber {
  const tau = exactBig(spec.tau ?? 1); // 1 for the sigmoid loss (no τ)
  const n = U.rows;
  const all = Array.from({ length: n }, (_, i) => i);
  const eps0 = exactBig(spec.eps0 ?? 0);
  switch (spec.name) {
    case 'infonce':
      return bigInfonce(bigLogits(U, V, tau), all, true);
    case 'infonce-uv':
      return bigInfonce(bigLogits(U, V, tau), all, false);
    case 'minibatch': {
      const S = bigLogits(U, V, tau);
      const bs = spec.batches!;
      if (bs.kind !== 'list') throw new RangeError('highPrecisionObjective: minibatch needs an explicit batch list');
      let sum = new Big(0);
      for (const b of bs.batches) sum = sum.plus(bigInfonce(S, Array.from(b), true));
      return sum.div(bs.batches.length);
    }
    case 'gcl-bimodal': {
      const S = bigLogits(U, V, tau);
      let sum = new Big(0);
      for (const i of all) {
        const others = all.filter((j) => j !== i);
        sum = sum.plus(bigLogEpsG(others.map((j) => S[i]![j]!), S[i]![i]!, eps0));
        sum = sum.plus(bigLogEpsG(others.map((j) => S[j]![i]!), S[i]![i]!, eps0));
      }
      return sum.times(tau).div(2 * n);
    }
    case 'gcl-unimodal': {
      const Z = stack(U, V);
      const K = bigLogits(Z, Z, tau);
      let sum = new Big(0);
      for (let a = 0; a < 2 * n; a++) {
        const p = (a + n) % (2 * n);
        const neg: BigNumber[] = [];
        for (let z = 0; z < 2 * n; z++) if (z !== a && z !== p) neg.push(K[a]![z]!);
        sum = sum.plus(bigLogEpsG(neg, K[a]![p]!, eps0));
      }
      return sum.times(tau).div(2 * n);
    }
    case 'sigmoid':
      return bigSigmoid(U, V, exactBig(spec.t!), exactBig(spec.b!));
  }
}

// ------------------------------------------------------------------------------------------------
// The check

interface ShiftCase {
  readonly dtype: 'f64' | 'f32';
  readonly spec: string;
  readonly n: number;
  readonly shift: number;
  readonly value: number;
  readonly shifted: number;
  readonly error: number;
  readonly tol: number;
}

interface HighPrecisionCase {
  readonly instance: string;
  readonly spec: string;
  readonly value: number;
  readonly reference: string;
  readonly error: number;
  readonly tol: number;
}

const SIZES = {
  smoke: { ns: [2, 5, 9, 20], ds: [3, 8], maxAllBatches: 200 },
  full: { ns: [2, 3, 5, 9, 20, 33, 70, 150], ds: [3, 8, 16], maxAllBatches: 2000 },
} as const;

export const claim: Claim = {
  id: 'numerics.max-shift-at-tau-0.01',
  source: { paper: 'numerics', where: 'THEORY 1 (every log-sum-exp max-shifted; τ = 0.01 must not overflow float32)', tag: 'derived' },
  statement:
    'At τ = 0.01 (for the sigmoid loss its analogue, the scale $t = 1/\\tau = 100$, with bias $b = -10$ and $b = 0$) every objective (and its gradient) is finite in float64 and float32; every softmax objective\'s value is unchanged (up to rounding) by a common shift of all logits (not checked for the sigmoid loss, which is not shift invariant: each pair is its own binary problem on the logit itself); and the blocked float64 value equals a high-precision (BigNumber) evaluation within its rounding bound.',
  assumptions: [
    'blocked CPU backend, float64 and float32, block sizes 128 and 8',
    'unit rows, random or aligned (V = U: S_ii = 100); common logit shifts c = ±a²/τ ∈ {±100, ±800} by one appended coordinate (only c > 0 for gcl-unimodal; for the sigmoid loss, t = 100 and b ∈ {−10, 0}, the shifted instances are checked for finiteness only)',
    'rounding bounds: the forward error model derived in numerics/gradients.ts, ε of the backend dtype',
    'high-precision reference: THEORY 2 definitions in mathjs BigNumber at 120 digits from the exact decimal inputs, N ≤ 6 (the sigmoid loss with the stable softplus max(y, 0) + ln(1 + e^−|y|); its tolerance the bound derived for it in numerics/gradients.ts)',
  ],
  kind: 'identity',
  mutants: ['lse-no-max-shift', 'lse-f32-accumulation', 'eps0-ignored', 'sigmoid-bias-sign', 'sigmoid-mean-over-pairs'],
  check(ctx: ClaimContext): Verdict {
    const { ns, ds, maxAllBatches } = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    const backends: Record<'f64' | 'f32', Backend[]> = {
      f64: [ctx.backend, createCpuBackend({ dtype: 'f64', blockSize: 8 })],
      f32: [createCpuBackend({ dtype: 'f32' }), createCpuBackend({ dtype: 'f32', blockSize: 8 })],
    };
    const nonFinite: string[] = [];
    const shiftCases: ShiftCase[] = [];
    const hpCases: HighPrecisionCase[] = [];
    const covered = new Set<string>();
    let maxLogit = 0;
    let evaluations = 0;
    try {
      // Parts 1 and 2.
      for (const dtype of ['f64', 'f32'] as const) {
        for (const n of ns) {
          for (const d of ds) {
            ctx.progress(`${dtype} N = ${n}, d = ${d}`);
            for (const aligned of [false, true]) {
              const U = unitRows(rng, n, d, dtype === 'f32');
              const V = aligned ? U : unitRows(rng, n, d, dtype === 'f32');
              const sigma = absLogitScale(stack(U, V), TAU);
              for (const [bi, backend] of backends[dtype].entries()) {
                for (const spec of objectiveSpecs(rng, n, TAU, maxAllBatches).flatMap(atTau)) {
                  covered.add(spec.name);
                  const sigmoid = spec.name === 'sigmoid';
                  const lbl = label(spec);
                  const len = spec.name === 'gcl-unimodal' ? 2 * n : n;
                  const r = evaluate(spec, U, V, backend);
                  evaluations++;
                  const where = `${lbl} ${dtype} T=${backend.blockSize} N=${n} d=${d}${aligned ? ' aligned' : ''}`;
                  if (!finiteResult(r)) nonFinite.push(typeof r === 'string' ? `${where}: ${r}` : where);
                  if (bi !== 0) continue; // shifts on the default block size only (block sizes agree: blocked-equals-materialised)
                  for (const a2 of [1, 8]) {
                    for (const sign of spec.name === 'gcl-unimodal' ? [1] : [1, -1]) {
                      const a = dtype === 'f32' ? Math.fround(Math.sqrt(a2)) : Math.sqrt(a2);
                      const Us = appendCoordinate(U, a);
                      const Vs = appendCoordinate(V, sign * a);
                      const sigmaS = absLogitScale(stack(Us, Vs), TAU);
                      maxLogit = Math.max(maxLogit, sigmaS);
                      const rs = evaluate(spec, Us, Vs, backend);
                      evaluations++;
                      if (!finiteResult(rs)) nonFinite.push(`${where} shift ${sign * a * a / TAU}${typeof rs === 'string' ? `: ${rs}` : ''}`);
                      // Part 2 does not apply to the sigmoid loss (not shift invariant, header): finiteness only.
                      if (sigmoid || typeof r === 'string') continue;
                      const tol = valueRoundingBound(d + 1, len, sigmaS, TAU, EPS[dtype]) + valueRoundingBound(d, len, sigma, TAU, EPS[dtype]);
                      shiftCases.push({
                        dtype, spec: lbl, n, shift: (sign * a * a) / TAU, value: r.value, shifted: typeof rs === 'string' ? NaN : rs.value,
                        error: typeof rs !== 'string' && Number.isFinite(rs.value) ? Math.abs(rs.value - r.value) : Infinity, tol,
                      });
                    }
                  }
                }
              }
            }
          }
        }
      }
      // Part 3: high precision on small instances (random, aligned, and the random one shifted by +800).
      ctx.progress('high-precision references');
      const U0 = unitRows(rng, 6, 4, false);
      const V0 = unitRows(rng, 6, 4, false);
      const W0 = unitRows(rng, 5, 3, false);
      const instances: [string, Matrix64, Matrix64][] = [
        ['random N=6 d=4', U0, V0],
        ['aligned N=5 d=3', W0, W0],
        ['random N=6 d=4 shifted +800', appendCoordinate(U0, Math.sqrt(8)), appendCoordinate(V0, Math.sqrt(8))],
      ];
      for (const [name, U, V] of instances) {
        const n = U.rows;
        const sigma = absLogitScale(stack(U, V), TAU);
        const specs: ObjectiveSpec[] = [
          { name: 'infonce', tau: TAU },
          { name: 'infonce-uv', tau: TAU },
          { name: 'minibatch', tau: TAU, batches: { kind: 'list', batches: [[0, 1, 2], [1, 3], [n - 1, 0, 2, 3]] } },
          { name: 'gcl-bimodal', tau: TAU, eps0: 0 },
          { name: 'gcl-bimodal', tau: TAU, eps0: 0.3 },
          { name: 'gcl-unimodal', tau: TAU, eps0: 0 },
          { name: 'gcl-unimodal', tau: TAU, eps0: 1 / (2 * n - 2) },
          ...SIGMOID_BS.map((b): ObjectiveSpec => ({ name: 'sigmoid', t: SIGMOID_T, b })),
        ];
        for (const spec of specs) {
          const r = evaluate(spec, U, V, ctx.backend, false);
          if (typeof r === 'string') { nonFinite.push(`${label(spec)} high precision on ${name}: ${r}`); continue; }
          const value = r.value;
          const ref = highPrecisionObjective(spec, U, V);
          const error = Number.isFinite(value) ? exactBig(value).minus(ref).abs().toNumber() : Infinity;
          const len = spec.name === 'gcl-unimodal' ? 2 * n : n;
          const tol = spec.name === 'sigmoid' ? sigmoidTol(spec, U, V, value) : valueRoundingBound(U.cols, len, sigma, TAU);
          hpCases.push({ instance: name, spec: label(spec), value, reference: ref.toSignificantDigits(30).toString(), error, tol });
        }
      }
    } finally {
      backends.f64[1]!.dispose();
      for (const b of backends.f32) b.dispose();
    }
    const missing = OBJECTIVE_NAMES.filter((nm) => !covered.has(nm));
    const worstOf = <T extends { error: number; tol: number }>(xs: T[]) => {
      let m = Infinity;
      let w: T | null = null;
      for (const x of xs) {
        const v = decadesBelow(x.error, x.tol);
        if (!(v >= m)) { m = v; w = x; }
      }
      return { margin: m, worst: w };
    };
    const shiftF64 = worstOf(shiftCases.filter((c) => c.dtype === 'f64'));
    const shiftF32 = worstOf(shiftCases.filter((c) => c.dtype === 'f32'));
    const hp = worstOf(hpCases);
    const margin = Math.min(shiftF64.margin, shiftF32.margin, hp.margin);
    const pass = nonFinite.length === 0 && missing.length === 0 && margin > 0;
    return {
      pass,
      margin: nonFinite.length ? Number.NEGATIVE_INFINITY : margin,
      marginUnit: 'decades below the rounding bound (min over shift invariance f64/f32 and the high-precision comparison)',
      numbers: {
        evaluations, nonFinite: nonFinite.slice(0, 20), nonFiniteCount: nonFinite.length, missingObjectives: missing,
        largestLogitScale: maxLogit,
        shiftInvariance: { f64: shiftF64, f32: shiftF32, cases: shiftCases.length },
        highPrecision: { worst: hp.worst, margin: hp.margin, cases: hpCases },
      },
      summary: pass
        ? `All ${evaluations} evaluations finite in float64 and float32 (logits up to ${maxLogit.toFixed(0)}); shift invariance within the rounding bound (worst ${shiftF64.margin.toFixed(2)} decades below in f64, ${shiftF32.margin.toFixed(2)} in f32); the float64 values match the 120-digit BigNumber evaluations (worst ${hp.margin.toFixed(2)} decades below the bound, ${hp.worst!.spec} on ${hp.worst!.instance}).`
        : nonFinite.length
          ? `${nonFinite.length} non-finite results, e.g. ${nonFinite[0]}.`
          : missing.length ? `Objectives not covered: ${missing.join(', ')}.` : `Outside the rounding bound: worst margins f64 shift ${shiftF64.margin.toFixed(2)}, f32 shift ${shiftF32.margin.toFixed(2)}, high precision ${hp.margin.toFixed(2)}.`,
    };
  },
};
