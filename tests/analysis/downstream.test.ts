import { describe, expect, it } from 'vitest';
import { fitLinearProbe, knnAccuracy, linearProbeAccuracy, predictLinearProbe, twoViewRecallAt1, downstreamMetrics } from '../../src/analysis/downstream.ts';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { ConfigError, DomainError, ShapeError } from '../../src/core/errors.ts';
import { fromRows, type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { syntheticDataset } from '../../src/data/synthetic.ts';
import { freeEmbeddings, linearEncoder } from '../../src/models/index.ts';
import { gaussian, unitRows } from '../helpers.ts';

const m64 = (rows: number[][]) => fromRows(rows) as Matrix64;

/** Class k's rows are e_k plus small noise (d ≥ K): perfectly separated by cosine and linearly. */
function separated(rng: Rng, n: number, K: number, d: number, noise = 0.05): { X: Matrix64; y: Int32Array } {
  const X = zeros(n, d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(K);
    for (let j = 0; j < d; j++) X.data[i * d + j] = noise * rng.normal();
    X.data[i * d + y[i]!]! += 1;
  }
  return { X, y };
}

function randomLabels(rng: Rng, n: number, K: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(K));
}

/** Brute-force k-NN (cosine) with the documented tie rules. */
function bruteKnn(R: Matrix64, yr: Int32Array, Q: Matrix64, yq: Int32Array, k: number, K: number): number {
  const cos = (a: Matrix64, i: number, b: Matrix64, j: number) => {
    let s = 0; let na = 0; let nb = 0;
    for (let t = 0; t < a.cols; t++) { s += a.data[i * a.cols + t]! * b.data[j * b.cols + t]!; na += a.data[i * a.cols + t]! ** 2; nb += b.data[j * b.cols + t]! ** 2; }
    return s / Math.sqrt(na * nb);
  };
  let correct = 0;
  for (let i = 0; i < Q.rows; i++) {
    const order = Array.from({ length: R.rows }, (_, j) => ({ j, s: cos(Q, i, R, j) })).sort((a, b) => b.s - a.s || a.j - b.j).slice(0, k);
    const votes = new Array(K).fill(0);
    const sums = new Array(K).fill(0);
    for (const { j, s } of order) { votes[yr[j]!]++; sums[yr[j]!] += s; }
    let best = 0;
    for (let c = 1; c < K; c++) if (votes[c] > votes[best] || (votes[c] === votes[best] && sums[c] > sums[best])) best = c;
    if (best === yq[i]) correct++;
  }
  return correct / Q.rows;
}

describe('k-NN accuracy', () => {
  it('is 1 on perfectly separated classes', () => {
    const rng = Rng.fromSeed(1);
    const tr = separated(rng, 300, 6, 8);
    const te = separated(rng, 200, 6, 8);
    for (const k of [1, 5, 15]) expect(knnAccuracy(tr.X, tr.y, te.X, te.y, { k })).toBe(1);
  });

  it('is at chance level on random embeddings (within 5 binomial standard deviations)', () => {
    const rng = Rng.fromSeed(2);
    const K = 4;
    const n = 2000;
    const acc = knnAccuracy(unitRows(rng, 1500, 8), randomLabels(rng, 1500, K), unitRows(rng, n, 8), randomLabels(rng, n, K), { k: 5 });
    // Query labels are independent of everything else, so each hit is Bernoulli(1/K) given the predictions.
    expect(Math.abs(acc - 1 / K)).toBeLessThan(5 * Math.sqrt((1 / K) * (1 - 1 / K) / n));
  });

  it('matches a brute-force implementation, across several query blocks, with the tie rules', () => {
    const rng = Rng.fromSeed(3);
    // Coarse values so that exact similarity ties occur.
    const coarse = (n: number) => { const M = gaussian(rng, n, 3); for (let i = 0; i < M.data.length; i++) M.data[i] = Math.round(M.data[i]!); M.data[0] = 1; return M; };
    const R = coarse(80);
    const Q = coarse(1100);
    for (let i = 0; i < R.rows; i++) if (R.data[i * 3]! === 0 && R.data[i * 3 + 1]! === 0 && R.data[i * 3 + 2]! === 0) R.data[i * 3] = 1;
    for (let i = 0; i < Q.rows; i++) if (Q.data[i * 3]! === 0 && Q.data[i * 3 + 1]! === 0 && Q.data[i * 3 + 2]! === 0) Q.data[i * 3] = -1;
    const yr = randomLabels(rng, 80, 3);
    const yq = randomLabels(rng, 1100, 3);
    for (const k of [1, 2, 4, 7]) expect(knnAccuracy(R, yr, Q, yq, { k })).toBe(bruteKnn(R, yr, Q, yq, k, 3));
  });

  it('hand-made case: the vote, then the summed similarity, then the smaller class', () => {
    const R = m64([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]);
    const yr = Int32Array.of(0, 0, 1, 1);
    // Query (1, 0.05): nearest two are class 0.
    expect(knnAccuracy(R, yr, m64([[1, 0.05]]), Int32Array.of(0), { k: 2 })).toBe(1);
    // k = 4: two votes each; class 0's rows are more similar to (1, 0.2).
    expect(knnAccuracy(R, yr, m64([[1, 0.2]]), Int32Array.of(0), { k: 4 })).toBe(1);
    // k larger than the reference set is capped; symmetric query ties on both counts → class 0.
    expect(knnAccuracy(R, yr, m64([[1, 1]]), Int32Array.of(0), { k: 10 })).toBe(1);
  });

  it('errors name the problem', () => {
    const R = m64([[1, 0]]);
    expect(() => knnAccuracy(R, Int32Array.of(0), m64([[1, 0, 0]]), Int32Array.of(0))).toThrow(ShapeError);
    expect(() => knnAccuracy(R, Int32Array.of(0, 1), R, Int32Array.of(0))).toThrow(/2 labels for 1 rows/);
    expect(() => knnAccuracy(R, Int32Array.of(0), R, Int32Array.of(0), { k: 0 })).toThrow(DomainError);
    expect(() => knnAccuracy(R, Int32Array.of(3), R, Int32Array.of(0), { classes: 2 })).toThrow(/outside 0..1/);
    expect(() => knnAccuracy(m64([[Number.NaN, 0]]), Int32Array.of(0), R, Int32Array.of(0))).toThrow(/NaN/);
  });
});

describe('linear probe', () => {
  it('is 1 on perfectly separated classes', () => {
    const rng = Rng.fromSeed(4);
    const tr = separated(rng, 400, 5, 7, 0.1);
    const te = separated(rng, 300, 5, 7, 0.1);
    expect(linearProbeAccuracy(tr.X, tr.y, te.X, te.y)).toBe(1);
  });

  it('is at chance level on random embeddings (within 5 binomial standard deviations)', () => {
    const rng = Rng.fromSeed(5);
    const K = 5;
    const n = 2000;
    const acc = linearProbeAccuracy(gaussian(rng, 1000, 6), randomLabels(rng, 1000, K), gaussian(rng, n, 6), randomLabels(rng, n, K));
    expect(Math.abs(acc - 1 / K)).toBeLessThan(5 * Math.sqrt((1 / K) * (1 - 1 / K) / n));
  });

  it('solves the ridge normal equations: with ridge 0 it is ordinary least squares (residual ⟂ design)', () => {
    const rng = Rng.fromSeed(6);
    const X = gaussian(rng, 50, 3);
    const y = randomLabels(rng, 50, 3);
    const probe = fitLinearProbe(X, y, { ridge: 0, classes: 3 });
    // Residual R = [X 1][W; b] − Y must be orthogonal to every column of [X 1].
    for (let c = 0; c < 3; c++) {
      const dots = [0, 0, 0, 0];
      for (let i = 0; i < 50; i++) {
        let r = probe.b[c]! - (y[i] === c ? 1 : 0);
        for (let j = 0; j < 3; j++) r += X.data[i * 3 + j]! * probe.W.data[j * 3 + c]!;
        for (let j = 0; j < 3; j++) dots[j]! += r * X.data[i * 3 + j]!;
        dots[3]! += r;
      }
      for (const v of dots) expect(Math.abs(v)).toBeLessThan(1e-10);
    }
    // With a ridge, the gradient of the penalised objective vanishes: Xᵀ R + λ W = 0, 1ᵀ R = 0.
    const ridge = 0.1;
    const pr = fitLinearProbe(X, y, { ridge, classes: 3 });
    for (let c = 0; c < 3; c++) {
      const g = [0, 0, 0, 0];
      for (let i = 0; i < 50; i++) {
        let r = pr.b[c]! - (y[i] === c ? 1 : 0);
        for (let j = 0; j < 3; j++) r += X.data[i * 3 + j]! * pr.W.data[j * 3 + c]!;
        for (let j = 0; j < 3; j++) g[j]! += r * X.data[i * 3 + j]!;
        g[3]! += r;
      }
      for (let j = 0; j < 3; j++) expect(Math.abs(g[j]! + ridge * 50 * pr.W.data[j * 3 + c]!)).toBeLessThan(1e-10);
      expect(Math.abs(g[3]!)).toBeLessThan(1e-10);
    }
  });

  it('rank-deficient design with ridge 0 falls back to least squares; prediction ties go to the smaller class', () => {
    const X = m64([[1, 1], [1, 1], [-1, -1], [-1, -1]]);
    const y = Int32Array.of(0, 0, 1, 1);
    const probe = fitLinearProbe(X, y, { ridge: 0 });
    expect(Array.from(predictLinearProbe(probe, X))).toEqual([0, 0, 1, 1]);
    const flat = { W: zeros(2, 3), b: new Float64Array(3) };
    expect(Array.from(predictLinearProbe(flat, X))).toEqual([0, 0, 0, 0]);
  });
});

describe('two-view retrieval R@1', () => {
  it('identical views → 1; collapsed embeddings → 0; independent random views → about 1/n', () => {
    const rng = Rng.fromSeed(7);
    const A = unitRows(rng, 700, 16);
    expect(twoViewRecallAt1(A, A)).toBe(1);
    const C = zeros(50, 4);
    for (let i = 0; i < 50; i++) C.data[i * 4] = 1;
    expect(twoViewRecallAt1(C, C)).toBe(0);
    // Independent views: hits ~ Binomial(n, 1/n): mean 1, so at most a handful.
    expect(twoViewRecallAt1(unitRows(rng, 700, 16), unitRows(rng, 700, 16)) * 700).toBeLessThanOrEqual(8);
  });

  it('slightly perturbed views keep R@1 = 1; it is invariant to row scaling (cosine)', () => {
    const rng = Rng.fromSeed(8);
    const A = unitRows(rng, 100, 32);
    const B = zeros(100, 32);
    for (let i = 0; i < B.data.length; i++) B.data[i] = 3 * (A.data[i]! + 0.01 * rng.normal());
    expect(twoViewRecallAt1(A, B)).toBe(1);
  });

  it('hand-made case', () => {
    const A = m64([[1, 0], [0, 1], [1, 1]]);
    const B = m64([[1, 0.1], [1, 0.2], [0.1, 1]]);
    // a0: cos with b0, b1, b2 = 0.995, 0.981, 0.0995 → hit. a1: b2 (0.995) beats its own b1 (0.196) → miss.
    // a2: b1 (1.2/(√2·√1.04) ≈ 0.832) beats its own b2 (1.1/(√2·√1.01) ≈ 0.774) → miss.
    expect(twoViewRecallAt1(A, B)).toBeCloseTo(1 / 3, 15);
    expect(() => twoViewRecallAt1(A, m64([[1, 0]]))).toThrow(ShapeError);
  });
});

describe('downstreamMetrics on the synthetic task', () => {
  const data = syntheticDataset({ n: 600, nTest: 300, p: 12, classes: 4, sigma: 0.3, augment: { noise: 0.2, mask: 0.1 } }, Rng.fromSeed(9));

  it('an identity-like encoder separates the classes; results are deterministic; chance levels reported', () => {
    const model = linearEncoder(data, 12);
    const W = zeros(12, 12);
    for (let i = 0; i < 12; i++) W.data[i * 12 + i] = 1;
    const a = downstreamMetrics(model, { W }, data);
    const b = downstreamMetrics(model, { W }, data, createReferenceBackend({ dtype: 'f64' }));
    expect(a.knn).toBeGreaterThan(0.95);
    expect(a.probe).toBeGreaterThan(0.95);
    expect(a.retrieval).toBeGreaterThan(0);
    expect(a.retrieval).toBeLessThanOrEqual(1);
    expect(a).toEqual(b);
    expect(a.chance).toEqual({ accuracy: 0.25, retrieval: 1 / 300 });
    // Another view seed changes only R@1.
    const c = downstreamMetrics(model, { W }, data, undefined, { viewSeed: 1 });
    expect([c.knn, c.probe]).toEqual([a.knn, a.probe]);
  });

  it('a rank-1 encoder (all inputs to ±one direction) is near chance on k-NN', () => {
    const model = linearEncoder(data, 2);
    const W = zeros(2, 12);
    W.data[0] = 1;
    const r = downstreamMetrics(model, { W }, data);
    expect(r.knn).toBeLessThan(0.75);
  });

  it('free embeddings have no held-out inputs', () => {
    const m = freeEmbeddings(10, 3);
    expect(() => downstreamMetrics(m, m.init(Rng.fromSeed(0)), data)).toThrow(ConfigError);
  });
});
