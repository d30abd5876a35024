/**
 * Free embeddings (CHO's setting; bimodal pairs): parameters { U, V }, each N x d, one row per example.
 *
 *   projected  u_i = U_i (rows kept on the unit sphere by renormalising after each step, `project`)
 *              ∂F/∂U_i = ∂F/∂u_i (Euclidean; its tangent part is the Riemannian gradient)
 *   reparam    u_i = U_i/‖U_i‖ (free rows, normalised inside the forward pass)
 *              ∂F/∂U_i = (g_i − (g_i·u_i) u_i)/‖U_i‖
 * and the same for V. No augmentation: `forward` ignores its generator, and `embedAll` (the fixed
 * "views" of the exact objective) is simply every row.
 *
 * Update paths. `backward` returns dense N x d gradients (zero outside the batch rows): simple and
 * what the dense optimizers (momentum, AdamW, LARS, which touch every row anyway) need, but it
 * allocates and zero-fills 2·N·d float64s per step (200 MB at N = 100,000, d = 128). For plain SGD use
 * the row-sparse path instead, O(B·d) per step:
 *   const rows = model.backwardRows(params, cache, gU, gV);   // B x d blocks + the batch index
 *   model.applyRowUpdate(params, rows, lr);                     // in place, renormalises the touched rows if projected
 * which gives the same parameters as `project(applyUpdates(params, sgd(lr) of backward(...)))`: bit for
 * bit when the batch indices are distinct (repeated indices add their steps one after the other,
 * equal up to rounding), and the untouched rows are left as they are rather than renormalised again.
 *
 * @example
 *   const m = freeEmbeddings(1000, 16, { parametrisation: 'reparam' });
 *   const params = m.init(Rng.fromSeed(0));
 *   const { U, V, cache } = m.forward(params, Int32Array.of(3, 7), rng, backend);
 */
import type { Backend } from '../backend/types.ts';
import { ConfigError, ShapeError, ZeroRowError } from '../core/errors.ts';
import { frobeniusNorm, gatherRows, type Matrix64, shapeStr, zeros } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import { normalizeRows, rowNorms, tangentProject } from '../core/sphere.ts';
import { assertPositiveInt } from '../core/validate.ts';
import type { Params } from '../optim/types.ts';
import { assertIndex, assertParams, normalizeBackward, normalizeWithNorms } from './common.ts';
import type { Model, ModelOutput, RowGradients } from './types.ts';

export type FreeParametrisation = 'projected' | 'reparam';

export interface FreeEmbeddingOptions {
  /** 'projected' (default): params are the unit rows; 'reparam': params are free, normalised in the forward pass. */
  readonly parametrisation?: FreeParametrisation;
}

interface FreeCache {
  readonly kind: 'free';
  /** The rows embedded, or null for all N rows (embedAll). */
  readonly index: Int32Array | null;
  /** reparam only: the normalised rows and the parameter rows' norms. */
  readonly U: Matrix64 | null;
  readonly V: Matrix64 | null;
  readonly normsU: Float64Array | null;
  readonly normsV: Float64Array | null;
}

function asFreeCache(op: string, c: unknown): FreeCache {
  if (!c || (c as FreeCache).kind !== 'free') throw new ConfigError(op, 'the cache is not from a freeEmbeddings forward / embedAll');
  return c as FreeCache;
}

function addRowInto(dst: Matrix64, row: number, src: Matrix64, srcRow: number, alpha: number): void {
  const db = dst.offset + row * dst.rowStride;
  const sb = src.offset + srcRow * src.rowStride;
  for (let j = 0; j < dst.cols; j++) dst.data[db + j * dst.colStride]! += alpha * src.data[sb + j * src.colStride]!;
}

function normalizeRowInPlace(M: Matrix64, row: number, op: string): void {
  const b = M.offset + row * M.rowStride;
  let s = 0;
  for (let j = 0; j < M.cols; j++) {
    const x = M.data[b + j * M.colStride]!;
    s += x * x;
  }
  const nrm = Math.sqrt(s);
  if (!(nrm > 0)) throw new ZeroRowError(op, `row ${row} has norm ${nrm} after the update and cannot be renormalised`);
  for (let j = 0; j < M.cols; j++) M.data[b + j * M.colStride] = M.data[b + j * M.colStride]! / nrm;
}

/** Multiplies row i of G by s[i] (new matrix). */
function scaleRows(G: Matrix64, s: Float64Array): Matrix64 {
  const out = zeros(G.rows, G.cols);
  for (let i = 0; i < G.rows; i++) {
    const b = G.offset + i * G.rowStride;
    for (let j = 0; j < G.cols; j++) out.data[i * G.cols + j] = G.data[b + j * G.colStride]! * s[i]!;
  }
  return out;
}

export function freeEmbeddings(n: number, d: number, opts: FreeEmbeddingOptions = {}): Model {
  const op = 'freeEmbeddings';
  assertPositiveInt(op, 'n', n);
  assertPositiveInt(op, 'd', d);
  const mode = opts.parametrisation ?? 'projected';
  if (mode !== 'projected' && mode !== 'reparam') throw new ConfigError(op, `parametrisation must be 'projected' or 'reparam', got ${String(mode)}`);
  const reparam = mode === 'reparam';
  const shapes: Record<string, [number, number]> = { U: [n, d], V: [n, d] };

  /** The gradients with respect to the parameter rows of the embedded rows (B x d or N x d). */
  function rowGrads(cache: FreeCache, gradU: Matrix64, gradV: Matrix64, opName: string): { gU: Matrix64; gV: Matrix64 } {
    const rows = cache.index ? cache.index.length : n;
    for (const [name, g] of [['gradU', gradU], ['gradV', gradV]] as const) {
      if (g.rows !== rows || g.cols !== d) throw new ShapeError(opName, `${name} is ${shapeStr(g)} but the forward embedded ${rows}x${d}`);
    }
    if (!reparam) return { gU: gradU, gV: gradV };
    return {
      gU: normalizeBackward(cache.U!, cache.normsU!, gradU, opName),
      gV: normalizeBackward(cache.V!, cache.normsV!, gradV, opName),
    };
  }

  const model: Model = {
    name: `free-${mode}`,
    modality: 'bimodal',
    n,
    d,

    /** U then V: normalize(N(0, I)) rows each, the same draws as the runner's initial embeddings. */
    init(rng: Rng): Params {
      const U = normalizeRows(rng.fillNormalMatrix(n, d), `${op}.init`, 'U');
      const V = normalizeRows(rng.fillNormalMatrix(n, d), `${op}.init`, 'V');
      return { U, V };
    },

    forward(params: Params, index: Int32Array, _rng: Rng, _backend: Backend): ModelOutput {
      const o = `${op}.forward`;
      assertParams(o, params, shapes);
      assertIndex(o, index, n);
      const Ub = gatherRows(params.U!, index, 'f64') as Matrix64;
      const Vb = gatherRows(params.V!, index, 'f64') as Matrix64;
      if (!reparam) return { U: Ub, V: Vb, cache: { kind: 'free', index, U: null, V: null, normsU: null, normsV: null } satisfies FreeCache };
      const u = normalizeWithNorms(Ub, o, 'U');
      const v = normalizeWithNorms(Vb, o, 'V');
      return { U: u.U, V: v.U, cache: { kind: 'free', index, U: u.U, V: v.U, normsU: u.norms, normsV: v.norms } satisfies FreeCache };
    },

    backward(params: Params, cache: unknown, gradU: Matrix64, gradV: Matrix64): Params {
      const o = `${op}.backward`;
      assertParams(o, params, shapes);
      const c = asFreeCache(o, cache);
      const { gU, gV } = rowGrads(c, gradU, gradV, o);
      if (!c.index) return { U: gU, V: gV };
      const GU = zeros(n, d);
      const GV = zeros(n, d);
      for (let r = 0; r < c.index.length; r++) {
        addRowInto(GU, c.index[r]!, gU, r, 1);
        addRowInto(GV, c.index[r]!, gV, r, 1);
      }
      return { U: GU, V: GV };
    },

    backwardRows(params: Params, cache: unknown, gradU: Matrix64, gradV: Matrix64): RowGradients {
      const o = `${op}.backwardRows`;
      assertParams(o, params, shapes);
      const c = asFreeCache(o, cache);
      const { gU, gV } = rowGrads(c, gradU, gradV, o);
      let index = c.index;
      if (!index) {
        index = new Int32Array(n);
        for (let i = 0; i < n; i++) index[i] = i;
      }
      return { index, grads: { U: gU, V: gV } };
    },

    applyRowUpdate(params: Params, rows: RowGradients, lr: number): void {
      const o = `${op}.applyRowUpdate`;
      assertParams(o, params, shapes);
      assertIndex(o, rows.index, n);
      if (!Number.isFinite(lr)) throw new ConfigError(o, `lr must be finite, got ${lr}`);
      for (const k of Object.keys(rows.grads)) {
        const P = params[k];
        const G = rows.grads[k]!;
        if (!P) throw new ShapeError(o, `rows.grads.${k} has no parameter of that name`);
        if (G.rows !== rows.index.length || G.cols !== d) throw new ShapeError(o, `rows.grads.${k} is ${shapeStr(G)}, expected ${rows.index.length}x${d}`);
        for (let r = 0; r < rows.index.length; r++) addRowInto(P, rows.index[r]!, G, r, -lr);
        if (!reparam) {
          // Renormalise each touched row once, after all its (possibly repeated) updates.
          const seen = new Set<number>();
          for (let r = 0; r < rows.index.length; r++) {
            const i = rows.index[r]!;
            if (seen.has(i)) continue;
            seen.add(i);
            normalizeRowInPlace(P, i, o);
          }
        }
      }
    },

    embedAll(params: Params, _backend: Backend): ModelOutput {
      const o = `${op}.embedAll`;
      assertParams(o, params, shapes);
      // Projected: the parameters themselves (no copy; callers must not modify them).
      if (!reparam) return { U: params.U!, V: params.V!, cache: { kind: 'free', index: null, U: null, V: null, normsU: null, normsV: null } satisfies FreeCache };
      const u = normalizeWithNorms(params.U!, o, 'U');
      const v = normalizeWithNorms(params.V!, o, 'V');
      return { U: u.U, V: v.U, cache: { kind: 'free', index: null, U: u.U, V: v.U, normsU: u.norms, normsV: v.norms } satisfies FreeCache };
    },

    /**
     * ‖Riemannian gradient at the unit embeddings‖, the same measure for both parametrisations:
     * projected: the tangent part of the Euclidean gradient; reparam: ‖U_i‖ · (parameter gradient row i),
     * which is the tangent gradient at u_i.
     */
    gradNorm(params: Params, grads: Params): number {
      const o = `${op}.gradNorm`;
      assertParams(o, params, shapes);
      assertParams(o, grads, shapes);
      if (!reparam) return frobeniusNorm(tangentProject(params.U!, grads.U!), tangentProject(params.V!, grads.V!));
      return frobeniusNorm(scaleRows(grads.U!, rowNorms(params.U!)), scaleRows(grads.V!, rowNorms(params.V!)));
    },
  };
  if (!reparam) {
    (model as { project?: Model['project'] }).project = (params: Params): Params => {
      assertParams(`${op}.project`, params, shapes);
      return { U: normalizeRows(params.U!, `${op}.project`, 'U'), V: normalizeRows(params.V!, `${op}.project`, 'V') };
    };
  }
  return model;
}
