/**
 * Tests added from the Stryker run over src/objectives/infonce.ts (benchmarks/README.md, "Mutation
 * testing"): the value-only path returns no gradients.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { infonceLossAndGrad, infonceUvLossAndGrad } from '../../src/objectives/infonce.ts';
import { gaussian } from '../helpers.ts';

describe('InfoNCE without gradients', () => {
  it('grad: false returns the same value and null gradients (two-sided and one-sided)', () => {
    const rng = Rng.fromSeed(9);
    const U = gaussian(rng, 4, 3);
    const V = gaussian(rng, 4, 3);
    for (const f of [infonceLossAndGrad, infonceUvLossAndGrad]) {
      const full = f(U, V, { tau: 0.6 });
      const value = f(U, V, { tau: 0.6, grad: false });
      expect(value.value).toBe(full.value);
      expect(value.gradU).toBeNull();
      expect(value.gradV).toBeNull();
      expect(full.gradU).not.toBeNull();
      expect(full.gradV).not.toBeNull();
    }
  });
});
