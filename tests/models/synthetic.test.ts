import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { augment, evalViews, syntheticDataset, twoViews } from '../../src/data/synthetic.ts';

const spec = { n: 103, nTest: 41, p: 16, classes: 5, sigma: 0.4, augment: { noise: 0.3, mask: 0.25 } };

function rowNorm(M: Matrix64, i: number): number {
  let s = 0;
  for (let j = 0; j < M.cols; j++) s += M.data[i * M.cols + j]! ** 2;
  return Math.sqrt(s);
}

describe('syntheticDataset', () => {
  it('has the stated shapes, unit rows, balanced labels', () => {
    const d = syntheticDataset(spec, Rng.fromSeed(1));
    expect([d.X.rows, d.X.cols, d.Xtest.rows, d.Xtest.cols, d.centres.rows, d.centres.cols]).toEqual([103, 16, 41, 16, 5, 16]);
    for (let i = 0; i < 103; i++) expect(rowNorm(d.X, i)).toBeCloseTo(1, 14);
    for (let k = 0; k < 5; k++) expect(rowNorm(d.centres, k)).toBeCloseTo(1, 14);
    for (const y of [d.y, d.ytest]) {
      const counts = new Array(5).fill(0);
      for (const c of y) counts[c]++;
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });

  it('σ = 0 puts every input on its centre; small σ keeps inputs closest to their own centre', () => {
    const d0 = syntheticDataset({ ...spec, sigma: 0 }, Rng.fromSeed(2));
    for (let i = 0; i < d0.n; i++) {
      for (let j = 0; j < 16; j++) expect(d0.X.data[i * 16 + j]).toBeCloseTo(d0.centres.data[d0.y[i]! * 16 + j]!, 15);
    }
    const d = syntheticDataset({ ...spec, sigma: 0.2 }, Rng.fromSeed(2));
    for (let i = 0; i < d.n; i++) {
      let best = -1;
      let bs = -Infinity;
      for (let k = 0; k < 5; k++) {
        let s = 0;
        for (let j = 0; j < 16; j++) s += d.X.data[i * 16 + j]! * d.centres.data[k * 16 + j]!;
        if (s > bs) { bs = s; best = k; }
      }
      expect(best).toBe(d.y[i]);
    }
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = syntheticDataset(spec, Rng.fromSeed(7));
    const b = syntheticDataset(spec, Rng.fromSeed(7));
    const c = syntheticDataset(spec, Rng.fromSeed(8));
    expect(Array.from(a.X.data)).toEqual(Array.from(b.X.data));
    expect(Array.from(a.Xtest.data)).toEqual(Array.from(b.Xtest.data));
    expect(Array.from(a.y)).toEqual(Array.from(b.y));
    expect(a.evalViewState).toEqual(b.evalViewState);
    expect(Array.from(a.X.data)).not.toEqual(Array.from(c.X.data));
  });

  it('evalViews: memoised, and the same as twoViews from the stored generator state', () => {
    const d = syntheticDataset(spec, Rng.fromSeed(3));
    const v = evalViews(d);
    expect(evalViews(d)).toBe(v);
    const all = Int32Array.from({ length: d.n }, (_, i) => i);
    const w = twoViews(d.X, all, Rng.fromState(d.evalViewState), d.augment);
    expect(Array.from(v.X1.data)).toEqual(Array.from(w.X1.data));
    expect(Array.from(v.X2.data)).toEqual(Array.from(w.X2.data));
    // A rebuilt data set (same seed) gets the same views.
    expect(Array.from(evalViews(syntheticDataset(spec, Rng.fromSeed(3))).X2.data)).toEqual(Array.from(v.X2.data));
  });

  it('rejects bad specs with the value named', () => {
    expect(() => syntheticDataset({ ...spec, n: 0 }, Rng.fromSeed(0))).toThrow(DomainError);
    expect(() => syntheticDataset({ ...spec, sigma: -1 }, Rng.fromSeed(0))).toThrow(/sigma/);
    expect(() => syntheticDataset({ ...spec, augment: { noise: 0.1, mask: 1 } }, Rng.fromSeed(0))).toThrow(/mask must be in \[0, 1\), got 1/);
    expect(() => syntheticDataset({ ...spec, augment: { noise: Number.NaN, mask: 0 } }, Rng.fromSeed(0))).toThrow(/noise/);
  });
});

describe('augment', () => {
  it('has the stated statistics: masking rate q, N(0, s²/p) noise on kept coordinates', () => {
    const B = 600;
    const p = 64;
    const q = 0.3;
    const s = 0.5;
    const X = zeros(B, p);
    const rng = Rng.fromSeed(11);
    for (let i = 0; i < X.data.length; i++) X.data[i] = rng.normal();
    const A = augment(X, Rng.fromSeed(12), { noise: s, mask: q });
    const M = B * p;
    let zerosCount = 0;
    let sum = 0;
    let sumSq = 0;
    let kept = 0;
    for (let i = 0; i < M; i++) {
      if (A.data[i] === 0) { zerosCount++; continue; }
      const e = A.data[i]! - X.data[i]!;
      sum += e;
      sumSq += e * e;
      kept++;
    }
    // Masking rate: binomial(M, q); 5 standard deviations (two-sided p < 1e-6).
    const rate = zerosCount / M;
    expect(Math.abs(rate - q)).toBeLessThan(5 * Math.sqrt((q * (1 - q)) / M));
    // Noise: mean 0 with sd σ_e/√kept; variance σ_e² = s²/p with relative sd √(2/kept); 5 sd each.
    const varE = (s * s) / p;
    expect(Math.abs(sum / kept)).toBeLessThan(5 * Math.sqrt(varE / kept));
    expect(Math.abs(sumSq / kept / varE - 1)).toBeLessThan(5 * Math.sqrt(2 / kept));
  });

  it('noise 0, mask 0 is the identity; mask only zeroes coordinates and keeps the rest exactly', () => {
    const rng = Rng.fromSeed(1);
    const X = zeros(5, 7);
    for (let i = 0; i < X.data.length; i++) X.data[i] = 1 + rng.uniform();
    expect(Array.from(augment(X, Rng.fromSeed(2), { noise: 0, mask: 0 }).data)).toEqual(Array.from(X.data));
    const A = augment(X, Rng.fromSeed(2), { noise: 0, mask: 0.5 });
    let zero = 0;
    for (let i = 0; i < A.data.length; i++) {
      if (A.data[i] === 0) zero++;
      else expect(A.data[i]).toBe(X.data[i]);
    }
    expect(zero).toBeGreaterThan(0);
    expect(zero).toBeLessThan(35);
  });

  it('two views are independent draws, deterministic per generator state; X is not modified', () => {
    const d = syntheticDataset(spec, Rng.fromSeed(4));
    const before = Array.from(d.X.data);
    const idx = Int32Array.of(4, 9, 9, 100);
    const a = twoViews(d.X, idx, Rng.fromSeed(5), d.augment);
    const b = twoViews(d.X, idx, Rng.fromSeed(5), d.augment);
    expect(Array.from(a.X1.data)).toEqual(Array.from(b.X1.data));
    expect(Array.from(a.X2.data)).toEqual(Array.from(b.X2.data));
    expect(Array.from(a.X1.data)).not.toEqual(Array.from(a.X2.data));
    // A repeated index gets its own, different view.
    expect(Array.from(a.X1.data.subarray(32, 48))).not.toEqual(Array.from(a.X1.data.subarray(16, 32)));
    expect(Array.from(d.X.data)).toEqual(before);
  });
});
