import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { gatherRows, matrix, type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import {
  gclBimodalLossAndGrad, gclUnimodalLossAndGrad, infonceLossAndGrad, infonceUvLossAndGrad, minibatchLossAndGrad,
} from '../../src/objectives/index.ts';
import { ConfigError, DomainError, NonFiniteError, ShapeError, CapExceededError } from '../../src/core/errors.ts';
import { gaussian, maxAbs, maxAbsDiff, unitRows } from '../helpers.ts';

const backend = createReferenceBackend();

// Bounds: N ∈ [2, 9], d ∈ [1, 6] (materialised oracle; includes d = 1 and N = 2), τ ∈ [0.02, 3]
// (logits up to 50: exercises the max shift without making the identities ill-conditioned).
const inst = fc.record({
  n: fc.integer({ min: 2, max: 9 }),
  d: fc.integer({ min: 1, max: 6 }),
  tau: fc.double({ min: 0.02, max: 3, noNaN: true }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

/** A Haar-ish rotation: Gram-Schmidt of a Gaussian matrix (d x d). */
function rotation(rng: Rng, d: number): Matrix64 {
  const Q = gaussian(rng, d, d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < i; k++) {
      let dt = 0;
      for (let j = 0; j < d; j++) dt += Q.data[i * d + j]! * Q.data[k * d + j]!;
      for (let j = 0; j < d; j++) Q.data[i * d + j]! -= dt * Q.data[k * d + j]!;
    }
    let nr = 0;
    for (let j = 0; j < d; j++) nr += Q.data[i * d + j]! ** 2;
    for (let j = 0; j < d; j++) Q.data[i * d + j]! /= Math.sqrt(nr);
  }
  return Q;
}

function times(X: Matrix64, Q: Matrix64): Matrix64 {
  const out = zeros(X.rows, Q.cols);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < Q.cols; j++) {
      let s = 0;
      for (let k = 0; k < X.cols; k++) s += X.data[i * X.cols + k]! * Q.data[k * Q.cols + j]!;
      out.data[i * Q.cols + j] = s;
    }
  }
  return out;
}

// Identities hold exactly in real arithmetic; in float64 they hold to rounding of sums of ~N terms
// of size ≤ max|S|, so 1e-12 relative (≈ 5000 ulps) is generous and still catches any wrong term.
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(a), Math.abs(b)));

describe('identities and invariances', () => {
  test.prop([inst], { seed: 7, numRuns: 60 })('τ·infonce = gcl-bimodal(ε₀ = 1/(N−1)) + τ·log(N−1)', ({ n, d, tau, seed }) => {
    const rng = Rng.fromSeed(seed);
    const U = unitRows(rng, n, d);
    const V = unitRows(rng, n, d);
    const L = infonceLossAndGrad(U, V, { tau, backend });
    const F = gclBimodalLossAndGrad(U, V, { tau, eps0: 1 / (n - 1), backend });
    close(tau * L.value, F.value + tau * Math.log(n - 1));
    // The identity holds as functions, so the gradients agree too.
    expect(maxAbsDiff(L.gradU!.data.map((x) => tau * x), F.gradU!.data)).toBeLessThanOrEqual(1e-12 * Math.max(1, maxAbs(F.gradU!.data)));
  });

  test.prop([inst], { seed: 8, numRuns: 40 })('permuting the pairs leaves every objective unchanged', ({ n, d, tau, seed }) => {
    const rng = Rng.fromSeed(seed);
    const U = gaussian(rng, n, d);
    const V = gaussian(rng, n, d);
    const perm = rng.permutation(n);
    const Up = gatherRows(U, perm) as Matrix64;
    const Vp = gatherRows(V, perm) as Matrix64;
    for (const f of [infonceLossAndGrad, infonceUvLossAndGrad, gclBimodalLossAndGrad, gclUnimodalLossAndGrad]) {
      const a = f(U, V, { tau, backend });
      const b = f(Up, Vp, { tau, backend });
      close(a.value, b.value);
      // The gradient is permuted the same way.
      expect(maxAbsDiff(gatherRows(a.gradU!, perm).data, b.gradU!.data)).toBeLessThanOrEqual(1e-12 * Math.max(1, maxAbs(a.gradU!.data)));
    }
  });

  test.prop([inst], { seed: 9, numRuns: 40 })('a common rotation of U and V leaves every objective unchanged', ({ n, d, tau, seed }) => {
    const rng = Rng.fromSeed(seed);
    const U = gaussian(rng, n, d);
    const V = gaussian(rng, n, d);
    const Q = rotation(rng, d);
    for (const f of [infonceLossAndGrad, infonceUvLossAndGrad, gclBimodalLossAndGrad, gclUnimodalLossAndGrad]) {
      const a = f(U, V, { tau, backend, grad: false }).value;
      const b = f(times(U, Q), times(V, Q), { tau, backend, grad: false }).value;
      expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-11 * Math.max(1, Math.abs(a)));
    }
  });

  test.prop([inst], { seed: 10, numRuns: 30 })('minibatch over all C(N,N) batches, and over [all rows], equals infonce', ({ n, d, tau, seed }) => {
    const rng = Rng.fromSeed(seed);
    const U = gaussian(rng, n, d);
    const V = gaussian(rng, n, d);
    const full = infonceLossAndGrad(U, V, { tau, backend });
    const all = minibatchLossAndGrad(U, V, { tau, backend, batches: { kind: 'all', B: n } });
    const list = minibatchLossAndGrad(U, V, { tau, backend, batches: { kind: 'list', batches: [Array.from({ length: n }, (_, i) => i)] } });
    close(all.value, full.value);
    close(list.value, full.value);
    expect(maxAbsDiff(all.gradV!.data, full.gradV!.data)).toBeLessThanOrEqual(1e-13);
  });

  it('the all-batches objective averages the explicit batch losses', () => {
    const rng = Rng.fromSeed(3);
    const U = unitRows(rng, 5, 3);
    const V = unitRows(rng, 5, 3);
    const all = minibatchLossAndGrad(U, V, { backend, batches: { kind: 'all', B: 3 } }).value;
    let s = 0;
    let c = 0;
    for (let a = 0; a < 5; a++) for (let b = a + 1; b < 5; b++) for (let e = b + 1; e < 5; e++) {
      s += infonceLossAndGrad(gatherRows(U, [a, b, e]), gatherRows(V, [a, b, e]), { backend }).value;
      c++;
    }
    expect(c).toBe(10);
    close(all, s / c);
  });

  it('max shift: τ = 0.01 gives finite values and gradients, equal to a shift-free evaluation where that is exact', () => {
    const rng = Rng.fromSeed(11);
    const U = unitRows(rng, 6, 4);
    const V = unitRows(rng, 6, 4);
    for (const f of [infonceLossAndGrad, gclBimodalLossAndGrad, gclUnimodalLossAndGrad]) {
      const r = f(U, V, { tau: 0.01, backend });
      expect(Number.isFinite(r.value)).toBe(true);
      expect(r.gradU!.data.every(Number.isFinite)).toBe(true);
    }
    // infonce(τ) with all S scaled: equal to an exact evaluation through exp without overflow at τ = 1/50.
    const tau = 1 / 50;
    const n = 6;
    let naive = 0;
    for (let i = 0; i < n; i++) {
      let row = 0;
      let col = 0;
      const s = (a: number, b: number) => { let t = 0; for (let k = 0; k < 4; k++) t += U.data[a * 4 + k]! * V.data[b * 4 + k]!; return t / tau; };
      for (let j = 0; j < n; j++) { row += Math.exp(s(i, j)); col += Math.exp(s(j, i)); }
      naive += Math.log(row) - s(i, i) + Math.log(col) - s(i, i);
    }
    close(infonceLossAndGrad(U, V, { tau, backend }).value, naive / (2 * n));
  });
});

describe('bad input is a typed error naming the value', () => {
  const U = matrix(new Float64Array([1, 0, 0, 1]), 2, 2);
  it('mismatched shapes', () => {
    expect(() => infonceLossAndGrad(U, matrix(new Float64Array(6), 2, 3), { backend })).toThrow(/infonce: U is 2x2 but V is 2x3/);
    expect(() => infonceLossAndGrad(U, matrix(new Float64Array(6), 2, 3), { backend })).toThrow(ShapeError);
  });
  it('NaN and Infinity', () => {
    const bad = matrix(new Float64Array([1, NaN, 0, 1]), 2, 2);
    expect(() => infonceLossAndGrad(bad, U, { backend })).toThrow(NonFiniteError);
    expect(() => infonceLossAndGrad(U, matrix(new Float64Array([1, 0, Infinity, 1]), 2, 2), { backend })).toThrow(/V\[1,0\] is Infinity/);
  });
  it('τ ≤ 0, NaN τ, ε₀ < 0', () => {
    expect(() => infonceLossAndGrad(U, U, { tau: 0, backend })).toThrow(DomainError);
    expect(() => infonceLossAndGrad(U, U, { tau: -1, backend })).toThrow(/tau must be a finite number > 0, got -1/);
    expect(() => infonceLossAndGrad(U, U, { tau: NaN, backend })).toThrow(DomainError);
    expect(() => gclBimodalLossAndGrad(U, U, { eps0: -0.1, backend })).toThrow(/eps0 must be a finite number >= 0, got -0.1/);
  });
  it('GCL needs N ≥ 2', () => {
    const one = matrix(new Float64Array([1, 0]), 1, 2);
    expect(() => gclBimodalLossAndGrad(one, one, { backend })).toThrow(/N >= 2/);
  });
  it('B > N, bad batch lists, the enumeration cap', () => {
    expect(() => minibatchLossAndGrad(U, U, { backend, batches: { kind: 'all', B: 3 } })).toThrow(/B = 3 exceeds N = 2/);
    expect(() => minibatchLossAndGrad(U, U, { backend, batches: { kind: 'list', batches: [[0, 2]] } })).toThrow(/index 2, outside 0..1/);
    expect(() => minibatchLossAndGrad(U, U, { backend, batches: { kind: 'list', batches: [[1, 1]] } })).toThrow(/repeats index 1/);
    expect(() => minibatchLossAndGrad(U, U, { backend, batches: { kind: 'list', batches: [] } })).toThrow(ConfigError);
    const big = gaussian(Rng.fromSeed(1), 40, 2);
    expect(() => minibatchLossAndGrad(big, big, { backend, batches: { kind: 'all', B: 20 }, maxBatches: 1000 })).toThrow(CapExceededError);
    expect(() => minibatchLossAndGrad(big, big, { backend, batches: { kind: 'all', B: 20 }, maxBatches: 1000 })).toThrow(/C\(40,20\) = 137846528820 batches exceeds the cap of 1000/);
  });
});

describe('ndarray interop at the public boundary', () => {
  it('an ndarray (even a transposed view) gives the same value as the Matrix', async () => {
    const { default: ndarray } = await import('ndarray');
    const rng = Rng.fromSeed(12);
    const U = gaussian(rng, 5, 3);
    const V = gaussian(rng, 5, 3);
    const a = infonceLossAndGrad(U, V, { backend, tau: 0.4 }).value;
    // Store V transposed (3x5) and hand over its transpose view: strides [1, 5].
    const vt = new Float64Array(15);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) vt[j * 5 + i] = V.data[i * 3 + j]!;
    const b = infonceLossAndGrad(ndarray(new Float64Array(U.data), [5, 3]), ndarray(vt, [3, 5]).transpose(1, 0), { backend, tau: 0.4 }).value;
    expect(b).toBe(a);
  });
});
