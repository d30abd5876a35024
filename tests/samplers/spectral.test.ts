/**
 * Spectral batch selection (CHO Algorithm 1): batch structure and the uneven-N/B rule, determinism,
 * the pairwise lower bound L(U_b,V_b) ≥ Σ_{i<j∈b} W_ij / (2B(B−1)) and its equality at a batch ETF,
 * exactness of the balanced assignment (brute force, Hungarian), Lanczos against the dense
 * eigen-solver, the streamed affinity against the stored one, and a sanity check of the method on
 * clustered data.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { createCpuBackend, defaultBackend } from '../../src/backend/index.ts';
import { hungarian } from '../../src/core/assignment.ts';
import { CapExceededError, ConfigError, DomainError, NonFiniteError, ShapeError } from '../../src/core/errors.ts';
import { gatherRows, type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { simplexEtf } from '../../src/optima/etf.ts';
import { spectralAffinity, spectralBatches, spectralBatchesWithInfo, type SpectralOptions } from '../../src/samplers/spectral.ts';
import {
  type AffinityProblem, denseNormalizedAffinity, expDomainSafe, logDegrees, logitDiagonal, materializedOperator, softplus, streamingOperator,
} from '../../src/samplers/spectral/affinity.ts';
import { balancedAssignment } from '../../src/samplers/spectral/balanced.ts';
import { denseTopEigenpairs, lanczosTopEigenpairs } from '../../src/samplers/spectral/eigen.ts';
import { kmeans } from '../../src/samplers/spectral/kmeans.ts';

const EPS = Number.EPSILON;
/** Per-test limit for the property tests (whole pipelines run many times; a loaded CI core is slow). */
const TIMEOUT_MS = 300_000;
const be = defaultBackend();

function unitRows(rng: Rng, n: number, d: number): Matrix64 {
  const m = zeros(n, d);
  rng.fillNormal(m.data);
  return normalizeRows(m);
}

/**
 * K clusters of B rows each: cluster centres are random unit vectors, u_i = normalize(c_k + σ g),
 * v_i = normalize(u_i + σ/2 g'); rows are listed in a random order. Returns the true cluster labels.
 */
function clustered(rng: Rng, K: number, B: number, d: number, sigma: number): { U: Matrix64; V: Matrix64; label: Int32Array } {
  const n = K * B;
  const C = unitRows(rng, K, d);
  const perm = rng.permutation(n);
  const U = zeros(n, d);
  const V = zeros(n, d);
  const label = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const i = perm[t]!;
    const k = Math.floor(t / B);
    label[i] = k;
    for (let j = 0; j < d; j++) U.data[i * d + j] = C.data[k * d + j]! + sigma * rng.normal();
  }
  const Un = normalizeRows(U);
  for (let i = 0; i < n * d; i++) V.data[i] = Un.data[i]! + (sigma / 2) * rng.normal();
  return { U: Un, V: normalizeRows(V), label };
}

function batchLoss(U: Matrix64, V: Matrix64, b: Int32Array, tau: number): number {
  return infonceLossAndGrad(gatherRows(U, b), gatherRows(V, b), { tau, grad: false }).value;
}

/** The structural contract of src/samplers/types.ts for one selection of batches. */
function checkBatches(batches: Int32Array[], N: number, B: number): void {
  const K = Math.ceil(N / B);
  expect(batches.length).toBe(K);
  const count = new Int32Array(N);
  for (const b of batches) {
    expect(b.length).toBe(B);
    expect(new Set(b).size).toBe(B);
    for (const i of b) {
      expect(Number.isInteger(i) && i >= 0 && i < N).toBe(true);
      count[i]++;
    }
  }
  const r = N % B;
  if (r === 0) {
    for (let i = 0; i < N; i++) expect(count[i]).toBe(1);
    return;
  }
  // Uneven: the last batch holds r leftover rows (in no other batch) and then the first B − r rows
  // of batch 0; every other row is in exactly one batch.
  const last = batches[K - 1]!;
  const topUp = last.subarray(r);
  expect(Array.from(topUp)).toEqual(Array.from(batches[0]!.subarray(0, B - r)));
  for (const i of last.subarray(0, r)) expect(count[i]).toBe(1);
  const dup = new Set(topUp);
  for (let i = 0; i < N; i++) expect(count[i]).toBe(dup.has(i) ? 2 : 1);
}

// ---------------------------------------------------------------------------------------------

describe('spectralBatches: structure', { timeout: TIMEOUT_MS }, () => {
  // Shapes: B in 2..6 and N in B..60 (N ≥ B is required; 60 keeps the dense eigen-decomposition of
  // each instance cheap), d in 2..8, τ in [0.05, 2] (the small-τ end is exercised separately below).
  // groupSize: none, or k·B with k in 1..4 (k = 1 makes every group a single batch). Solvers: all
  // three (auto is dense at this size; lanczos uses the stored M).
  const arb = fc
    .record({ B: fc.integer({ min: 2, max: 6 }), extra: fc.integer({ min: 0, max: 54 }), d: fc.integer({ min: 2, max: 8 }) })
    .chain(({ B, extra, d }) => fc.record({
      B: fc.constant(B),
      N: fc.constant(Math.min(60, B + extra)),
      d: fc.constant(d),
      tau: fc.double({ min: 0.05, max: 2, noNaN: true }),
      k: fc.option(fc.integer({ min: 1, max: 4 })),
      solver: fc.constantFrom('auto', 'dense', 'lanczos') as fc.Arbitrary<'auto' | 'dense' | 'lanczos'>,
      seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    }));

  test.prop([arb], { seed: 20240531, numRuns: 60 })('⌈N/B⌉ batches of B distinct rows covering every row (uneven rule included)', ({ B, N, d, tau, k, solver, seed }) => {
    const rng = Rng.fromSeed(seed);
    const U = unitRows(rng, N, d);
    const V = unitRows(rng, N, d);
    const opts: SpectralOptions = { tau, B, rng, solver, ...(k === null ? {} : { groupSize: k * B }) };
    const res = spectralBatchesWithInfo(U, V, opts);
    checkBatches(res.batches, N, B);
    expect(res.toppedUp === null).toBe(N % B === 0);
    if (res.toppedUp) expect(res.toppedUp).toEqual({ leftover: N % B, topUp: B - (N % B) });
  }, TIMEOUT_MS);

  it('B = 1 is refused (a batch of one row has no negatives), B = N gives the single batch of all rows', () => {
    const rng = Rng.fromSeed(1);
    const U = unitRows(rng, 7, 3);
    const V = unitRows(rng, 7, 3);
    expect(() => spectralBatches(U, V, { tau: 0.5, B: 1, rng })).toThrow(DomainError);
    expect(() => spectralBatches(U, V, { tau: 0.5, B: 1, rng })).toThrow(/B must be an integer >= 2/);
    expect(spectralBatches(U, V, { tau: 0.5, B: 7, rng }).map((b) => Array.from(b))).toEqual([[0, 1, 2, 3, 4, 5, 6]]);
  });

  it('degenerate data: identical rows (every affinity equal, k-means ties) still give valid batches', () => {
    const U = zeros(20, 3);
    for (let i = 0; i < 20; i++) U.data[i * 3] = 1;
    for (const solver of ['dense', 'lanczos'] as const) {
      checkBatches(spectralBatches(U, U, { tau: 0.5, B: 4, rng: Rng.fromSeed(8), solver }), 20, 4);
      checkBatches(spectralBatches(U, U, { tau: 0.5, B: 6, rng: Rng.fromSeed(8), solver }), 20, 6);
    }
  });

  it('works at τ = 0.01 (where exp(W) overflows float64) and with a float32 tile backend', () => {
    // Random unit rows in d = 2: S_ij − S_ii reaches ≈ 2/τ = 200, so W reaches ≈ 800 > log(max double) ≈ 709.8.
    const rng = Rng.fromSeed(5);
    const U = unitRows(rng, 24, 2);
    const V = unitRows(rng, 24, 2);
    const W = spectralAffinity(U, V, 0.01, 6);
    let wmax = 0;
    for (const x of W.data) {
      expect(Number.isFinite(x)).toBe(true);
      wmax = Math.max(wmax, x);
    }
    expect(wmax).toBeGreaterThan(710);
    for (const solver of ['dense', 'lanczos'] as const) {
      const res = spectralBatchesWithInfo(U, V, { tau: 0.01, B: 6, rng: Rng.fromSeed(2), solver });
      checkBatches(res.batches, 24, 6);
      for (const g of res.groups) for (const x of g.eigenvalues) expect(Number.isFinite(x)).toBe(true);
    }
    const f32 = createCpuBackend({ dtype: 'f32' });
    checkBatches(spectralBatches(U, V, { tau: 0.1, B: 6, rng: Rng.fromSeed(2), backend: f32 }), 24, 6);
  });
});

describe('spectralBatches: determinism', { timeout: TIMEOUT_MS }, () => {
  // Shapes bounded as above; each case runs the whole pipeline twice.
  const arb = fc.record({
    B: fc.integer({ min: 2, max: 5 }),
    N: fc.integer({ min: 10, max: 48 }),
    grouped: fc.boolean(),
    solver: fc.constantFrom('dense', 'lanczos') as fc.Arbitrary<'dense' | 'lanczos'>,
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  test.prop([arb], { seed: 777, numRuns: 25 })('same seed, same batches and the same generator state afterwards', ({ B, N, grouped, solver, seed }) => {
    const data = Rng.fromSeed(seed ^ 0x5bd1e995);
    const U = unitRows(data, N, 6);
    const V = unitRows(data, N, 6);
    const run = () => {
      const rng = Rng.fromSeed(seed);
      const batches = spectralBatches(U, V, { tau: 0.2, B, rng, solver, ...(grouped ? { groupSize: 2 * B } : {}) });
      return { batches: batches.map((b) => Array.from(b)), state: rng.state() };
    };
    expect(run()).toEqual(run());
  }, TIMEOUT_MS);

  it('the streamed and the stored affinity give the same batches on a clustered instance', () => {
    const { U, V } = clustered(Rng.fromSeed(11), 6, 5, 10, 0.1);
    const a = spectralBatches(U, V, { tau: 0.2, B: 5, rng: Rng.fromSeed(3), solver: 'lanczos', lanczos: { operator: 'materialized', tol: 1e-10 } });
    const b = spectralBatches(U, V, { tau: 0.2, B: 5, rng: Rng.fromSeed(3), solver: 'lanczos', lanczos: { operator: 'streaming', tol: 1e-10 } });
    const c = spectralBatches(U, V, { tau: 0.2, B: 5, rng: Rng.fromSeed(3), solver: 'dense' });
    const canon = (bs: Int32Array[]) => bs.map((x) => Array.from(x).join(',')).sort();
    expect(canon(a)).toEqual(canon(b));
    expect(canon(a)).toEqual(canon(c));
  });
});

// ---------------------------------------------------------------------------------------------

describe('spectralAffinity and the pairwise lower bound', { timeout: TIMEOUT_MS }, () => {
  it('matches the direct formula, is symmetric, and has W_ii = 4·log B', () => {
    const rng = Rng.fromSeed(9);
    for (const [n, d, tau, B] of [[5, 3, 1, 2], [37, 4, 0.5, 7], [70, 6, 0.3, 32]] as const) {
      const U = unitRows(rng, n, d);
      const V = unitRows(rng, n, d);
      const W = spectralAffinity(U, V, tau, B);
      const S = (i: number, j: number) => {
        let s = 0;
        for (let k = 0; k < d; k++) s += U.data[i * d + k]! * V.data[j * d + k]!;
        return s / tau;
      };
      const sp = (x: number) => Math.log(1 + (B - 1) * Math.exp(x)); // no overflow at these τ
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const A = (a: number, b: number) => sp(S(a, b) - S(a, a)) + sp(S(b, a) - S(a, a));
          const ref = i === j ? 4 * Math.log(B) : A(i, j) + A(j, i);
          // Four terms of size ≤ log(B) + 2/τ, each from a d-term dot product: error O((d + 8)·ε·(log B + 2/τ)).
          expect(Math.abs(W.data[i * n + j]! - ref)).toBeLessThanOrEqual(16 * (d + 8) * EPS * (Math.log(B) + 2 / tau + 1));
          expect(W.data[i * n + j]).toBe(W.data[j * n + i]);
        }
      }
    }
    expect(softplus(800)).toBe(800);
    expect(softplus(-800)).toBe(0);
    // The exponential path is refused where exp(W) could overflow (unit rows, τ = 0.01).
    const rng2 = Rng.fromSeed(4);
    const U2 = unitRows(rng2, 10, 3);
    expect(expDomainSafe(problem(U2, U2, 0.01, 32))).toBe(false);
    expect(expDomainSafe(problem(U2, U2, 0.1, 32))).toBe(true);
  });

  // Shapes: B in 2..12 rows (the batch), d in 1..16, τ in [0.01, 2] (THEORY's range of interest;
  // 0.01 is where exp(1/τ) overflows float32), rows unit or Gaussian of norm ~ √d (the bound holds
  // for any rows), scale capped by the Gaussian draw itself.
  const arb = fc.record({
    B: fc.integer({ min: 2, max: 12 }),
    d: fc.integer({ min: 1, max: 16 }),
    tau: fc.double({ min: 0.01, max: 2, noNaN: true }),
    unit: fc.boolean(),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  test.prop([arb], { seed: 4711, numRuns: 200 })('L(U_b, V_b) ≥ Σ_{i<j} W_ij / (2B(B−1)) on random batches', ({ B, d, tau, unit, seed }) => {
    const rng = Rng.fromSeed(seed);
    const U = unit ? unitRows(rng, B, d) : rng.fillNormalMatrix(B, d);
    const V = unit ? unitRows(rng, B, d) : rng.fillNormalMatrix(B, d);
    const W = spectralAffinity(U, V, tau, B);
    let sum = 0;
    for (let i = 0; i < B; i++) for (let j = i + 1; j < B; j++) sum += W.data[i * B + j]!;
    const bound = sum / (2 * B * (B - 1));
    const L = infonceLossAndGrad(U, V, { tau, grad: false }).value;
    let smax = 0;
    for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += U.data[i * d + k]! * V.data[j * d + k]!;
      smax = Math.max(smax, Math.abs(s / tau));
    }
    // L is a difference lse − S_ii of numbers of size max|S|: rounding error a few ulps of max|S|.
    expect(L).toBeGreaterThanOrEqual(bound - 64 * EPS * (1 + smax + Math.log(B)));
  }, TIMEOUT_MS);

  // Shapes: B in 2..16, d in B−1..B+3 (the ETF needs d ≥ B−1), τ in [0.01, 2] as above.
  const etfArb = fc.integer({ min: 2, max: 16 }).chain((B) => fc.record({
    B: fc.constant(B), d: fc.integer({ min: B - 1, max: B + 3 }), tau: fc.double({ min: 0.01, max: 2, noNaN: true }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  }));
  test.prop([etfArb], { seed: 1618, numRuns: 150 })('equality at a batch ETF (u_i = v_i a B-point simplex ETF)', ({ B, d, tau, seed }) => {
    const U = simplexEtf(B, d, { rng: Rng.fromSeed(seed) });
    const W = spectralAffinity(U, U, tau, B);
    let sum = 0;
    for (let i = 0; i < B; i++) for (let j = i + 1; j < B; j++) sum += W.data[i * B + j]!;
    const bound = sum / (2 * B * (B - 1));
    const L = infonceLossAndGrad(U, U, { tau, grad: false }).value;
    const closed = Math.log1p((B - 1) * Math.exp(-B / ((B - 1) * tau)));
    const tol = 64 * (d + 4) * EPS * (1 + 1 / tau);
    expect(Math.abs(L - bound)).toBeLessThanOrEqual(tol);
    expect(Math.abs(bound - closed)).toBeLessThanOrEqual(tol);
  }, TIMEOUT_MS);

  it('holds for every batch that spectralBatches returns', () => {
    const rng = Rng.fromSeed(123);
    const N = 45;
    const B = 5;
    const tau = 0.2;
    const U = unitRows(rng, N, 6);
    const V = unitRows(rng, N, 6);
    const W = spectralAffinity(U, V, tau, B);
    for (const b of spectralBatches(U, V, { tau, B, rng })) {
      let sum = 0;
      for (let x = 0; x < B; x++) for (let y = x + 1; y < B; y++) sum += W.data[b[x]! * N + b[y]!]!;
      expect(batchLoss(U, V, b, tau)).toBeGreaterThanOrEqual(sum / (2 * B * (B - 1)) - 1e-12);
    }
  });
});

// ---------------------------------------------------------------------------------------------

/** min Σ cost over assignments with exact capacities, by enumerating all k^n maps. */
function bruteBalanced(cost: Float64Array, n: number, k: number, cap: number[]): number {
  const a = new Int32Array(n);
  const cnt = new Int32Array(k);
  let best = Infinity;
  const rec = (i: number, acc: number) => {
    if (i === n) {
      best = Math.min(best, acc);
      return;
    }
    for (let c = 0; c < k; c++) {
      if (cnt[c]! >= cap[c]!) continue;
      cnt[c]++;
      a[i] = c;
      rec(i + 1, acc + cost[i * k + c]!);
      cnt[c]--;
    }
  };
  rec(0, 0);
  return best;
}

describe('balancedAssignment (exact)', { timeout: TIMEOUT_MS }, () => {
  // Shapes: n in 0..8 points and k in 1..4 centres (k^n ≤ 65536 maps for the brute force).
  // Costs: small integers 0..5 (many ties, exact arithmetic) or doubles in [0, 10) (bounded,
  // no NaN/Inf). Capacities: a random composition of n into k non-negative parts.
  const arb = fc
    .record({ n: fc.integer({ min: 0, max: 8 }), k: fc.integer({ min: 1, max: 4 }), ints: fc.boolean() })
    .chain(({ n, k, ints }) => fc.record({
      n: fc.constant(n),
      k: fc.constant(k),
      ints: fc.constant(ints),
      cost: fc.array(ints ? fc.integer({ min: 0, max: 5 }) : fc.double({ min: 0, max: 10, noNaN: true, maxExcluded: true }), { minLength: n * k, maxLength: n * k }),
      cuts: fc.array(fc.integer({ min: 0, max: n }), { minLength: k - 1, maxLength: k - 1 }),
    }));
  test.prop([arb], { seed: 99, numRuns: 400 })('matches brute force; capacities exact; prices certify optimality', ({ n, k, ints, cost, cuts }) => {
    const edges = [0, ...cuts.sort((a, b) => a - b), n];
    const cap = Array.from({ length: k }, (_, c) => edges[c + 1]! - edges[c]!);
    const C = Float64Array.from(cost);
    const res = balancedAssignment(C, n, k, cap);
    const cnt = new Array<number>(k).fill(0);
    for (const c of res.assignment) cnt[c]++;
    expect(cnt).toEqual(cap);
    const brute = bruteBalanced(C, n, k, cap);
    if (ints) expect(res.cost).toBe(brute);
    else expect(Math.abs(res.cost - brute)).toBeLessThanOrEqual(64 * EPS * 10 * (n + 1));
    for (let i = 0; i < n; i++) {
      const mine = C[i * k + res.assignment[i]!]! + res.prices[res.assignment[i]!]!;
      for (let c = 0; c < k; c++) expect(mine).toBeLessThanOrEqual(C[i * k + c]! + res.prices[c]! + 1e-9);
    }
  }, TIMEOUT_MS);

  // Shapes: K in 2..6 centres, B in 1..6 copies (n = K·B ≤ 36 keeps the n x n Hungarian cheap).
  const hArb = fc.record({ K: fc.integer({ min: 2, max: 6 }), B: fc.integer({ min: 1, max: 6 }), seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }) });
  test.prop([hArb], { seed: 2718, numRuns: 100 })('equals the Hungarian method on K centres each repeated B times (CHO\'s formulation)', ({ K, B, seed }) => {
    const rng = Rng.fromSeed(seed);
    const n = K * B;
    const C = new Float64Array(n * K);
    for (let i = 0; i < C.length; i++) C[i] = rng.uniform() * 4;
    const rep = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => C[i * K + Math.floor(j / B)]!));
    const h = hungarian(rep);
    const res = balancedAssignment(C, n, K, new Array<number>(K).fill(B));
    expect(Math.abs(res.cost - h.cost)).toBeLessThanOrEqual(1e-12 * n);
  }, TIMEOUT_MS);

  it('rejects infeasible or malformed input with typed errors', () => {
    expect(() => balancedAssignment(Float64Array.of(1, 2), 2, 1, [1])).toThrow(DomainError);
    expect(() => balancedAssignment(Float64Array.of(1, 2), 1, 2, [1])).toThrow(ShapeError);
    expect(() => balancedAssignment(Float64Array.of(1, NaN), 1, 2, [1, 0])).toThrow(DomainError);
    expect(() => balancedAssignment(Float64Array.of(1, 2), 1, 2, [2, -1])).toThrow(DomainError);
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * ‖sin Θ‖_F between the column spans of A and B (n x K, orthonormal columns): ‖B − A(AᵀB)‖_F.
 * (Computed from the projection residual, not from 1 − cos², which loses half the digits.)
 */
function sinThetaF(A: Matrix64, Bm: Matrix64): number {
  const n = A.rows;
  const K = A.cols;
  const G = new Float64Array(K * K);
  for (let a = 0; a < K; a++) for (let b = 0; b < K; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += A.data[i * K + a]! * Bm.data[i * K + b]!;
    G[a * K + b] = s;
  }
  let f = 0;
  for (let i = 0; i < n; i++) for (let b = 0; b < K; b++) {
    let s = Bm.data[i * K + b]!;
    for (let a = 0; a < K; a++) s -= A.data[i * K + a]! * G[a * K + b]!;
    f += s * s;
  }
  return Math.sqrt(f);
}

function problem(U: Matrix64, V: Matrix64, tau: number, B: number, tile?: number): AffinityProblem {
  return { n: U.rows, U, V, sDiag: logitDiagonal(U, V, tau), tau, B, be, la: be, ...(tile ? { tile } : {}) };
}

describe('eigen-solvers: Lanczos against the dense decomposition', { timeout: TIMEOUT_MS }, () => {
  it('the streamed operator equals the stored one (any tile size, both paths) and the log-degrees agree', () => {
    const rng = Rng.fromSeed(31);
    const U = unitRows(rng, 53, 5);
    const V = unitRows(rng, 53, 5);
    const { M, ell } = denseNormalizedAffinity(problem(U, V, 0.3, 4));
    const X = rng.fillNormalMatrix(53, 3);
    const Y0 = zeros(53, 3);
    materializedOperator(M, be).apply(X, Y0);
    // Tiles that do and do not divide N; the exponential path (E = exp(W) as a product, used at
    // this τ) and the log path (softplus terms, forced with expDomain: 'never').
    for (const [tile, expDomain] of [[8, 'auto'], [16, 'never'], [53, 'auto'], [256, 'never']] as const) {
      const p = { ...problem(U, V, 0.3, 4, tile), expDomain };
      expect(expDomainSafe(p)).toBe(expDomain === 'auto');
      const ell2 = logDegrees(p);
      for (let i = 0; i < 53; i++) expect(Math.abs(ell2[i]! - ell[i]!)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(ell[i]!)));
      const Y = zeros(53, 3);
      streamingOperator(p, ell2).apply(X, Y);
      for (let i = 0; i < Y.data.length; i++) expect(Math.abs(Y.data[i]! - Y0.data[i]!)).toBeLessThanOrEqual(1e-13);
    }
  });

  // Instances: N in 60..180 rows (dense O(N³) reference stays cheap), B in {4, 6, 10} so
  // K = ⌈N/B⌉ in 6..45; data random unit rows or clustered (σ = 0.15); τ in {0.1, 0.3, 1}.
  // Lanczos variants: stored or streamed operator (tile 32 to cross tile boundaries), block sizes
  // 1..16 (p = 1 is plain Lanczos), the default basis (thick restarts happen at these K).
  const arb = fc.record({
    N: fc.integer({ min: 60, max: 180 }),
    B: fc.constantFrom(4, 6, 10),
    tau: fc.constantFrom(0.1, 0.3, 1),
    clusteredData: fc.boolean(),
    streaming: fc.boolean(),
    blockSize: fc.integer({ min: 1, max: 16 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });
  test.prop([arb], { seed: 8675309, numRuns: 24 })('eigenvalues to 1e-8 and the subspace to a Davis–Kahan angle', (c) => {
    const rng = Rng.fromSeed(c.seed);
    let U: Matrix64;
    let V: Matrix64;
    if (c.clusteredData) {
      const K0 = Math.ceil(c.N / c.B);
      const g = clustered(rng, K0, c.B, 8, 0.15);
      U = gatherRows(g.U, Array.from({ length: c.N }, (_, i) => i)) as Matrix64;
      V = gatherRows(g.V, Array.from({ length: c.N }, (_, i) => i)) as Matrix64;
    } else {
      U = unitRows(rng, c.N, 8);
      V = unitRows(rng, c.N, 8);
    }
    const K = Math.ceil(c.N / c.B);
    const p = problem(U, V, c.tau, c.B, 32);
    const { M, ell } = denseNormalizedAffinity(p);
    const all = denseTopEigenpairs(M, Math.min(c.N, K + 1), be);
    const op = c.streaming ? streamingOperator(p, ell) : materializedOperator(M, be);
    const tol = 1e-10;
    const lz = lanczosTopEigenpairs(op, K, {
      rng: Rng.fromSeed(c.seed + 1), la: be, tol, blockSize: c.blockSize, maxApplications: 4000,
    });
    expect(lz.converged).toBe(true);
    for (let k = 0; k < K; k++) expect(Math.abs(lz.values[k]! - all.values[k]!)).toBeLessThanOrEqual(1e-8);
    expect(lz.values[0]!).toBeCloseTo(1, 12); // D^{1/2}1 is an eigenvector with eigenvalue 1
    // Davis–Kahan sin Θ theorem: ‖sin Θ‖_F ≤ ‖R‖_F / gap, gap = λ_K − λ_{K+1} (skipped when the
    // gap is at rounding level: the subspace is then not determined); 1e-9 covers the dense
    // reference's own error.
    const gap = all.values.length > K ? all.values[K - 1]! - all.values[K]! : 1;
    const dn = zeros(c.N, K);
    for (let i = 0; i < c.N; i++) for (let k = 0; k < K; k++) dn.data[i * K + k] = all.vectors.data[i * all.vectors.cols + k]!;
    let rf = 0;
    for (const r of lz.residuals) rf += r * r;
    if (gap > 1e-6) expect(sinThetaF(lz.vectors, dn)).toBeLessThanOrEqual(Math.sqrt(rf) / gap + 1e-9);
  }, TIMEOUT_MS);

  it('with a clear gap the subspace agrees to a small principal angle', () => {
    const g = clustered(Rng.fromSeed(3), 8, 6, 10, 0.1);
    const p = problem(g.U, g.V, 0.2, 6);
    const { M, ell } = denseNormalizedAffinity(p);
    const d = denseTopEigenpairs(M, 9, be);
    expect(d.values[7]! - d.values[8]!).toBeGreaterThan(0.1);
    const dn = zeros(48, 8);
    for (let i = 0; i < 48; i++) for (let k = 0; k < 8; k++) dn.data[i * 8 + k] = d.vectors.data[i * 9 + k]!;
    // Default basis, and the tightest one (K + 2p: every restart keeps K + p Ritz vectors and adds one block).
    for (const maxBasis of [undefined, 14]) {
      const lz = lanczosTopEigenpairs(streamingOperator(p, ell), 8, { rng: Rng.fromSeed(1), la: be, tol: 1e-11, blockSize: 3, maxApplications: 2000, ...(maxBasis ? { maxBasis } : {}) });
      expect(lz.converged).toBe(true);
      if (maxBasis) expect(lz.restarts).toBeGreaterThan(0);
      expect(sinThetaF(lz.vectors, dn)).toBeLessThanOrEqual(1e-9);
      for (let k = 0; k < 8; k++) expect(Math.abs(lz.values[k]! - d.values[k]!)).toBeLessThanOrEqual(1e-12);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('k-means', () => {
  it('recovers well-separated blobs and is deterministic given the Rng', () => {
    const rng = Rng.fromSeed(17);
    const K = 5;
    const n = 60;
    const dim = 3;
    const X = new Float64Array(n * dim);
    const truth = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      truth[i] = i % K;
      for (let k = 0; k < dim; k++) X[i * dim + k] = 10 * (k === truth[i]! % dim ? 1 + Math.floor(truth[i]! / dim) : 0) + 0.01 * rng.normal();
    }
    const a = kmeans(X, n, dim, K, { rng: Rng.fromSeed(5), la: be });
    const b = kmeans(X, n, dim, K, { rng: Rng.fromSeed(5), la: be });
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    // Same partition as the truth (up to relabelling).
    const map = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      if (!map.has(truth[i]!)) map.set(truth[i]!, a.labels[i]!);
      expect(a.labels[i]).toBe(map.get(truth[i]!));
    }
    expect(new Set(map.values()).size).toBe(K);
  });
});

// ---------------------------------------------------------------------------------------------

describe('sanity check of the method (not a theorem): spectral batches are high-loss batches', () => {
  it('on clustered data, the spectral batches have a higher mean batch loss than random partitions, and recover the clusters', () => {
    for (const seed of [1, 2, 3]) {
      const K = 8;
      const B = 6;
      const tau = 0.2;
      const g = clustered(Rng.fromSeed(seed), K, B, 16, 0.15);
      const rng = Rng.fromSeed(100 + seed);
      const spectral = spectralBatches(g.U, g.V, { tau, B, rng });
      const mean = (bs: Int32Array[]) => bs.reduce((s, b) => s + batchLoss(g.U, g.V, b, tau), 0) / bs.length;
      const spectralMean = mean(spectral);
      let randomMean = 0;
      for (let t = 0; t < 5; t++) {
        const perm = rng.permutation(K * B);
        randomMean += mean(Array.from({ length: K }, (_, k) => perm.slice(k * B, (k + 1) * B))) / 5;
      }
      expect(spectralMean).toBeGreaterThan(randomMean);
      for (const b of spectral) expect(new Set(Array.from(b, (i) => g.label[i])).size).toBe(1);
    }
  });
});

describe('argument checks', () => {
  const rng = Rng.fromSeed(0);
  const U = unitRows(rng, 10, 3);
  const V = unitRows(rng, 10, 3);
  it('throws typed errors naming the problem', () => {
    expect(() => spectralBatches(U, V, { tau: 0.1, B: 11, rng })).toThrow(DomainError);
    expect(() => spectralBatches(U, V, { tau: 0, B: 2, rng })).toThrow(DomainError);
    expect(() => spectralBatches(U, V, { tau: 0.1, B: 2, rng, groupSize: 5 })).toThrow(/multiple/);
    expect(() => spectralBatches(U, V, { tau: 0.1, B: 2, rng, solver: 'qr' as never })).toThrow(ConfigError);
    expect(() => spectralBatches(U, unitRows(rng, 9, 3), { tau: 0.1, B: 2, rng })).toThrow(ShapeError);
    const bad = zeros(10, 3);
    bad.data[4] = NaN;
    expect(() => spectralBatches(bad, V, { tau: 0.1, B: 2, rng })).toThrow(NonFiniteError);
    expect(() => spectralAffinity(zeros(5000, 1), zeros(5000, 1), 1, 2)).toThrow(CapExceededError);
    const big = zeros(4100, 1);
    big.data.fill(1);
    expect(() => spectralBatches(big, big, { tau: 1, B: 2, rng, solver: 'dense' })).toThrow(CapExceededError);
  });
});
