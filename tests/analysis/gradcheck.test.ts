/**
 * gradcheck (src/analysis/gradcheck.ts): the K-worker emulator against the blocked objectives and the
 * sharded InfoNCE, each candidate against finite differences of its mistaken loss, the verdicts on
 * candidates built here, and the typed errors.
 */
import { describe, expect, it } from 'vitest';
import {
  type CandidateGradientName, emulateShardedStep, type EmulatorFlags, type GradcheckObjective, gradcheck, gradcheckTolerance, mistakeGradient, twoSidedFamily,
} from '../../src/analysis/gradcheck.ts';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { ConfigError, DomainError, NonFiniteError, ShapeError } from '../../src/core/errors.ts';
import { clone, type Matrix, type Matrix64, toContiguous, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { evaluateObjective } from '../../src/objectives/index.ts';
import { shardedInfonceGrad } from '../../src/objectives/sharded.ts';
import { unitRows } from '../helpers.ts';

const N = 12;
const D = 5;
const TAU = 0.3;
const EPS0 = 0.2;
const U = unitRows(Rng.fromSeed('gradcheck-u'), N, D);
const V = unitRows(Rng.fromSeed('gradcheck-v'), N, D);
const OBJECTIVES: GradcheckObjective[] = ['infonce', 'gcl-bimodal', 'gcl-unimodal'];
const eps0Of = (o: GradcheckObjective) => (o === 'infonce' ? 0 : EPS0);

/** max |x − r| / max |r| over U and V together. */
function relErr(xU: Matrix, xV: Matrix, rU: Matrix, rV: Matrix): number {
  let diff = 0;
  let scale = 0;
  for (const [x, r] of [[xU, rU], [xV, rV]] as const) {
    for (let t = 0; t < x.rows * x.cols; t++) {
      diff = Math.max(diff, Math.abs(x.data[t]! - r.data[t]!));
      scale = Math.max(scale, Math.abs(r.data[t]!));
    }
  }
  return diff / scale;
}

function scaled(m: Matrix64, s: number): Matrix64 {
  const out = clone(m) as Matrix64;
  for (let t = 0; t < out.data.length; t++) out.data[t]! *= s;
  return out;
}

describe('emulateShardedStep', () => {
  for (const objective of OBJECTIVES) {
    for (const K of [1, 2, 3, 4, 6]) {
      it(`${objective}, K = ${K}: with the correct flags it is the blocked objective (value and gradient) to rounding`, () => {
        const e = emulateShardedStep(U, V, { objective, tau: TAU, eps0: eps0Of(objective), shards: K });
        const g = evaluateObjective({ name: objective, tau: TAU, eps0: objective === 'infonce' ? undefined : EPS0 }, U, V);
        expect(Math.abs(e.value - g.value)).toBeLessThan(1e-14 * Math.max(1, Math.abs(g.value)));
        expect(relErr(e.gradU, e.gradV, g.gradU!, g.gradV!)).toBeLessThan(1e-13);
        expect(e.shardValues.length).toBe(K);
        expect(e.shardValues.reduce((a, b) => a + b, 0)).toBeCloseTo(g.value, 13);
      });
    }
  }

  for (const K of [2, 3, 4, 6]) {
    it(`infonce without gather-with-grad, K = ${K}: equals shardedInfonceGrad(gatherWithGrad: false)`, () => {
      const e = emulateShardedStep(U, V, { objective: 'infonce', tau: TAU, shards: K, gatherWithGrad: false });
      const s = shardedInfonceGrad(U, V, { tau: TAU, shards: K, gatherWithGrad: false });
      expect(relErr(e.gradU, e.gradV, s.gradU, s.gradV)).toBeLessThan(1e-13);
      for (let k = 0; k < K; k++) expect(e.shardValues[k]).toBeCloseTo(s.shardValues[k]!, 14);
      // And it is not the global gradient.
      const g = evaluateObjective({ name: 'infonce', tau: TAU }, U, V);
      expect(relErr(e.gradU, e.gradV, g.gradU!, g.gradV!)).toBeGreaterThan(1e-3);
    });
  }

  for (const objective of ['infonce', 'gcl-bimodal'] as const) {
    it(`${objective}: the shared pass of gradcheck equals the emulator with each candidate's flags`, () => {
      const opts = { objective, tau: TAU, eps0: eps0Of(objective), shards: 3 };
      const be = createCpuBackend({ dtype: 'f64' });
      try {
        const fam = twoSidedFamily(U, V, opts, be);
        const pairs: [keyof typeof fam, CandidateGradientName][] = [['global', 'global'], ['noGather', 'local-without-gather-grad'], ['row', 'one-direction-row'], ['col', 'one-direction-col']];
        for (const [k, name] of pairs) {
          const e = mistakeGradient(name, U, V, opts, be);
          expect(relErr(fam[k].gradU, fam[k].gradV, e.gradU, e.gradV), name).toBeLessThan(1e-14);
          expect(fam[k].value, name).toBeCloseTo(e.value, 14);
        }
      } finally {
        be.dispose();
      }
    });
  }
});

/** Central differences of `f` at entry (i, c) of U (which = 0) or V (which = 1). */
function fd(f: (U: Matrix, V: Matrix) => number, which: 0 | 1, i: number, c: number, h = 1e-5): number {
  const at = (delta: number) => {
    const X = [clone(U), clone(V)];
    X[which]!.data[i * D + c]! += delta;
    return f(X[0]!, X[1]!);
  };
  return (at(h) - at(-h)) / (2 * h);
}

describe('each candidate is the gradient of its mistaken loss (central differences)', () => {
  const entries: [0 | 1, number, number][] = [[0, 0, 1], [0, 7, 3], [1, 5, 0], [1, 11, 4]];
  const cases: [GradcheckObjective, string, Partial<EmulatorFlags>][] = [];
  for (const objective of OBJECTIVES) {
    cases.push([objective, 'global', {}], [objective, 'missing-inv-tau', { tau: 1 }]);
    if (objective !== 'gcl-unimodal') {
      cases.push([objective, 'rank-offset', { labels: 'rank-offset' }], [objective, 'summed-directions', { directions: 'sum' }],
        [objective, 'one-direction (row)', { directions: 'row' }], [objective, 'one-direction (col)', { directions: 'col' }]);
    }
  }
  for (const [objective, name, extra] of cases) {
    it(`${objective} ${name}`, () => {
      const flags: EmulatorFlags = { objective, tau: TAU, eps0: eps0Of(objective), shards: 3, ...extra };
      const e = emulateShardedStep(U, V, flags);
      const scale = Math.max(...e.gradU.data.map(Math.abs), ...e.gradV.data.map(Math.abs));
      for (const [which, i, c] of entries) {
        const num = fd((A, B) => emulateShardedStep(A, B, flags).value, which, i, c);
        const g = (which === 0 ? e.gradU : e.gradV).data[i * D + c]!;
        expect(Math.abs(num - g), `entry ${which ? 'V' : 'U'}[${i},${c}]`).toBeLessThan(1e-7 * scale);
      }
    });
  }
  for (const objective of OBJECTIVES) {
    it(`${objective} local-without-gather-grad: a row's gradient is that of its own shard's loss L_k`, () => {
      const flags: EmulatorFlags = { objective, tau: TAU, eps0: eps0Of(objective), shards: 3, gatherWithGrad: false };
      const e = emulateShardedStep(U, V, flags);
      const scale = Math.max(...e.gradU.data.map(Math.abs), ...e.gradV.data.map(Math.abs));
      for (const [which, i, c] of entries) {
        const k = Math.floor(i / (N / 3));
        const num = fd((A, B) => emulateShardedStep(A, B, flags).shardValues[k]!, which, i, c);
        const g = (which === 0 ? e.gradU : e.gradV).data[i * D + c]!;
        expect(Math.abs(num - g), `entry ${which ? 'V' : 'U'}[${i},${c}]`).toBeLessThan(1e-7 * scale);
      }
    });
  }
});

describe('gradcheck verdicts on candidates built here', () => {
  const K = 3;
  const run = (objective: GradcheckObjective, gU: Matrix, gV: Matrix, extra: { tau?: number; shards?: number; gradDtype?: 'f32' | 'f64' } = {}) =>
    gradcheck(U, V, gU, gV, { objective, tau: extra.tau ?? TAU, eps0: eps0Of(objective), shards: extra.shards ?? K, gradDtype: extra.gradDtype });
  const build = (objective: GradcheckObjective, name: CandidateGradientName, tau = TAU) =>
    mistakeGradient(name, U, V, { objective, tau, eps0: eps0Of(objective), shards: K });

  for (const objective of OBJECTIVES) {
    const twoSided = objective !== 'gcl-unimodal';
    it(`${objective}: the blocked objective's gradient is 'global', scale 1`, () => {
      const g = evaluateObjective({ name: objective, tau: TAU, eps0: objective === 'infonce' ? undefined : EPS0 }, U, V);
      const r = run(objective, g.gradU!, g.gradV!);
      expect(r.verdict).toBe('global');
      expect(r.scale).toBeCloseTo(1, 12);
      expect(r.residual).toBeLessThanOrEqual(r.tolerance);
      expect(r.gradDtype).toBe('f64');
      expect(r.candidates.filter((c) => c.matched).map((c) => c.name)).toEqual(['global']);
      const names = r.candidates.map((c) => c.name);
      expect(names).toEqual(twoSided
        ? ['global', 'summed-directions', 'scaled', 'local-without-gather-grad', 'rank-offset', 'one-direction', 'missing-inv-tau']
        : ['global', 'scaled', 'local-without-gather-grad', 'missing-inv-tau']);
      expect(r.notTested.map((x) => x.name)).toEqual(twoSided ? [] : ['summed-directions', 'rank-offset', 'one-direction']);
    });
    it(`${objective}: 2x the global gradient is ${twoSided ? 'summed-directions' : 'scaled'}; K x and 1/K x are 'scaled' naming K; -1 x names the sign`, () => {
      const g = build(objective, 'global');
      const two = run(objective, scaled(g.gradU, 2), scaled(g.gradV, 2));
      expect(two.verdict).toBe(twoSided ? 'summed-directions' : 'scaled');
      expect(two.scale).toBeCloseTo(2, 12);
      const two2 = run(objective, scaled(g.gradU, 2), scaled(g.gradV, 2), { shards: 2 });
      if (twoSided) expect(two2.candidates.find((c) => c.name === 'summed-directions')!.detail).toMatch(/K = 2 workers with an all-reduce sum/);
      const byK = run(objective, scaled(g.gradU, K), scaled(g.gradV, K));
      expect(byK.verdict).toBe('scaled');
      expect(byK.candidates.find((c) => c.name === 'scaled')!.detail).toMatch(/K = 3: an all-reduce sum/);
      const inv = run(objective, scaled(g.gradU, 1 / K), scaled(g.gradV, 1 / K));
      expect(inv.verdict).toBe('scaled');
      expect(inv.candidates.find((c) => c.name === 'scaled')!.detail).toMatch(/1\/K = 1\/3/);
      const neg = run(objective, scaled(g.gradU, -1), scaled(g.gradV, -1));
      expect(neg.verdict).toBe('scaled');
      expect(neg.candidates.find((c) => c.name === 'scaled')!.detail).toMatch(/sign/);
    });
    const mistakes: [CandidateGradientName, string, string?][] = [['local-without-gather-grad', 'local-without-gather-grad'], ['missing-inv-tau', 'missing-inv-tau']];
    if (twoSided) mistakes.push(['rank-offset', 'rank-offset'], ['one-direction-row', 'one-direction', 'row direction'], ['one-direction-col', 'one-direction', 'column direction']);
    for (const [name, verdict, detail] of mistakes) {
      it(`${objective}: the ${name} candidate (times 0.7) is '${verdict}', and nothing else matches`, () => {
        const c = build(objective, name);
        const r = run(objective, scaled(c.gradU, 0.7), scaled(c.gradV, 0.7));
        expect(r.verdict).toBe(verdict);
        expect(r.scale).toBeCloseTo(0.7, 12);
        expect(r.candidates.filter((x) => x.matched).map((x) => x.name)).toEqual([verdict]);
        const others = r.candidates.filter((x) => x.name !== verdict);
        expect(Math.min(...others.map((x) => x.residual))).toBeGreaterThan(1e3 * r.tolerance);
        if (detail) expect(r.candidates.find((x) => x.name === verdict)!.detail).toMatch(detail);
      });
    }
    it(`${objective}: a perturbed gradient is 'unexplained', with the global fit's scale and residual`, () => {
      const g = build(objective, 'global');
      const noisy = scaled(g.gradU, 1);
      const rng = Rng.fromSeed('noise');
      const norm = Math.max(...g.gradU.data.map(Math.abs));
      for (let t = 0; t < noisy.data.length; t++) noisy.data[t]! += 1e-4 * norm * (rng.uniform() - 0.5);
      const r = run(objective, noisy, g.gradV);
      expect(r.verdict).toBe('unexplained');
      const glob = r.candidates.find((c) => c.name === 'global')!;
      expect(r.scale).toBe(glob.scale);
      expect(r.residual).toBe(glob.residual);
      expect(r.residual).toBeGreaterThan(r.tolerance);
      expect(r.candidates.some((c) => c.matched)).toBe(false);
    });
  }

  it('the tolerance follows the gradient dtype: the global gradient rounded to float32 is global as f32, unexplained as f64', () => {
    const g = build('infonce', 'global');
    const f32 = (m: Matrix) => toContiguous(m, 'f32');
    const as32 = run('infonce', f32(g.gradU), f32(g.gradV));
    expect(as32.gradDtype).toBe('f32');
    expect(as32.verdict).toBe('global');
    expect(as32.tolerance).toBe(gradcheckTolerance('f32', as32.maxAbsS, D));
    const as64 = run('infonce', f32(g.gradU), f32(g.gradV), { gradDtype: 'f64' });
    expect(as64.verdict).toBe('unexplained');
    expect(as64.tolerance).toBeCloseTo(as32.tolerance * 2 ** -29, 25);
  });

  it('K = 1 leaves out the shard mistakes, τ = 1 leaves out missing-inv-tau (notTested, with reasons)', () => {
    const g = evaluateObjective({ name: 'infonce', tau: 1 }, U, V);
    const r = run('infonce', g.gradU!, g.gradV!, { tau: 1, shards: 1 });
    expect(r.verdict).toBe('global');
    expect(r.notTested.map((x) => x.name)).toEqual(['local-without-gather-grad', 'rank-offset', 'missing-inv-tau']);
    expect(r.notTested.every((x) => x.reason.length > 0)).toBe(true);
  });
});

describe('gradcheck: typed errors', () => {
  const g = evaluateObjective({ name: 'infonce', tau: TAU }, U, V);
  const opts = { objective: 'infonce' as const, tau: TAU, shards: 3 };
  it('shapes', () => {
    expect(() => gradcheck(U, V, zeros(N, D + 1), g.gradV!, opts)).toThrow(ShapeError);
    expect(() => gradcheck(U, unitRows(Rng.fromSeed('x'), N - 1, D), g.gradU!, g.gradV!, opts)).toThrow(ShapeError);
  });
  it('K must divide N; τ > 0; a known objective', () => {
    expect(() => gradcheck(U, V, g.gradU!, g.gradV!, { ...opts, shards: 5 })).toThrow(/shards 5 does not divide N = 12/);
    expect(() => gradcheck(U, V, g.gradU!, g.gradV!, { ...opts, shards: 5 })).toThrow(ConfigError);
    expect(() => gradcheck(U, V, g.gradU!, g.gradV!, { ...opts, tau: 0 })).toThrow(DomainError);
    expect(() => gradcheck(U, V, g.gradU!, g.gradV!, { ...opts, objective: 'sigmoid' as never })).toThrow(ConfigError);
  });
  it('non-finite gradient or embeddings', () => {
    const bad = clone(g.gradU!) as Matrix64;
    bad.data[3] = NaN;
    expect(() => gradcheck(U, V, bad, g.gradV!, opts)).toThrow(NonFiniteError);
    const badU = clone(U) as Matrix64;
    badU.data[0] = Infinity;
    expect(() => gradcheck(badU, V, g.gradU!, g.gradV!, opts)).toThrow(NonFiniteError);
  });
});
