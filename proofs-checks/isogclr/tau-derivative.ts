/**
 * The temperature gradient of iSogCLR's robust term (THEORY 5, iSogCLR paragraph):
 *
 *   ∂/∂τ [τ·log g(τ) + τρ] = ρ − KL(softmax(h/τ) ‖ uniform),   g(τ) = (1/m) Σ_j e^{h_j/τ}.
 *
 * The left side is differentiated numerically: a central difference of the library's robustDual;
 * the right side is ρ minus the KL divergence computed from its definition Σ p_j log(p_j m) with
 * p = softmax(h/τ). The library's closed form robustDualTauGrad (what the estimator steps τ with) is
 * compared with the same definition.
 *
 * Error bound of the central difference (derived, rigorous up to the rounding model):
 *   f(τ) = τ·A(1/τ) + τρ with A(β) = log mean e^{βh} (cumulant generating function of h under the
 *   uniform law), so with β = 1/τ:  f' = A − βA',  f'' = β³A''(β),  f''' = −β⁴(3A''(β) + βA'''(β)),
 *   where A'' = Var_{p_β}(h) ≤ R²/4 (Popoviciu; R = max h − min h) and
 *   |A'''| = |E_{p_β}(h − E h)³| ≤ R·Var ≤ R³/4. Hence on [τ − k, τ + k], with ξ = τ − k,
 *     |f'''| ≤ M3 = (3R²/4 + R³/(4ξ))/ξ⁴,   |f''| ≤ M2 = R²/(4ξ³).
 *   (f(τ₁) − f(τ₂))/(τ₁ − τ₂) with τ₁,₂ = fl(τ ± k) (their difference is exact, Sterbenz) differs from
 *   f'((τ₁ + τ₂)/2) by at most k²·M3/6, and that midpoint from τ by |mid − τ| (≤ u·τ), worth M2·|mid − τ|.
 *   Each evaluation of f is good to δD (dro-duality.ts, `dualRoundingBound`), giving (δD₁ + δD₂)/(τ₁ − τ₂);
 *   the subtraction of the two values adds ε·|fd|. The right side is good to δKL (`klRoundingBound`)
 *   plus ε·(ρ + KL) for the subtraction. The step k minimises k²M3/6 + δD/k: k = (3δD/M3)^{1/3},
 *   capped at τ/4 (so ξ ≥ 3τ/4).
 *   bound = k²M3/6 + (δD₁ + δD₂)/(τ₁ − τ₂) + M2·|mid − τ| + ε·|fd| + δKL + ε·(ρ + KL).
 * The library's closed form against the definition: both are rounding-level evaluations of the
 * same number, each within δKL (same error model: a max-shifted softmax sum and terms of size
 * R/τ + log m), so they must agree to 2δKL + ε·(ρ + KL).
 */
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { robustDual, robustDualTauGrad } from '../../src/estimators/index.ts';
import type { Rng } from '../../src/core/random.ts';
import { scatterChart } from '../../src/plot/charts.ts';
import { ratioDomain } from '../numerics/gradients.ts';
import { dualRoundingBound, gibbs, klRoundingBound, maxOf, minOf, randomH } from './dro-duality.ts';

const EPS64 = 2 ** -52;

export interface TauDerivativeResult {
  readonly m: number;
  readonly tau: number;
  readonly rho: number;
  /** Central difference of τ ↦ robustDual(h, τ, ρ), and the step used. */
  readonly fd: number;
  readonly step: number;
  /** ρ − KL(softmax(h/τ) ‖ uniform), KL from its definition. */
  readonly rhoMinusKl: number;
  /** The library's robustDualTauGrad. */
  readonly library: number;
  readonly fdError: number;
  readonly fdBound: number;
  readonly libraryError: number;
  readonly libraryBound: number;
}

export function tauDerivativeInstance(h: ArrayLike<number>, tau: number, rho: number): TauDerivativeResult {
  const m = h.length;
  const R = maxOf(h) - minOf(h);
  const M3 = (xi: number) => (0.75 * R * R + (R * R * R) / (4 * xi)) / xi ** 4;
  const M2 = (xi: number) => (R * R) / (4 * xi ** 3);
  const f0 = robustDual(h, tau, rho);
  const dD = dualRoundingBound(h, tau, rho, f0);
  const m3 = M3(0.75 * tau);
  // k = (3δD/M3)^{1/3} (M3 at the smallest ξ allowed), at most τ/4; M3 = 0 (all h equal) means f is linear: take τ/4.
  const k = m3 > 0 ? Math.min(tau / 4, Math.cbrt((3 * dD) / m3)) : tau / 4;
  const t1 = tau + k;
  const t2 = tau - k;
  const f1 = robustDual(h, t1, rho);
  const f2 = robustDual(h, t2, rho);
  const fd = (f1 - f2) / (t1 - t2);
  const xi = t2;
  const half = (t1 - t2) / 2;
  const { kl } = gibbs(h, tau);
  const rhoMinusKl = rho - kl;
  const dKL = klRoundingBound(m, R, tau);
  const fdBound = (half * half * M3(xi)) / 6
    + (dualRoundingBound(h, t1, rho, f1) + dualRoundingBound(h, t2, rho, f2)) / (t1 - t2)
    + M2(xi) * Math.abs((t1 + t2) / 2 - tau)
    + EPS64 * Math.abs(fd) + dKL + EPS64 * (Math.abs(rho) + Math.abs(kl));
  const library = robustDualTauGrad(h, tau, rho);
  return {
    m, tau, rho, fd, step: k, rhoMinusKl, library,
    fdError: Math.abs(fd - rhoMinusKl), fdBound,
    libraryError: Math.abs(library - rhoMinusKl), libraryBound: 2 * dKL + EPS64 * (Math.abs(rho) + Math.abs(kl)),
  };
}

/** A random instance: h from dro-duality's randomH, τ log-uniform in [0.02, 5], ρ uniform in [0, 1]. */
export function randomTauInstance(rng: Rng, mMax: number): { h: Float64Array; tau: number; rho: number; kind: string } {
  const { h, kind } = randomH(rng, mMax);
  const tau = Math.exp(Math.log(0.02) + rng.uniform() * Math.log(5 / 0.02));
  return { h, tau, rho: rng.uniform(), kind };
}

const SIZES = { smoke: { instances: 3000, mMax: 64 }, full: { instances: 20000, mMax: 1024 } } as const;

export const claim: Claim = {
  id: 'isogclr.tau-derivative-is-rho-minus-kl',
  source: { paper: 'iSogCLR', where: 'THEORY 5 (iSogCLR paragraph): τ gradient of the robust term', tag: 'derived' },
  statement: '$\\frac{\\partial}{\\partial\\tau}\\big[\\tau \\log\\big(\\tfrac{1}{m} \\sum_j e^{h_j/\\tau}\\big) + \\tau\\rho\\big] = \\rho - \\mathrm{KL}(\\mathrm{softmax}(h/\\tau) \\,\\|\\, \\mathrm{uniform})$ for every $\\tau > 0$, $\\rho$ and $h$ (checked for $\\tau \\in [0.02, 5]$, $\\rho \\in [0, 1]$, $m \\le 64$ (smoke) or 1024 (full)).',
  assumptions: [
    'h: cosine differences of random unit vectors or uniform in [−2, 2]; m from 2 to 64 (smoke) or 1024 (full)',
    'τ log-uniform in [0.02, 5] (h/τ up to 200: the max shift matters), ρ uniform in [0, 1]',
    'left side: central difference of the library\'s robustDual with a step chosen from the derived error bound; right side: KL from its definition',
  ],
  kind: 'identity',
  mutants: ['robust-dual-no-log-m'],
  check(ctx: ClaimContext): Verdict {
    const { instances, mMax } = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    let worstFd = Infinity;
    let worstLib = Infinity;
    let worstFdCase: TauDerivativeResult | null = null;
    let worstLibCase: TauDerivativeResult | null = null;
    const rows: Record<string, unknown>[] = [];
    for (let q = 0; q < instances; q++) {
      if (q % 2000 === 0) ctx.progress(`instance ${q}/${instances}`);
      const inst = randomTauInstance(rng, mMax);
      const r = tauDerivativeInstance(inst.h, inst.tau, inst.rho);
      const mf = decadesBelow(r.fdError, r.fdBound);
      const ml = decadesBelow(r.libraryError, r.libraryBound);
      if (!(mf >= worstFd)) { worstFd = mf; worstFdCase = r; }
      if (!(ml >= worstLib)) { worstLib = ml; worstLibCase = r; }
      if (rows.length < 2000) rows.push({ kind: inst.kind, tau: r.tau, ratio: Math.max(r.fdError, 1e-18) / r.fdBound });
    }
    const margin = Math.min(worstFd, worstLib);
    const pass = margin > 0;
    return {
      pass,
      margin,
      marginUnit: 'decades below the derived error bound (min over instances; FD and closed form)',
      numbers: { instances, worstFdMargin: worstFd, worstFdCase, worstLibraryMargin: worstLib, worstLibraryCase: worstLibCase },
      figures: [{
        name: 'isogclr-tau-derivative',
        spec: scatterChart({
          title: '∂τ of the robust term: central difference vs ρ − KL',
          subtitle: 'error / derived bound per instance (below 1 = within the bound)',
          x: { field: 'tau', title: 'τ', scale: 'log' },
          y: { field: 'ratio', title: '|FD − (ρ − KL)| / bound', scale: 'log', domain: ratioDomain(rows.map((r) => r.ratio as number)) },
          series: 'kind', rows,
        }),
      }],
      summary: pass
        ? `On ${instances} instances the central difference matches ρ − KL within its derived error bound (worst ${worstFd.toFixed(2)} decades below), and the library's closed form matches the definition (worst ${worstLib.toFixed(2)} decades below its rounding bound).`
        : `Mismatch: worst FD margin ${worstFd.toFixed(2)}, closed-form margin ${worstLib.toFixed(2)} decades.`,
    };
  },
};
