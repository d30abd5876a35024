import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { ConfigError, ZeroRowError } from '../../src/core/errors.ts';
import { zeros } from '../../src/core/matrix.ts';
import { solveExact } from '../../src/solver/exact.ts';
import { etfInfonce } from '../../src/optima/closedForms.ts';

describe('exact solver', () => {
  // Bounds: N ≤ 9 and d ≤ N + 3 keep each run under ~50 ms; τ ∈ [0.3, 2] keeps the problem
  // well conditioned so that lr = 2 converges from every start within the step budget.
  const inst = fc.record({
    n: fc.integer({ min: 2, max: 9 }),
    extra: fc.integer({ min: 0, max: 4 }),
    tau: fc.constantFrom(0.3, 0.5, 1, 2),
    seed: fc.integer({ min: 0, max: 10_000 }),
    mode: fc.constantFrom('projected' as const, 'reparam' as const),
  });
  test.prop([inst], { seed: 42, numRuns: 25 })('converges to the simplex ETF for d >= N-1 (value and Gram)', ({ n, extra, tau, seed, mode }) => {
    // d = 1 is excluded: S⁰ = {±1} is discrete, its tangent space is {0}, so gradient descent
    // cannot move and stops at its start (a real property of the method, not a solver defect).
    const d = Math.max(2, n - 1 + extra);
    const r = solveExact({ n, d, objective: { name: 'infonce', tau }, lr: 2 * tau, steps: 20000, seed, mode });
    const last = r.trace.at(-1)!;
    expect(r.converged).toBe(true);
    expect(r.optimum?.kind).toBe('etf');
    // At a stationary point with ‖grad‖ ≤ 1e-9 the loss gap is second order: ≤ ~1e-15 + rounding.
    expect(Math.abs(last.loss - etfInfonce(n, tau))).toBeLessThan(1e-12);
    // The Gram distance is first order in the gradient norm, scaled by the inverse curvature.
    expect(last.distance!).toBeLessThan(1e-5);
  });

  it('reaches the cross-polytope for N = 2d (the optimum THEORY marks unverified)', () => {
    for (const [n, d] of [[6, 3], [8, 4]]) {
      const r = solveExact({ n, d, lr: 4, steps: 5000, seed: 3 });
      expect(r.optimum?.kind).toBe('cross-polytope');
      expect(r.optimum?.status).toBe('unverified');
      expect(r.trace.at(-1)!.distance!).toBeLessThan(1e-5);
    }
  });

  it('is deterministic: same seed, bit-identical trace and end point', () => {
    const a = solveExact({ n: 7, d: 5, steps: 300, seed: 9, lr: 1.5 });
    const b = solveExact({ n: 7, d: 5, steps: 300, seed: 9, lr: 1.5 });
    expect(b.trace).toEqual(a.trace);
    expect(Array.from(b.U.data)).toEqual(Array.from(a.U.data));
    const c = solveExact({ n: 7, d: 5, steps: 300, seed: 10, lr: 1.5 });
    expect(c.trace.at(-1)!.loss).not.toBe(a.trace.at(-1)!.loss);
  });

  it('the loss decreases monotonically for a small step and the trace honours logEvery', () => {
    const r = solveExact({ n: 6, d: 6, steps: 200, lr: 0.5, seed: 2, logEvery: 10, tol: 0 });
    expect(r.trace.map((t) => t.step)).toEqual([...Array.from({ length: 21 }, (_, i) => i * 10)]);
    for (let i = 1; i < r.trace.length; i++) expect(r.trace[i]!.loss).toBeLessThanOrEqual(r.trace[i - 1]!.loss);
  });

  it('rejects bad options with typed errors', () => {
    expect(() => solveExact({ n: 3, d: 3, lr: 0 })).toThrow(/lr must be a finite number > 0, got 0/);
    expect(() => solveExact({ n: 3, d: 3, mode: 'x' as never })).toThrow(ConfigError);
    expect(() => solveExact({ n: 3, d: 3, init: { U: zeros(3, 3), V: zeros(3, 3) } })).toThrow(ZeroRowError);
    expect(() => solveExact({ n: 3, d: 3, init: { U: zeros(2, 3), V: zeros(3, 3) } })).toThrow(/init.U is 2x3, expected 3x3/);
    expect(() => solveExact({ n: 0, d: 3 })).toThrow(/n must be an integer >= 2, got 0/);
  });
});
