/**
 * Closed forms of THEORY 3: float64 against the BigNumber reference (to a few ulps), and both
 * against the library's two-sided InfoNCE evaluated at the constructed configurations.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { combinations } from '../../src/core/combinatorics.ts';
import { DomainError } from '../../src/core/errors.ts';
import { gatherRows, type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { minibatchLossAndGrad } from '../../src/objectives/minibatch.ts';
import {
  allBatchesInfonce,
  allBatchesInfonceBig,
  crossPolytopeInfonce,
  crossPolytopeInfonceBig,
  etfInfonce,
  etfInfonceBig,
  partitionInfonce,
  partitionInfonceBig,
} from '../../src/optima/closedForms.ts';
import { crossPolytope } from '../../src/optima/crossPolytope.ts';
import { simplexEtf } from '../../src/optima/etf.ts';

const EPS = Number.EPSILON;

/** Distance in units in the last place between two non-negative finite doubles. */
function ulpDistance(a: number, b: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const ia = view.getBigInt64(0);
  view.setFloat64(0, b);
  const ib = view.getBigInt64(0);
  return Number(ia > ib ? ia - ib : ib - ia);
}

/** The BigNumber value rounded to the nearest double (JS string parsing rounds correctly). */
const toDouble = (x: { toString(): string }) => Number(x.toString());

/**
 * float64 vs the 50-digit reference: 4 ulps where the value is a normal double (exp, log1p and
 * two roundings, with the exponent argument formed in double-double); below the normal range the
 * spacing of subnormals (4.9e-324) is the unit, so allow 4 of those absolutely.
 */
function expectUlps(f: number, ref: number): void {
  if (ref >= 2.2250738585072014e-308) expect(ulpDistance(f, ref)).toBeLessThanOrEqual(4);
  else expect(Math.abs(f - ref)).toBeLessThanOrEqual(4 * 4.9e-324);
}

// τ = 10^e for e in [-3, 3]: log-uniform, so small temperatures (the hard case) are well covered.
// fc.double could produce NaN/Infinity/0; the exponent bound keeps τ finite and positive.
const tauArb = fc.double({ min: -3, max: 3, noNaN: true }).map((e) => 10 ** e);
// N up to 2^40: large N stresses the (N-1) factor and N/(N-1) -> 1 in the exponent.
const nArb = fc.oneof(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 2, max: 2 ** 40 }));

const TAUS = [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2, 10, 1000];
const NS = [2, 3, 4, 7, 16, 100, 1024, 65537, 1e6, 2 ** 40];

describe('float64 closed forms match the BigNumber reference to a few ulps', { timeout: 300_000 }, () => {
  it('on a grid of (N, B, τ) including τ = 0.01 and large N', () => {
    for (const N of NS) {
      for (const tau of TAUS) {
        expectUlps(etfInfonce(N, tau), toDouble(etfInfonceBig(N, tau)));
        const Ne = N % 2 === 0 ? N : N + 1;
        expectUlps(crossPolytopeInfonce(Ne, tau), toDouble(crossPolytopeInfonceBig(Ne, tau)));
        for (const B of [2, 3, 5, N]) {
          if (B > N) continue;
          expectUlps(allBatchesInfonce(N, B, tau), toDouble(allBatchesInfonceBig(N, B, tau)));
        }
      }
    }
    for (const [N, B] of [[2, 2], [4, 2], [12, 3], [12, 4], [100, 10], [1024, 32], [65536, 256], [2 ** 40, 2 ** 20]] as const) {
      for (const tau of TAUS) expectUlps(partitionInfonce(N, B, tau), toDouble(partitionInfonceBig(N, B, tau)));
    }
  });

  test.prop([nArb, fc.integer({ min: 2, max: 2 ** 40 }), tauArb], { seed: 97, numRuns: 300 })('for random (N, B, τ)', (N, Bseed, tau) => {
    const B = 2 + (Bseed % (N - 1)); // 2 <= B <= N
    expectUlps(etfInfonce(N, tau), toDouble(etfInfonceBig(N, tau)));
    expectUlps(allBatchesInfonce(N, B, tau), toDouble(allBatchesInfonceBig(N, B, tau)));
    const Np = B * Math.max(1, Math.floor(N / B)); // a multiple of B
    expectUlps(partitionInfonce(Np, B, tau), toDouble(partitionInfonceBig(Np, B, tau)));
    const Ne = 2 * Math.max(1, Math.floor(N / 2));
    expectUlps(crossPolytopeInfonce(Ne, tau), toDouble(crossPolytopeInfonceBig(Ne, tau)));
  });

  it('does not overflow or produce NaN as τ -> 0 (values underflow to 0) and tends to log N as τ -> ∞', () => {
    for (const tau of [1e-3, 1e-10, 1e-300, 5e-324]) {
      for (const v of [etfInfonce(10, tau), allBatchesInfonce(10, 3, tau), partitionInfonce(10, 5, tau), crossPolytopeInfonce(10, tau)]) {
        expect(Number.isFinite(v)).toBe(true);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThan(1e-100);
      }
    }
    expect(etfInfonce(10, 1e300)).toBeCloseTo(Math.log(10), 14);
    expect(crossPolytopeInfonce(10, 1e300)).toBeCloseTo(Math.log(10), 14);
    expect(etfInfonceBig(10, '1e-300').isZero()).toBe(true);
  });
});

describe('high-precision closed forms', () => {
  it('return mathjs BigNumbers with the requested significant digits', () => {
    const v50 = etfInfonceBig(4, 1);
    const v100 = etfInfonceBig(4, 1, { digits: 100 });
    expect(v50.precision(true)).toBeLessThanOrEqual(50);
    expect(v100.precision(true)).toBeGreaterThan(90);
    expect(v100.toSignificantDigits(50).eq(v50)).toBe(true);
    // log(1 + 3 e^{-4/3}) = 0.58265765306180045230230350342608958... (to 35 digits from the 100-digit value)
    expect(etfInfonceBig(4, 1, { digits: 12 }).toString()).toBe('0.582657653062');
  });

  it('keep full relative precision when the value is tiny (no 1 + a cancellation)', () => {
    // At τ = 0.001, N = 3: a = 2·exp(-1500) ≈ 1e-651, and log(1+a) = a(1 - a/2 + ...) = a to 1e-651.
    const v = etfInfonceBig(3, '0.001', { digits: 40 });
    const a = etfInfonceBig(3, '0.001', { digits: 60 });
    expect(v.toString().length).toBeGreaterThan(40);
    expect(a.toSignificantDigits(40).eq(v)).toBe(true);
    expect(v.gt(0)).toBe(true);
  });

  it('take a number τ at its exact binary value and a string τ as a decimal', () => {
    // 0.01 as a double is 0.01000000000000000020816681711721685...; at τ = 0.01 the value is
    // ≈ 2·exp(-150) and its relative sensitivity to τ is 150, so the two inputs differ at ~3e-15.
    const fromNumber = allBatchesInfonceBig(3, 3, 0.01);
    const fromString = allBatchesInfonceBig(3, 3, '0.01');
    const rel = Number(fromNumber.minus(fromString).div(fromString).toString());
    expect(rel).toBeGreaterThan(1e-16);
    expect(rel).toBeLessThan(1e-14);
  });
});

describe('argument checks name the offending value', () => {
  it('rejects bad τ, N, B and partitions', () => {
    expect(() => etfInfonce(4, 0)).toThrow(/tau must be .* got 0/);
    expect(() => etfInfonce(4, -1)).toThrow(DomainError);
    expect(() => etfInfonce(4, Number.NaN)).toThrow(DomainError);
    expect(() => etfInfonce(4, Infinity)).toThrow(DomainError);
    expect(() => etfInfonce(1, 1)).toThrow(/N must be an integer >= 2, got 1/);
    expect(() => etfInfonce(2.5, 1)).toThrow(DomainError);
    expect(() => allBatchesInfonce(4, 1, 1)).toThrow(/B must be an integer >= 2, got 1/);
    expect(() => allBatchesInfonce(4, 5, 1)).toThrow(/B = 5 exceeds N = 4/);
    expect(() => partitionInfonce(10, 4, 1)).toThrow(/multiple of B, got N = 10/);
    expect(() => crossPolytopeInfonce(5, 1)).toThrow(/N = 2d .* got N = 5/);
    expect(() => etfInfonceBig(4, 0)).toThrow(DomainError);
    expect(() => etfInfonceBig(4, '-0.5')).toThrow(/tau must be a finite number > 0, got -0.5/);
    expect(() => etfInfonceBig(4, 'abc')).toThrow(DomainError);
    expect(() => etfInfonceBig(4, 1, { digits: 0 })).toThrow(/digits/);
    expect(() => partitionInfonceBig(9, 2, 1)).toThrow(DomainError);
    expect(() => crossPolytopeInfonceBig(3, 1)).toThrow(DomainError);
  });
});

// ---------------------------------------------------------------------------------------------
// Against the objective at the constructed configurations

const infonce = (U: Matrix64, V: Matrix64, tau: number) => infonceLossAndGrad(U, V, { tau, grad: false }).value;

/**
 * The objective computes lse - S_ii with |S| <= 1/τ, so its absolute error is O(ε·(1/τ)·log N)
 * even where the value is tiny; the closed forms are accurate to ulps.
 */
const objTol = (tau: number, N: number) => 64 * EPS * Math.max(1, 1 / tau) * Math.log2(N + 1) + 4 * EPS;

/** Average of the two-sided InfoNCE over the given batches, each evaluated on its gathered rows. */
function batchAverage(U: Matrix64, V: Matrix64, batches: Iterable<ArrayLike<number>>, tau: number): number {
  let s = 0;
  let k = 0;
  for (const b of batches) {
    s += infonce(gatherRows(U, b) as Matrix64, gatherRows(V, b) as Matrix64, tau);
    k++;
  }
  return s / k;
}

/** N/B disjoint batches 0..B-1, B..2B-1, ...; each a B-point ETF in its own random frame of R^d. */
function partitionConfiguration(N: number, B: number, d: number, rng: Rng): Matrix64 {
  const U = zeros(N, d);
  for (let g = 0; g < N / B; g++) U.data.set(simplexEtf(B, d, { rng: rng.split() }).data, g * B * d);
  return U;
}

describe('closed forms equal the two-sided InfoNCE at the constructed optima', { timeout: 60_000 }, () => {
  // N in 2..24 and d in [N-1, N+3] keep the O(N²d) objective cheap; τ log-uniform in [1e-2, 1e2].
  const etfCase = fc
    .integer({ min: 2, max: 24 })
    .chain((N) => fc.record({ N: fc.constant(N), d: fc.integer({ min: N - 1, max: N + 3 }), seed: fc.integer({ min: 0, max: 2 ** 31 }), tau: fc.double({ min: -2, max: 2, noNaN: true }).map((e) => 10 ** e) }));

  test.prop([etfCase], { seed: 5150, numRuns: 120 })('ETF, full batch (u = v, any rotation)', ({ N, d, seed, tau }) => {
    const U = simplexEtf(N, d, { rng: Rng.fromSeed(seed) });
    expect(Math.abs(infonce(U, U, tau) - etfInfonce(N, tau))).toBeLessThanOrEqual(objTol(tau, N));
  });

  it('ETF at τ = 0.01 (value ~ e^{-100}) and τ = 1, several N', () => {
    for (const N of [2, 3, 10, 50]) {
      for (const tau of [0.01, 1]) {
        const U = simplexEtf(N, N + 1, { rng: Rng.fromSeed(N) });
        expect(Math.abs(infonce(U, U, tau) - etfInfonce(N, tau))).toBeLessThanOrEqual(objTol(tau, N));
      }
    }
  });

  it('cross-polytope, N = 2d, rotated', () => {
    for (const d of [1, 2, 3, 5, 8, 16]) {
      for (const tau of [0.01, 0.1, 1, 3]) {
        const N = 2 * d;
        const U = crossPolytope(N, d, { rng: Rng.fromSeed(100 + d) });
        expect(Math.abs(infonce(U, U, tau) - crossPolytopeInfonce(N, tau))).toBeLessThanOrEqual(objTol(tau, N));
      }
    }
  });

  it('all C(N,B) batches at the N-point ETF: explicit average = allBatchesInfonce (N in exponent)', () => {
    // N <= 8: at most C(8,4) = 70 batches per case.
    for (const N of [2, 3, 4, 5, 6, 8]) {
      const U = simplexEtf(N, N + 2, { rng: Rng.fromSeed(7 * N) });
      for (let B = 2; B <= N; B++) {
        for (const tau of [0.05, 0.5, 1, 2]) {
          const expected = allBatchesInfonce(N, B, tau);
          const explicit = batchAverage(U, U, combinations(N, B), tau);
          expect(Math.abs(explicit - expected)).toBeLessThanOrEqual(objTol(tau, N));
          const lib = minibatchLossAndGrad(U, U, { tau, grad: false, batches: { kind: 'all', B } }).value;
          expect(Math.abs(lib - expected)).toBeLessThanOrEqual(objTol(tau, N));
          if (B < N) expect(expected).toBeLessThan(etfInfonce(N, tau)); // fewer negatives per batch
        }
      }
    }
  });

  it('fixed disjoint partition into batch ETFs: batch average = partitionInfonce, full-batch loss >= ETF value', () => {
    const rng = Rng.fromSeed(4242);
    for (const [N, B] of [[4, 2], [6, 2], [6, 3], [8, 4], [9, 3], [12, 4], [12, 6]] as const) {
      for (const d of [B - 1, B + 1, N]) {
        for (const tau of [0.05, 0.5, 1, 2]) {
          const U = partitionConfiguration(N, B, d, rng);
          const batches = Array.from({ length: N / B }, (_, g) => Int32Array.from({ length: B }, (_, k) => g * B + k));
          const expected = partitionInfonce(N, B, tau);
          expect(Math.abs(batchAverage(U, U, batches, tau) - expected)).toBeLessThanOrEqual(objTol(tau, N));
          expect(infonce(U, U, tau)).toBeGreaterThanOrEqual(etfInfonce(N, tau) - objTol(tau, N));
        }
      }
    }
  });
});
