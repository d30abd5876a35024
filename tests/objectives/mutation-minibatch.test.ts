/**
 * Tests added from the Stryker run over src/objectives/minibatch.ts and gcl.ts (benchmarks/README.md,
 * "Mutation testing"): boundaries of the batch-list checks, the maxBatches option, the compensated
 * sum over batches, and the smallest N the global objectives accept.
 */
import { describe, expect, it } from 'vitest';
import { CapExceededError, ConfigError, DomainError, ShapeError } from '../../src/core/errors.ts';
import { gatherRows } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad } from '../../src/objectives/gcl.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { minibatchLossAndGrad, validateBatchList } from '../../src/objectives/minibatch.ts';
import { gaussian } from '../helpers.ts';

describe('validateBatchList boundaries', () => {
  it('accepts indices 0 and n − 1 and batches of exactly 2 rows; refuses n, −1, 1.5, repeats, one-row and empty batches, an empty list', () => {
    expect(() => validateBatchList('t', [[0, 3]], 4)).not.toThrow();
    expect(() => validateBatchList('t', [[3, 0], [1, 2, 0]], 4)).not.toThrow();
    expect(() => validateBatchList('t', [[0, 4]], 4)).toThrow(ShapeError);
    expect(() => validateBatchList('t', [[0, 1], [2, 4]], 4)).toThrow(/batch 1 has index 4, outside 0\.\.3/);
    expect(() => validateBatchList('t', [[-1, 0]], 4)).toThrow(ShapeError);
    expect(() => validateBatchList('t', [[0, 1.5]], 4)).toThrow(ShapeError);
    expect(() => validateBatchList('t', [[0, 2, 0]], 4)).toThrow(/repeats index 0/);
    expect(() => validateBatchList('t', [[1]], 4)).toThrow(/has 1 row;/);
    expect(() => validateBatchList('t', [[]], 4)).toThrow(/has 0 rows;/);
    expect(() => validateBatchList('t', [], 4)).toThrow(ConfigError);
  });
});

describe('minibatch', () => {
  const rng = Rng.fromSeed(7);
  const U = gaussian(rng, 10, 3);
  const V = gaussian(rng, 10, 3);

  it('honours maxBatches: C(10,5) = 252 batches pass the default cap and fail a cap of 251', () => {
    expect(() => minibatchLossAndGrad(U, V, { batches: { kind: 'all', B: 5 }, grad: false })).not.toThrow();
    expect(() => minibatchLossAndGrad(U, V, { batches: { kind: 'all', B: 5 }, maxBatches: 252, grad: false })).not.toThrow();
    expect(() => minibatchLossAndGrad(U, V, { batches: { kind: 'all', B: 5 }, maxBatches: 251, grad: false })).toThrow(CapExceededError);
    expect(() => minibatchLossAndGrad(U, V, { batches: { kind: 'all', B: 11 } })).toThrow(DomainError);
  });

  it('the average over batches is compensated: 3000 copies of one batch give that batch\'s value (plain summation drifts)', () => {
    const b = [1, 4, 6];
    const one = infonceLossAndGrad(gatherRows(U, b), gatherRows(V, b), { grad: false }).value;
    const many = minibatchLossAndGrad(U, V, { batches: { kind: 'list', batches: new Array(3000).fill(b) }, grad: false }).value;
    expect(Math.abs(many - one)).toBeLessThanOrEqual(2 * Number.EPSILON * one);
    // and the gradient of k copies is the gradient of one copy, scattered to the batch's rows
    const g1 = infonceLossAndGrad(gatherRows(U, b), gatherRows(V, b));
    const gk = minibatchLossAndGrad(U, V, { batches: { kind: 'list', batches: [b, b, b] } });
    for (let k = 0; k < b.length; k++) {
      for (let j = 0; j < 3; j++) {
        expect(gk.gradU!.data[b[k]! * 3 + j]).toBeCloseTo(g1.gradU!.data[k * 3 + j]!, 14);
        expect(gk.gradV!.data[b[k]! * 3 + j]).toBeCloseTo(g1.gradV!.data[k * 3 + j]!, 14);
      }
    }
    for (const i of [0, 2, 3, 5, 7, 8, 9]) for (let j = 0; j < 3; j++) expect(gk.gradU!.data[i * 3 + j]).toBe(0);
  });

  it('grad: false returns null gradients', () => {
    const r = minibatchLossAndGrad(U, V, { batches: { kind: 'all', B: 2 }, grad: false });
    expect(r.gradU).toBeNull();
    expect(r.gradV).toBeNull();
  });
});

describe('GCL at the smallest N', () => {
  it('N = 2 is accepted (one negative per anchor) and equals its closed form; N = 1 and ε₀ < 0 are refused', () => {
    const rng = Rng.fromSeed(3);
    const U = gaussian(rng, 2, 3);
    const V = gaussian(rng, 2, 3);
    const tau = 0.7;
    const s = (a: number, b: number, X = U, Y = V) => {
      let t = 0;
      for (let j = 0; j < 3; j++) t += X.data[a * 3 + j]! * Y.data[b * 3 + j]!;
      return t / tau;
    };
    // bimodal: g1_i = exp(S_ij − S_ii), g2_i = exp(S_ji − S_ii) (one negative), F = (τ/4) Σ_i [log g1_i + log g2_i]
    const want = (tau / 4) * (s(0, 1) - s(0, 0) + (s(1, 0) - s(1, 1)) + (s(1, 0) - s(0, 0)) + (s(0, 1) - s(1, 1)));
    expect(gclBimodalLossAndGrad(U, V, { tau }).value).toBeCloseTo(want, 13);
    const eps0 = 0.3;
    const wantEps = (tau / 4) * [s(0, 1) - s(0, 0), s(1, 0) - s(1, 1), s(1, 0) - s(0, 0), s(0, 1) - s(1, 1)].reduce((a, x) => a + Math.log(eps0 + Math.exp(x)), 0);
    expect(gclBimodalLossAndGrad(U, V, { tau, eps0 }).value).toBeCloseTo(wantEps, 13);
    // unimodal, N = 2: Z = [u0; u1; v0; v1], anchor a's positive is a ± 2, its two negatives the rest (2N − 2 = 2)
    const Z = [0, 1, 0, 1].map((i, a) => (a < 2 ? U : V));
    const zs = (a: number, b: number) => s([0, 1, 0, 1][a]!, [0, 1, 0, 1][b]!, Z[a], Z[b]);
    let wantUni = 0;
    for (let a = 0; a < 4; a++) {
      const p = (a + 2) % 4;
      const negs = [0, 1, 2, 3].filter((z) => z !== a && z !== p);
      wantUni += Math.log(negs.reduce((acc, z) => acc + Math.exp(zs(a, z) - zs(a, p)), 0) / 2);
    }
    expect(gclUnimodalLossAndGrad(U, V, { tau }).value).toBeCloseTo((tau / 4) * wantUni, 13);
    const one = gaussian(rng, 1, 3);
    expect(() => gclBimodalLossAndGrad(one, one)).toThrow(DomainError);
    expect(() => gclUnimodalLossAndGrad(one, one)).toThrow(DomainError);
    expect(() => gclBimodalLossAndGrad(U, V, { eps0: -0.1 })).toThrow(DomainError);
    expect(() => gclUnimodalLossAndGrad(U, V, { eps0: -0.1 })).toThrow(DomainError);
  });
});

describe('GCL without gradients', () => {
  it('grad: false returns the same value and null gradients (bimodal and unimodal, with and without ε₀)', () => {
    const rng = Rng.fromSeed(5);
    const U = gaussian(rng, 5, 3);
    const V = gaussian(rng, 5, 3);
    for (const f of [gclBimodalLossAndGrad, gclUnimodalLossAndGrad]) {
      for (const eps0 of [0, 0.2]) {
        const full = f(U, V, { tau: 0.4, eps0 });
        const value = f(U, V, { tau: 0.4, eps0, grad: false });
        expect(value.value).toBe(full.value);
        expect(value.gradU).toBeNull();
        expect(value.gradV).toBeNull();
        expect(full.gradU).not.toBeNull();
      }
    }
  });
});
