/**
 * iSogCLR's DRO duality (THEORY 5, iSogCLR paragraph; arXiv 2305.11965):
 *
 *   max_{p ∈ Δ_m : KL(p‖unif) ≤ ρ} Σ_j p_j h_j  =  min_{τ ≥ 0} τ·log((1/m) Σ_j e^{h_j/τ}) + τρ.
 *
 * Both sides are solved numerically, each on its own, and each solver returns an interval that
 * certifies its optimal value; the claim holds on an instance when the two point estimates agree to
 * within the sum of the two interval widths (if P* = D*, then |P̂ − D̂| ≤ |P̂ − P*| + |D̂ − D*| ≤ both widths).
 *
 * Primal (never touches the dual formula). Stationarity of the primal Lagrangian
 * Σ p h − λ(KL(p‖unif) − ρ) − μ(Σ p − 1) in p gives the Gibbs form p_λ ∝ e^{h/λ}. Along that curve
 *   dKL/dλ = −Var_{p_λ}(h)/λ³ < 0,   dV/dλ = −Var_{p_λ}(h)/λ² < 0,   V(λ) = Σ p_λ h,
 * so KL falls from log(m/#argmax) (λ → 0) to 0 (λ → ∞), the constraint is active for ρ below
 * log(m/#argmax), and P* = V(λ*) with KL(p_λ*) = ρ. Bisection on ℓ = log λ keeps
 * ℓ_lo (KL > ρ) < ℓ* < ℓ_hi (KL ≤ ρ, feasible); V decreasing gives P* ∈ [V(λ_hi), V(λ_lo)].
 * A comparison KL ≷ ρ can be wrong only where |KL − ρ| ≤ δKL (rounding of KL), which moves the
 * bracket by at most λ·δKL in value (dV/dKL = λ along the curve), and V itself is evaluated with
 * error ≤ δV; so the primal interval is [V(λ_hi) − λ_hi·δKL − δV, V(λ_lo) + λ_lo·δKL + δV].
 *
 * Dual (never touches KL or p). D(τ) = τ·log mean e^{h/τ} + τρ is convex in τ (a perspective), so
 * unimodal in x = log τ: golden-section search on x. Its final four points τ_a < τ_c < τ_d < τ_b
 * bracket the minimiser; by convexity a chord extended beyond its end points lies below D, which
 * gives a lower bound on min D over [τ_a, τ_b] (see `convexMinLowerBound`). Rounding: extending a
 * chord of computed values over the golden-section spacing (ratio φ = 1.618 between neighbouring
 * gaps) amplifies their errors δD by at most 1 + 2φ < 4.3; and comparisons between values closer
 * than 2δD can go the wrong way, a wrong discard losing at most 2δD·φ < 3.3·δD by convexity. So
 * the dual interval is [chord bound − 8δD, min(D_c, D_d) + δD].
 *
 * Rounding bounds (u = ε/2 the unit roundoff; each bound below uses ε, a factor 2 of room):
 *   δD  = ε·(τ·(m + 3 + 6·log m + 2ρ) + 6·max|h| + |D|): h/τ and the shifted exponent carry
 *         u·|h|/τ each, the m-term sum of values in (0, 1] a relative (m + 2)u, log, the max
 *         shift and the final products u times their sizes (|max h/τ| ≤ max|h|/τ, log s ≤ log m).
 *   δKL = ε·(m + 6)·(1 + R/λ + log m), R = max h − min h: KL = Σ p_j (log p_j + log m) with
 *         |log(p_j m)| ≤ R/λ + log m and each p_j, log p_j good to (m + 4)u relative / u·(2R/λ + 2 log m + 4).
 *   δV  = ε·(m + 2)·max|h|: Σ p_j h_j with p relative errors (m + 4)u and an m-term sum.
 *
 * Instances: h_j = a·z_j − a·p (a, p, z_j random unit vectors: the cosine differences of
 * iSogCLR, in [−2, 2]) or h_j uniform in [−2, 2]; ρ uniform in [0.02, 0.8·log(m/k)], k the number of
 * values within 0.01 of the maximum, which keeps τ* away from 0 (at ρ ≥ log(m/#argmax) both sides
 * equal max h and the dual's minimiser is τ → 0; that boundary case is not sampled).
 */
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { robustDual } from '../../src/estimators/index.ts';
import type { Rng } from '../../src/core/random.ts';
import { scatterChart } from '../../src/plot/charts.ts';
import { ratioDomain } from '../numerics/gradients.ts';

const EPS64 = 2 ** -52;
/** The solvers' search ranges: λ, τ ∈ [1e-8, 1e8] (every optimum of a sampled instance lies far inside). */
const LOG_MIN = Math.log(1e-8);
const LOG_MAX = Math.log(1e8);
/** Bisection stops when the bracket in ℓ = log λ is this narrow (≈ 450 unit roundoffs at |ℓ| ≤ 18). */
const BISECT_WIDTH = 1e-13;
/** Golden section stops when the bracket in x = log τ is this narrow: D − D* ≈ D''·w² is then far below rounding. */
const GOLDEN_WIDTH = 1e-7;

export interface DualityInstanceResult {
  readonly m: number;
  readonly rho: number;
  /** Primal point estimate and certified interval. */
  readonly primal: number;
  readonly primalLo: number;
  readonly primalHi: number;
  /** The primal multiplier λ* (midpoint of the final bracket). */
  readonly lambda: number;
  /** Dual point estimate and certified interval. */
  readonly dual: number;
  readonly dualLo: number;
  readonly dualHi: number;
  /** The dual minimiser τ*. */
  readonly tau: number;
  /** |primal − dual| and the tolerance (sum of the interval widths). */
  readonly gap: number;
  readonly tol: number;
  /** Weak duality at a τ grid: max over the grid of (primalLo − D(τ) − δD(τ)); must be ≤ 0. */
  readonly weakViolation: number;
}

export function maxOf(h: ArrayLike<number>): number {
  let m = -Infinity;
  for (let j = 0; j < h.length; j++) m = Math.max(m, h[j]!);
  return m;
}
export function minOf(h: ArrayLike<number>): number {
  let m = Infinity;
  for (let j = 0; j < h.length; j++) m = Math.min(m, h[j]!);
  return m;
}

/** The Gibbs law p_λ ∝ e^{h/λ}: its KL to the uniform law (from the definition Σ p log(p m)) and its mean of h. */
export function gibbs(h: ArrayLike<number>, lambda: number): { kl: number; value: number } {
  const m = h.length;
  const mx = maxOf(h) / lambda;
  let s = 0;
  for (let j = 0; j < m; j++) s += Math.exp(h[j]! / lambda - mx);
  const logS = Math.log(s);
  const logM = Math.log(m);
  let kl = 0;
  let value = 0;
  for (let j = 0; j < m; j++) {
    const logP = h[j]! / lambda - mx - logS;
    const p = Math.exp(logP);
    kl += p * (logP + logM);
    value += p * h[j]!;
  }
  return { kl, value };
}

/** Rounding bound δKL of gibbs(h, λ).kl (header); R = max h − min h. */
export function klRoundingBound(m: number, R: number, lambda: number): number {
  return EPS64 * (m + 6) * (1 + R / lambda + Math.log(m));
}

/** Primal: bisection on ℓ = log λ for KL(p_λ‖unif) = ρ; the certified interval of the header. */
export function solvePrimal(h: ArrayLike<number>, rho: number): { value: number; lo: number; hi: number; lambda: number } {
  const m = h.length;
  const R = maxOf(h) - minOf(h);
  const maxAbsH = Math.max(Math.abs(maxOf(h)), Math.abs(minOf(h)));
  let lo = LOG_MIN; // KL(λ = e^lo) > ρ
  let hi = LOG_MAX; // KL(λ = e^hi) ≤ ρ
  for (let it = 0; it < 400 && hi - lo > BISECT_WIDTH; it++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (gibbs(h, Math.exp(mid)).kl > rho) lo = mid;
    else hi = mid;
  }
  const lamLo = Math.exp(lo);
  const lamHi = Math.exp(hi);
  const dKL = (lam: number) => klRoundingBound(m, R, lam);
  const dV = EPS64 * (m + 2) * maxAbsH;
  const lambda = Math.exp((lo + hi) / 2);
  return {
    value: gibbs(h, lambda).value,
    lo: gibbs(h, lamHi).value - lamHi * dKL(lamHi) - dV,
    hi: gibbs(h, lamLo).value + lamLo * dKL(lamLo) + dV,
    lambda,
  };
}

/** Rounding bound δD of robustDual(h, τ, ρ) (header). */
export function dualRoundingBound(h: ArrayLike<number>, tau: number, rho: number, value: number): number {
  const m = h.length;
  const maxAbsH = Math.max(Math.abs(maxOf(h)), Math.abs(minOf(h)));
  return EPS64 * (tau * (m + 3 + 6 * Math.log(m) + 2 * Math.abs(rho)) + 6 * maxAbsH + Math.abs(value));
}

/**
 * A lower bound on min_{t ∈ [t_0, t_3]} f(t) for a convex f known at t_0 < t_1 < t_2 < t_3: on each
 * piece, the chords of the neighbouring pieces, extended, lie below f.
 */
export function convexMinLowerBound(t: readonly number[], f: readonly number[]): number {
  const line = (a: number, b: number) => (x: number) => f[a]! + ((f[b]! - f[a]!) / (t[b]! - t[a]!)) * (x - t[a]!);
  const L01 = line(0, 1);
  const L12 = line(1, 2);
  const L23 = line(2, 3);
  // [t0, t1] and [t2, t3]: below the chord 1–2 (extended); linear, so its minimum is at an end.
  let lb = Math.min(L12(t[0]!), f[1]!, f[2]!, L12(t[3]!));
  // [t1, t2]: below max(L01, L23), minimised at an end or where the two lines cross.
  const g = (x: number) => Math.max(L01(x), L23(x));
  const cands = [t[1]!, t[2]!];
  const s01 = (f[1]! - f[0]!) / (t[1]! - t[0]!);
  const s23 = (f[3]! - f[2]!) / (t[3]! - t[2]!);
  if (s01 !== s23) {
    const x = (f[2]! - f[0]! + s01 * t[0]! - s23 * t[2]!) / (s01 - s23);
    if (x > t[1]! && x < t[2]!) cands.push(x);
  }
  for (const x of cands) lb = Math.min(lb, g(x));
  return lb;
}

/** Dual: golden-section search of D(e^x) on x ∈ [log 1e-8, log 1e8]; the certified interval of the header. */
export function solveDual(h: ArrayLike<number>, rho: number): { value: number; lo: number; hi: number; tau: number } {
  const f = (x: number) => robustDual(h, Math.exp(x), rho);
  const r = (Math.sqrt(5) - 1) / 2;
  let a = LOG_MIN;
  let b = LOG_MAX;
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fa = f(a);
  let fb = f(b);
  let fc = f(c);
  let fd = f(d);
  for (let it = 0; it < 400 && b - a > GOLDEN_WIDTH; it++) {
    if (fc < fd) {
      b = d; fb = fd; d = c; fd = fc;
      c = b - r * (b - a); fc = f(c);
    } else {
      a = c; fa = fc; c = d; fc = fd;
      d = a + r * (b - a); fd = f(d);
    }
  }
  const value = Math.min(fc, fd);
  const tau = Math.exp(fc < fd ? c : d);
  const ts = [Math.exp(a), Math.exp(c), Math.exp(d), Math.exp(b)];
  const lb = convexMinLowerBound(ts, [fa, fc, fd, fb]);
  const dD = Math.max(...ts.map((t, k) => dualRoundingBound(h, t, rho, [fa, fc, fd, fb][k]!)));
  return { value, lo: Math.min(lb, value) - 8 * dD, hi: value + dD, tau };
}

/** Both sides on one instance, with the gap, the tolerance and a weak-duality check on a τ grid. */
export function dualityInstance(h: ArrayLike<number>, rho: number): DualityInstanceResult {
  const P = solvePrimal(h, rho);
  const D = solveDual(h, rho);
  let weakViolation = -Infinity;
  for (const t of [1e-3, 1e-2, 0.03, 0.1, 0.3, 1, 3, 10, 100]) {
    const v = robustDual(h, t, rho);
    weakViolation = Math.max(weakViolation, P.lo - v - dualRoundingBound(h, t, rho, v));
  }
  return {
    m: h.length, rho,
    primal: P.value, primalLo: P.lo, primalHi: P.hi, lambda: P.lambda,
    dual: D.value, dualLo: D.lo, dualHi: D.hi, tau: D.tau,
    gap: Math.abs(P.value - D.value),
    tol: (P.hi - P.lo) + (D.hi - D.lo),
    weakViolation,
  };
}

/** The largest ρ sampled: 0.8·log(m/k), k = #values within 0.01 of the maximum (header). */
export function rhoCeiling(h: ArrayLike<number>): number {
  const top = maxOf(h);
  let k = 0;
  for (let j = 0; j < h.length; j++) if (h[j]! >= top - 0.01) k++;
  return 0.8 * Math.log(h.length / k);
}

/** Random values h: cosine differences a·z_j − a·p of random unit vectors in R^d (d in 2..16), or uniform in [−2, 2]; m in 2..mMax. */
export function randomH(rng: Rng, mMax: number): { h: Float64Array; kind: 'cosine' | 'uniform' } {
  const m = 2 + rng.int(mMax - 1);
  const h = new Float64Array(m);
  if (rng.uniform() < 0.5) {
    const d = 2 + rng.int(15);
    const unit = () => {
      const x = Float64Array.from({ length: d }, () => rng.normal());
      const n = Math.hypot(...x);
      return x.map((v) => v / n);
    };
    const dot = (x: Float64Array, y: Float64Array) => x.reduce((s, v, k) => s + v * y[k]!, 0);
    const a = unit();
    const ap = dot(a, unit());
    for (let j = 0; j < m; j++) h[j] = dot(a, unit()) - ap;
    return { h, kind: 'cosine' };
  }
  for (let j = 0; j < m; j++) h[j] = -2 + 4 * rng.uniform();
  return { h, kind: 'uniform' };
}

/** One random instance: h from randomH and ρ uniform in [0.02, rhoCeiling(h)]; null when ρ has no room (near-total ties). */
export function randomInstance(rng: Rng, mMax: number): { h: Float64Array; rho: number; kind: string } | null {
  const { h, kind } = randomH(rng, mMax);
  const ceil = rhoCeiling(h);
  if (!(ceil > 0.05)) return null;
  return { h, rho: 0.02 + rng.uniform() * (ceil - 0.02), kind };
}

const SIZES = { smoke: { instances: 1500, mMax: 64 }, full: { instances: 10000, mMax: 1024 } } as const;

export const claim: Claim = {
  id: 'isogclr.dro-duality',
  source: { paper: 'iSogCLR', where: 'THEORY 5 (iSogCLR paragraph): DRO duality of the robust GCL term', tag: 'derived' },
  statement:
    'For values $h_1, \\dots, h_m$ and $0 < \\rho < \\log(m / \\#\\arg\\max h)$: $\\max_{p:\\ \\mathrm{KL}(p \\| \\mathrm{uniform}) \\le \\rho} \\sum_j p_j h_j = \\min_{\\tau \\ge 0}\\ \\tau \\log\\big(\\tfrac{1}{m} \\sum_j e^{h_j/\\tau}\\big) + \\tau\\rho$ (checked for $m$ from 2 to 64 (smoke) or 1024 (full) values).',
  assumptions: [
    'h: cosine differences a·z − a·p of random unit vectors, or uniform in [−2, 2]; m from 2 to 64 (smoke) or 1024 (full)',
    'ρ uniform in [0.02, 0.8·log(m/k)], k = #values within 0.01 of max h (keeps τ* > 0)',
    'primal solved by bisection on the multiplier of its own KKT conditions, dual by golden section on log τ (library robustDual); each certifies an interval for its optimum',
  ],
  kind: 'identity',
  mutants: ['robust-dual-no-log-m'],
  explanation: 'THEORY tags this [code][derived]: the dual form is what iSogCLR\'s code optimises; the equality is checked here numerically in float64.',
  check(ctx: ClaimContext): Verdict {
    const { instances, mMax } = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    const rows: Record<string, unknown>[] = [];
    let worst: DualityInstanceResult | null = null;
    let worstMargin = Infinity;
    let weakWorst = -Infinity;
    let lambdaTauWorst = 0;
    let skipped = 0;
    for (let k = 0; k < instances; k++) {
      if (k % 500 === 0) ctx.progress(`instance ${k}/${instances}`);
      const inst = randomInstance(rng, mMax);
      if (inst === null) {
        skipped++;
        continue;
      }
      const r = dualityInstance(inst.h, inst.rho);
      const margin = decadesBelow(r.gap, r.tol);
      if (margin < worstMargin || worst === null) {
        worstMargin = margin;
        worst = r;
      }
      weakWorst = Math.max(weakWorst, r.weakViolation);
      lambdaTauWorst = Math.max(lambdaTauWorst, Math.abs(Math.log(r.tau / r.lambda)));
      rows.push({ kind: inst.kind, m: r.m, gap: r.gap, tol: r.tol, ratio: Math.max(r.gap, 1e-18) / r.tol });
    }
    const pass = worst !== null && worstMargin > 0 && weakWorst <= 0;
    return {
      pass,
      margin: worstMargin,
      marginUnit: 'decades below the solvers\' certified tolerance (min over instances)',
      numbers: {
        instances: rows.length, skippedForTies: skipped, worst,
        worstWeakDualityViolation: weakWorst,
        maxAbsLogTauOverLambda: lambdaTauWorst,
        medianGap: median(rows.map((r) => r.gap as number)),
        medianTol: median(rows.map((r) => r.tol as number)),
      },
      figures: [{
        name: 'isogclr-dro-duality',
        spec: scatterChart({
          title: 'DRO duality: |max − min| / the solvers\' certified tolerance',
          subtitle: 'one point per random instance; below 1 = within tolerance (gap 0 drawn at 1e-18 / tolerance)',
          x: { field: 'm', title: 'number of values m', scale: 'log' },
          y: { field: 'ratio', title: '|primal − dual| / tolerance', scale: 'log', domain: ratioDomain(rows.map((r) => r.ratio as number)) },
          series: 'kind', rows,
        }),
      }],
      summary: pass
        ? `On ${rows.length} instances the KL-constrained maximum and the τ-minimum agree within the certified tolerance; worst instance ${worstMargin.toFixed(2)} decades below it (gap ${worst!.gap.toExponential(1)}, tolerance ${worst!.tol.toExponential(1)}); weak duality held on every τ grid point, and τ* = λ* to ${lambdaTauWorst.toExponential(1)} in log.`
        : `Duality gap above the certified tolerance or weak duality violated: worst margin ${worstMargin.toFixed(2)} decades, weak-duality excess ${weakWorst.toExponential(2)}.`,
    };
  },
};

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
