/**
 * Tests added from the Stryker run over src/objectives/common.ts (benchmarks/README.md, "Mutation
 * testing"): each pins behaviour a surviving mutant changed and no other suite observed.
 */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/index.ts';
import { NonFiniteError } from '../../src/core/errors.ts';
import { block, transpose, zeros } from '../../src/core/matrix.ts';
import { accurateSum, epsWeight, logEpsPlusExp, prepare } from '../../src/objectives/common.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';

const F32_MAX = 3.4028234663852886e38;

describe('accurateSum (Neumaier): the compensation is added, not dropped or subtracted', () => {
  it('recovers what plain summation loses', () => {
    expect(accurateSum([1e16, 1, -1e16])).toBe(1);
    expect(accurateSum([1, 1e100, 1, -1e100])).toBe(2);
    expect(accurateSum([-1e16, 1, 1e16])).toBe(1);
    // 0.1 ten times: the plain sum is 0.9999999999999999, the compensated one rounds to 1.
    expect(accurateSum(new Array(10).fill(0.1))).toBe(1);
    expect(accurateSum([])).toBe(0);
    expect(accurateSum([3.5])).toBe(3.5);
  });
});

describe('logEpsPlusExp and epsWeight against their definitions', () => {
  const XS = [-800, -50, -3, -0.5, 0, 0.25, 2, 40, 700];
  const EPS = [1e-8, 0.1, 1, 3];
  it('log(ε₀ + eˣ) on both sides of x = log ε₀, and x itself for ε₀ = 0', () => {
    for (const e of EPS) {
      for (const x of XS) {
        const want = Math.abs(x) < 600 ? Math.log(e + Math.exp(x)) : x > 0 ? x : Math.log(e);
        expect(logEpsPlusExp(e, x)).toBeCloseTo(want, 12);
      }
    }
    for (const x of XS) expect(logEpsPlusExp(0, x)).toBe(x);
  });

  it('eˣ/(ε₀ + eˣ) on both sides of x = log ε₀, in (0, 1], and 1 for ε₀ = 0', () => {
    for (const e of EPS) {
      for (const x of XS) {
        const want = Math.abs(x) < 600 ? Math.exp(x) / (e + Math.exp(x)) : x > 0 ? 1 : 0;
        const w = epsWeight(e, x);
        expect(w).toBeCloseTo(want, 14);
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThanOrEqual(1);
      }
      // At x = log ε₀ the weight is 1/2.
      expect(epsWeight(e, Math.log(e))).toBeCloseTo(0.5, 15);
    }
    for (const x of XS) expect(epsWeight(0, x)).toBe(1);
    // Far below log ε₀ the weight is e^{x}/ε₀ (subnormal here), not 1/(1 + e^{720}) = 0.
    expect(epsWeight(1, -720)).toBeGreaterThan(0);
    expect(epsWeight(1, -720)).toBe(Math.exp(-720));
  });
});

describe('prepare', () => {
  it('defaults: τ = 1, gradients on', () => {
    const U = zeros(2, 2);
    U.data.set([1, 0, 0, 1]);
    const p = prepare('t', U, U, {});
    expect(p.tau).toBe(1);
    expect(p.grad).toBe(true);
    expect(p.n).toBe(2);
    expect(p.d).toBe(2);
    expect(prepare('t', U, U, { grad: false }).grad).toBe(false);
    expect(infonceLossAndGrad(U, U).value).toBe(infonceLossAndGrad(U, U, { tau: 1 }).value);
  });

  it('float32 kernels: an entry of exactly the float32 maximum is accepted, one beyond it refused, in any row/column of a strided view', () => {
    const f32 = createCpuBackend({ dtype: 'f32' });
    const f64 = createCpuBackend({ dtype: 'f64' });
    // U has F32_MAX at (0, 0) and V is zero: S = 0, every value and gradient finite in float32.
    const U = zeros(3, 2);
    U.data[0] = F32_MAX;
    const Z = zeros(3, 2);
    expect(() => prepare('t', U, Z, { backend: f32 })).not.toThrow();
    // Beyond float32: refused for float32 kernels (with the entry's position), accepted for float64.
    for (const [i, j] of [[0, 0], [1, 1], [2, 0], [2, 1]] as const) {
      const W = zeros(3, 2);
      W.data[i * 2 + j] = -2 * F32_MAX;
      expect(() => prepare('t', W, Z, { backend: f32 }), `(${i},${j})`).toThrow(NonFiniteError);
      expect(() => prepare('t', W, Z, { backend: f32 })).toThrow(`U[${i},${j}]`);
      expect(() => prepare('t', Z, W, { backend: f32 })).toThrow(`V[${i},${j}]`);
      expect(() => prepare('t', W, Z, { backend: f64 })).not.toThrow();
    }
    // A strided view (a 2x2 block at (1, 1) of a 4x4 matrix): only its own entries count.
    const big = zeros(4, 4);
    big.data[0] = 1e300; // outside the block
    big.data[2 * 4 + 2] = 1e39; // inside, at block (1, 1)
    const view = block(big, 1, 1, 2, 2);
    expect(() => prepare('t', view, zeros(2, 2), { backend: f32 })).toThrow('U[1,1]');
    big.data[2 * 4 + 2] = 0;
    big.data[3 * 4 + 2] = 1e39; // outside: the row just below the view, in one of its columns
    expect(() => prepare('t', view, zeros(2, 2), { backend: f32 })).not.toThrow();
    // A transposed view (column stride 3): entry (0, 1) of the view is big's (1, 0).
    const T = zeros(3, 3);
    T.data[1 * 3 + 0] = 1e39;
    expect(() => prepare('t', transpose(T), zeros(3, 3), { backend: f32 })).toThrow('U[0,1]');
  });
});
