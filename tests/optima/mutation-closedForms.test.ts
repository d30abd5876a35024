/**
 * Tests added from the Stryker run over src/optima/closedForms.ts (benchmarks/README.md, "Mutation
 * testing"): the early underflow exit of the float64 kernel is needed, not only an optimisation;
 * the bounds of `digits`.
 */
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/core/errors.ts';
import { allBatchesInfonce, etfInfonce, etfInfonceBig } from '../../src/optima/closedForms.ts';

describe('float64 closed forms at extreme arguments', () => {
  it('exp(−N/((N−1)τ)) for τ = 1e-302 and N = 2^40: the value is exactly 0 (the error-free product of q·p would overflow to NaN)', () => {
    // p = (N−1)·τ ≈ 1.1e-290 is above the tiny-p fallback, q = N/p ≈ 1e302: Dekker's split of q overflows.
    for (const tau of [1e-302, 3e-301, 1e-303]) {
      expect(etfInfonce(2 ** 40, tau)).toBe(0);
      expect(allBatchesInfonce(2 ** 40, 3, tau)).toBe(0);
      expect(allBatchesInfonce(2 ** 40, 2 ** 40, tau)).toBe(0);
    }
  });
});

describe('high-precision digits bounds', () => {
  it('digits = 1 is accepted; 0, 10001 and 1.5 are refused (10000 is accepted but costs minutes, not tested)', () => {
    expect(etfInfonceBig(4, 1, { digits: 1 }).toString()).toBe('0.6');
    expect(etfInfonceBig(4, 1, { digits: 2 }).toString()).toBe('0.58');
    expect(() => etfInfonceBig(4, 1, { digits: 0 })).toThrow(DomainError);
    expect(() => etfInfonceBig(4, 1, { digits: 10001 })).toThrow(/digits must be an integer in \[1, 10000\], got 10001/);
    expect(() => etfInfonceBig(4, 1, { digits: 1.5 })).toThrow(DomainError);
  });
});
