/** A result that is not finite is an error naming its cause (issue 11), in every objective and dtype. */
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { NonFiniteError } from '../../src/core/errors.ts';
import { matrix } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { evaluateObjective, OBJECTIVE_NAMES, type ObjectiveSpec } from '../../src/objectives/index.ts';
import { solveExact } from '../../src/solver/exact.ts';

const unit = normalizeRows(Rng.fromSeed(3).fillNormalMatrix(6, 4));
// Rows of norm 1e160 (float64) or 1e20 (float32): S = UVᵀ reaches 1e320 or 1e40, beyond either range.
const huge = (dtype: 'f64' | 'f32') => matrix(unit.data.map((x) => x * (dtype === 'f64' ? 1e160 : 1e20)), 6, 4);

describe('non-finite results', () => {
  for (const dtype of ['f64', 'f32'] as const) {
    for (const name of OBJECTIVE_NAMES) {
      if (name === 'sigmoid') continue; // no τ: its own case below
      const spec: ObjectiveSpec = name === 'minibatch' ? { name, batches: { kind: 'all', B: 3 } } : { name };
      it(`${name} (${dtype}): rows of norm 1e160 / 1e20 overflow S; tau 1e-310 overflows 1/tau`, () => {
        const backend = createCpuBackend({ dtype });
        try {
          expect(() => evaluateObjective({ ...spec, tau: 1 }, huge(dtype), huge(dtype), { backend })).toThrow(NonFiniteError);
          expect(() => evaluateObjective({ ...spec, tau: 1 }, huge(dtype), huge(dtype), { backend })).toThrow(/the scale of S = UVᵀ\/τ \(max‖u‖·max‖v‖\/τ ≈ 10\^(320|40)\.0\) exceeds the float(64|32) range/);
          expect(() => evaluateObjective({ ...spec, tau: 1e-310 }, unit, unit, { backend })).toThrow(/1\/tau overflows/);
          expect(Number.isFinite(evaluateObjective({ ...spec, tau: 0.1 }, unit, unit, { backend }).value)).toBe(true);
        } finally {
          backend.dispose();
        }
      });
    }
  }
});

describe('non-finite results: sigmoid (scale t, no τ)', () => {
  for (const dtype of ['f64', 'f32'] as const) {
    it(`sigmoid (${dtype}): rows of norm 1e160 / 1e20 overflow the logits t·UVᵀ; t = 1e308 overflows the sum`, () => {
      const backend = createCpuBackend({ dtype });
      try {
        expect(() => evaluateObjective({ name: 'sigmoid', t: 1, b: 0 }, huge(dtype), huge(dtype), { backend })).toThrow(NonFiniteError);
        expect(() => evaluateObjective({ name: 'sigmoid', t: 1, b: 0 }, huge(dtype), huge(dtype), { backend })).toThrow(/the scale of the logits t·UVᵀ \+ b \(t·max‖u‖·max‖v‖ ≈ 10\^(320|40)\.0\) exceeds the float(64|32) range.*lower t/);
        expect(() => evaluateObjective({ name: 'sigmoid', t: 1e308, b: 0 }, unit, unit, { backend })).toThrow(NonFiniteError);
        expect(Number.isFinite(evaluateObjective({ name: 'sigmoid', t: 10, b: -10 }, unit, unit, { backend }).value)).toBe(true);
      } finally {
        backend.dispose();
      }
    });
  }
});

describe('exact solver', () => {
  it('a step size so large that every row collapses to one point is not reported as converged', () => {
    const r = solveExact({ n: 8, d: 16, lr: 1e308, steps: 50, seed: 0 });
    expect(r.collapsed).toBe(true);
    expect(r.converged).toBe(false);
    const ok = solveExact({ n: 4, d: 4, lr: 1, steps: 3000, seed: 0, tol: 1e-8 });
    expect(ok.collapsed).toBe(false);
    expect(ok.converged).toBe(true);
  });

  it('an update that overflows is a NonFiniteError naming the step and the step size', () => {
    expect(() => solveExact({ n: 4, d: 3, lr: 1e308, steps: 5, seed: 1, objective: { name: 'infonce', tau: 0.01 } })).toThrow(/overflowed .*lr = 1e\+308/);
  });
});
