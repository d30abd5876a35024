/**
 * The iSogCLR and numerics claims at smoke size (each must hold with a finite margin), property
 * tests of the two universally quantified iSogCLR identities on fast-check instances, and
 * sensitivity checks: the derived tolerances are tight enough that a wrong answer fails.
 */
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ISOGCLR_CLAIMS } from '../../proofs-checks/isogclr/index.ts';
import { dualityInstance, rhoCeiling, solveDual, solvePrimal } from '../../proofs-checks/isogclr/dro-duality.ts';
import { tauDerivativeInstance } from '../../proofs-checks/isogclr/tau-derivative.ts';
import { NUMERICS_CLAIMS } from '../../proofs-checks/numerics/index.ts';
import { checkGradient } from '../../proofs-checks/numerics/gradients.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import type { Backend } from '../../src/backend/types.ts';
import { runClaims } from '../../src/claims/run.ts';
import { Rng } from '../../src/core/random.ts';
import { gaussian, unitRows } from '../helpers.ts';

const CLAIMS = [...ISOGCLR_CLAIMS, ...NUMERICS_CLAIMS];

describe('iSogCLR and numerics claims at smoke size', () => {
  const backend = createCpuBackend({ dtype: 'f64' });

  it('lists the seven claims under their ids', () => {
    expect(ISOGCLR_CLAIMS.map((c) => c.id)).toEqual(['isogclr.dro-duality', 'isogclr.tau-derivative-is-rho-minus-kl']);
    expect(NUMERICS_CLAIMS.map((c) => c.id)).toEqual([
      'numerics.gradients-match-finite-differences', 'numerics.blocked-equals-materialised', 'numerics.f32-within-rule', 'numerics.max-shift-at-tau-0.01',
      'numerics.sharded-gather-with-grad',
    ]);
  });

  it.each(CLAIMS.map((c) => [c.id, c] as const))('%s holds with a finite positive margin', async (_id, claim) => {
    const [r] = await runClaims([claim], { size: 'smoke', backend, seed: 0 });
    expect(r!.error).toBeUndefined();
    expect(r!.verdict.pass, r!.verdict.summary).toBe(true);
    expect(Number.isFinite(r!.verdict.margin)).toBe(true);
    expect(r!.verdict.margin).toBeGreaterThan(0);
    expect(r!.verdict.marginUnit.length).toBeGreaterThan(0);
    // The verdict's numbers go into report.json: they must serialise.
    expect(() => JSON.stringify(r!.verdict.numbers)).not.toThrow();
  }, 120_000);

  it('is reproducible: same seed, same margins', async () => {
    const a = await runClaims(ISOGCLR_CLAIMS, { size: 'smoke', backend, seed: 3 });
    const b = await runClaims(ISOGCLR_CLAIMS, { size: 'smoke', backend, seed: 3 });
    expect(a.map((r) => r.verdict.margin)).toEqual(b.map((r) => r.verdict.margin));
  }, 300_000);
});

// ------------------------------------------------------------------------------------------------
// Property tests of the universally quantified claims.

// Bounds: m ∈ [2, 64] values (the smoke claim's range; each solve is O(m) per iteration);
// h_j ∈ [−2, 2], the range of cosine differences a·z − a·p of unit vectors (fast-check also
// produces exact ties and the end points, which the ρ ceiling below accounts for);
// r ∈ [0, 1] picks ρ in [0.02, rhoCeiling(h)], inside (0, log(m/#argmax)) where τ* is positive and finite.
const droArb = fc.record({
  h: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 2, maxLength: 64 }),
  r: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('isogclr.dro-duality on fast-check instances', { timeout: 60_000 }, () => {
  test.prop([droArb], { seed: 20260611, numRuns: 300 })('max over the KL ball = min over τ, within the solvers\' certified tolerance', ({ h, r }) => {
    const ceil = rhoCeiling(h);
    fc.pre(ceil > 0.05); // (near-)total ties: no ρ with τ* away from 0
    const rho = 0.02 + r * (ceil - 0.02);
    const res = dualityInstance(h, rho);
    expect(res.gap).toBeLessThanOrEqual(res.tol);
    expect(res.weakViolation).toBeLessThanOrEqual(0);
    // The certified intervals overlap (each contains the common optimum).
    expect(Math.max(res.primalLo, res.dualLo)).toBeLessThanOrEqual(Math.min(res.primalHi, res.dualHi));
    // The tolerance is a rounding-level quantity, so the check can tell a wrong identity apart.
    expect(res.tol).toBeLessThanOrEqual(1e-11 * Math.max(1, Math.abs(res.dual)));
  });

  it('sensitivity: a dual at ρ(1 + 1e-6) misses the primal at ρ by far more than the tolerance', () => {
    const rng = Rng.fromSeed(5);
    const h = Array.from({ length: 20 }, () => -2 + 4 * rng.uniform());
    const rho = 0.5;
    const P = solvePrimal(h, rho);
    const D = solveDual(h, rho * (1 + 1e-6));
    const ok = dualityInstance(h, rho);
    // dD*/dρ = τ* > 0.1 here, so the shift is ~τ*·5e-7, against a tolerance of ~1e-13.
    expect(Math.abs(P.value - D.value)).toBeGreaterThan(1e3 * ok.tol);
  });
});

// Bounds: h as above (m ≤ 64); τ ∈ [0.02, 5]: from h/τ up to 200 (the max shift matters and the
// derivative bound's 1/τ⁴ factor is largest) to nearly uniform softmaxes; ρ ∈ [0, 1] (the identity
// holds for every ρ; ρ enters linearly).
const tauArb = fc.record({
  h: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 2, maxLength: 64 }),
  tau: fc.double({ min: 0.02, max: 5, noNaN: true }),
  rho: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('isogclr.tau-derivative-is-rho-minus-kl on fast-check instances', () => {
  test.prop([tauArb], { seed: 20260612, numRuns: 300 })('central difference of τ·log g + τρ = ρ − KL(softmax(h/τ) ‖ uniform) within the derived bound', ({ h, tau, rho }) => {
    const r = tauDerivativeInstance(h, tau, rho);
    expect(r.fdError).toBeLessThanOrEqual(r.fdBound);
    expect(r.libraryError).toBeLessThanOrEqual(r.libraryBound);
    // Discriminating: the bound is far below the O(1) size of ρ − KL ∈ [ρ − log m, ρ].
    expect(r.fdBound).toBeLessThanOrEqual(1e-5);
  });

  it('sensitivity: the derivative at a 1e-4 relatively different τ is outside the bound', () => {
    const rng = Rng.fromSeed(6);
    const h = Array.from({ length: 12 }, () => -2 + 4 * rng.uniform());
    const a = tauDerivativeInstance(h, 0.1, 0.3);
    const b = tauDerivativeInstance(h, 0.1 * (1 + 1e-4), 0.3);
    expect(Math.abs(a.fd - b.rhoMinusKl)).toBeGreaterThan(10 * a.fdBound);
  });
});

// ------------------------------------------------------------------------------------------------
// Sensitivity of the gradient check: a gradient off by one part in 10⁶ is caught.

/** The CPU backend with every gradient scaled by (1 + δ): a subtly wrong kernel. */
function skewed(base: Backend, delta: number): Backend {
  return {
    ...base,
    kernels: {
      ...base.kernels,
      pairSoftmaxGrad(U, V, spec, coef) {
        const g = base.kernels.pairSoftmaxGrad(U, V, spec, coef);
        for (const m of [g.gradU, g.gradV]) for (let i = 0; i < m.data.length; i++) m.data[i] = m.data[i]! * (1 + delta);
        return g;
      },
    },
  };
}

describe('numerics.gradients-match-finite-differences: sensitivity', () => {
  it('a gradient scaled by 1 + 1e-6 fails the derived bound for every objective; the true one passes', () => {
    const base = createCpuBackend({ dtype: 'f64' });
    const bad = skewed(base, 1e-6);
    const rng = Rng.fromSeed(7);
    const n = 6;
    const d = 4;
    const U = unitRows(rng, n, d);
    const V = unitRows(rng, n, d);
    const DU = gaussian(rng, n, d);
    const DV = gaussian(rng, n, d);
    const specs = [
      { name: 'infonce', tau: 0.2 }, { name: 'infonce-uv', tau: 0.2 }, { name: 'minibatch', tau: 0.2, batches: { kind: 'all', B: 3 } },
      { name: 'gcl-bimodal', tau: 0.2, eps0: 0.1 }, { name: 'gcl-unimodal', tau: 0.2 },
    ] as const;
    for (const spec of specs) {
      const good = checkGradient(spec, U, V, DU, DV, base);
      expect(good.error, spec.name).toBeLessThanOrEqual(good.bound);
      const wrong = checkGradient(spec, U, V, DU, DV, bad);
      expect(wrong.error, spec.name).toBeGreaterThan(wrong.bound);
    }
  });
});
