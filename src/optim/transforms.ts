/**
 * Gradient transformations (optax style; see ./types.ts). Each is pure: `update` returns new
 * state and never mutates its inputs.
 *
 *   sgd(η)                         u = −η_t·g
 *   momentum(η, μ, nesterov)       m ← μ·m + g;  u = −η_t·m   (Nesterov: u = −η_t·(g + μ·m))
 *   adamw(η, β1, β2, ε, λ)         Loshchilov & Hutter 2019, bias-corrected, decoupled weight decay
 *   lars(η, μ, λ, trust)           You et al. 2017: per-matrix trust ratio trust·‖w‖/(‖g‖ + λ‖w‖),
 *                                  weight decay and trust ratio skipped for 1-row / 1-column params
 *   chain(a, b, ...)               composition, states kept per link
 */
import { type Matrix64, zeros } from '../core/matrix.ts';
import { ConfigError } from '../core/errors.ts';
import type { GradientTransformation, Params, Schedule } from './types.ts';

const asSchedule = (x: number | Schedule): Schedule => (typeof x === 'number' ? () => x : x);

function mapParams(p: Params, f: (m: Matrix64, key: string) => Matrix64): Record<string, Matrix64> {
  const out: Record<string, Matrix64> = {};
  for (const k of Object.keys(p)) out[k] = f(p[k]!, k);
  return out;
}

function like(m: Matrix64): Matrix64 {
  return zeros(m.rows, m.cols);
}

function norm(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

export interface CountState { readonly count: number }

export function sgd(lr: number | Schedule): GradientTransformation<CountState> {
  const eta = asSchedule(lr);
  return {
    init: () => ({ count: 0 }),
    update(grads, state) {
      const e = eta(state.count);
      const updates = mapParams(grads, (g) => {
        const u = like(g);
        for (let i = 0; i < u.data.length; i++) u.data[i] = -e * g.data[i]!;
        return u;
      });
      return { updates, state: { count: state.count + 1 } };
    },
  };
}

export interface MomentumState { readonly count: number; readonly m: Params }

export function momentum(lr: number | Schedule, mu = 0.9, nesterov = false): GradientTransformation<MomentumState> {
  const eta = asSchedule(lr);
  return {
    init: (params) => ({ count: 0, m: mapParams(params, like) }),
    update(grads, state) {
      const e = eta(state.count);
      const m = mapParams(grads, (g, k) => {
        const prev = state.m[k]!;
        const out = like(g);
        for (let i = 0; i < out.data.length; i++) out.data[i] = mu * prev.data[i]! + g.data[i]!;
        return out;
      });
      const updates = mapParams(grads, (g, k) => {
        const mk = m[k]!;
        const u = like(g);
        for (let i = 0; i < u.data.length; i++) u.data[i] = -e * (nesterov ? g.data[i]! + mu * mk.data[i]! : mk.data[i]!);
        return u;
      });
      return { updates, state: { count: state.count + 1, m } };
    },
  };
}

export interface AdamState { readonly count: number; readonly m: Params; readonly v: Params }

export function adamw(lr: number | Schedule, opts: { b1?: number; b2?: number; eps?: number; weightDecay?: number } = {}): GradientTransformation<AdamState> {
  const eta = asSchedule(lr);
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 0 } = opts;
  return {
    init: (params) => ({ count: 0, m: mapParams(params, like), v: mapParams(params, like) }),
    update(grads, state, params) {
      const t = state.count + 1;
      const e = eta(state.count);
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      const m = mapParams(grads, (g, k) => {
        const out = like(g);
        for (let i = 0; i < out.data.length; i++) out.data[i] = b1 * state.m[k]!.data[i]! + (1 - b1) * g.data[i]!;
        return out;
      });
      const v = mapParams(grads, (g, k) => {
        const out = like(g);
        for (let i = 0; i < out.data.length; i++) out.data[i] = b2 * state.v[k]!.data[i]! + (1 - b2) * g.data[i]! * g.data[i]!;
        return out;
      });
      const updates = mapParams(grads, (g, k) => {
        const u = like(g);
        const w = params[k]!;
        for (let i = 0; i < u.data.length; i++) {
          const mh = m[k]!.data[i]! / c1;
          const vh = v[k]!.data[i]! / c2;
          u.data[i] = -e * (mh / (Math.sqrt(vh) + eps) + weightDecay * w.data[i]!);
        }
        return u;
      });
      return { updates, state: { count: t, m, v } };
    },
  };
}

export interface LarsState { readonly count: number; readonly m: Params }

/**
 * LARS: for each parameter matrix w with gradient g,
 *   g' = g + λ·w,  ratio = trust·‖w‖ / (‖g‖ + λ‖w‖) (1 when either norm is 0),  m ← μ·m + η_t·ratio·g',  u = −m.
 * Parameters with a single row or column (biases, scales) skip weight decay and the trust ratio.
 */
export function lars(lr: number | Schedule, opts: { momentum?: number; weightDecay?: number; trust?: number } = {}): GradientTransformation<LarsState> {
  const eta = asSchedule(lr);
  const { momentum: mu = 0.9, weightDecay = 0, trust = 1e-3 } = opts;
  return {
    init: (params) => ({ count: 0, m: mapParams(params, like) }),
    update(grads, state, params) {
      const e = eta(state.count);
      const m = mapParams(grads, (g, k) => {
        const w = params[k]!;
        const oneD = w.rows === 1 || w.cols === 1;
        const wd = oneD ? 0 : weightDecay;
        const wn = norm(w.data);
        const gn = norm(g.data);
        const ratio = oneD || wn === 0 || gn === 0 ? 1 : (trust * wn) / (gn + wd * wn);
        const out = like(g);
        for (let i = 0; i < out.data.length; i++) out.data[i] = mu * state.m[k]!.data[i]! + e * ratio * (g.data[i]! + wd * w.data[i]!);
        return out;
      });
      const updates = mapParams(m, (mk) => {
        const u = like(mk);
        for (let i = 0; i < u.data.length; i++) u.data[i] = -mk.data[i]!;
        return u;
      });
      return { updates, state: { count: state.count + 1, m } };
    },
  };
}

/** Composition: the updates of each link are the gradients of the next. */
export function chain(...links: GradientTransformation<unknown>[]): GradientTransformation<unknown[]> {
  return {
    init: (params) => links.map((l) => l.init(params)),
    update(grads, state, params) {
      let g = grads;
      const next: unknown[] = [];
      links.forEach((l, i) => {
        const r = l.update(g, state[i], params);
        g = r.updates;
        next.push(r.state);
      });
      return { updates: g, state: next };
    },
  };
}

/** params + updates, as new matrices. */
export function applyUpdates(params: Params, updates: Params): Record<string, Matrix64> {
  return mapParams(params, (p, k) => {
    const u = updates[k];
    if (!u || u.rows !== p.rows || u.cols !== p.cols) throw new ConfigError('applyUpdates', `update for '${k}' is missing or has the wrong shape`);
    const out = like(p);
    for (let i = 0; i < out.data.length; i++) out.data[i] = p.data[i]! + u.data[i]!;
    return out;
  });
}

// ---- schedules ----

export const constantSchedule = (x: number): Schedule => () => x;

/** Linear warm-up from 0 to `peak` over `warmup` steps, then half-cycle cosine to `end` at `total`. */
export function warmupCosine(peak: number, warmup: number, total: number, end = 0): Schedule {
  return (t) => {
    if (t < warmup) return (peak * (t + 1)) / warmup;
    const p = Math.min(1, (t - warmup) / Math.max(1, total - warmup));
    return end + 0.5 * (peak - end) * (1 + Math.cos(Math.PI * p));
  };
}

/** SimCLR/SogCLR's square-root scaling rule: η = base · √B. */
export const sqrtBatchScaling = (base: number, B: number): number => base * Math.sqrt(B);
