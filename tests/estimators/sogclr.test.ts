import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createCpuBackend, createReferenceBackend } from '../../src/backend/index.ts';
import type { Backend } from '../../src/backend/types.ts';
import { binomial, combinations } from '../../src/core/combinatorics.ts';
import { ConfigError, DomainError, ShapeError } from '../../src/core/errors.ts';
import { gatherRows, type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { decodeState, encodeState } from '../../src/io/codec.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad, infonceLossAndGrad } from '../../src/objectives/index.ts';
import {
  anchorLogG, type EstimatorSpec, makeEstimator, type Modality, movingAverageLogU, type SogclrState, surrogateGradient,
} from '../../src/estimators/index.ts';
import type { Estimator } from '../../src/estimators/types.ts';
import { directional, gaussian, maxAbs, maxAbsDiff, unitRows } from '../helpers.ts';
import { naiveStep, type NaiveOptions } from './naive.ts';

const f64 = createCpuBackend({ dtype: 'f64' });
const f32 = createCpuBackend({ dtype: 'f32' });
const ref = createReferenceBackend();

const MODS: Modality[] = ['bimodal', 'unimodal'];

/** Largest |a − b| relative to the largest |b| (a floor of 1e-300 keeps it defined at zero). */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return maxAbsDiff(a, b) / Math.max(1e-300, maxAbs(b));
}

function batchInput(U: Matrix64, V: Matrix64, idx: ArrayLike<number>, backend: Backend, epoch = 0, step = 0) {
  const index = Int32Array.from(idx);
  return { U: gatherRows(U, index) as Matrix64, V: gatherRows(V, index) as Matrix64, index, epoch, step, backend };
}

/**
 * Runs `steps` random batches (with replacement across steps, distinct within) and returns the outputs,
 * each with a snapshot (clone) of the state after its step; `state` (updated in place) is left as given.
 */
function run<S>(est: Estimator<S>, U: Matrix64, V: Matrix64, B: number, steps: number, seed: number, backend: Backend, state?: S) {
  const rng = Rng.fromSeed(seed);
  const st = state === undefined ? est.init(U.rows) : est.clone(state);
  const outs = [];
  for (let t = 0; t < steps; t++) {
    const o = est.step(batchInput(U, V, rng.sample(U.rows, B), backend, 0, t), st);
    outs.push({ ...o, state: est.clone(o.state) });
  }
  return { outs, state: st };
}

// Bounds shared by the property tests: N ∈ [3, 8] and d ∈ [1, 5] keep C(N,B) ≤ 70 batches per
// instance; τ ∈ [0.05, 2] keeps e^{2/τ} ≤ e^{40}, so the naive float64 reference (no max shift) is
// exact to rounding; ε₀ ∈ [0, 1] covers DCL (0), SimCLR/CLIP-sized values and larger.
const small = fc.record({
  n: fc.integer({ min: 3, max: 8 }),
  d: fc.integer({ min: 1, max: 5 }),
  tau: fc.double({ min: 0.05, max: 2, noNaN: true }),
  eps0: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

describe('SogCLR with u = g is unbiased (THEORY 5)', () => {
  // Averaged over ALL C(N,B) batches (the uniform batch distribution), the scattered estimate equals
  // the exact ∇F of src/objectives/gcl.ts; rounding only: sums of ≤ 70 batches of O(1) terms.
  // bRaw ∈ [2, 8] is folded into B ∈ [2, N] below (every batch size of the instance is reachable).
  test.prop([small, fc.integer({ min: 2, max: 8 }), fc.constantFrom(...MODS)], { seed: 11, numRuns: 40 })(
    'mean over all batches of the scattered estimate = ∇F', ({ n, d, tau, eps0, seed }, bRaw, modality) => {
      const B = 2 + (bRaw % (n - 1)); // B ∈ [2, N]
      const rng = Rng.fromSeed(seed);
      const U = unitRows(rng, n, d);
      const V = unitRows(rng, n, d);
      const logG = anchorLogG(modality, U, V, { tau, backend: f64 });
      const exact = (modality === 'bimodal' ? gclBimodalLossAndGrad : gclUnimodalLossAndGrad)(U, V, { tau, eps0, backend: f64 });
      const sumU = zeros(n, d);
      const sumV = zeros(n, d);
      for (const c of combinations(n, B)) {
        const idx = Array.from(c);
        const logU = Float64Array.from([...idx.map((i) => logG[i]!), ...idx.map((i) => logG[n + i]!)]);
        const r = surrogateGradient(modality, gatherRows(U, idx), gatherRows(V, idx), { tau, eps0, backend: f64, logU });
        idx.forEach((i, k) => {
          for (let j = 0; j < d; j++) {
            sumU.data[i * d + j]! += r.gradU.data[k * d + j]!;
            sumV.data[i * d + j]! += r.gradV.data[k * d + j]!;
          }
        });
      }
      const nb = binomial(n, B);
      const meanU = sumU.data.map((x) => x / nb);
      const meanV = sumV.data.map((x) => x / nb);
      const scale = Math.max(maxAbs(exact.gradU!.data), maxAbs(exact.gradV!.data));
      expect(maxAbsDiff(meanU, exact.gradU!.data)).toBeLessThanOrEqual(1e-13 * scale + 1e-16);
      expect(maxAbsDiff(meanV, exact.gradV!.data)).toBeLessThanOrEqual(1e-13 * scale + 1e-16);
    });

  it('the estimator step uses the u of its state after the update (links the estimator to surrogateGradient)', () => {
    const rng = Rng.fromSeed(3);
    const U = unitRows(rng, 9, 4);
    const V = unitRows(rng, 9, 4);
    for (const modality of MODS) {
      const est = makeEstimator({ kind: 'sogclr', modality, tau: 0.3, gamma: 0.6, eps0: 0.1 }) as Estimator<SogclrState>;
      const { state } = run(est, U, V, 4, 5, 1, f64);
      const inp = batchInput(U, V, [2, 5, 7, 8], f64);
      const o = est.step(inp, state);
      const lu = movingAverageLogU(o.state);
      const logU = Float64Array.from([...inp.index].flatMap((i) => [lu[i]!]).concat([...inp.index].map((i) => lu[9 + i]!)));
      const r = surrogateGradient(modality, inp.U, inp.V, { tau: 0.3, eps0: 0.1, backend: f64, logU });
      expect(relDiff(o.gradU.data, r.gradU.data)).toBeLessThanOrEqual(1e-14);
      expect(relDiff(o.gradV.data, r.gradV.data)).toBeLessThanOrEqual(1e-14);
    }
  });
});

describe('plug-in estimators', () => {
  // steps ∈ [1, 6]: from the first visit to repeated visits of most entries (B = N − 1 of N ≤ 8).
  test.prop([small, fc.constantFrom(...MODS), fc.integer({ min: 1, max: 6 })], { seed: 12, numRuns: 40 })(
    'γ = 1 gives the plug-in estimate bit for bit, at every step (first visit or not)', ({ n, d, tau, eps0, seed }, modality, steps) => {
      const rng = Rng.fromSeed(seed);
      const U = unitRows(rng, n, d);
      const V = unitRows(rng, n, d);
      const B = Math.max(2, n - 1);
      const sog = run(makeEstimator({ kind: 'sogclr', modality, tau, gamma: 1, eps0 }), U, V, B, steps, seed, f64).outs;
      const sogShared = run(makeEstimator({ kind: 'sogclr', modality, tau, gamma: 1, eps0, sharedU: true }), U, V, B, steps, seed, f64).outs;
      // The plug-in with this ε₀: the batch's own GCL gradient (gcl.ts on the B rows).
      const rr = Rng.fromSeed(seed);
      for (let t = 0; t < steps; t++) {
        const inp = batchInput(U, V, rr.sample(n, B), f64);
        const g = (modality === 'bimodal' ? gclBimodalLossAndGrad : gclUnimodalLossAndGrad)(inp.U, inp.V, { tau, eps0, backend: f64 });
        for (const o of [sog[t]!, sogShared[t]!]) {
          expect(relDiff(o.gradU.data, g.gradU!.data)).toBeLessThanOrEqual(1e-15);
          expect(relDiff(o.gradV.data, g.gradV!.data)).toBeLessThanOrEqual(1e-15);
          expect(Math.abs(o.batchValue - g.value)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(g.value)));
        }
        expect(sogShared[t]!.gradU).toEqual(sog[t]!.gradU);
      }
    });

  // steps ∈ [1, 4]: plug-ins keep no state, a few steps show SogCLR's γ = 1 ignores its history.
  test.prop([small, fc.integer({ min: 1, max: 4 })], { seed: 13, numRuns: 30 })(
    'dcl / clip / simclr equal SogCLR at γ = 1 with ε₀ = 0, 1/(B−1), 1/(2B−2), bit for bit', ({ n, d, tau, seed }, steps) => {
      const rng = Rng.fromSeed(seed);
      const U = unitRows(rng, n, d);
      const V = unitRows(rng, n, d);
      const B = Math.max(2, n - 1);
      const cases: [EstimatorSpec, EstimatorSpec][] = [
        [{ kind: 'dcl', modality: 'bimodal', tau }, { kind: 'sogclr', modality: 'bimodal', tau, gamma: 1, eps0: 0 }],
        [{ kind: 'dcl', modality: 'unimodal', tau }, { kind: 'sogclr', modality: 'unimodal', tau, gamma: 1, eps0: 0 }],
        [{ kind: 'clip', tau }, { kind: 'sogclr', modality: 'bimodal', tau, gamma: 1, eps0: 1 / (B - 1) }],
        [{ kind: 'simclr', tau }, { kind: 'sogclr', modality: 'unimodal', tau, gamma: 1, eps0: 1 / (2 * B - 2) }],
      ];
      for (const [plug, sog] of cases) {
        const a = run(makeEstimator(plug), U, V, B, steps, seed, f64).outs;
        const b = run(makeEstimator(sog), U, V, B, steps, seed, f64).outs;
        for (let t = 0; t < steps; t++) {
          expect(a[t]!.gradU).toEqual(b[t]!.gradU);
          expect(a[t]!.gradV).toEqual(b[t]!.gradV);
          expect(a[t]!.batchValue).toBe(b[t]!.batchValue);
        }
      }
    });

  /** NT-Xent written out independently: 2B views, anchor a against its positive and the 2B − 2 other views. */
  function ntXent(U: Matrix64, V: Matrix64, tau: number): number {
    const B = U.rows;
    const d = U.cols;
    const Z = zeros(2 * B, d);
    Z.data.set(U.data, 0);
    Z.data.set(V.data, B * d);
    const sim = (a: number, z: number) => {
      let s = 0;
      for (let k = 0; k < d; k++) s += Z.data[a * d + k]! * Z.data[z * d + k]!;
      return s / tau;
    };
    let total = 0;
    for (let a = 0; a < 2 * B; a++) {
      const p = (a + B) % (2 * B);
      const logits: number[] = [];
      for (let z = 0; z < 2 * B; z++) if (z !== a) logits.push(sim(a, z));
      const mx = Math.max(...logits);
      const lse = mx + Math.log(logits.reduce((s, x) => s + Math.exp(x - mx), 0));
      total += lse - sim(a, p);
    }
    return total / (2 * B);
  }

  test.prop([small], { seed: 14, numRuns: 40 })(
    'THEORY 2.3: τ·NT-Xent(batch) = unimodal GCL(batch, ε₀ = 1/(2B−2)) + τ·log(2B−2); simclr gradient = τ·∇NT-Xent', ({ n, d, tau, seed }) => {
      const rng = Rng.fromSeed(seed);
      const U = unitRows(rng, n, d);
      const V = unitRows(rng, n, d);
      const B = n;
      const est = makeEstimator({ kind: 'simclr', tau });
      const o = est.step(batchInput(U, V, Array.from({ length: n }, (_, i) => i), ref), est.init(n));
      const gcl = gclUnimodalLossAndGrad(U, V, { tau, eps0: 1 / (2 * B - 2), backend: ref });
      const nt = ntXent(U, V, tau);
      // Sums of 2B terms of size ≤ 2/τ ≤ 40: 1e-12 relative is thousands of ulps of slack, still tight.
      expect(Math.abs(tau * nt - (gcl.value + tau * Math.log(2 * B - 2)))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(tau * nt)));
      expect(Math.abs(tau * nt - (o.batchValue + tau * Math.log(2 * B - 2)))).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(tau * nt)));
      // Gradient: central differences along a random direction (error O(h²) + O(ε/h), h = 1e-5).
      const DU = gaussian(rng, n, d);
      const DV = gaussian(rng, n, d);
      const fd = directional((A, Bm) => tau * ntXent(A, Bm, tau), U, V, DU, DV);
      let an = 0;
      for (let k = 0; k < n * d; k++) an += o.gradU.data[k]! * DU.data[k]! + o.gradV.data[k]! * DV.data[k]!;
      expect(Math.abs(an - fd)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(fd)));
    });

  test.prop([small], { seed: 15, numRuns: 30 })('clip: value + τ·log(B−1) = τ·InfoNCE(batch), gradient = τ·∇InfoNCE', ({ n, d, tau, seed }) => {
    const rng = Rng.fromSeed(seed);
    const U = unitRows(rng, n, d);
    const V = unitRows(rng, n, d);
    const est = makeEstimator({ kind: 'clip', tau });
    const o = est.step(batchInput(U, V, Array.from({ length: n }, (_, i) => i), f64), est.init(n));
    const L = infonceLossAndGrad(U, V, { tau, backend: f64 });
    expect(Math.abs(o.batchValue + tau * Math.log(n - 1) - tau * L.value)).toBeLessThanOrEqual(1e-12 * Math.max(1, tau * L.value));
    expect(relDiff(o.gradU.data, L.gradU!.data.map((x) => tau * x))).toBeLessThanOrEqual(1e-12);
    expect(relDiff(o.gradV.data, L.gradV!.data.map((x) => tau * x))).toBeLessThanOrEqual(1e-12);
  });
});

describe('SogCLR against an independent naive implementation (multi-step, all options)', () => {
  // The naive version stores u directly and writes the surrogate gradient entry by entry; the two
  // agree to rounding over runs that mix first and repeated visits.
  test.prop([
    small,
    fc.constantFrom(...MODS),
    fc.double({ min: 0.05, max: 1, noNaN: true }), // γ ∈ [0.05, 1]; below 1/2 the sum-storage pitfall grows as 2(1−γ) per visit, ≤ 1.9^10 here
    fc.record({ sharedU: fc.boolean(), sumStorage: fc.boolean(), batchFirstVisit: fc.boolean() }),
    fc.integer({ min: 1, max: 10 }), // steps: enough to revisit entries (N ≤ 8) and mix first and later visits
  ], { seed: 16, numRuns: 80 })('same u and same estimates step by step', ({ n, d, tau, eps0, seed }, modality, gamma, opt, steps) => {
    const sumStorage = opt.sharedU && opt.sumStorage;
    const spec: EstimatorSpec = {
      kind: 'sogclr', modality, tau, gamma, eps0, sharedU: opt.sharedU, pitfalls: { sumStorage, batchFirstVisit: opt.batchFirstVisit },
    };
    const o: NaiveOptions = { modality, tau, gamma, eps0, sharedU: opt.sharedU, sumStorage, batchFirstVisit: opt.batchFirstVisit };
    const rng = Rng.fromSeed(seed);
    const U = unitRows(rng, n, d);
    const V = unitRows(rng, n, d);
    const B = 2 + (seed % (n - 1));
    const est = makeEstimator(spec) as Estimator<SogclrState>;
    const { outs } = run(est, U, V, B, steps, seed, f64);
    const naive = { u: new Map<number, number>(), n };
    const rr = Rng.fromSeed(seed);
    for (let t = 0; t < steps; t++) {
      const idx = rr.sample(n, B);
      const want = naiveStep(o, naive, gatherRows(U, idx) as Matrix64, gatherRows(V, idx) as Matrix64, idx);
      // Relative to the larger of the gradient and 1e-2 (the gradient's natural size is ~1/(2B) ≥ 1/16):
      // degenerate instances (d = 1, identical views) have an exactly zero gradient and rounding noise.
      const floor = Math.max(1e-2, maxAbs(want.gradU.data), maxAbs(want.gradV.data));
      expect(maxAbsDiff(outs[t]!.gradU.data, want.gradU.data)).toBeLessThanOrEqual(1e-11 * floor);
      expect(maxAbsDiff(outs[t]!.gradV.data, want.gradV.data)).toBeLessThanOrEqual(1e-11 * floor);
      const lu = movingAverageLogU(outs[t]!.state);
      for (const [k, u] of naive.u) expect(Math.abs(Math.exp(lu[k]!) - u)).toBeLessThanOrEqual(1e-11 * u);
    }
  });

  it('the estimate is the gradient of the surrogate (τ/(2B)) Σ ĝ_a/(ε₀ + u_a) with u held fixed (central differences)', () => {
    const rng = Rng.fromSeed(21);
    const n = 6;
    const d = 3;
    const U = unitRows(rng, n, d);
    const V = unitRows(rng, n, d);
    const tau = 0.4;
    const eps0 = 0.05;
    for (const modality of MODS) {
      const est = makeEstimator({ kind: 'sogclr', modality, tau, gamma: 0.7, eps0 }) as Estimator<SogclrState>;
      const { state } = run(est, U, V, 4, 4, 5, ref);
      const idx = [0, 2, 3, 5];
      const inp = batchInput(U, V, idx, ref);
      const o = est.step(inp, state);
      const lu = movingAverageLogU(o.state);
      const u = [...idx.map((i) => Math.exp(lu[i]!)), ...idx.map((i) => Math.exp(lu[n + i]!))];
      const surrogate = (A: Matrix64, Bm: Matrix64) => {
        const lg = anchorLogG(modality, A, Bm, { tau, backend: ref });
        let s = 0;
        for (let a = 0; a < lg.length; a++) s += Math.exp(lg[a]!) / (eps0 + u[a]!);
        return (tau / (2 * idx.length)) * s;
      };
      const DU = gaussian(rng, 4, d);
      const DV = gaussian(rng, 4, d);
      const fd = directional(surrogate, inp.U, inp.V, DU, DV);
      let an = 0;
      for (let k = 0; k < 4 * d; k++) an += o.gradU.data[k]! * DU.data[k]! + o.gradV.data[k]! * DV.data[k]!;
      expect(Math.abs(an - fd)).toBeLessThanOrEqual(1e-8 * Math.max(1, Math.abs(fd)));
    }
  });
});

describe('max shift', () => {
  it('the same estimates with the state shifted by a large common b (s·e^{−300}, b + 300)', () => {
    const rng = Rng.fromSeed(31);
    const U = unitRows(rng, 10, 4);
    const V = unitRows(rng, 10, 4);
    for (const modality of MODS) {
      for (const sharedU of [false, true]) {
        const est = makeEstimator({ kind: 'sogclr', modality, tau: 0.2, gamma: 0.8, eps0: 0.01, sharedU }) as Estimator<SogclrState>;
        const { state } = run(est, U, V, 4, 8, 2, f64);
        const shifted: SogclrState = { ...state, s: state.s.map((x) => x * Math.exp(-300)), b: state.b.map((x) => x + 300) };
        const a = run(est, U, V, 4, 6, 3, f64, state).outs;
        const b = run(est, U, V, 4, 6, 3, f64, shifted).outs;
        for (let t = 0; t < a.length; t++) {
          expect(relDiff(b[t]!.gradU.data, a[t]!.gradU.data)).toBeLessThanOrEqual(1e-12);
          expect(relDiff(b[t]!.gradV.data, a[t]!.gradV.data)).toBeLessThanOrEqual(1e-12);
        }
      }
    }
  });

  it('τ = 0.01 on the float32 backend: no overflow, no NaN, and the float64 estimates to float32 accuracy', () => {
    // At τ = 0.01, e^{S} reaches e^{100} (float32 overflows past e^{88.7}); ĝ itself up to e^{200}.
    const rng = Rng.fromSeed(32);
    const n = 64;
    const d = 16;
    // Nearly aligned positives and a few near-duplicate negatives: large and small ĝ at once.
    const U = unitRows(rng, n, d);
    const V = unitRows(rng, n, d);
    for (let i = 0; i < n; i += 2) for (let k = 0; k < d; k++) V.data[i * d + k] = U.data[i * d + k]! + 0.05 * V.data[i * d + k]!;
    const norm = (M: Matrix64) => {
      for (let i = 0; i < M.rows; i++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += M.data[i * d + k]! ** 2;
        for (let k = 0; k < d; k++) M.data[i * d + k]! /= Math.sqrt(s);
      }
    };
    norm(V);
    for (const modality of MODS) {
      for (const sharedU of [false, true]) {
        const spec: EstimatorSpec = { kind: 'sogclr', modality, tau: 0.01, gamma: 0.9, eps0: 0, sharedU };
        const a = run(makeEstimator(spec) as Estimator<SogclrState>, U, V, 16, 20, 4, f32);
        const b = run(makeEstimator(spec) as Estimator<SogclrState>, U, V, 16, 20, 4, f64);
        for (let t = 0; t < a.outs.length; t++) {
          const oa = a.outs[t]!;
          expect(oa.gradU.data.every(Number.isFinite) && oa.gradV.data.every(Number.isFinite)).toBe(true);
          expect(Number.isFinite(oa.batchValue)).toBe(true);
          // float32 logits carry ~6e-8·|S| ≤ 6e-6 absolute error at |S| ≤ 100, which moves the weights by
          // a relative ~1e-5; 1e-3 of the largest entry leaves a wide margin and still catches a wrong term.
          expect(relDiff(oa.gradU.data, b.outs[t]!.gradU.data)).toBeLessThanOrEqual(1e-3);
          expect(relDiff(oa.gradV.data, b.outs[t]!.gradV.data)).toBeLessThanOrEqual(1e-3);
        }
        const lu = movingAverageLogU(a.state);
        expect(lu.every((x) => Number.isFinite(x) || x === -Infinity)).toBe(true);
        expect(a.state.s.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
        expect(Math.max(...lu.filter(Number.isFinite))).toBeGreaterThan(20); // really large u: e^{20} and more
      }
    }
  });

  it('τ = 0.002 in float64 (ĝ up to e^{1000} overflows a double): finite estimates; γ = 1 equals gcl.ts on the batch', () => {
    const rng = Rng.fromSeed(33);
    const U = unitRows(rng, 12, 3);
    const V = unitRows(rng, 12, 3);
    for (const modality of MODS) {
      const a = run(makeEstimator({ kind: 'sogclr', modality, tau: 0.002, gamma: 0.5, eps0: 0 }), U, V, 6, 25, 9, f64);
      for (const o of a.outs) expect(o.gradU.data.every(Number.isFinite) && o.gradV.data.every(Number.isFinite)).toBe(true);
      const lu = movingAverageLogU(a.state as SogclrState);
      expect(Math.max(...lu.filter(Number.isFinite))).toBeGreaterThan(709); // log u beyond the float64 range of u
      const one = run(makeEstimator({ kind: 'sogclr', modality, tau: 0.002, gamma: 1, eps0: 0.5 }), U, V, 6, 3, 9, f64).outs;
      const rr = Rng.fromSeed(9);
      for (const o of one) {
        const inp = batchInput(U, V, rr.sample(12, 6), f64);
        const g = (modality === 'bimodal' ? gclBimodalLossAndGrad : gclUnimodalLossAndGrad)(inp.U, inp.V, { tau: 0.002, eps0: 0.5, backend: f64 });
        expect(relDiff(o.gradU.data, g.gradU!.data)).toBeLessThanOrEqual(1e-15);
      }
    }
  });
});

describe('state', () => {
  const specs: EstimatorSpec[] = [
    { kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: { schedule: 'cosine', gammaMin: 0.2, epochs: 3 }, eps0: 0 },
    { kind: 'sogclr', modality: 'unimodal', tau: 0.1, gamma: 0.9, eps0: 0.01, sharedU: true },
    { kind: 'isogclr', tau0: 0.1, tauMin: 0.05, tauMax: 1, rho: 0.3, tauLr: 0.01, gamma: 0.8 },
    { kind: 'fastclip-v3', tau0: 0.1, tauMin: 0.01, tauMax: 1, rho: 0.5, tauLr: 0.05, gamma: 0.8 },
    { kind: 'simclr', tau: 0.2 },
  ];

  it.each(specs.map((s) => [s.kind + ('modality' in s ? ` ${s.modality}` : ''), s] as const))(
    '%s: a round trip through encodeState/decodeState mid-run gives the same continuation, bit for bit', (_, spec) => {
      const rng = Rng.fromSeed(41);
      const U = unitRows(rng, 20, 5);
      const V = unitRows(rng, 20, 5);
      const est = makeEstimator(spec);
      const { state } = run(est, U, V, 6, 7, 1, f64);
      const restored = decodeState(JSON.parse(JSON.stringify(encodeState(state))));
      const a = run(est, U, V, 6, 5, 2, f64, state);
      const b = run(est, U, V, 6, 5, 2, f64, restored);
      for (let t = 0; t < 5; t++) {
        expect(b.outs[t]!.gradU).toEqual(a.outs[t]!.gradU);
        expect(b.outs[t]!.gradV).toEqual(a.outs[t]!.gradV);
      }
      expect(b.state).toEqual(a.state);
    });

  it.each(specs.map((s) => [s.kind, s] as const))('%s: step updates its input state in place and returns it; a clone taken before is untouched', (_, spec) => {
    const rng = Rng.fromSeed(42);
    const U = unitRows(rng, 10, 3);
    const V = unitRows(rng, 10, 3);
    const est = makeEstimator(spec);
    const st = est.init(10);
    for (let t = 0; t < 4; t++) {
      const before = est.clone(st);
      const frozen = structuredClone(before);
      const o = est.step(batchInput(U, V, rng.sample(10, 4), f64, t), st);
      expect(o.state).toBe(st);
      expect(before).toEqual(frozen);
      if (spec.kind !== 'simclr') expect(st).not.toEqual(before);
    }
  });

  it('checks inputs and states with typed errors', () => {
    const rng = Rng.fromSeed(43);
    const U = unitRows(rng, 6, 3);
    const V = unitRows(rng, 6, 3);
    const est = makeEstimator({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9 });
    const st = est.init(6);
    expect(() => est.step(batchInput(U, V, [0, 1, 1], f64), st)).toThrow(/repeats/);
    expect(() => est.step(batchInput(U, V, [0, 1, 2], f64), est.init(2))).toThrow(ShapeError);
    expect(() => est.step({ ...batchInput(U, V, [0, 1], f64), index: Int32Array.from([0]) }, st)).toThrow(ShapeError);
    expect(() => est.step(batchInput(U, V, [0], f64), st)).toThrow(/B >= 2/);
    expect(() => est.step({ ...batchInput(U, V, [0, 1], f64), epoch: -1 }, st)).toThrow(DomainError);
    const bad = batchInput(U, V, [0, 1], f64);
    bad.U.data[0] = NaN;
    expect(() => est.step(bad, st)).toThrow(/NaN/);
    const shared = makeEstimator({ kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9, sharedU: true });
    expect(() => shared.step(batchInput(U, V, [0, 1], f64), st)).toThrow(ConfigError);
    expect(() => est.init(1)).toThrow(ConfigError);
  });
});
