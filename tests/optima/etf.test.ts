/** The simplex ETF and the cross-polytope: exact Gram identities, rotations, argument checks. */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.ts';
import { type Matrix64 } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { crossPolytope, crossPolytopeAntipode, crossPolytopeGram } from '../../src/optima/crossPolytope.ts';
import { etfGram, haarOrthogonal, rotateRows, simplexEtf } from '../../src/optima/etf.ts';

const EPS = Number.EPSILON;

/** X Yᵀ, materialised (test oracle). */
function gram(X: Matrix64, Y: Matrix64 = X): Float64Array {
  const n = X.rows;
  const m = Y.rows;
  const d = X.cols;
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += X.data[i * d + k]! * Y.data[j * d + k]!;
      out[i * m + j] = s;
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function columnSums(X: Matrix64): Float64Array {
  const s = new Float64Array(X.cols);
  for (let i = 0; i < X.rows; i++) for (let k = 0; k < X.cols; k++) s[k] += X.data[i * X.cols + k]!;
  return s;
}

describe('simplexEtf', () => {
  // Shapes: N in 1..40 and d in [max(1, N-1), N+5] cover the tight case d = N-1, padding, N = 1, 2.
  // 40 bounds the O(N²d) oracle cost per run. seed: null = the fixed Helmert frame, else a rotation.
  const shape = fc
    .integer({ min: 1, max: 40 })
    .chain((N) => fc.record({ N: fc.constant(N), d: fc.integer({ min: Math.max(1, N - 1), max: N + 5 }), seed: fc.option(fc.integer({ min: 0, max: 2 ** 31 })) }));

  test.prop([shape], { seed: 31337, numRuns: 300 })('has the ETF Gram, unit rows and zero sum, rotated or not', ({ N, d, seed }) => {
    const U = seed === null ? simplexEtf(N, d) : simplexEtf(N, d, { rng: Rng.fromSeed(seed) });
    expect(U.rows).toBe(N);
    expect(U.cols).toBe(d);
    // Each Gram entry is a d-term dot product of O(1) entries (after a d-term rotation): error O(d·ε).
    const tol = 8 * (d + 2) * EPS;
    expect(maxAbsDiff(gram(U), etfGram(N).data)).toBeLessThanOrEqual(tol);
    if (N >= 2) expect(Math.max(...Array.from(columnSums(U), Math.abs))).toBeLessThanOrEqual(8 * N * (d + 2) * EPS);
  });

  it('is exact in its fixed frame: the documented N = 3 example, and N = 1, 2', () => {
    const U = simplexEtf(3, 2);
    expect(maxAbsDiff(U.data, [Math.sqrt(3) / 2, 0.5, -Math.sqrt(3) / 2, 0.5, 0, -1])).toBeLessThanOrEqual(2 * EPS);
    expect(Array.from(simplexEtf(1, 3).data)).toEqual([1, 0, 0]);
    expect(Array.from(simplexEtf(2, 1).data)).toEqual([1, -1]);
    expect(Array.from(etfGram(1).data)).toEqual([1]);
    expect(Array.from(etfGram(3).data)).toEqual([1, -0.5, -0.5, -0.5, 1, -0.5, -0.5, -0.5, 1]);
  });

  it('rejects d < N-1, d < 1 and non-integer sizes, naming N and d', () => {
    expect(() => simplexEtf(5, 3)).toThrow(DomainError);
    expect(() => simplexEtf(5, 3)).toThrow(/N = 5.*d = 3/);
    expect(() => simplexEtf(1, 0)).toThrow(/d = 0/);
    expect(() => simplexEtf(0, 3)).toThrow(DomainError);
    expect(() => simplexEtf(2.5, 3)).toThrow(DomainError);
    expect(() => simplexEtf(4, 3.5)).toThrow(DomainError);
    expect(() => etfGram(0)).toThrow(DomainError);
  });

  it('draws rotations reproducibly from the Rng: same seed, same bits; another seed, another frame', () => {
    const a = simplexEtf(6, 9, { rng: Rng.fromSeed(1) });
    const b = simplexEtf(6, 9, { rng: Rng.fromSeed(1) });
    const c = simplexEtf(6, 9, { rng: Rng.fromSeed(2) });
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(maxAbsDiff(a.data, c.data)).toBeGreaterThan(0.1);
  });
});

describe('haarOrthogonal', () => {
  test.prop([fc.integer({ min: 1, max: 30 }), fc.integer({ min: 0, max: 2 ** 31 })], { seed: 271828, numRuns: 100 })('is orthogonal (QᵀQ = QQᵀ = I)', (d, seed) => {
    const Q = haarOrthogonal(d, Rng.fromSeed(seed));
    const I = new Float64Array(d * d);
    for (let i = 0; i < d; i++) I[i * d + i] = 1;
    expect(maxAbsDiff(gram(Q), I)).toBeLessThanOrEqual(16 * d * EPS);
  });

  it('has Haar moments: E[Q_00] = 0, E[Q_00²] = 1/d, and both determinant signs occur', () => {
    // 4000 draws at d = 3 (seed pinned): Var(Q_00²) = 2(d-1)/(d²(d+2)) ≈ 0.089, so the mean of Q_00²
    // has standard error 0.0047 and 0.02 is a >4-sigma margin; the mean of Q_00 has standard error
    // 0.0091 and 0.06 is >6 sigma; the share of det < 0 (1/2) has standard error 0.008.
    const rng = Rng.fromSeed(2024);
    const d = 3;
    let m1 = 0;
    let m2 = 0;
    let neg = 0;
    const draws = 4000;
    for (let t = 0; t < draws; t++) {
      const q = haarOrthogonal(d, rng).data;
      m1 += q[0]!;
      m2 += q[0]! ** 2;
      const det = q[0]! * (q[4]! * q[8]! - q[5]! * q[7]!) - q[1]! * (q[3]! * q[8]! - q[5]! * q[6]!) + q[2]! * (q[3]! * q[7]! - q[4]! * q[6]!);
      if (det < 0) neg++;
    }
    expect(Math.abs(m1 / draws)).toBeLessThan(0.06);
    expect(Math.abs(m2 / draws - 1 / d)).toBeLessThan(0.02);
    expect(neg / draws).toBeGreaterThan(0.4);
    expect(neg / draws).toBeLessThan(0.6);
  });

  it('leaves every Gram matrix unchanged (rotation invariance)', () => {
    const rng = Rng.fromSeed(8);
    const X = simplexEtf(7, 10);
    const Q = haarOrthogonal(10, rng);
    expect(maxAbsDiff(gram(rotateRows(X, Q)), gram(X))).toBeLessThanOrEqual(64 * EPS);
  });
});

describe('crossPolytope', () => {
  // d in 1..20 bounds the O(N²d) oracle; seed as above.
  test.prop([fc.integer({ min: 1, max: 20 }), fc.option(fc.integer({ min: 0, max: 2 ** 31 }))], { seed: 1618, numRuns: 100 })('has the cross-polytope Gram I - A_M with M the antipodal pairing', (d, seed) => {
    const N = 2 * d;
    const U = seed === null ? crossPolytope(N, d) : crossPolytope(N, d, { rng: Rng.fromSeed(seed) });
    expect(maxAbsDiff(gram(U), crossPolytopeGram(N).data)).toBeLessThanOrEqual(8 * (d + 2) * EPS);
    for (let i = 0; i < N; i++) expect(crossPolytopeAntipode(crossPolytopeAntipode(i, N), N)).toBe(i);
  });

  it('is ±e_k in its fixed frame', () => {
    expect(Array.from(crossPolytope(4, 2).data)).toEqual([1, 0, 0, 1, -1, 0, 0, -1]);
    expect(Array.from(crossPolytopeGram(4).data)).toEqual([1, 0, -1, 0, 0, 1, 0, -1, -1, 0, 1, 0, 0, -1, 0, 1]);
  });

  it('builds the Gram of any pairing and rejects non-involutions', () => {
    const g = crossPolytopeGram(4, [1, 0, 3, 2]);
    expect(Array.from(g.data)).toEqual([1, -1, 0, 0, -1, 1, 0, 0, 0, 0, 1, -1, 0, 0, -1, 1]);
    expect(() => crossPolytopeGram(4, [1, 2, 3, 0])).toThrow(/involution/);
    expect(() => crossPolytopeGram(4, [0, 1, 3, 2])).toThrow(/involution/);
    expect(() => crossPolytopeGram(4, [1, 0])).toThrow(DomainError);
    expect(() => crossPolytopeGram(3)).toThrow(DomainError);
  });

  it('rejects N != 2d, naming N and d', () => {
    expect(() => crossPolytope(5, 2)).toThrow(/N = 5 and d = 2/);
    expect(() => crossPolytope(4, 3)).toThrow(DomainError);
    expect(() => crossPolytope(0, 0)).toThrow(DomainError);
  });
});
