import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { ConfigError, ShapeError } from '../../src/core/errors.ts';
import { frobeniusNorm, type Matrix64, zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { normalizeRows, tangentProject } from '../../src/core/sphere.ts';
import { evalViews, syntheticDataset, twoViews } from '../../src/data/synthetic.ts';
import { freeEmbeddings, linearEncoder, mlpEncoder, type Model } from '../../src/models/index.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad } from '../../src/objectives/gcl.ts';
import { applyUpdates, sgd } from '../../src/optim/transforms.ts';
import type { Params } from '../../src/optim/types.ts';
import { gaussian, maxAbsDiff } from '../helpers.ts';

const ref = createReferenceBackend({ dtype: 'f64' });
const cpu = createCpuBackend({ dtype: 'f64' });

function paramsAxpy(P: Params, a: number, D: Params): Params {
  const out: Record<string, Matrix64> = {};
  for (const k of Object.keys(P)) {
    const m = zeros(P[k]!.rows, P[k]!.cols);
    for (let i = 0; i < m.data.length; i++) m.data[i] = P[k]!.data[i]! + a * D[k]!.data[i]!;
    out[k] = m;
  }
  return out;
}

function paramsDot(A: Params, B: Params): number {
  let s = 0;
  for (const k of Object.keys(A)) for (let i = 0; i < A[k]!.data.length; i++) s += A[k]!.data[i]! * B[k]!.data[i]!;
  return s;
}

function paramsNorm(A: Params): number {
  return Math.sqrt(paramsDot(A, A));
}

function randomDirection(rng: Rng, P: Params): Params {
  const out: Record<string, Matrix64> = {};
  for (const k of Object.keys(P)) out[k] = gaussian(rng, P[k]!.rows, P[k]!.cols);
  return out;
}

/** The contrastive objective on the model's embeddings (GCL, bimodal or unimodal), value and embedding gradients. */
function objective(model: Model, U: Matrix64, V: Matrix64, grad = true) {
  const f = model.modality === 'bimodal' ? gclBimodalLossAndGrad : gclUnimodalLossAndGrad;
  return f(U, V, { tau: 0.5, eps0: 0.1, backend: ref, grad });
}

/**
 * Checks backward against a central difference of params ↦ objective(embed(params)) along a random
 * direction. `embed` must be deterministic (a fresh generator from the same state each call).
 * Tolerance: the FD error is ≈ 1e-10 relative at h = 1e-5 (tests/helpers.ts); 1e-6 of the natural
 * scale ‖∇‖·‖D‖ leaves a wide margin while any missing chain-rule factor is O(1).
 */
function checkGradient(model: Model, P: Params, embed: (p: Params) => { U: Matrix64; V: Matrix64; cache: unknown }, rng: Rng): void {
  const out = embed(P);
  const r = objective(model, out.U, out.V);
  const grads = model.backward(P, out.cache, r.gradU!, r.gradV!);
  expect(Object.keys(grads).sort()).toEqual(Object.keys(P).sort());
  for (const k of Object.keys(P)) expect([grads[k]!.rows, grads[k]!.cols]).toEqual([P[k]!.rows, P[k]!.cols]);
  const D = randomDirection(rng, P);
  const h = 1e-5;
  const f = (p: Params) => { const e = embed(p); return objective(model, e.U, e.V, false).value; };
  const fd = (f(paramsAxpy(P, h, D)) - f(paramsAxpy(P, -h, D))) / (2 * h);
  const analytic = paramsDot(grads, D);
  const scale = paramsNorm(grads) * paramsNorm(D);
  expect(Math.abs(analytic - fd), `${model.name}: analytic ${analytic} vs fd ${fd}`).toBeLessThanOrEqual(1e-6 * Math.max(scale, 1e-3));
}

function distinctIndex(rng: Rng, n: number, B: number): Int32Array {
  return rng.sample(n, B);
}

// Bounds: n ≤ 9, d ≤ 5, B ≤ n keep the materialised reference objective cheap; B ≥ 2 because the
// GCL needs at least one negative; scale ∈ [0.3, 3] exercises the 1/‖x‖ factor of the reparametrisation.
const freeShapes = fc.record({
  n: fc.integer({ min: 2, max: 9 }),
  d: fc.integer({ min: 1, max: 5 }),
  bFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  scale: fc.double({ min: 0.3, max: 3, noNaN: true }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

describe('free embeddings: gradients against central differences', () => {
  test.prop([freeShapes], { seed: 20260301, numRuns: 30 })('projected and reparam, batch forward and embedAll', ({ n, d, bFrac, scale, seed }) => {
    const rng = Rng.fromSeed(seed);
    const B = 2 + Math.floor(bFrac * (n - 2));
    for (const parametrisation of ['projected', 'reparam'] as const) {
      const model = freeEmbeddings(n, d, { parametrisation });
      // Reparam: free rows of arbitrary norm; projected: unit rows (the forward does not renormalise).
      const P = parametrisation === 'reparam'
        ? { U: gaussian(rng, n, d, scale), V: gaussian(rng, n, d, scale) }
        : model.init(rng);
      const index = distinctIndex(rng, n, B);
      checkGradient(model, P, (p) => model.forward(p, index, Rng.fromSeed(0), ref), rng);
      checkGradient(model, P, (p) => model.embedAll(p, ref), rng);
    }
  });
});

describe('free embeddings: update paths', () => {
  it('backwardRows scattered equals the dense backward (projected and reparam)', () => {
    const rng = Rng.fromSeed(11);
    for (const parametrisation of ['projected', 'reparam'] as const) {
      const model = freeEmbeddings(10, 3, { parametrisation });
      const P = parametrisation === 'reparam' ? { U: gaussian(rng, 10, 3, 2), V: gaussian(rng, 10, 3, 2) } : model.init(rng);
      const index = Int32Array.of(7, 2, 9, 0);
      const fw = model.forward(P, index, rng, ref);
      const gU = gaussian(rng, 4, 3);
      const gV = gaussian(rng, 4, 3);
      const dense = model.backward(P, fw.cache, gU, gV);
      const rows = model.backwardRows!(P, fw.cache, gU, gV);
      expect(Array.from(rows.index)).toEqual([7, 2, 9, 0]);
      for (const k of ['U', 'V']) {
        const S = zeros(10, 3);
        for (let r = 0; r < 4; r++) for (let j = 0; j < 3; j++) S.data[rows.index[r]! * 3 + j]! += rows.grads[k]!.data[r * 3 + j]!;
        expect(Array.from(S.data)).toEqual(Array.from(dense[k]!.data));
      }
      // Untouched rows of the dense gradient are exactly zero.
      for (const i of [1, 3, 4, 5, 6, 8]) for (let j = 0; j < 3; j++) expect(dense.U!.data[i * 3 + j]).toBe(0);
    }
  });

  it('repeated indices add in the dense backward', () => {
    const model = freeEmbeddings(5, 2);
    const P = model.init(Rng.fromSeed(1));
    const fw = model.forward(P, Int32Array.of(3, 3), Rng.fromSeed(0), ref);
    const g = zeros(2, 2);
    g.data.set([1, 2, 10, 20]);
    const G = model.backward(P, fw.cache, g, g);
    expect(Array.from(G.U!.data.subarray(6, 8))).toEqual([11, 22]);
  });

  it('applyRowUpdate equals project(applyUpdates(params, sgd)) bit for bit (distinct indices)', () => {
    const rng = Rng.fromSeed(5);
    for (const parametrisation of ['projected', 'reparam'] as const) {
      const model = freeEmbeddings(12, 4, { parametrisation });
      const P = parametrisation === 'reparam' ? { U: gaussian(rng, 12, 4, 1.5), V: gaussian(rng, 12, 4, 1.5) } : model.init(rng);
      const index = Int32Array.of(4, 11, 0, 6, 7);
      const fw = model.forward(P, index, rng, ref);
      const r = objective(model, fw.U, fw.V);
      const lr = 0.3;
      const opt = sgd(lr);
      const dense = opt.update(model.backward(P, fw.cache, r.gradU!, r.gradV!), opt.init(P), P).updates;
      const stepped = applyUpdates(P, dense);
      const expected = model.project ? model.project(stepped) : stepped;
      const inPlace = { U: normalizeRows(P.U!), V: normalizeRows(P.V!) };
      // Copy P exactly (normalizeRows above only makes fresh buffers of the right shape).
      inPlace.U.data.set(P.U!.data);
      inPlace.V.data.set(P.V!.data);
      model.applyRowUpdate!(inPlace, model.backwardRows!(inPlace, fw.cache, r.gradU!, r.gradV!), lr);
      for (const i of index) {
        for (const k of ['U', 'V'] as const) {
          expect(Array.from(inPlace[k].data.subarray(i * 4, i * 4 + 4))).toEqual(Array.from(expected[k]!.data.subarray(i * 4, i * 4 + 4)));
        }
      }
      // Untouched rows are unchanged.
      for (const i of [1, 2, 3, 5, 8, 9, 10]) expect(Array.from(inPlace.U.data.subarray(i * 4, i * 4 + 4))).toEqual(Array.from(P.U!.data.subarray(i * 4, i * 4 + 4)));
      if (parametrisation === 'projected') {
        for (const i of index) {
          let s = 0;
          for (let j = 0; j < 4; j++) s += inPlace.U.data[i * 4 + j]! ** 2;
          expect(Math.abs(Math.sqrt(s) - 1)).toBeLessThan(1e-15);
        }
      }
    }
  });

  it('gradNorm is the Riemannian gradient norm at the unit embeddings for both parametrisations', () => {
    const rng = Rng.fromSeed(8);
    const Pr = { U: gaussian(rng, 6, 3, 2.5), V: gaussian(rng, 6, 3, 0.4) };
    const reparam = freeEmbeddings(6, 3, { parametrisation: 'reparam' });
    const all = reparam.embedAll(Pr, ref);
    const r = objective(reparam, all.U, all.V);
    const riem = frobeniusNorm(tangentProject(all.U, r.gradU!), tangentProject(all.V, r.gradV!));
    expect(reparam.gradNorm(Pr, reparam.backward(Pr, all.cache, r.gradU!, r.gradV!))).toBeCloseTo(riem, 12);
    const projected = freeEmbeddings(6, 3);
    const Pp = { U: all.U, V: all.V };
    const allP = projected.embedAll(Pp, ref);
    expect(projected.gradNorm(Pp, projected.backward(Pp, allP.cache, r.gradU!, r.gradV!))).toBeCloseTo(riem, 12);
  });

  it('init draws the same rows as the runner (normalised Gaussians, U then V) and is deterministic', () => {
    const m = freeEmbeddings(7, 3);
    const a = m.init(Rng.fromSeed(3));
    const b = m.init(Rng.fromSeed(3));
    expect(Array.from(a.U!.data)).toEqual(Array.from(b.U!.data));
    const rng = Rng.fromSeed(3);
    const U = normalizeRows(rng.fillNormalMatrix(7, 3));
    expect(Array.from(a.U!.data)).toEqual(Array.from(U.data));
    expect(m.project).toBeTypeOf('function');
    expect(freeEmbeddings(7, 3, { parametrisation: 'reparam' }).project).toBeUndefined();
  });

  it('errors name the problem', () => {
    const m = freeEmbeddings(4, 2);
    const P = m.init(Rng.fromSeed(0));
    expect(() => m.forward({ U: P.U!, V: zeros(4, 3) }, Int32Array.of(0), Rng.fromSeed(0), ref)).toThrow(ShapeError);
    expect(() => m.forward(P, Int32Array.of(4), Rng.fromSeed(0), ref)).toThrow(/index 4/);
    const fw = m.forward(P, Int32Array.of(0, 1), Rng.fromSeed(0), ref);
    expect(() => m.backward(P, fw.cache, zeros(3, 2), zeros(2, 2))).toThrow(/gradU is 3x2/);
    expect(() => m.backward(P, { kind: 'other' }, zeros(2, 2), zeros(2, 2))).toThrow(ConfigError);
    expect(() => freeEmbeddings(4, 2, { parametrisation: 'x' as 'projected' })).toThrow(ConfigError);
  });
});

// Bounds: small n, p, d, h keep the reference objective cheap; mask < 1 (the spec's domain);
// σ, noise ≤ 1 so inputs stay O(1).
const encShapes = fc.record({
  n: fc.integer({ min: 3, max: 10 }),
  p: fc.integer({ min: 1, max: 7 }),
  d: fc.integer({ min: 1, max: 5 }),
  h: fc.integer({ min: 1, max: 6 }),
  noise: fc.double({ min: 0, max: 1, noNaN: true }),
  mask: fc.double({ min: 0, max: 0.5, noNaN: true }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

function smallData(n: number, p: number, seed: number, augment = { noise: 0.3, mask: 0.2 }) {
  return syntheticDataset({ n, nTest: 4, p, classes: 3, sigma: 0.5, augment }, Rng.fromSeed(seed));
}

describe('encoders: gradients against central differences', () => {
  test.prop([encShapes], { seed: 20260302, numRuns: 30 })('linear and MLP, batch forward (fixed views) and embedAll', ({ n, p, d, h, noise, mask, seed }) => {
    const rng = Rng.fromSeed(seed);
    const data = smallData(n, p, seed, { noise, mask });
    const B = 2 + rng.int(n - 1);
    const index = distinctIndex(rng, n, B);
    const viewState = rng.split().state();
    for (const model of [linearEncoder(data, d), mlpEncoder(data, h, d), linearEncoder(data, d, { evalViews: 'clean' })]) {
      const P = model.init(rng);
      // MLP: a random non-zero bias so that no pre-activation sits at the ReLU kink (probability 0
      // anyway); rows whose units are all dead give zero embeddings, locally constant, also checked.
      if (P.b1) for (let j = 0; j < P.b1.data.length; j++) P.b1.data[j] = 0.5 * rng.normal();
      checkGradient(model, P, (q) => model.forward(q, index, Rng.fromState(viewState), ref), rng);
      checkGradient(model, P, (q) => model.embedAll(q, ref), rng);
    }
  });
});

describe('encoders: semantics', () => {
  const data = smallData(20, 6, 42);

  it('forward = normalize(W x̃) on the views twoViews draws from the same generator', () => {
    const model = linearEncoder(data, 3);
    const P = model.init(Rng.fromSeed(1));
    const index = Int32Array.of(5, 0, 19);
    const out = model.forward(P, index, Rng.fromSeed(9), ref);
    const { X1, X2 } = twoViews(data.X, index, Rng.fromSeed(9), data.augment);
    expect(maxAbsDiff(out.U.data, model.embedInputs!(P, X1, ref).data)).toBe(0);
    expect(maxAbsDiff(out.V.data, model.embedInputs!(P, X2, ref).data)).toBe(0);
    // By hand for row 0.
    const W = P.W!;
    const z = [0, 1, 2].map((k) => { let s = 0; for (let j = 0; j < 6; j++) s += W.data[k * 6 + j]! * X1.data[j]!; return s; });
    const nz = Math.hypot(...z);
    for (let k = 0; k < 3; k++) expect(out.U.data[k]).toBeCloseTo(z[k]! / nz, 14);
  });

  it('embedAll: fixed views are evalViews(data); clean views give u = v = embedInputs(X)', () => {
    for (const model of [linearEncoder(data, 3), mlpEncoder(data, 4, 3)]) {
      const P = model.init(Rng.fromSeed(2));
      const fixed = model.embedAll(P, ref);
      const v = evalViews(data);
      expect(maxAbsDiff(fixed.U.data, model.embedInputs!(P, v.X1, ref).data)).toBe(0);
      expect(maxAbsDiff(fixed.V.data, model.embedInputs!(P, v.X2, ref).data)).toBe(0);
      // Deterministic: F is a function of the parameters.
      expect(Array.from(model.embedAll(P, ref).U.data)).toEqual(Array.from(fixed.U.data));
      const cleanModel = model.name === 'linearEncoder' ? linearEncoder(data, 3, { evalViews: 'clean' }) : mlpEncoder(data, 4, 3, { evalViews: 'clean' });
      const clean = cleanModel.embedAll(P, ref);
      expect(Array.from(clean.U.data)).toEqual(Array.from(clean.V.data));
      expect(maxAbsDiff(clean.U.data, model.embedInputs!(P, data.X, ref).data)).toBe(0);
    }
  });

  it('deterministic per seed; different generators give different views', () => {
    const model = mlpEncoder(data, 5, 3);
    const P1 = model.init(Rng.fromSeed(4));
    const P2 = model.init(Rng.fromSeed(4));
    for (const k of ['W1', 'b1', 'W2']) expect(Array.from(P1[k]!.data)).toEqual(Array.from(P2[k]!.data));
    const idx = Int32Array.of(1, 2, 3, 4);
    const a = model.forward(P1, idx, Rng.fromSeed(7), ref);
    const b = model.forward(P1, idx, Rng.fromSeed(7), ref);
    const c = model.forward(P1, idx, Rng.fromSeed(8), ref);
    expect(Array.from(a.U.data)).toEqual(Array.from(b.U.data));
    expect(Array.from(a.V.data)).toEqual(Array.from(b.V.data));
    expect(maxAbsDiff(a.U.data, c.U.data)).toBeGreaterThan(0);
    // The two views of one visit differ.
    expect(maxAbsDiff(a.U.data, a.V.data)).toBeGreaterThan(0);
  });

  it('the CPU backend (f64, and f32 replaced by f64) agrees with the reference backend', () => {
    const f32 = createCpuBackend({ dtype: 'f32' });
    for (const model of [linearEncoder(data, 3), mlpEncoder(data, 4, 3)]) {
      const P = model.init(Rng.fromSeed(5));
      if (P.b1) P.b1.data.fill(0.1);
      const idx = Int32Array.of(3, 8, 13);
      const r = model.forward(P, idx, Rng.fromSeed(1), ref);
      const gU = gaussian(Rng.fromSeed(2), 3, 3);
      const gV = gaussian(Rng.fromSeed(3), 3, 3);
      const gr = model.backward(P, r.cache, gU, gV);
      for (const be of [cpu, f32]) {
        const o = model.forward(P, idx, Rng.fromSeed(1), be);
        expect(o.U.data).toBeInstanceOf(Float64Array);
        expect(maxAbsDiff(o.U.data, r.U.data)).toBeLessThan(1e-13);
        const g = model.backward(P, o.cache, gU, gV);
        for (const k of Object.keys(gr)) expect(maxAbsDiff(g[k]!.data, gr[k]!.data)).toBeLessThan(1e-12);
      }
    }
    f32.dispose();
  });

  it('gradNorm is the Frobenius norm over all parameter matrices', () => {
    const model = mlpEncoder(data, 4, 3);
    const P = model.init(Rng.fromSeed(6));
    const G = randomDirection(Rng.fromSeed(7), P);
    expect(model.gradNorm(P, G)).toBeCloseTo(paramsNorm(G), 12);
    expect(model.project).toBeUndefined();
  });

  it('errors name the problem', () => {
    const model = linearEncoder(data, 3);
    const P = model.init(Rng.fromSeed(0));
    expect(() => model.forward({ W: zeros(3, 5) }, Int32Array.of(0), Rng.fromSeed(0), ref)).toThrow(/params.W is 3x5, expected 3x6/);
    expect(() => model.forward(P, Int32Array.of(-1), Rng.fromSeed(0), ref)).toThrow(ShapeError);
    expect(() => model.embedInputs!(P, zeros(2, 5), ref)).toThrow(/dimension 6/);
    const fw = model.forward(P, Int32Array.of(0, 1), Rng.fromSeed(0), ref);
    expect(() => model.backward(P, fw.cache, zeros(2, 2), zeros(2, 3))).toThrow(ShapeError);
    const other = mlpEncoder(data, 2, 3);
    expect(() => other.backward(other.init(Rng.fromSeed(0)), fw.cache, zeros(2, 3), zeros(2, 3))).toThrow(ConfigError);
  });

  it('a zero encoder output gives a zero embedding and zero gradients (F.normalize semantics), not an error', () => {
    const model = mlpEncoder(data, 3, 2);
    const P = model.init(Rng.fromSeed(1));
    // Every hidden unit dead (the common case): H = 0, output 0, and every gradient 0.
    P.b1!.data.set([-100, -100, -100]);
    const out = model.forward(P, Int32Array.of(0, 1), Rng.fromSeed(0), ref);
    expect(Array.from(out.U.data)).toEqual([0, 0, 0, 0]);
    const g = model.backward(P, out.cache, gaussian(Rng.fromSeed(2), 2, 2), gaussian(Rng.fromSeed(3), 2, 2));
    for (const k of Object.keys(g)) for (const x of g[k]!.data) expect(x).toBe(0);
    // A zero output from a live hidden layer (W2's used column zero): also zero gradients by convention.
    P.b1!.data.set([-100, -100, 0.5]);
    for (let j = 0; j < 6; j++) P.W1!.data[2 * 6 + j] = 0;
    P.W2!.data[2] = 0;
    P.W2!.data[5] = 0;
    const out2 = model.forward(P, Int32Array.of(0, 1), Rng.fromSeed(0), ref);
    expect(Array.from(out2.U.data)).toEqual([0, 0, 0, 0]);
    const g2 = model.backward(P, out2.cache, gaussian(Rng.fromSeed(2), 2, 2), gaussian(Rng.fromSeed(3), 2, 2));
    for (const k of Object.keys(g2)) for (const x of g2[k]!.data) expect(x).toBe(0);
    const lin = linearEncoder(data, 3);
    expect(Array.from(lin.embedInputs!({ W: zeros(3, 6) }, data.Xtest, ref).data).every((x) => x === 0)).toBe(true);
  });
});
