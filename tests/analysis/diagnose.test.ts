import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { autoDraws, diagnose, type Diagnosis } from '../../src/analysis/diagnose.ts';
import { DomainError, ShapeError } from '../../src/core/errors.ts';
import { type Matrix64, matrix } from '../../src/core/matrix.ts';
import { withMutantAsync } from '../../src/core/mutants.ts';
import { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad, infonceLossAndGrad, riemannianGrad } from '../../src/objectives/index.ts';
import { frobeniusNorm } from '../../src/core/matrix.ts';
import { simplexEtf } from '../../src/optima/etf.ts';
import { relErr, unitRows } from '../helpers.ts';

/** Clustered pairs: k centres, u_i and v_i noisy copies of their centre; labels = the centre. */
function clustered(seed: number, n: number, d: number, k: number, spread = 2): { U: Matrix64; V: Matrix64; labels: Int32Array } {
  const rng = Rng.fromSeed(seed);
  const C = rng.fillNormalMatrix(k, d);
  const U = rng.fillNormalMatrix(n, d);
  const V = rng.fillNormalMatrix(n, d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(k);
    for (let c = 0; c < d; c++) {
      U.data[i * d + c] += spread * C.data[labels[i]! * d + c]!;
      V.data[i * d + c] += spread * C.data[labels[i]! * d + c]!;
    }
  }
  return { U: normalizeRows(U), V: normalizeRows(V), labels };
}

const quick = { draws: 8, skipSpectral: true } as const;

describe('diagnose: the exact part against the objectives', () => {
  const { U, V, labels } = clustered(1, 120, 12, 4);
  let r: Diagnosis;
  it('values and gradient norms equal the objectives\' at rounding level (float64)', async () => {
    r = await diagnose(U, V, { tau: 0.2, eps0: 0.05, batchSizes: [8, 30], labels, ...quick });
    const refs = {
      infonce: infonceLossAndGrad(U, V, { tau: 0.2 }),
      'gcl-bimodal': gclBimodalLossAndGrad(U, V, { tau: 0.2, eps0: 0.05 }),
      'gcl-unimodal': gclUnimodalLossAndGrad(U, V, { tau: 0.2, eps0: 0.05 }),
    };
    for (const o of r.objectives) {
      const ref = refs[o.name];
      expect(relErr(o.value, ref.value)).toBeLessThan(1e-13);
      expect(relErr(o.gradNorm, frobeniusNorm(ref.gradU!, ref.gradV!))).toBeLessThan(1e-12);
      const rg = riemannianGrad(U, V, ref);
      expect(relErr(o.riemannianGradNorm, frobeniusNorm(rg.gradU, rg.gradV))).toBeLessThan(1e-12);
    }
  });

  it('per-anchor terms add up to the values; the hardest anchors are the largest losses with their most similar negatives', () => {
    const n = U.rows;
    const inf = r.objectives.find((o) => o.name === 'infonce')!;
    let s = 0;
    for (let i = 0; i < n; i++) s += r.anchors.infonceRow[i]! + r.anchors.infonceCol[i]!;
    expect(relErr(s / (2 * n), inf.value)).toBeLessThan(1e-13);
    const losses = Array.from(r.anchors.infonceRow, (x, i) => (x + r.anchors.infonceCol[i]!) / 2);
    const top = r.anchors.hardest[0]!;
    expect(top.loss).toBe(Math.max(...losses));
    expect(top.index).toBe(losses.indexOf(top.loss));
    const i = top.index;
    const sims = Array.from({ length: n }, (_, j) => (j === i ? -Infinity : U.data.slice(i * 12, i * 12 + 12).reduce((a, x, c) => a + x * V.data[j * 12 + c]!, 0)));
    expect(top.nearestNegatives[0]!.index).toBe(sims.indexOf(Math.max(...sims)));
    expect(top.nearestNegatives.map((x) => x.index)).not.toContain(i);
  });

  it('similarity moments and the bound', () => {
    const n = U.rows;
    const d = U.cols;
    const neg: number[] = [];
    const pos: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += U.data[i * d + c]! * V.data[j * d + c]!;
        (i === j ? pos : neg).push(s);
      }
    }
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    const variance = (a: number[]) => mean(a.map((x) => (x - mean(a)) ** 2));
    expect(relErr(r.similarity.positive.mean, mean(pos))).toBeLessThan(1e-12);
    expect(relErr(r.similarity.negative.mean, mean(neg))).toBeLessThan(1e-10);
    expect(relErr(r.similarity.positive.variance, variance(pos))).toBeLessThan(1e-10);
    expect(relErr(r.similarity.negative.variance, variance(neg))).toBeLessThan(1e-9);
    expect(r.similarity.bound.applies).toBe(true);
    expect(r.similarity.bound.holds).toBe(true);
    expect(r.similarity.negativeHistogram.counts.reduce((a, b) => a + b, 0)).toBe(r.similarity.negativeHistogram.sampled);
  });

  it('false negatives: the closed forms against enumeration of every batch (N = 9, B = 3)', async () => {
    const small = clustered(2, 9, 3, 3);
    const lab = Int32Array.from([0, 0, 0, 0, 1, 1, 2, 2, 2]);
    const q = await diagnose(small.U, small.V, { tau: 0.5, batchSizes: [3], labels: lab, ...quick });
    const fn = q.batchSizes[0]!.falseNegatives!;
    // Enumerate: anchor i, the other two members {j, k} of its batch among the 8 others.
    let same = 0;
    let any = 0;
    let count = 0;
    for (let i = 0; i < 9; i++) {
      for (let j = 0; j < 9; j++) {
        for (let k = j + 1; k < 9; k++) {
          if (j === i || k === i) continue;
          const m = (lab[j] === lab[i] ? 1 : 0) + (lab[k] === lab[i] ? 1 : 0);
          same += m;
          any += m > 0 ? 1 : 0;
          count++;
        }
      }
    }
    expect(fn.expectedPerAnchor).toBeCloseTo(same / count, 12);
    expect(fn.probabilityAtLeastOne).toBeCloseTo(any / count, 12);
  });

  it('batch hardness: the kept approximate-OSGD batches are at least as hard as the epoch they were taken from; spectral batches are harder than random on clustered data', async () => {
    const q = await diagnose(U, V, { tau: 0.2, batchSizes: [8], labels, draws: 8 });
    const h = q.batchSizes[0]!.hardness;
    expect(h.osgd.mean).toBeGreaterThanOrEqual(h.random.mean);
    expect(h.spectral!.mean).toBeGreaterThan(h.random.mean + 3 * (h.random.se + h.spectral!.se));
    // Hard batches gather same-label pairs: more false negatives than a uniform batch.
    expect(q.batchSizes[0]!.falseNegatives!.spectralPerAnchor!).toBeGreaterThan(q.batchSizes[0]!.falseNegatives!.expectedPerAnchor);
  });

  it('labels: kNN and linear probe separate well-separated clusters', () => {
    expect(r.labels!.classes).toBe(4);
    expect(r.labels!.knn.accuracy).toBeGreaterThan(0.9);
    expect(r.labels!.linearProbe.accuracy).toBeGreaterThan(0.9);
    expect(r.labels!.split.train + r.labels!.split.test).toBe(U.rows);
  });
});

describe('diagnose: lower bounds (THEORY 9.7)', () => {
  it('at the simplex ETF with d >= N - 1 every objective equals its bound (attained)', async () => {
    for (const [n, tau, eps0] of [[6, 0.3, 0], [10, 0.1, 0.02], [5, 1, 0.5]] as const) {
      const E = simplexEtf(n, n - 1);
      const r = await diagnose(E, E, { tau, eps0, batchSizes: [2], ...quick });
      for (const o of r.objectives) {
        expect(o.bound!.attained).toBe(true);
        expect(Math.abs(o.gap!)).toBeLessThan(1e-12 * (1 + Math.abs(o.bound!.value)));
      }
    }
  });

  it('for unit rows in any d every objective is at least its bound (property)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 4, max: 24 }), fc.integer({ min: 1, max: 8 }), fc.double({ min: 0.05, max: 2, noNaN: true }), fc.constantFrom(0, 0.01, 0.3), fc.integer({ min: 0, max: 1e6 }),
      async (n, d, tau, eps0, seed) => {
        const rng = Rng.fromSeed(seed);
        const U = unitRows(rng, n, d);
        const V = seed % 3 === 0 ? U : unitRows(rng, n, d);
        const r = await diagnose(U, V, { tau, eps0, batchSizes: [2], draws: 4, skipSpectral: true });
        for (const o of r.objectives) expect(o.gap!).toBeGreaterThanOrEqual(-1e-12 * (1 + Math.abs(o.bound!.value)));
        expect(r.objectives[0]!.bound!.attained).toBe(d >= n - 1);
      },
    ), { numRuns: 40, seed: 7 });
  });

  it('rows that are not unit length are counted, bounds withheld; --normalize normalises', async () => {
    const { U, V } = clustered(3, 40, 5, 3);
    const U2 = matrix(Float64Array.from(U.data, (x, t) => (t < 5 * 3 ? 2 * x : x)), 40, 5);
    const r = await diagnose(U2, V, { tau: 0.5, batchSizes: [4], ...quick });
    expect(r.rows.nonUnitU).toBe(3);
    expect(r.rows.nonUnitV).toBe(0);
    expect(r.rows.examples[0]).toEqual(['U', 0, expect.closeTo(2, 12)]);
    expect(r.objectives.every((o) => o.bound === null && o.gap === null)).toBe(true);
    expect(r.similarity.bound.applies).toBe(false);
    const s = await diagnose(U2, V, { tau: 0.5, batchSizes: [4], normalize: true, ...quick });
    expect(s.rows.normalized).toBe(true);
    expect(s.objectives[0]!.bound).not.toBeNull();
    expect(s.objectives[0]!.value).toBeCloseTo((await diagnose(U, V, { tau: 0.5, batchSizes: [4], ...quick })).objectives[0]!.value, 12);
  });
});

describe('diagnose: sampled parts', () => {
  it('the plug-in estimator is biased at small B and the exact-u SogCLR estimator is not (within noise); the Jensen gap is positive', async () => {
    const { U, V } = clustered(4, 60, 6, 3, 1);
    const r = await diagnose(U, V, { tau: 0.2, batchSizes: [4, 16], draws: 1500, skipSpectral: true, seed: 3 });
    const b4 = r.batchSizes[0]!;
    expect(b4.bias.plugin.resolved).toBe(true);
    expect(Math.abs(b4.bias.sogclr.biasSq)).toBeLessThan(4 * b4.bias.sogclr.biasSqSE);
    expect(b4.jensenGap.value).toBeGreaterThan(3 * b4.jensenGap.se);
    expect(r.batchSizes[1]!.bias.plugin.bias).toBeLessThan(b4.bias.plugin.bias);
    expect(b4.bias.statement).toMatch(/resolved by 1500 draws/);
  });

  it('the draw budget: at least 4 and at most 4000 per size, fewer for larger B', () => {
    const a = autoDraws(20000, 256, [32, 256, 4096], 'bimodal');
    expect(a[0]).toBe(4000);
    expect(a[2]).toBeGreaterThanOrEqual(4);
    expect(a[1]!).toBeGreaterThan(a[2]!);
    expect(autoDraws(20000, 256, [20000], 'unimodal')).toEqual([4]);
  });

  it('one seed, the same bits, for 1 and 2 worker threads', async () => {
    const { U, V, labels } = clustered(5, 80, 8, 3);
    const o = { tau: 0.3, eps0: 0.01, batchSizes: [8, 20], labels, draws: 12, seed: 9 } as const;
    const a = await diagnose(U, V, { ...o, threads: 1 });
    const b = await diagnose(U, V, { ...o, threads: 2 });
    const json = (x: Diagnosis) => JSON.stringify(x, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v));
    expect(json(b)).toBe(json(a));
    const c = await diagnose(U, V, { ...o, threads: 1, seed: 10 });
    expect(json(c)).not.toBe(json(a));
  }, 60_000);
});

describe('diagnose: bad input is a typed error', () => {
  const { U, V, labels } = clustered(6, 20, 4, 2);
  it.each([
    ['labels of the wrong length', () => diagnose(U, V, { tau: 0.1, batchSizes: [4], labels: labels.subarray(0, 19) }), ShapeError, /labels has 19 entries but U has N = 20/],
    ['a batch size over N', () => diagnose(U, V, { tau: 0.1, batchSizes: [21] }), DomainError, /B = 21 exceeds N = 20/],
    ['a repeated batch size', () => diagnose(U, V, { tau: 0.1, batchSizes: [4, 4] }), DomainError, /listed twice/],
    ['tau <= 0', () => diagnose(U, V, { tau: 0, batchSizes: [4] }), DomainError, /tau/],
    ['a non-finite entry', () => diagnose(matrix(Float64Array.from(U.data, (x, t) => (t === 7 ? NaN : x)), 20, 4), V, { tau: 0.1, batchSizes: [4] }), Error, /non-finite|NaN/],
    ['shapes that differ', () => diagnose(U, matrix(V.data.slice(0, 19 * 4), 19, 4), { tau: 0.1, batchSizes: [4] }), ShapeError, /U|V/],
  ] as const)('%s', async (_name, f, type, re) => {
    await expect(f()).rejects.toThrow(type);
    await expect(f()).rejects.toThrow(re);
  });
});

describe('diagnose: the checks detect the named mutants', () => {
  const { U, V } = clustered(7, 50, 6, 3);
  const numbers = (tau: number, eps0: number) => [
    infonceLossAndGrad(U, V, { tau }), gclBimodalLossAndGrad(U, V, { tau, eps0 }), gclUnimodalLossAndGrad(U, V, { tau, eps0 }),
  ].flatMap((r) => {
    const rg = riemannianGrad(U, V, r);
    return [r.value, frobeniusNorm(r.gradU!, r.gradV!), frobeniusNorm(rg.gradU, rg.gradV)];
  });
  it.each([
    ['column-softmax-dropped', 0.1], ['inv-tau-twice', 0.1], ['lse-no-max-shift', 0.001], ['eps0-ignored', 0.1], ['riemannian-projection-dropped', 0.1],
  ] as const)('%s changes what diagnose reports (value, ||grad||, ||Riemannian grad|| of the three objectives) against the reference', async (id, tau) => {
    const good = numbers(tau, 0.05); // computed outside the mutant
    const { result } = await withMutantAsync(id, () => diagnose(U, V, { tau, eps0: 0.05, batchSizes: [4], ...quick }).then((r) => r, (e: Error) => e));
    if (result instanceof Error) return; // the mutant made it fail outright: detected
    const got = result.objectives.flatMap((o) => [o.value, o.gradNorm, o.riemannianGradNorm]);
    expect(Math.max(...got.map((x, t) => (Number.isFinite(x) ? relErr(x, good[t]!) : Infinity)))).toBeGreaterThan(1e-9);
    // Without the mutant they agree (the same comparison passes).
    const clean = (await diagnose(U, V, { tau, eps0: 0.05, batchSizes: [4], ...quick })).objectives.flatMap((o) => [o.value, o.gradNorm, o.riemannianGradNorm]);
    expect(Math.max(...clean.map((x, t) => relErr(x, good[t]!)))).toBeLessThan(1e-11);
  });
});
