import { describe, expect } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { evaluateObjective, type ObjectiveSpec } from '../../src/objectives/index.ts';
import { Rng } from '../../src/core/random.ts';
import { directional, dot, gaussian, unitRows } from '../helpers.ts';

const backend = createReferenceBackend({ dtype: 'f64' });

// Bounds: N ≤ 7 and d ≤ 5 keep the materialised oracle and the all-batches enumeration cheap while
// covering N = 2 (smallest GCL) and d = 1; τ ∈ [0.05, 2] keeps logits ≤ 20 in magnitude so the
// central difference (h = 1e-5) stays accurate to ~1e-8 relative (its error grows like |f'''|·h²).
const shapes = fc.record({
  n: fc.integer({ min: 2, max: 7 }),
  d: fc.integer({ min: 1, max: 5 }),
  tau: fc.double({ min: 0.05, max: 2, noNaN: true }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  unit: fc.boolean(),
});

function specs(n: number, tau: number): ObjectiveSpec[] {
  return [
    { name: 'infonce', tau },
    { name: 'infonce-uv', tau },
    { name: 'gcl-bimodal', tau, eps0: 0 },
    { name: 'gcl-bimodal', tau, eps0: 0.3 },
    { name: 'gcl-unimodal', tau, eps0: 0 },
    { name: 'gcl-unimodal', tau, eps0: 1 / (2 * n - 2) },
    { name: 'minibatch', tau, batches: { kind: 'all', B: Math.min(2, n) } },
    { name: 'minibatch', tau, batches: { kind: 'list', batches: [[0, n - 1], [1, 0]] } },
  ];
}

describe('analytic gradients match central differences along random directions', () => {
  test.prop([shapes], { seed: 20260101, numRuns: 40 })('every objective', ({ n, d, tau, seed, unit }) => {
    const rng = Rng.fromSeed(seed);
    const U = unit ? unitRows(rng, n, d) : gaussian(rng, n, d, 0.7);
    const V = unit ? unitRows(rng, n, d) : gaussian(rng, n, d, 0.7);
    const DU = gaussian(rng, n, d);
    const DV = gaussian(rng, n, d);
    for (const spec of specs(n, tau)) {
      const r = evaluateObjective(spec, U, V, { backend });
      const analytic = dot(r.gradU!, DU) + dot(r.gradV!, DV);
      const fd = directional((u, v) => evaluateObjective(spec, u, v, { backend, grad: false }).value, U, V, DU, DV);
      // Tolerance: FD error ≈ 1e-10·scale at h = 1e-5 (see helpers); 1e-6 relative to the
      // directional derivative's natural scale leaves a wide margin while any wrong term is O(1).
      const scale = Math.sqrt(dot(r.gradU!, r.gradU!) + dot(r.gradV!, r.gradV!)) * Math.sqrt(dot(DU, DU) + dot(DV, DV));
      expect(Math.abs(analytic - fd), `${spec.name} eps0=${spec.eps0}`).toBeLessThanOrEqual(1e-6 * Math.max(scale, 1e-3));
    }
  });
});
