/** iSogCLR (per-anchor τ) and FastCLIP-v3 (global τ): the DRO duality, the τ gradient, and the estimators. */
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createCpuBackend } from '../../src/backend/index.ts';
import { gatherRows, type Matrix64 } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import {
  type FastclipState, type IsogclrState, makeEstimator, type Modality, robustDual, robustDualTauGrad, surrogateGradient,
} from '../../src/estimators/index.ts';
import type { Estimator } from '../../src/estimators/types.ts';
import { directional, gaussian, maxAbs, maxAbsDiff, unitRows } from '../helpers.ts';

const be = createCpuBackend({ dtype: 'f64' });
const MODS: Modality[] = ['bimodal', 'unimodal'];

function input(U: Matrix64, V: Matrix64, idx: ArrayLike<number>, epoch = 0) {
  const index = Int32Array.from(idx);
  return { U: gatherRows(U, index) as Matrix64, V: gatherRows(V, index) as Matrix64, index, epoch, step: 0, backend: be };
}

function softmax(h: number[], t: number): number[] {
  const mx = Math.max(...h.map((x) => x / t));
  const e = h.map((x) => Math.exp(x / t - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}
const klUniform = (p: number[]) => p.reduce((s, x) => s + (x > 0 ? x * Math.log(x * p.length) : 0), 0);

/** Primal: max Σ p h over KL(p‖unif) ≤ ρ. The maximiser is p ∝ e^{h/λ} with KL = ρ (for ρ below log m);
 *  KL(softmax(h/λ)) falls from log m to 0 as λ grows, so bisection on log λ finds it. */
function primal(h: number[], rho: number): { value: number; lambda: number } {
  let lo = Math.log(1e-8);
  let hi = Math.log(1e8);
  for (let it = 0; it < 200; it++) {
    const mid = (lo + hi) / 2;
    if (klUniform(softmax(h, Math.exp(mid))) > rho) lo = mid;
    else hi = mid;
  }
  const lambda = Math.exp((lo + hi) / 2);
  const p = softmax(h, lambda);
  return { value: p.reduce((s, x, j) => s + x * h[j]!, 0), lambda };
}

/** Dual: min over τ > 0 of τ·log mean e^{h/τ} + τρ, convex in τ, so unimodal in log τ: golden section. */
function dual(h: number[], rho: number): { value: number; tau: number } {
  let a = Math.log(1e-8);
  let b = Math.log(1e8);
  const f = (x: number) => robustDual(h, Math.exp(x), rho);
  const r = (Math.sqrt(5) - 1) / 2;
  let c = b - r * (b - a);
  let d = a + r * (b - a);
  let fc_ = f(c);
  let fd = f(d);
  for (let it = 0; it < 300; it++) {
    if (fc_ < fd) {
      b = d; d = c; fd = fc_; c = b - r * (b - a); fc_ = f(c);
    } else {
      a = c; c = d; fc_ = fd; d = a + r * (b - a); fd = f(d);
    }
  }
  const x = (a + b) / 2;
  return { value: f(x), tau: Math.exp(x) };
}

// Bounds: m ∈ [2, 12] values h_j ∈ [−2, 2] (cosine differences of unit vectors lie in [−2, 2]);
// ρ ∈ [0.02, 0.8·log(m/#maxima)]: inside (0, log(m/#maxima)), where the optimal τ is positive and finite
// (beyond, the ball holds the uniform law on the maxima and the dual's minimiser goes to τ = 0).
const dro = fc.record({
  h: fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 2, maxLength: 12 }),
  r: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('iSogCLR maths', () => {
  test.prop([dro], { seed: 61, numRuns: 100 })('DRO duality: max_{KL(p‖unif) ≤ ρ} Σ p h = min_τ τ·log mean e^{h/τ} + τρ', ({ h, r }) => {
    const spread = Math.max(...h) - Math.min(...h);
    if (spread < 1e-3) return; // all h (nearly) equal: both sides are that value for every τ; nothing to solve
    // The largest KL in reach is log(m / #maxima) (the uniform law on the maxima, as τ → 0); keep ρ below
    // it, counting values within 0.01 of the maximum as maxima so that τ* stays well above 0 (a near-tie
    // pushes τ* below the gap, where the 1-D solves lose their precision).
    const top = Math.max(...h);
    const maxKl = Math.log(h.length / h.filter((x) => x >= top - 0.01).length);
    if (maxKl < 0.05) return; // (almost) all values tied: τ* = 0 for any ρ in range
    const rho = 0.02 + r * (0.8 * maxKl - 0.02);
    const P = primal(h, rho);
    const D = dual(h, rho);
    // Both sides are 1-D solves to ~1e-12 in their variable; the optimum is flat in τ, so values agree
    // to ~1e-10 (a looser tolerance than the arithmetic, far tighter than any wrong sign or factor).
    expect(Math.abs(P.value - D.value)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(P.value)));
    // Weak duality holds at any τ: the primal never exceeds the dual objective.
    for (const t of [0.01, 0.1, 1, 10]) expect(P.value).toBeLessThanOrEqual(robustDual(h, t, rho) + 1e-12);
    // The optimal τ is the Lagrange multiplier λ of the primal (p* ∝ e^{h/λ}).
    expect(Math.abs(Math.log(D.tau / P.lambda))).toBeLessThanOrEqual(1e-4);
    // And the τ gradient vanishes there: ρ = KL(softmax(h/τ*) ‖ uniform).
    expect(Math.abs(robustDualTauGrad(h, D.tau, rho))).toBeLessThanOrEqual(1e-6);
  });

  // τ ∈ [0.02, 5]: from h/τ up to 100 (the max shift matters) to nearly uniform softmaxes.
  test.prop([dro, fc.double({ min: 0.02, max: 5, noNaN: true })], { seed: 62, numRuns: 100 })(
    '∂/∂τ [τ·log mean e^{h/τ} + τρ] = ρ − KL(softmax(h/τ) ‖ uniform) (central differences)', ({ h, r }, tau) => {
      const rho = r;
      const k = 1e-5 * tau;
      const fd = (robustDual(h, tau + k, rho) - robustDual(h, tau - k, rho)) / (2 * k);
      // Error O(k²·f''') + O(ε·|f|/k): with |h| ≤ 2 and τ ≥ 0.02 about 1e-7 absolute at worst.
      expect(Math.abs(fd - robustDualTauGrad(h, tau, rho))).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(fd)));
      expect(robustDualTauGrad(h, tau, rho)).toBeCloseTo(rho - klUniform(softmax(h, tau)), 12);
    });
});

/** h lists per anchor of a batch (anchor layout), from the cosines, for the tests' own τ-gradient. */
function anchorH(modality: Modality, U: Matrix64, V: Matrix64): number[][] {
  const B = U.rows;
  const d = U.cols;
  const row = (M: Matrix64, i: number) => Array.from(M.data.subarray(i * d, i * d + d));
  const dot = (a: number[], b: number[]) => a.reduce((s, x, k) => s + x * b[k]!, 0);
  const out: number[][] = [];
  if (modality === 'bimodal') {
    for (let i = 0; i < B; i++) out.push([...Array(B).keys()].filter((j) => j !== i).map((j) => dot(row(U, i), row(V, j)) - dot(row(U, i), row(V, i))));
    for (let j = 0; j < B; j++) out.push([...Array(B).keys()].filter((i) => i !== j).map((i) => dot(row(U, i), row(V, j)) - dot(row(U, j), row(V, j))));
    return out;
  }
  const Z = [...Array(B).keys()].map((i) => row(U, i)).concat([...Array(B).keys()].map((i) => row(V, i)));
  for (let a = 0; a < 2 * B; a++) {
    const p = (a + B) % (2 * B);
    out.push([...Array(2 * B).keys()].filter((z) => z !== a && z !== p).map((z) => dot(Z[a]!, Z[z]!) - dot(Z[a]!, Z[p]!)));
  }
  return out;
}

describe('iSogCLR estimator', () => {
  it.each(MODS)('%s: with τ_a = τ for all anchors and no τ steps it equals SogCLR (multi-step)', (modality) => {
    const rng = Rng.fromSeed(63);
    const U = unitRows(rng, 12, 5);
    const V = unitRows(rng, 12, 5);
    const iso = makeEstimator({ kind: 'isogclr', modality, tau0: 0.2, tauMin: 0.01, tauMax: 1, rho: 0.4, tauLr: 0, gamma: 0.7, eps0: 0.05 });
    const sog = makeEstimator({ kind: 'sogclr', modality, tau: 0.2, gamma: 0.7, eps0: 0.05 });
    let a = iso.init(12);
    let b = sog.init(12);
    for (let t = 0; t < 8; t++) {
      const inp = input(U, V, rng.sample(12, 5));
      const oa = iso.step(inp, a);
      const ob = sog.step(inp, b);
      // Two computations of the same sums (float64 loops vs the blocked kernels): 1e-12 relative.
      expect(maxAbsDiff(oa.gradU.data, ob.gradU.data)).toBeLessThanOrEqual(1e-12 * maxAbs(ob.gradU.data));
      expect(maxAbsDiff(oa.gradV.data, ob.gradV.data)).toBeLessThanOrEqual(1e-12 * maxAbs(ob.gradV.data));
      a = oa.state;
      b = ob.state;
    }
  });

  it.each(MODS)('%s: first visit (u = ĝ, ε₀ = 0): τ_a ← τ_a − η·(ρ − KL(softmax(h_a/τ_a) ‖ unif)), clipped to [τmin, τmax]', (modality) => {
    const rng = Rng.fromSeed(64);
    const U = unitRows(rng, 10, 4);
    const V = unitRows(rng, 10, 4);
    const rho = 0.3;
    const eta = 0.01;
    const est = makeEstimator({ kind: 'isogclr', modality, tau0: 0.2, tauMin: 0.001, tauMax: 10, rho, tauLr: eta, gamma: 0.9 }) as Estimator<IsogclrState>;
    // Give the anchors different temperatures first.
    let st = est.init(10);
    st = { ...st, tau: st.tau.map((_, k) => 0.05 + 0.05 * (k % 7)) };
    const idx = [1, 4, 6, 9];
    const before = est.clone(st); // step updates st in place
    const o = est.step(input(U, V, idx), st);
    const inp = input(U, V, idx);
    const H = anchorH(modality, inp.U, inp.V);
    for (let a = 0; a < 8; a++) {
      const slot = a < 4 ? idx[a]! : 10 + idx[a - 4]!;
      const t = before.tau[slot]!;
      expect(o.state.tau[slot]).toBeCloseTo(t - eta * robustDualTauGrad(H[a]!, t, rho), 13);
    }
    // Projection: a huge step lands on the bounds.
    const big = makeEstimator({ kind: 'isogclr', modality, tau0: 0.2, tauMin: 0.1, tauMax: 0.3, rho: 5, tauLr: 100, gamma: 0.9 }) as Estimator<IsogclrState>;
    const ob = big.step(input(U, V, idx), big.init(10));
    for (const k of idx) expect(ob.state.tau[k]).toBe(0.1); // ρ = 5 > KL: gradient > 0, τ pushed down to τmin
  });

  it.each(MODS)('%s: per-anchor τ: the estimate is the gradient of (1/(2B)) Σ_a τ_a ĝ_a(τ_a)/(ε₀ + u_a), u fixed (central differences)', (modality) => {
    const rng = Rng.fromSeed(65);
    const n = 7;
    const U = unitRows(rng, n, 3);
    const V = unitRows(rng, n, 3);
    const eps0 = 0.1;
    const est = makeEstimator({ kind: 'isogclr', modality, tau0: 0.3, tauMin: 0.05, tauMax: 2, rho: 0.2, tauLr: 0.5, gamma: 0.6, eps0 }) as Estimator<IsogclrState>;
    let st = est.init(n);
    for (let t = 0; t < 5; t++) st = est.step(input(U, V, rng.sample(n, 4)), st).state; // τ's and u's now differ per anchor
    const idx = [0, 2, 3, 6];
    const inp = input(U, V, idx);
    const slots = [...idx, ...idx.map((i) => n + i)];
    const taus = slots.map((k) => st.tau[k]!); // before the step, which updates st in place
    const o = est.step(inp, st);
    const u = slots.map((k) => Math.exp(o.state.b[k]! + Math.log(o.state.s[k]!)));
    expect(new Set(taus).size).toBeGreaterThan(1);
    const surrogate = (A: Matrix64, Bm: Matrix64) => {
      const H = anchorH(modality, A, Bm);
      let s = 0;
      H.forEach((h, a) => {
        const g = h.reduce((acc, x) => acc + Math.exp(x / taus[a]!), 0) / h.length;
        s += (taus[a]! * g) / (eps0 + u[a]!);
      });
      return s / (2 * idx.length);
    };
    const DU = gaussian(rng, 4, 3);
    const DV = gaussian(rng, 4, 3);
    const fd = directional(surrogate, inp.U, inp.V, DU, DV);
    let an = 0;
    for (let k = 0; k < 12; k++) an += o.gradU.data[k]! * DU.data[k]! + o.gradV.data[k]! * DV.data[k]!;
    expect(Math.abs(an - fd)).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(fd)));
  });
});

describe('FastCLIP-v3 estimator', () => {
  it.each(MODS)('%s: with no τ steps it is SogCLR at τ0, bit for bit', (modality) => {
    const rng = Rng.fromSeed(66);
    const U = unitRows(rng, 12, 5);
    const V = unitRows(rng, 12, 5);
    const fcl = makeEstimator({ kind: 'fastclip-v3', modality, tau0: 0.2, tauMin: 0.01, tauMax: 1, rho: 0.4, tauLr: 0, gamma: { schedule: 'cosine', gammaMin: 0.3, epochs: 4 } });
    const sog = makeEstimator({ kind: 'sogclr', modality, tau: 0.2, gamma: { schedule: 'cosine', gammaMin: 0.3, epochs: 4 } });
    let a = fcl.init(12);
    let b = sog.init(12);
    for (let t = 0; t < 8; t++) {
      const inp = input(U, V, rng.sample(12, 5), t >> 1);
      const oa = fcl.step(inp, a);
      const ob = sog.step(inp, b);
      expect(oa.gradU).toEqual(ob.gradU);
      expect(oa.gradV).toEqual(ob.gradV);
      a = oa.state;
      b = ob.state;
    }
  });

  it.each(MODS)('%s: the τ step uses ∂/∂τ [(τ/(2B)) Σ_a log(ε₀ + ĝ_a(τ)) + ρτ] at u = ĝ (central differences)', (modality) => {
    const rng = Rng.fromSeed(67);
    const U = unitRows(rng, 9, 4);
    const V = unitRows(rng, 9, 4);
    const idx = [0, 3, 4, 8];
    const inp = input(U, V, idx);
    for (const eps0 of [0, 0.2]) {
      const tau = 0.15;
      const rho = 0.7;
      const eta = 1e-3;
      const est = makeEstimator({ kind: 'fastclip-v3', modality, tau0: tau, tauMin: 1e-3, tauMax: 10, rho, tauLr: eta, gamma: 0.8, eps0 }) as Estimator<FastclipState>;
      const o = est.step(inp, est.init(9));
      const gTau = (tau - o.state.tau) / eta;
      const value = (t: number) => surrogateGradient(modality, inp.U, inp.V, { tau: t, eps0, backend: be }).value + rho * t;
      const k = 1e-6;
      const fd = (value(tau + k) - value(tau - k)) / (2 * k);
      // (τ − τ')/η loses ~ε·τ/η ≈ 3e-14 to cancellation; the difference quotient ~1e-9.
      expect(Math.abs(gTau - fd)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(fd)));
      expect(o.batchValue).toBeCloseTo(value(tau), 13);
      if (eps0 === 0) {
        // = ρ − mean over anchors of KL(softmax'_a ‖ uniform)
        const H = anchorH(modality, inp.U, inp.V);
        const meanKl = H.reduce((s, h) => s + (rho - robustDualTauGrad(h, tau, rho)), 0) / H.length;
        expect(gTau).toBeCloseTo(rho - meanKl, 9);
      }
    }
  });
});
