/**
 * Distance to the optimal Gram matrix: zero at the constructed optima, invariant to relabelling
 * the points, exact (brute force over pairings) for the cross-polytope, and the failure of the
 * greedy per-row rearrangement of CHO's code on an exhibited instance.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { DomainError, NonFiniteError, ShapeError } from '../../src/core/errors.ts';
import { fromRows, gatherRows, type Matrix64, transpose, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { crossPolytopeInfonce } from '../../src/optima/closedForms.ts';
import { crossPolytope, crossPolytopeGram } from '../../src/optima/crossPolytope.ts';
import { etfGram, simplexEtf } from '../../src/optima/etf.ts';
import { gramDistance, gramFloor } from '../../src/optima/gramDistance.ts';
import { symmetricEigen } from '../../src/samplers/spectral/eigen.ts';
import { gaussian, unitRows } from '../helpers.ts';

const EPS = Number.EPSILON;

function gram(X: Matrix64, Y: Matrix64): Float64Array {
  const n = X.rows;
  const d = X.cols;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += X.data[i * d + k]! * Y.data[j * d + k]!;
      out[i * n + j] = s;
    }
  }
  return out;
}

function frob(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** All perfect matchings of 0..n-1 as mate arrays. */
function allPairings(n: number): Int32Array[] {
  const out: Int32Array[] = [];
  const mate = new Int32Array(n).fill(-1);
  const rec = (): void => {
    const i = mate.indexOf(-1);
    if (i < 0) {
      out.push(mate.slice());
      return;
    }
    for (let j = i + 1; j < n; j++) {
      if (mate[j] !== -1) continue;
      mate[i] = j;
      mate[j] = i;
      rec();
      mate[i] = -1;
      mate[j] = -1;
    }
  };
  rec();
  return out;
}

/**
 * The greedy per-row rearrangement of CHO's code (oc_utils/rearrange.py), re-expressed: for each
 * row i of X, walk the target row G_i entry by entry and take the closest not-yet-used entry of
 * X_i; then report ‖rearranged − G‖_F. Each row is permuted independently.
 */
function greedyRearrangementDistance(X: Float64Array, G: Float64Array, n: number): number {
  const Z = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const used = new Set<number>();
    for (let j = 0; j < n; j++) {
      const t = G[i * n + j]!;
      const order = Array.from({ length: n }, (_, k) => k).sort((a, b) => Math.abs(t - X[i * n + a]!) - Math.abs(t - X[i * n + b]!));
      const k = order.find((c) => !used.has(c))!;
      used.add(k);
      Z[i * n + j] = X[i * n + k]!;
    }
  }
  return frob(Z, G);
}

// Random configurations: unit rows (the setting of the theory) from a pinned seed; N even for the
// cross-polytope. N <= 10 keeps the brute force over pairings at 9!! = 945 matchings.
const config = fc.record({
  half: fc.integer({ min: 1, max: 5 }),
  d: fc.integer({ min: 1, max: 6 }),
  seed: fc.integer({ min: 0, max: 2 ** 31 }),
});

describe('gramDistance: ETF', () => {
  it('is 0 (to rounding) at the constructed ETF, rotated or not, for many (N, d)', () => {
    for (const N of [1, 2, 3, 5, 10, 33, 64]) {
      for (const extra of [0, 1, 7]) {
        const d = Math.max(1, N - 1) + extra;
        for (const rng of [undefined, Rng.fromSeed(N * 100 + extra)]) {
          const U = simplexEtf(N, d, { rng });
          const r = gramDistance(U, U, 'etf');
          expect(r.distance).toBeLessThanOrEqual(8 * N * (d + 2) * EPS);
          expect(r.pairing).toBeUndefined();
        }
      }
    }
  });

  test.prop([config], { seed: 777, numRuns: 150 })('equals the materialised ‖U Vᵀ − G*‖_F and is invariant to relabelling', ({ half, d, seed }) => {
    const N = 2 * half + (seed % 2); // odd N too
    const rng = Rng.fromSeed(seed);
    const U = unitRows(rng, N, d);
    const V = unitRows(rng, N, d);
    const r = gramDistance(U, V, 'etf');
    expect(Math.abs(r.distance - frob(gram(U, V), etfGram(N).data))).toBeLessThanOrEqual(64 * N * EPS);
    const p = rng.permutation(N);
    const rp = gramDistance(gatherRows(U, p) as Matrix64, gatherRows(V, p) as Matrix64, 'etf');
    expect(Math.abs(rp.distance - r.distance)).toBeLessThanOrEqual(64 * N * EPS);
  });
});

describe('gramDistance: cross-polytope', () => {
  it('is 0 at the constructed cross-polytope, rotated, and after any joint relabelling of the points', () => {
    const rng = Rng.fromSeed(12);
    for (const d of [1, 2, 3, 4, 8, 20]) {
      const N = 2 * d;
      const U = crossPolytope(N, d, { rng: rng.split() });
      const r0 = gramDistance(U, U, 'cross-polytope');
      expect(r0.distance).toBeLessThanOrEqual(8 * N * (d + 2) * EPS);
      for (let rep = 0; rep < 5; rep++) {
        const p = rng.permutation(N);
        const Up = gatherRows(U, p) as Matrix64;
        const r = gramDistance(Up, Up, 'cross-polytope');
        expect(r.distance).toBeLessThanOrEqual(8 * N * (d + 2) * EPS);
        // The pairing found is the antipodal one of the relabelled points: u_{pairing[i]} = -u_i.
        for (let i = 0; i < N; i++) {
          const j = r.pairing![i]!;
          for (let k = 0; k < d; k++) expect(Up.data[j * d + k]! + Up.data[i * d + k]!).toBeCloseTo(0, 12);
        }
      }
    }
  });

  test.prop([config], { seed: 90210, numRuns: 150 })('equals the brute-force minimum over all pairings, and is invariant to relabelling', ({ half, d, seed }) => {
    const N = 2 * half;
    const rng = Rng.fromSeed(seed);
    const U = unitRows(rng, N, d);
    const V = unitRows(rng, N, d);
    const X = gram(U, V);
    let best = Infinity;
    for (const m of allPairings(N)) best = Math.min(best, frob(X, crossPolytopeGram(N, m).data));
    const r = gramDistance(U, V, 'cross-polytope');
    expect(Math.abs(r.distance - best)).toBeLessThanOrEqual(64 * N * EPS);
    expect(Math.abs(r.distance - frob(X, crossPolytopeGram(N, r.pairing).data))).toBeLessThanOrEqual(64 * N * EPS);
    const p = rng.permutation(N);
    const rp = gramDistance(gatherRows(U, p) as Matrix64, gatherRows(V, p) as Matrix64, 'cross-polytope');
    expect(Math.abs(rp.distance - r.distance)).toBeLessThanOrEqual(64 * N * EPS);
  });

  it('the greedy per-row rearrangement fails where the exact distance does not (exhibited instance)', () => {
    // U = the cross-polytope in R^2 (N = 4), V = U with its rows shifted by one: v_i = u_{i+1}.
    // Every row of U Vᵀ is a permutation of the matching row of G* = (1, 0, -1, 0)-pattern, so the
    // greedy per-row rearrangement reports distance 0. But the positives are mismatched
    // (u_i·v_i = 0), the loss is far above the optimum, and the exact distance is 4: X = U Vᵀ is
    // antisymmetric, so every pairing has weight Σ(X_ij + X_ji) = 0 and the distance² is
    // ‖X − I‖² + N = 12 + 4.
    const U = crossPolytope(4, 2);
    const V = gatherRows(U, [1, 2, 3, 0]) as Matrix64;
    const X = gram(U, V);
    expect(greedyRearrangementDistance(X, crossPolytopeGram(4).data, 4)).toBe(0);
    const exact = gramDistance(U, V, 'cross-polytope');
    expect(exact.distance).toBe(4);
    for (const m of allPairings(4)) expect(frob(X, crossPolytopeGram(4, m).data)).toBeGreaterThanOrEqual(exact.distance - 1e-15);
    const tau = 1;
    expect(infonceLossAndGrad(U, V, { tau, grad: false }).value).toBeGreaterThan(crossPolytopeInfonce(4, tau) + 0.9); // exactly +1/τ here: S_ii = 0 instead of 1/τ
  });

  it('the greedy rearrangement is also not invariant to relabelling; the exact distance is', () => {
    // Search a few pinned random instances for one where relabelling changes the greedy value.
    const rng = Rng.fromSeed(31);
    let found = false;
    for (let rep = 0; rep < 50 && !found; rep++) {
      const U = unitRows(rng, 6, 3);
      const V = unitRows(rng, 6, 3);
      const p = rng.permutation(6);
      const Up = gatherRows(U, p) as Matrix64;
      const Vp = gatherRows(V, p) as Matrix64;
      const G = crossPolytopeGram(6).data;
      const g0 = greedyRearrangementDistance(gram(U, V), G, 6);
      const g1 = greedyRearrangementDistance(gram(Up, Vp), G, 6);
      if (Math.abs(g0 - g1) > 1e-6) {
        found = true;
        expect(Math.abs(gramDistance(U, V, 'cross-polytope').distance - gramDistance(Up, Vp, 'cross-polytope').distance)).toBeLessThanOrEqual(1e-13);
      }
    }
    expect(found).toBe(true);
  });
});

describe('gramDistance: checks', () => {
  it('accepts strided views and rejects mismatched, empty, non-finite inputs, odd N and unknown kinds', () => {
    const U = crossPolytope(4, 2);
    const Ut = transpose(transpose(U));
    expect(gramDistance(Ut, U, 'cross-polytope').distance).toBe(0);
    expect(() => gramDistance(U, crossPolytope(6, 3), 'etf')).toThrow(ShapeError);
    expect(() => gramDistance(fromRows([]), fromRows([]), 'etf')).toThrow(ShapeError);
    expect(() => gramDistance(fromRows([[Number.NaN]]), fromRows([[1]]), 'etf')).toThrow(NonFiniteError);
    expect(() => gramDistance(simplexEtf(3, 2), simplexEtf(3, 2), 'cross-polytope')).toThrow(/even number of points, got N = 3/);
    expect(() => gramDistance(U, U, 'simplex' as never)).toThrow(DomainError);
  });
});

// ---------------------------------------------------------------------------------------------
// Attainability and the rank-d floor
// ---------------------------------------------------------------------------------------------

/** The first `d` columns of M (zero columns beyond M's width), plus eps·noise. */
function truncated(M: Matrix64, d: number, eps = 0, rng?: Rng): Matrix64 {
  const out = zeros(M.rows, d);
  const noise = rng && eps > 0 ? gaussian(rng, M.rows, d, eps) : null;
  for (let i = 0; i < M.rows; i++) {
    for (let k = 0; k < d; k++) out.data[i * d + k] = (k < M.cols ? M.data[i * M.cols + k]! : 0) + (noise ? noise.data[i * d + k]! : 0);
  }
  return out;
}

/** Eckart–Young by brute force: the root sum of squares of the eigenvalues of G after the d largest. */
function eigenFloor(G: Matrix64, d: number): number {
  const { values } = symmetricEigen(G.data, G.rows);
  let s = 0;
  for (let k = d; k < G.rows; k++) s += values[k]! ** 2;
  return Math.sqrt(s);
}

describe('gramDistance: attainability and the rank-d floor', () => {
  it('reports attainable exactly when d >= N - 1 (etf) or d >= N/2 (cross-polytope), with floor 0 there', () => {
    const rng = Rng.fromSeed(5);
    for (const N of [1, 2, 3, 4, 6, 9]) {
      for (let d = 1; d <= N + 1; d++) {
        const U = unitRows(rng, N, d);
        const r = gramDistance(U, U, 'etf');
        expect(r.attainable, `etf N=${N} d=${d}`).toBe(d >= N - 1);
        if (r.attainable) expect(r.floor).toBe(0);
        else expect(r.floor).toBeGreaterThan(0);
        if (N % 2 === 0) {
          const c = gramDistance(U, U, 'cross-polytope');
          expect(c.attainable, `cross-polytope N=${N} d=${d}`).toBe(d >= N / 2);
          expect(c.floor).toBe(2 * Math.sqrt(Math.max(0, N / 2 - d)));
        }
      }
    }
    const big = gramFloor('etf', 2000, 128);
    expect(big.attainable).toBe(false);
    expect(big.floor).toBeCloseTo((2000 / 1999) * Math.sqrt(1871), 12);
    expect(gramFloor('etf', 2000, 1999)).toEqual({ attainable: true, floor: 0 });
    expect(gramFloor('etf', 2000, 1998)).toEqual({ attainable: false, floor: 2000 / 1999 });
  });

  it('the floor formula equals Eckart–Young computed from the eigenvalues of G*', () => {
    for (let N = 2; N <= 12; N++) {
      const G = etfGram(N);
      for (let d = 1; d <= N + 1; d++) {
        expect(Math.abs(gramFloor('etf', N, d).floor - eigenFloor(G, d)), `etf N=${N} d=${d}`).toBeLessThanOrEqual(1e-12);
      }
      if (N % 2 === 0) {
        const P = crossPolytopeGram(N);
        for (let d = 1; d <= N; d++) {
          expect(Math.abs(gramFloor('cross-polytope', N, d).floor - eigenFloor(P, d)), `cp N=${N} d=${d}`).toBeLessThanOrEqual(1e-12);
        }
      }
    }
  });

  it('is attained: (N/(N−1)) times a rank-d sub-projector of I − 11ᵀ/N, and a truncated cross-polytope', () => {
    for (let N = 3; N <= 16; N++) {
      const E = simplexEtf(N, N - 1); // columns: √(N/(N−1)) times orthonormal Helmert vectors
      for (let d = 1; d < N - 1; d++) {
        const U = truncated(E, d, 0);
        const r = gramDistance(U, U, 'etf');
        expect(r.attainable).toBe(false);
        // U Uᵀ = (N/(N−1)) Σ_{k≤d} q_k q_kᵀ, so U Uᵀ − G* is (N/(N−1)) times a projector of rank N−1−d.
        expect(Math.abs(r.distance - (N / (N - 1)) * Math.sqrt(N - 1 - d)), `N=${N} d=${d}`).toBeLessThanOrEqual(64 * N * EPS);
        expect(Math.abs(r.distance - r.floor), `N=${N} d=${d}`).toBeLessThanOrEqual(64 * N * EPS);
      }
      if (N % 2 === 0) {
        const C = crossPolytope(N, N / 2);
        for (let d = 1; d < N / 2; d++) {
          const r = gramDistance(truncated(C, d), truncated(C, d), 'cross-polytope');
          expect(r.attainable).toBe(false);
          expect(Math.abs(r.distance - r.floor), `cp N=${N} d=${d}`).toBeLessThanOrEqual(64 * N * EPS);
        }
      }
    }
  });

  const below = fc.record({
    N: fc.integer({ min: 3, max: 14 }),
    dFrac: fc.double({ min: 0, max: 1, noNaN: true }),
    eps: fc.constantFrom(0, 1e-9, 1e-6, 1e-3, 0.1, 1, 10),
    unit: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 31 }),
  });

  test.prop([below], { seed: 4242, numRuns: 300 })('distance >= floor − rounding for any U, V of width d < N − 1 (etf) or d < N/2 (cross-polytope)', ({ N, dFrac, eps, unit, seed }) => {
    const rng = Rng.fromSeed(seed);
    const d = 1 + Math.floor(dFrac * (N - 3)); // 1 .. N−2
    // Near the floor (the truncated ETF plus noise), or random rows.
    const U = unit ? unitRows(rng, N, d) : truncated(simplexEtf(N, N - 1), d, eps, rng);
    const V = unit ? unitRows(rng, N, d) : truncated(simplexEtf(N, N - 1), d, eps, rng);
    const r = gramDistance(U, V, 'etf');
    expect(r.attainable).toBe(false);
    expect(r.distance).toBeGreaterThanOrEqual(r.floor - 64 * N * EPS * (1 + r.distance));
    if (N % 2 === 0 && d < N / 2) {
      const C = crossPolytope(N, N / 2);
      const Uc = unit ? U : truncated(C, d, eps, rng);
      const Vc = unit ? V : truncated(C, d, eps, rng);
      const c = gramDistance(Uc, Vc, 'cross-polytope');
      expect(c.attainable).toBe(false);
      expect(c.distance).toBeGreaterThanOrEqual(c.floor - 64 * N * EPS * (1 + c.distance));
    }
  });
});
