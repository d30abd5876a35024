/**
 * Exact assignment (Hungarian / Jonker-Volgenant) and exact general matching (Edmonds' blossom),
 * both checked against brute-force enumeration on many small random instances.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { hungarian, minWeightPerfectMatching } from '../../src/core/assignment.ts';
import { NonFiniteError, ShapeError } from '../../src/core/errors.ts';
import { fromRows, transpose } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';

// ---------------------------------------------------------------------------------------------
// Brute force

/** min over injective maps rows -> cols of Σ cost[i][σ(i)], by enumeration (n <= m small). */
function bruteAssignment(cost: number[][]): number {
  const n = cost.length;
  const m = n === 0 ? 0 : cost[0]!.length;
  const used = new Array<boolean>(m).fill(false);
  let best = Infinity;
  const rec = (i: number, acc: number): void => {
    if (i === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      rec(i + 1, acc + cost[i]![j]!);
      used[j] = false;
    }
  };
  rec(0, 0);
  return n === 0 ? 0 : best;
}

/** min over perfect matchings of Σ w_ij, by enumeration (pair the lowest free vertex with each other one). */
function bruteMatching(w: number[][]): number {
  const n = w.length;
  const free = new Array<boolean>(n).fill(true);
  let best = Infinity;
  const rec = (acc: number): void => {
    const i = free.indexOf(true);
    if (i < 0) {
      best = Math.min(best, acc);
      return;
    }
    free[i] = false;
    for (let j = i + 1; j < n; j++) {
      if (!free[j]) continue;
      free[j] = false;
      rec(acc + w[i]![j]!);
      free[j] = true;
    }
    free[i] = true;
  };
  rec(0);
  return best;
}

function expectValidAssignment(a: Int32Array, n: number, m: number): void {
  expect(a.length).toBe(n);
  const seen = new Set<number>();
  for (const j of a) {
    expect(j).toBeGreaterThanOrEqual(0);
    expect(j).toBeLessThan(m);
    seen.add(j);
  }
  expect(seen.size).toBe(n);
}

function expectPerfectMatching(mate: Int32Array, n: number): void {
  expect(mate.length).toBe(n);
  for (let v = 0; v < n; v++) {
    expect(mate[v]).not.toBe(v);
    expect(mate[mate[v]!]).toBe(v);
  }
}

function symmetric(n: number, upper: number[]): number[][] {
  const w = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let k = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) w[i]![j] = w[j]![i] = upper[k++]!;
  return w;
}

// Value arbitraries. Costs are bounded (|x| <= 1e3) and finite: fc.double would otherwise produce
// NaN, ±Infinity and huge magnitudes, which the functions reject or which make the float sums
// meaningless. Small integer ranges (0..3) force many ties.
const tiedInt = fc.integer({ min: 0, max: 3 });
const wideInt = fc.integer({ min: -1000, max: 1000 });
const real = fc.double({ min: -1000, max: 1000, noNaN: true, noDefaultInfinity: true });
const value = fc.oneof(tiedInt, wideInt, real);

/** Tolerance for float sums of n terms of magnitude <= 1e3 (exact for integers). */
const tolFor = (n: number) => 1e3 * n * 8 * Number.EPSILON;

// ---------------------------------------------------------------------------------------------

describe('hungarian', () => {
  it('solves the documented example', () => {
    const r = hungarian([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
    expect(Array.from(r.assignment)).toEqual([1, 0, 2]);
    expect(r.cost).toBe(5);
  });

  // Shapes first (n <= m <= 7: at most 7!/1! = 5040 injective maps for the brute force), then values.
  const instance = fc
    .tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 3 }))
    .filter(([n, extra]) => n + extra <= 7)
    .chain(([n, extra]) => fc.array(fc.array(value, { minLength: n + extra, maxLength: n + extra }), { minLength: n, maxLength: n }).map((rows) => ({ n, m: n + extra, rows })));

  test.prop([instance], { seed: 20240601, numRuns: 400 })('matches brute force (ties, negatives, rectangular)', ({ n, m, rows }) => {
    const r = hungarian(rows);
    expectValidAssignment(r.assignment, n, m);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += rows[i]![r.assignment[i]!]!;
    expect(r.cost).toBe(sum);
    expect(Math.abs(r.cost - bruteAssignment(rows))).toBeLessThanOrEqual(tolFor(n));
  });

  test.prop([instance.filter(({ n }) => n > 0)], { seed: 7, numRuns: 100 })('accepts strided Matrix views (a transpose) like arrays', ({ n, m, rows }) => {
    // Store the transpose and pass a transposed view: the same n x m costs with colStride != 1.
    const t = fromRows(Array.from({ length: m }, (_, j) => rows.map((row) => row[j]!)));
    const a = hungarian(transpose(t));
    const b = hungarian(rows);
    expect(a.cost).toBe(b.cost);
    expectValidAssignment(a.assignment, n, m);
  });

  it('handles all-equal costs, a single row, and the empty matrix', () => {
    const r = hungarian(Array.from({ length: 5 }, () => new Array(5).fill(2)));
    expectValidAssignment(r.assignment, 5, 5);
    expect(r.cost).toBe(10);
    expect(hungarian([[3, -1, 2]])).toEqual({ assignment: Int32Array.from([1]), cost: -1 });
    expect(hungarian([]).assignment.length).toBe(0);
  });

  it('handles the balanced assignment shape of CHO Algorithm 1 (K centres each repeated B times)', () => {
    // N points, K = N/B centres, cost = squared distance to the centre of each column's slot.
    const rng = Rng.fromSeed(11);
    const N = 60;
    const B = 6;
    const K = N / B;
    const pts = Array.from({ length: N }, () => [rng.normal(), rng.normal()]);
    const ctr = Array.from({ length: K }, () => [rng.normal(), rng.normal()]);
    const cost = pts.map((p) => Array.from({ length: N }, (_, j) => {
      const c = ctr[Math.floor(j / B)]!;
      return (p[0]! - c[0]!) ** 2 + (p[1]! - c[1]!) ** 2;
    }));
    const r = hungarian(cost);
    expectValidAssignment(r.assignment, N, N);
    const sizes = new Array(K).fill(0);
    for (const j of r.assignment) sizes[Math.floor(j / B)]++;
    expect(sizes).toEqual(new Array(K).fill(B));
    // Optimality certificate without brute force: no pair of rows gains by swapping columns.
    for (let a = 0; a < N; a++) {
      for (let b = a + 1; b < N; b++) {
        const ja = r.assignment[a]!;
        const jb = r.assignment[b]!;
        expect(cost[a]![jb]! + cost[b]![ja]!).toBeGreaterThanOrEqual(cost[a]![ja]! + cost[b]![jb]! - 1e-12);
      }
    }
  });

  it('rejects more rows than columns, ragged rows and non-finite costs', () => {
    expect(() => hungarian([[1], [2]])).toThrow(ShapeError);
    expect(() => hungarian([[1, 2], [3]])).toThrow(ShapeError);
    expect(() => hungarian([[1, Number.NaN]])).toThrow(NonFiniteError);
    expect(() => hungarian(fromRows([[1, Infinity]]))).toThrow(/cost\[0,1\] is Infinity/);
  });
});

describe('minWeightPerfectMatching', () => {
  it('solves the documented example', () => {
    const r = minWeightPerfectMatching(fromRows([[0, 1, 9, 9], [1, 0, 9, 9], [9, 9, 0, 1], [9, 9, 1, 0]]));
    expect(Array.from(r.mate)).toEqual([1, 0, 3, 2]);
    expect(r.weight).toBe(2);
  });

  // n in {0, 2, ..., 12}: at most 11!! = 10395 perfect matchings for the brute force.
  const instance = fc
    .integer({ min: 0, max: 6 })
    .map((h) => 2 * h)
    .chain((n) => fc.tuple(fc.constant(n), fc.oneof(
      fc.array(tiedInt, { minLength: (n * (n - 1)) / 2, maxLength: (n * (n - 1)) / 2 }),
      fc.array(wideInt, { minLength: (n * (n - 1)) / 2, maxLength: (n * (n - 1)) / 2 }),
      fc.array(real, { minLength: (n * (n - 1)) / 2, maxLength: (n * (n - 1)) / 2 }),
      fc.array(value, { minLength: (n * (n - 1)) / 2, maxLength: (n * (n - 1)) / 2 }),
    )));

  test.prop([instance], { seed: 424242, numRuns: 600 })('matches brute force over all perfect matchings (ties, integers, negatives)', ([n, upper]) => {
    const w = symmetric(n, upper);
    const r = minWeightPerfectMatching(w);
    expectPerfectMatching(r.mate, n);
    let sum = 0;
    for (let v = 0; v < n; v++) if (v < r.mate[v]!) sum += w[v]![r.mate[v]!]!;
    expect(r.weight).toBe(sum);
    const best = bruteMatching(w);
    if (Number.isInteger(best) && upper.every(Number.isInteger)) expect(r.weight).toBe(best);
    else expect(Math.abs(r.weight - best)).toBeLessThanOrEqual(tolFor(n));
  });

  it('matches brute force on geometric instances that force nested blossoms (points on circles)', () => {
    // Euclidean distances of points on a few small circles: odd cycles of near-equal weights.
    const rng = Rng.fromSeed(99);
    for (let rep = 0; rep < 150; rep++) {
      const n = 2 * (3 + (rep % 4)); // 6..12
      const pts = Array.from({ length: n }, (_, i) => {
        const ring = i % 3;
        const a = (2 * Math.PI * i) / n + 0.01 * rng.normal();
        return [3 * ring + Math.cos(a), Math.sin(a)];
      });
      const w = pts.map((p) => pts.map((q) => Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!)));
      const r = minWeightPerfectMatching(w);
      expectPerfectMatching(r.mate, n);
      expect(Math.abs(r.weight - bruteMatching(w))).toBeLessThanOrEqual(1e-12);
    }
  });

  it('is exact for a larger instance against the dual-free 2-opt certificate', () => {
    // n = 200 random integer weights: no improving exchange of two matched pairs exists.
    const rng = Rng.fromSeed(5);
    const n = 200;
    const upper = Array.from({ length: (n * (n - 1)) / 2 }, () => rng.int(1000));
    const w = symmetric(n, upper);
    const r = minWeightPerfectMatching(w);
    expectPerfectMatching(r.mate, n);
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const ma = r.mate[a]!;
        const mb = r.mate[b]!;
        if (b === a || b === ma) continue;
        expect(w[a]![b]! + w[ma]![mb]!).toBeGreaterThanOrEqual(w[a]![ma]! + w[b]![mb]!);
      }
    }
  });

  it('handles n = 0 and n = 2, and ignores the diagonal', () => {
    expect(minWeightPerfectMatching([]).mate.length).toBe(0);
    const r = minWeightPerfectMatching([[-100, 3], [3, 50]]);
    expect(Array.from(r.mate)).toEqual([1, 0]);
    expect(r.weight).toBe(3);
  });

  it('rejects odd, non-square, asymmetric and non-finite weights', () => {
    expect(() => minWeightPerfectMatching([[0, 1, 1], [1, 0, 1], [1, 1, 0]])).toThrow(/even number of vertices, got 3/);
    expect(() => minWeightPerfectMatching([[0, 1]])).toThrow(ShapeError);
    expect(() => minWeightPerfectMatching([[0, 1], [2, 0]])).toThrow(/symmetric/);
    expect(() => minWeightPerfectMatching([[0, Number.NaN], [Number.NaN, 0]])).toThrow(NonFiniteError);
  });
});
