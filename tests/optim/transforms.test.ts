/**
 * Optimizer transforms (src/optim/transforms.ts), optax-style: hand-computed steps, purity,
 * composition, checkpoint round trips, schedules, and every optimizer crossed with problems whose
 * minimiser is known (a convex quadratic; two-sided InfoNCE on the sphere → the simplex ETF).
 *
 * The expected numbers of the hand-computed steps are written from the published formulas
 * (optax / PyTorch SGD, Loshchilov & Hutter 2019, You et al. 2017, SogCLR's LARS), with the
 * arithmetic in the comments, never produced by running the code under test.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { type Matrix64, fromRows, toRows, transpose, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { normalizeRows, tangentProject } from '../../src/core/sphere.ts';
import { decodeState, encodeState } from '../../src/io/codec.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { etfInfonce } from '../../src/optima/closedForms.ts';
import { simplexEtf } from '../../src/optima/etf.ts';
import { gramDistance } from '../../src/optima/gramDistance.ts';
import {
  adamw,
  applyUpdates,
  chain,
  constantSchedule,
  isVectorShaped,
  lars,
  momentum,
  nesterov,
  sgd,
  sqrtBatchScaling,
  warmupCosine,
} from '../../src/optim/transforms.ts';
import type { GradientTransformation, Params } from '../../src/optim/types.ts';

type Opt = GradientTransformation<unknown>;
const M = (rows: number[][]): Matrix64 => fromRows(rows) as Matrix64;

/** |actual − expected| ≤ tol·max(1, |expected|) entrywise; the hand-computed steps take a handful of roundings. */
function expectMatrix(actual: Matrix64, expected: number[][], tol = 1e-15): void {
  const a = toRows(actual);
  expect(a.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(a[i]!.length).toBe(expected[i]!.length);
    for (let j = 0; j < expected[i]!.length; j++) {
      const e = expected[i]![j]!;
      const err = Math.abs(a[i]![j]! - e);
      if (!(err <= tol * Math.max(1, Math.abs(e)))) {
        throw new Error(`entry (${i},${j}) is ${a[i]![j]} but ${e} was expected (error ${err})`);
      }
    }
  }
}

/** The exact JSON text of a value through the checkpoint codec (typed arrays bit for bit). */
const snapshot = (x: unknown): string => JSON.stringify(encodeState(x));

/** Run `opt` for a list of gradients at fixed params, returning each step's updates. */
function steps(opt: Opt, params: Params, grads: Params[]): Params[] {
  let s = opt.init(params);
  return grads.map((g) => {
    const r = opt.update(g, s, params);
    s = r.state;
    return r.updates;
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-computed steps
// ---------------------------------------------------------------------------------------------

const P = M([[1, 2], [-1, 0.5]]);
const G1 = M([[1, -2], [0.5, 4]]);
const G2 = M([[2, 0], [0, -1]]);
const ZERO = M([[0, 0], [0, 0]]);

describe('sgd', () => {
  it('u = −η_t·g with the schedule read at the step count 0, 1, 2', () => {
    // η_t = 0.1/(t+1): η_0 = 0.1, η_1 = 0.05, η_2 = 0.1/3
    const [u1, u2, u3] = steps(sgd((t) => 0.1 / (t + 1)) as Opt, { W: P }, [{ W: G1 }, { W: G2 }, { W: M([[3, 3], [-3, 0]]) }]);
    expectMatrix(u1!.W!, [[-0.1, 0.2], [-0.05, -0.4]]); // −0.1·[[1,−2],[0.5,4]]
    expectMatrix(u2!.W!, [[-0.1, 0], [0, 0.05]]); // −0.05·[[2,0],[0,−1]]
    expectMatrix(u3!.W!, [[-0.1, -0.1], [0.1, 0]]); // −(0.1/3)·[[3,3],[−3,0]]
  });
});

describe('momentum and nesterov', () => {
  // η = 0.1, μ = 0.5; gradients G1, G2, 0.
  it('heavy ball: m ← μm + g, u = −η·m', () => {
    const [u1, u2, u3] = steps(momentum(0.1, 0.5) as Opt, { W: P }, [{ W: G1 }, { W: G2 }, { W: ZERO }]);
    // m1 = G1 = [[1,−2],[0.5,4]]                          u1 = −0.1·m1
    expectMatrix(u1!.W!, [[-0.1, 0.2], [-0.05, -0.4]]);
    // m2 = 0.5·m1 + G2 = [[0.5+2, −1+0],[0.25+0, 2−1]] = [[2.5,−1],[0.25,1]]
    expectMatrix(u2!.W!, [[-0.25, 0.1], [-0.025, -0.1]]);
    // m3 = 0.5·m2 = [[1.25,−0.5],[0.125,0.5]]
    expectMatrix(u3!.W!, [[-0.125, 0.05], [-0.0125, -0.05]]);
  });

  it('Nesterov (optax trace(nesterov=True), PyTorch): u = −η·(g + μ·m_new)', () => {
    const [u1, u2, u3] = steps(nesterov(0.1, 0.5) as Opt, { W: P }, [{ W: G1 }, { W: G2 }, { W: ZERO }]);
    // g1 + 0.5·m1 = 1.5·G1 = [[1.5,−3],[0.75,6]]
    expectMatrix(u1!.W!, [[-0.15, 0.3], [-0.075, -0.6]]);
    // g2 + 0.5·m2 = [[2+1.25, 0−0.5],[0+0.125, −1+0.5]] = [[3.25,−0.5],[0.125,−0.5]]
    expectMatrix(u2!.W!, [[-0.325, 0.05], [-0.0125, 0.05]]);
    // 0 + 0.5·m3 = [[0.625,−0.25],[0.0625,0.25]]
    expectMatrix(u3!.W!, [[-0.0625, 0.025], [-0.00625, -0.025]]);
  });

  it('nesterov(η, μ) is momentum(η, μ, true)', () => {
    const a = steps(nesterov(0.3, 0.8) as Opt, { W: P }, [{ W: G1 }, { W: G2 }]);
    const b = steps(momentum(0.3, 0.8, true) as Opt, { W: P }, [{ W: G1 }, { W: G2 }]);
    expect(snapshot(a)).toBe(snapshot(b));
  });
});

describe('adamw (Loshchilov & Hutter 2019)', () => {
  it('bias-corrected moments, ε outside the root, decoupled weight decay scaled by η', () => {
    // η = 0.01, λ = 0.1, β1 = 0.9, β2 = 0.999, ε = 0. Gradients G, G, −G with G = G1, s = sign(G) = [[1,−1],[1,1]].
    const opt = adamw(0.01, { weightDecay: 0.1, eps: 0 }) as Opt;
    const G = G1;
    const minusG = M([[-1, 2], [-0.5, -4]]);
    let w: Params = { W: P };
    let s = opt.init(w);
    const u: Params[] = [];
    for (const g of [G, G, minusG]) {
      const r = opt.update({ W: g }, s, w);
      s = r.state;
      u.push(r.updates);
      w = applyUpdates(w, r.updates);
    }
    // t = 1: m = 0.1·G, v = 0.001·G²; m̂ = m/0.1 = G, v̂ = v/0.001 = G², m̂/√v̂ = s.
    //   u1 = −0.01·(s + 0.1·w1), w1 = [[1,2],[−1,0.5]]
    //      = −0.01·[[1.1, −0.8],[0.9, 1.05]]
    expectMatrix(u[0]!.W!, [[-0.011, 0.008], [-0.009, -0.0105]]);
    // t = 2 (same G): m = 0.19·G, v = 0.001999·G²; c1 = 1−0.81 = 0.19, c2 = 1−0.998001 = 0.001999, so
    //   m̂/√v̂ = s again (without the correction it would be 0.19/√0.001999 ≈ 4.25 times s).
    //   w2 = w1 + u1 = [[0.989, 2.008],[−1.009, 0.4895]]
    //   u2 = −0.01·(s + 0.1·w2) = −0.01·[[1.0989, −0.7992],[0.8991, 1.04895]]
    expectMatrix(u[1]!.W!, [[-0.010989, 0.007992], [-0.008991, -0.0104895]]);
    // t = 3 (gradient −G): m = 0.9·0.19·G − 0.1·G = 0.071·G; v = 0.999·0.001999·G² + 0.001·G² = 0.002997001·G²;
    //   c1 = 1−0.729 = 0.271, c2 = 1−0.997002999 = 0.002997001 → v̂ = G², m̂ = (0.071/0.271)·G,
    //   m̂/√v̂ = r·s with r = 0.071/0.271 (the momentum still points along G).
    //   w3 = w2 + u2 = [[0.978011, 2.015992],[−1.017991, 0.4790105]]
    const r = 0.071 / 0.271;
    expectMatrix(u[2]!.W!, [
      [-0.01 * (r + 0.0978011), -0.01 * (-r + 0.2015992)],
      [-0.01 * (r - 0.1017991), -0.01 * (r + 0.04790105)],
    ]);
  });

  it('ε sits outside the square root', () => {
    // g = 1e-8, ε = 1e-8, η = 1: m̂ = 1e-8, √v̂ = 1e-8 → u = −1e-8/(1e-8 + 1e-8) = −0.5
    // (inside the root it would be −1e-8/√(1e-16 + 1e-8) ≈ −1e-4).
    const [u] = steps(adamw(1, { eps: 1e-8 }) as Opt, { w: M([[3]]) }, [{ w: M([[1e-8]]) }]);
    expectMatrix(u!.w!, [[-0.5]]);
  });
});

describe('lars', () => {
  // W = [[3,0],[0,4]] (‖W‖ = 5), bias b = [[1,1]] (1 row: no weight decay, no trust ratio).
  // λ = 0.2, trust 1e-3, μ = 0.9, η_0 = 2, η_1 = 1. The params are held fixed between the two calls.
  const W = M([[3, 0], [0, 4]]);
  const b = M([[1, 1]]);
  const params = { W, b };
  const eta = (t: number): number => (t === 0 ? 2 : 1);
  const g1 = { W: M([[0, 0.6], [0.8, 0]]), b: M([[0.5, -0.5]]) }; // ‖g1.W‖ = 1
  const g2 = { W: M([[0, 1.2], [1.6, 0]]), b: M([[0.5, 0.5]]) }; // ‖g2.W‖ = 2

  it('You et al. 2017, Algorithm 1: ratio = trust‖w‖/(‖g‖ + λ‖w‖), m ← μm + η_t·ratio·(g + λw), u = −m', () => {
    const [u1, u2] = steps(lars(eta, { weightDecay: 0.2 }) as Opt, params, [g1, g2]);
    // step 1: ratio = 1e-3·5/(1 + 0.2·5) = 0.0025; d = g + 0.2W = [[0.6,0.6],[0.8,0.8]]
    //   m1 = 2·0.0025·d = 0.005·d = [[0.003,0.003],[0.004,0.004]]
    expectMatrix(u1!.W!, [[-0.003, -0.003], [-0.004, -0.004]]);
    //   bias: m1 = η_0·g = [[1,−1]]
    expectMatrix(u1!.b!, [[-1, 1]]);
    // step 2: ratio = 0.005/(2 + 1) = 0.005/3; d = [[0.6,1.2],[1.6,0.8]] → ratio·d = [[0.001, 0.002],[0.008/3, 0.004/3]]
    //   m2 = 0.9·m1 + 1·ratio·d = [[0.0027+0.001, 0.0027+0.002],[0.0036+0.008/3, 0.0036+0.004/3]]
    expectMatrix(u2!.W!, [[-0.0037, -0.0047], [-(0.0036 + 0.008 / 3), -(0.0036 + 0.004 / 3)]]);
    //   bias: m2 = 0.9·[[1,−1]] + [[0.5,0.5]] = [[1.4,−0.4]]
    expectMatrix(u2!.b!, [[-1.4, 0.4]]);
  });

  it("SogCLR's code (MoCo v3 LARS): d = g + λw, ratio = trust‖w‖/‖d‖, m ← μm + ratio·d, u = −η_t·m", () => {
    const [u1, u2] = steps(lars(eta, { weightDecay: 0.2, variant: 'sogclr' }) as Opt, params, [g1, g2]);
    // step 1: d = [[0.6,0.6],[0.8,0.8]], ‖d‖² = 2·0.36 + 2·0.64 = 2 → ratio = 0.005/√2
    //   m1 = ratio·d = [[0.003,0.003],[0.004,0.004]]/√2;  u1 = −2·m1
    const s2 = Math.SQRT2;
    expectMatrix(u1!.W!, [[-0.006 / s2, -0.006 / s2], [-0.008 / s2, -0.008 / s2]]);
    //   bias: m1 = g = [[0.5,−0.5]], u1 = −2·m1
    expectMatrix(u1!.b!, [[-1, 1]]);
    // step 2: d = [[0.6,1.2],[1.6,0.8]], ‖d‖² = 0.36 + 1.44 + 2.56 + 0.64 = 5 → ratio = 0.005/√5
    //   m2 = 0.9·m1 + ratio·d;  u2 = −1·m2
    const s5 = Math.sqrt(5);
    expectMatrix(u2!.W!, [
      [-(0.9 * 0.003 / s2 + 0.003 / s5), -(0.9 * 0.003 / s2 + 0.006 / s5)],
      [-(0.9 * 0.004 / s2 + 0.008 / s5), -(0.9 * 0.004 / s2 + 0.004 / s5)],
    ]);
    //   bias: m2 = 0.9·[[0.5,−0.5]] + [[0.5,0.5]] = [[0.95,0.05]]
    expectMatrix(u2!.b!, [[-0.95, -0.05]]);
  });

  it('a zero gradient with λ > 0 keeps the formula (ratio trust/λ), not the fallback 1', () => {
    // You et al.: ratio = 0.005/(0 + 0.2·5) = 0.005; m = 1·0.005·(0.2·W) = 0.001·W = [[0.003,0],[0,0.004]]
    // SogCLR: d = 0.2W, ‖d‖ = 1 → ratio = 0.005, the same step.
    for (const variant of ['you2017', 'sogclr'] as const) {
      const [u] = steps(lars(1, { weightDecay: 0.2, variant }) as Opt, { W }, [{ W: ZERO }]);
      expectMatrix(u!.W!, [[-0.003, 0], [0, -0.004]]);
    }
  });

  it('ratio 1 at zero weights (optax / MoCo v3 guard): u = −η·g', () => {
    for (const variant of ['you2017', 'sogclr'] as const) {
      const [u] = steps(lars(0.5, { weightDecay: 0.2, variant }) as Opt, { W: ZERO }, [{ W: G1 }]);
      expectMatrix(u!.W!, [[-0.5, 1], [-0.25, -2]]);
    }
  });

  it('skips weight decay and the trust ratio for single-row and single-column parameters only', () => {
    expect([isVectorShaped(M([[1, 2, 3]])), isVectorShaped(M([[1], [2]])), isVectorShaped(M([[5]])), isVectorShaped(W)]).toEqual([true, true, true, false]);
    // column c = [[2],[0]], g = [[1],[1]], λ = 0.2, η = 1: excluded → u = −g; with exclude = never:
    //   ratio = 1e-3·2/(√2 + 0.2·2) = 0.002/(√2 + 0.4), d = g + 0.2c = [[1.4],[1]]
    const c = M([[2], [0]]);
    const gc = M([[1], [1]]);
    const [skipped] = steps(lars(1, { weightDecay: 0.2 }) as Opt, { c }, [{ c: gc }]);
    expectMatrix(skipped!.c!, [[-1], [-1]]);
    const [kept] = steps(lars(1, { weightDecay: 0.2, exclude: () => false }) as Opt, { c }, [{ c: gc }]);
    const ratio = 0.002 / (Math.SQRT2 + 0.4);
    expectMatrix(kept!.c!, [[-ratio * 1.4], [-ratio * 1]]);
  });

  test.prop([fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double({ min: 0.01, max: 10, noNaN: true })], { seed: 6061, numRuns: 60 })(
    // bounded lr: a finite positive learning rate, no NaN/∞ (fc.double would produce them otherwise)
    'the two variants agree exactly for a constant learning rate and λ = 0',
    (r, c, seed, lr) => {
      const rng = Rng.fromSeed(seed);
      const params = { W: rng.fillNormalMatrix(r, c) };
      const grads = [0, 1, 2].map(() => ({ W: rng.fillNormalMatrix(r, c) }));
      const a = steps(lars(lr) as Opt, params, grads);
      const b = steps(lars(lr, { variant: 'sogclr' }) as Opt, params, grads);
      for (let k = 0; k < 3; k++) expectMatrix(a[k]!.W!, toRows(b[k]!.W!), 1e-14);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Purity, views, composition, validation
// ---------------------------------------------------------------------------------------------

const FACTORIES: ReadonlyArray<readonly [string, () => Opt]> = [
  ['sgd', () => sgd(warmupCosine(0.1, 2, 10)) as Opt],
  ['momentum', () => momentum(0.05, 0.9) as Opt],
  ['nesterov', () => nesterov(warmupCosine(0.05, 1, 8), 0.8) as Opt],
  ['adamw', () => adamw(warmupCosine(0.01, 2, 10), { weightDecay: 0.1 }) as Opt],
  ['lars', () => lars(warmupCosine(1, 2, 10), { weightDecay: 1e-3 }) as Opt],
  ['lars sogclr', () => lars(warmupCosine(1, 2, 10), { weightDecay: 1e-3, variant: 'sogclr' }) as Opt],
  ['chain(nesterov, adamw)', () => chain(nesterov(0.5, 0.9) as Opt, adamw(0.01, { weightDecay: 0.1 }) as Opt) as Opt],
];

// Shapes first, then values (bounded: finite, |x| ≤ 10, so no NaN/±∞/overflow from fc.double).
const problem = fc
  .record({ r: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 1, max: 4 }) })
  .chain(({ r, c }) => {
    const mat = (rows: number, cols: number) =>
      fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: rows * cols, maxLength: rows * cols }).map((v) => {
        const m = zeros(rows, cols);
        m.data.set(v);
        return m;
      });
    return fc.record({ W: mat(r, c), b: mat(1, c), gW: fc.array(mat(r, c), { minLength: 3, maxLength: 3 }), gb: fc.array(mat(1, c), { minLength: 3, maxLength: 3 }) });
  });

describe('purity', () => {
  test.prop([problem], { seed: 424242, numRuns: 40 })('update never mutates grads, state or params, and is a function of them', (p) => {
    for (const [name, make] of FACTORIES) {
      const opt = make();
      const params: Params = { W: p.W, b: p.b };
      const before = snapshot(params);
      let s = opt.init(params);
      for (let k = 0; k < 2; k++) s = opt.update({ W: p.gW[k]!, b: p.gb[k]! }, s, params).state;
      const grads = { W: p.gW[2]!, b: p.gb[2]! };
      const inputs = snapshot({ grads, s, params });
      const r1 = opt.update(grads, s, params);
      const r2 = opt.update(grads, s, params);
      expect(snapshot({ grads, s, params }), name).toBe(inputs);
      expect(snapshot(params), name).toBe(before);
      expect(snapshot(r2), name).toBe(snapshot(r1));
      // A fresh instance of the same recipe gives the same numbers: no hidden state in the closure.
      const again = make();
      let s2 = again.init(params);
      for (let k = 0; k < 2; k++) s2 = again.update({ W: p.gW[k]!, b: p.gb[k]! }, s2, params).state;
      expect(snapshot(again.update(grads, s2, params)), name).toBe(snapshot(r1));
    }
  });

  it('applyUpdates returns new matrices and leaves its inputs alone', () => {
    const params = { W: M([[1, 2], [3, 4]]) };
    const upd = { W: M([[0.5, -1], [0, 2]]) };
    const before = snapshot({ params, upd });
    const out = applyUpdates(params, upd);
    expectMatrix(out.W!, [[1.5, 1], [3, 6]]);
    expect(out.W).not.toBe(params.W);
    expect(snapshot({ params, upd })).toBe(before);
  });
});

describe('state donation (donateState)', () => {
  test.prop([problem], { seed: 515151, numRuns: 30 })('gives the same bits as a pure update, and writes the new moments into the donated buffers', (p) => {
    for (const [name, make] of FACTORIES) {
      const opt = make();
      const params: Params = { W: p.W, b: p.b };
      let pure = opt.init(params);
      let donated = opt.init(params);
      for (let k = 0; k < 3; k++) {
        const grads = { W: p.gW[k]!, b: p.gb[k]! };
        const r1 = opt.update(grads, pure, params);
        const kept = structuredClone(donated);
        const r2 = opt.update(grads, donated, params, { donateState: true });
        expect(snapshot(r2), name).toBe(snapshot(r1));
        // The inputs other than the state are untouched.
        expect(snapshot(params), name).toBe(snapshot({ W: p.W, b: p.b }));
        expect(snapshot(grads), name).toBe(snapshot({ W: p.gW[k]!, b: p.gb[k]! }));
        // A pure update of a copy of the donated state agrees too (the donation did not read its own writes).
        expect(snapshot(opt.update(grads, kept, params)), name).toBe(snapshot(r1));
        pure = r1.state;
        donated = r2.state;
      }
    }
  });

  it('reuses the state buffers of adamw, momentum and lars, and never hands one buffer to two parameters', () => {
    const params = { W: M([[1, 2], [3, 4]]), b: M([[0.5, -1]]) };
    const grads = { W: M([[0.1, -0.2], [0.3, 0.4]]), b: M([[1, 2]]) };
    for (const opt of [adamw(0.1, { weightDecay: 0.01 }), momentum(0.1), lars(0.1, { weightDecay: 0.01 })] as Opt[]) {
      const s0 = opt.init(params) as { m: Params };
      const r = opt.update(grads, s0, params, { donateState: true }) as { state: { m: Params } };
      expect(r.state.m.W!.data).toBe(s0.m.W!.data);
      expect(r.state.m.b!.data).toBe(s0.m.b!.data);
    }
    // A state whose two parameters share one buffer: only the first may take it.
    const shared = zeros(2, 2);
    const st = { count: 0, m: { W: shared, b: shared }, v: { W: zeros(2, 2), b: zeros(2, 2) } };
    const sq = { W: M([[1, 2], [3, 4]]), b: M([[5, 6], [7, 8]]) };
    const out = adamw(0.1).update(sq, st, sq, { donateState: true });
    const pure = adamw(0.1).update(sq, { count: 0, m: { W: zeros(2, 2), b: zeros(2, 2) }, v: { W: zeros(2, 2), b: zeros(2, 2) } }, sq);
    expect(snapshot(out)).toBe(snapshot(pure));
  });
});

describe('strided views', () => {
  test.prop([problem], { seed: 1357, numRuns: 30 })('a transposed view gives the same updates as its contiguous copy', (p) => {
    // Transpose the contiguous data of Wᵀ back: the view reads the same logical matrix as p.W.
    const tView = (m: Matrix64): Matrix64 => {
      const t = zeros(m.cols, m.rows);
      for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) t.data[j * m.rows + i] = m.data[i * m.cols + j]!;
      return transpose(t);
    };
    for (const [name, make] of FACTORIES) {
      const a = make();
      const b = make();
      const pa: Params = { W: p.W };
      const pb: Params = { W: tView(p.W) };
      let sa = a.init(pa);
      let sb = b.init(pb);
      for (let k = 0; k < 3; k++) {
        const ra = a.update({ W: p.gW[k]! }, sa, pa);
        const rb = b.update({ W: tView(p.gW[k]!) }, sb, pb);
        expect(Array.from(rb.updates.W!.data), name).toEqual(Array.from(ra.updates.W!.data));
        sa = ra.state;
        sb = rb.state;
      }
      expect(Array.from(applyUpdates(pb, { W: tView(p.gW[0]!) }).W!.data)).toEqual(Array.from(applyUpdates(pa, { W: p.gW[0]! }).W!.data));
    }
  });
});

describe('chain', () => {
  it('equals the manual composition: the updates of one link are the gradients of the next', () => {
    const params = { W: P, b: M([[1, -1]]) };
    const grads = [G1, G2, M([[0.3, -0.7], [1.1, 0.2]])].map((g, k) => ({ W: g, b: M([[k, 1 - k]]) }));
    const links = (): Opt[] => [lars(1, { weightDecay: 0.1 }) as Opt, adamw(0.01, { weightDecay: 0.05 }) as Opt, sgd(0.5) as Opt];
    const ch = chain(...links());
    let sc = ch.init(params);
    const [l1, l2, l3] = links();
    let s1 = l1!.init(params);
    let s2 = l2!.init(params);
    let s3 = l3!.init(params);
    for (const g of grads) {
      const rc = ch.update(g, sc, params);
      const r1 = l1!.update(g, s1, params);
      const r2 = l2!.update(r1.updates, s2, params);
      const r3 = l3!.update(r2.updates, s3, params);
      expect(snapshot(rc.updates)).toBe(snapshot(r3.updates));
      expect(snapshot(rc.state)).toBe(snapshot([r1.state, r2.state, r3.state]));
      [sc, s1, s2, s3] = [rc.state, r1.state, r2.state, r3.state];
    }
  });

  it('chain() passes the gradients through; chain(a) equals a', () => {
    const params = { W: P };
    const id = chain();
    expect(snapshot(id.update({ W: G1 }, id.init(params), params).updates)).toBe(snapshot({ W: G1 }));
    const a = steps(chain(momentum(0.1, 0.5) as Opt) as Opt, params, [{ W: G1 }, { W: G2 }]);
    const b = steps(momentum(0.1, 0.5) as Opt, params, [{ W: G1 }, { W: G2 }]);
    expect(snapshot(a)).toBe(snapshot(b));
  });

  it('refuses a state that is not one entry per link', () => {
    const ch = chain(sgd(1) as Opt, sgd(1) as Opt);
    expect(() => ch.update({ W: G1 }, [{ count: 0 }], { W: P })).toThrow(ConfigError);
  });
});

describe('validation', () => {
  it('refuses hyperparameters outside their domain', () => {
    expect(() => sgd(-1)).toThrow(ConfigError);
    expect(() => sgd(Number.NaN)).toThrow(ConfigError);
    expect(() => momentum(0.1, 1)).toThrow(ConfigError);
    expect(() => momentum(0.1, -0.1)).toThrow(ConfigError);
    expect(() => adamw(0.1, { b2: 1 })).toThrow(ConfigError);
    expect(() => adamw(0.1, { weightDecay: -1 })).toThrow(ConfigError);
    expect(() => lars(0.1, { trust: 0 })).toThrow(ConfigError);
    expect(() => lars(0.1, { variant: 'optax' as never })).toThrow(ConfigError);
  });

  it('names the parameter whose gradient or state has the wrong shape', () => {
    const opt = momentum(0.1);
    const s = opt.init({ W: P });
    expect(() => opt.update({ W: M([[1, 2, 3]]) }, s, { W: P })).toThrow(/grads\.W is 1x3 but state\.m\.W is 2x2/);
    expect(() => opt.update({ V: G1 }, s, { W: P })).toThrow(ConfigError);
    expect(() => lars(1).update({ W: G1 }, { count: 0, m: { W: ZERO } }, { W: M([[1, 2]]) })).toThrow(/params\.W is 1x2/);
    expect(() => applyUpdates({ W: P }, { W: M([[1]]) })).toThrow(/update for 'W' is 1x1, parameter is 2x2/);
    expect(() => applyUpdates({ W: P }, { W: P, X: P })).toThrow(/no parameter of that name/);
  });
});

// ---------------------------------------------------------------------------------------------
// Checkpoints: codec round trip and resume
// ---------------------------------------------------------------------------------------------

/** A convex quadratic f = ½ Σ a ⊙ (W − C)² over { W: 3x4, b: 1x4 }; curvatures a ∈ [0.5, 2]. */
function quadratic(seed: number) {
  const rng = Rng.fromSeed(seed);
  const fill = (rows: number, cols: number, f: () => number) => {
    const m = zeros(rows, cols);
    for (let i = 0; i < m.data.length; i++) m.data[i] = f();
    return m;
  };
  const A = { W: fill(3, 4, () => 0.5 + 1.5 * rng.uniform()), b: fill(1, 4, () => 0.5 + 1.5 * rng.uniform()) };
  const C = { W: fill(3, 4, () => 2 * rng.uniform() - 1), b: fill(1, 4, () => 2 * rng.uniform() - 1) };
  const grad = (p: Params): Params => {
    const out: Record<string, Matrix64> = {};
    for (const k of ['W', 'b'] as const) {
      const g = zeros(p[k]!.rows, p[k]!.cols);
      for (let i = 0; i < g.data.length; i++) g.data[i] = A[k].data[i]! * (p[k]!.data[i]! - C[k].data[i]!);
      out[k] = g;
    }
    return out;
  };
  const start = (): Params => ({ W: fill(3, 4, () => 0.3), b: fill(1, 4, () => 0.3) });
  return { A, C, grad, start };
}

function run(opt: Opt, grad: (p: Params) => Params, params: Params, state: unknown, n: number): { params: Params; state: unknown } {
  let p = params;
  let s = state;
  for (let t = 0; t < n; t++) {
    const r = opt.update(grad(p), s, p);
    s = r.state;
    p = applyUpdates(p, r.updates);
  }
  return { params: p, state: s };
}

describe('checkpoints', () => {
  const q = quadratic(11);
  for (const [name, make] of FACTORIES) {
    it(`${name}: the state survives the JSON codec and a resumed run equals the uninterrupted one bit for bit`, () => {
      const total = 8;
      const opt = make();
      const full = run(opt, q.grad, q.start(), opt.init(q.start()), total);
      for (const stopAt of [0, 1, 3, 7]) {
        const first = make();
        const head = run(first, q.grad, q.start(), first.init(q.start()), stopAt);
        const text = JSON.stringify(encodeState({ params: head.params, opt: head.state }));
        const restored = decodeState(JSON.parse(text)) as { params: Params; opt: unknown };
        expect(snapshot(restored)).toBe(snapshot({ params: head.params, opt: head.state }));
        const tail = run(make(), q.grad, restored.params, restored.opt, total - stopAt);
        expect(snapshot(tail)).toBe(snapshot(full));
      }
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Known minimisers
// ---------------------------------------------------------------------------------------------

describe('every optimizer minimises a convex quadratic with a known minimiser', () => {
  // f(W, b) = ½ Σ a ⊙ (W − C)² + ½ Σ a_b ⊙ (b − C_b)², curvatures in [0.5, 2] (condition number ≤ 4).
  // Minimiser (C, C_b). LARS adds λ·w to the gradient of W only (b is a single row), so its
  // minimiser is W* = a ⊙ C / (a + λ), b* = C_b: this checks where the weight decay enters and
  // that the 1-row parameter is exempt. 1000 steps from W = b = 0.3.
  const T = 1000;
  const cases: ReadonlyArray<{ name: string; make: () => Opt; lambda: number; tol: number }> = [
    { name: 'sgd(0.5)', make: () => sgd(0.5) as Opt, lambda: 0, tol: 1e-12 },
    { name: 'momentum(0.2, 0.9)', make: () => momentum(0.2, 0.9) as Opt, lambda: 0, tol: 1e-12 },
    { name: 'nesterov(0.2, 0.9)', make: () => nesterov(0.2, 0.9) as Opt, lambda: 0, tol: 1e-12 },
    // Adam's normalised step does not shrink with the gradient: the cosine decay to 0 settles it.
    { name: 'adamw(warmup-cosine 0.05)', make: () => adamw(warmupCosine(0.05, 10, T)) as Opt, lambda: 0, tol: 1e-8 },
    // You et al.: near the minimiser g ≈ −λw, so the ratio → trust/(2λ) = 0.25 (trust 0.05, λ = 0.1): a
    // constant learning rate converges linearly. (Trust 0.05 instead of 1e-3 keeps 1000 steps enough
    // while the exempt bias, which sees η itself, stays stable at η = 1.)
    { name: 'lars(1, λ 0.1, trust 0.05)', make: () => lars(1, { weightDecay: 0.1, trust: 0.05 }) as Opt, lambda: 0.1, tol: 1e-12 },
    // SogCLR's form: ratio = trust‖w‖/‖g + λw‖ → ∞ at the minimiser, so the step length stays
    // η_t·trust·‖w‖/(1−μ)-ish and only the schedule's decay to 0 settles it: a looser tolerance.
    { name: 'lars sogclr(warmup-cosine 1, λ 0.1, trust 0.05)', make: () => lars(warmupCosine(1, 10, T), { weightDecay: 0.1, trust: 0.05, variant: 'sogclr' }) as Opt, lambda: 0.1, tol: 1e-5 },
  ];
  for (const c of cases) {
    it(`${c.name}: max |x − x*| ≤ ${c.tol} after ${T} steps (3 seeds)`, () => {
      for (const seed of [1, 2, 3]) {
        const q = quadratic(seed);
        const opt = c.make();
        const { params } = run(opt, q.grad, q.start(), opt.init(q.start()), T);
        let err = 0;
        for (let i = 0; i < 12; i++) {
          const a = q.A.W.data[i]!;
          err = Math.max(err, Math.abs(params.W!.data[i]! - (a * q.C.W.data[i]!) / (a + c.lambda)));
        }
        for (let i = 0; i < 4; i++) err = Math.max(err, Math.abs(params.b!.data[i]! - q.C.b.data[i]!));
        expect(err, `seed ${seed}`).toBeLessThanOrEqual(c.tol);
      }
    });
  }
});

describe('every optimizer, projected onto the sphere, takes two-sided InfoNCE to the simplex ETF', () => {
  // u_i, v_i on the unit sphere, d ≥ N − 1: the minimisers are the simplex ETF with u_i = v_i
  // (THEORY 3), value etfInfonce(N, τ), Gram distance ‖UVᵀ − G*‖_F = 0. Projected update: step with
  // the optimizer, then normalise every row (the runner's 'projected' parametrisation).
  // Gradient fed to the optimizer: the Euclidean one, as the runner does, except for AdamW, which
  // gets the Riemannian (tangent) gradient — see the next test for why.
  const T = 600;
  const cases: ReadonlyArray<{ name: string; make: () => Opt; riemannian: boolean }> = [
    { name: 'sgd(1)', make: () => sgd(1) as Opt, riemannian: false },
    { name: 'momentum(0.2, 0.9)', make: () => momentum(0.2, 0.9) as Opt, riemannian: false },
    { name: 'nesterov(0.2, 0.9)', make: () => nesterov(0.2, 0.9) as Opt, riemannian: false },
    { name: 'adamw(warmup-cosine 0.05, λ 1e-2)', make: () => adamw(warmupCosine(0.05, 20, T), { weightDecay: 1e-2 }) as Opt, riemannian: true },
    // SogCLR-like LARS: trust 1e-3, μ 0.9, λ 1e-6, warm-up then cosine.
    { name: 'lars(warmup-cosine 20, λ 1e-6)', make: () => lars(warmupCosine(20, 20, T), { weightDecay: 1e-6 }) as Opt, riemannian: false },
    { name: 'lars sogclr(warmup-cosine 20, λ 1e-6)', make: () => lars(warmupCosine(20, 20, T), { weightDecay: 1e-6, variant: 'sogclr' }) as Opt, riemannian: false },
  ];
  const configs = [{ N: 4, d: 3, tau: 0.5 }, { N: 5, d: 4, tau: 0.5 }];
  for (const c of cases) {
    it(`${c.name}: loss − ETF value ≤ 1e-12 and Gram distance ≤ 1e-8 after ${T} steps`, () => {
      for (const { N, d, tau } of configs) {
        for (const seed of [1, 2, 3]) {
          const rng = Rng.fromSeed(seed);
          let p: Params = { U: normalizeRows(rng.fillNormalMatrix(N, d)), V: normalizeRows(rng.fillNormalMatrix(N, d)) };
          const opt = c.make();
          let s = opt.init(p);
          for (let t = 0; t < T; t++) {
            const r = infonceLossAndGrad(p.U!, p.V!, { tau });
            const g = c.riemannian ? { U: tangentProject(p.U!, r.gradU!), V: tangentProject(p.V!, r.gradV!) } : { U: r.gradU!, V: r.gradV! };
            const up = opt.update(g, s, p);
            s = up.state;
            const next = applyUpdates(p, up.updates);
            p = { U: normalizeRows(next.U!), V: normalizeRows(next.V!) };
          }
          const value = infonceLossAndGrad(p.U!, p.V!, { tau, grad: false }).value;
          const label = `N=${N} d=${d} τ=${tau} seed ${seed}`;
          expect(value - etfInfonce(N, tau), label).toBeLessThanOrEqual(1e-12);
          expect(value - etfInfonce(N, tau), label).toBeGreaterThanOrEqual(-1e-13);
          expect(gramDistance(p.U!, p.V!, 'etf').distance, label).toBeLessThanOrEqual(1e-8);
        }
      }
    });
  }

  it('projected AdamW with the Euclidean gradient leaves the ETF; with the Riemannian gradient it stays', () => {
    // At the ETF the Euclidean gradient of each row is radial (∝ u_i). SGD's and LARS's steps along it
    // are undone by the normalisation, but Adam's per-coordinate step m̂/√v̂ ≈ sign(g) is not parallel
    // to u_i, so the projection does not undo it: the ETF is not a fixed point of that update.
    const N = 4;
    const tau = 0.5;
    const E = simplexEtf(N, 3);
    const stepOnce = (riemannian: boolean): number => {
      const opt = adamw(0.05) as Opt;
      const p: Params = { U: E, V: E };
      const r = infonceLossAndGrad(E, E, { tau });
      const g = riemannian ? { U: tangentProject(E, r.gradU!), V: tangentProject(E, r.gradV!) } : { U: r.gradU!, V: r.gradV! };
      const next = applyUpdates(p, opt.update(g, opt.init(p), p).updates);
      return gramDistance(normalizeRows(next.U!), normalizeRows(next.V!), 'etf').distance;
    };
    expect(gramDistance(E, E, 'etf').distance).toBeLessThan(1e-14);
    expect(stepOnce(false)).toBeGreaterThan(1e-2);
    expect(stepOnce(true)).toBeLessThan(1e-9);
  });
});

// ---------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------

describe('warmupCosine', () => {
  it('is 0 at step 0, linear to the peak at warmup, half a cosine to end at total, end beyond', () => {
    const s = warmupCosine(1, 4, 12, 0.1);
    expect(s(0)).toBe(0);
    expect(s(1)).toBe(0.25); // 1·1/4
    expect(s(2)).toBe(0.5);
    expect(s(3)).toBe(0.75);
    expect(s(4)).toBe(1); // cosine phase at p = 0: 0.1 + 0.9·(1 + 1)/2
    expect(s(8)).toBeCloseTo(0.55, 15); // p = 4/8: 0.1 + 0.9·(1 + cos(π/2))/2 = 0.1 + 0.45
    expect(s(11)).toBeCloseTo(0.1 + 0.45 * (1 + Math.cos((7 * Math.PI) / 8)), 15); // p = 7/8
    expect(s(12)).toBe(0.1);
    expect(s(13)).toBe(0.1);
    expect(s(1e6)).toBe(0.1);
    expect(s(2.5)).toBe(0.625); // fractional steps (per-iteration epochs in SogCLR's code)
  });

  it('is continuous at warmup, non-decreasing before it, non-increasing after it', () => {
    const s = warmupCosine(2, 10, 50, 0.2);
    expect(Math.abs(s(10 - 1e-9) - s(10))).toBeLessThan(1e-8);
    for (let t = 0; t < 10; t++) expect(s(t + 1)).toBeGreaterThanOrEqual(s(t));
    for (let t = 10; t < 60; t++) expect(s(t + 1)).toBeLessThanOrEqual(s(t));
  });

  it('handles no warm-up, warm-up equal to total, and zero total', () => {
    const a = warmupCosine(1, 0, 10);
    expect(a(0)).toBe(1);
    expect(a(5)).toBeCloseTo(0.5, 15); // (1 + cos(π/2))/2
    expect(a(10)).toBe(0);
    const b = warmupCosine(1, 5, 5, 0.3); // no cosine phase: linear, then end
    expect(b(4)).toBe(0.8);
    expect(b(5)).toBe(0.3);
    expect(warmupCosine(1, 0, 0, 0.3)(0)).toBe(0.3);
  });

  it('refuses bad arguments and steps', () => {
    expect(() => warmupCosine(1, 5, 4)).toThrow(ConfigError);
    expect(() => warmupCosine(1, -1, 4)).toThrow(ConfigError);
    expect(() => warmupCosine(1, 1.5, 4)).toThrow(ConfigError);
    expect(() => warmupCosine(Number.NaN, 1, 4)).toThrow(ConfigError);
    expect(() => warmupCosine(1, 1, 4)(-1)).toThrow(ConfigError);
    expect(() => warmupCosine(1, 1, 4)(Number.NaN)).toThrow(ConfigError);
  });

  it('drives an optimizer through its step counter (sgd reads η at 0, 1, 2, ...)', () => {
    const sched = warmupCosine(1, 2, 4);
    // η: 0, 0.5, 1, 0.5 (p = 1/2), 0 → u = −η·g with g = 1
    const us = steps(sgd(sched) as Opt, { w: M([[0]]) }, [0, 1, 2, 3, 4].map(() => ({ w: M([[1]]) })));
    expect(us.map((u) => u.w!.data[0]! + 0)).toEqual([0, -0.5, -1, -(0.5 * (1 + Math.cos(Math.PI / 2))), 0]);
  });

  it('constantSchedule is constant', () => {
    const c = constantSchedule(0.3);
    expect([c(0), c(7), c(1e9)]).toEqual([0.3, 0.3, 0.3]);
  });
});

describe('sqrtBatchScaling', () => {
  it("SogCLR's rule η = 0.075·√B", () => {
    expect(sqrtBatchScaling(0.075, 1)).toBe(0.075);
    expect(sqrtBatchScaling(0.075, 256)).toBeCloseTo(1.2, 15); // 0.075·16
    expect(sqrtBatchScaling(0.075, 4096)).toBeCloseTo(4.8, 15); // 0.075·64
    expect(sqrtBatchScaling(0.1, 2)).toBe(0.1 * Math.SQRT2);
    // Quadrupling the batch doubles the learning rate.
    expect(sqrtBatchScaling(0.3, 512) / sqrtBatchScaling(0.3, 128)).toBeCloseTo(2, 15);
  });

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => sqrtBatchScaling(0.075, 0)).toThrow(ConfigError);
    expect(() => sqrtBatchScaling(0.075, 2.5)).toThrow(ConfigError);
    expect(() => sqrtBatchScaling(Number.POSITIVE_INFINITY, 4)).toThrow(ConfigError);
  });
});
