/**
 * Gradient transformations (optax style; see ./types.ts). Each is pure: `update` returns new
 * state and never mutates its inputs. Updates are ADDED to the parameters.
 *
 *   sgd(η)                         u = −η_t·g
 *   momentum(η, μ, nesterov)       m ← μ·m + g;  u = −η_t·m   (Nesterov: u = −η_t·(g + μ·m), m the new m)
 *   nesterov(η, μ)                 momentum(η, μ, true)
 *   adamw(η, {b1, b2, ε, λ})       Loshchilov & Hutter 2019, bias-corrected, decoupled weight decay ×η_t
 *   lars(η, {μ, λ, trust})         You et al. 2017 Algorithm 1 (default), or the SogCLR / MoCo-v3 code's
 *                                  form; weight decay and trust ratio skipped for 1-row / 1-column params
 *   chain(a, b, ...)               composition, states kept per link
 *
 * `η_t` is the schedule at the link's own step counter (0 on the first update, as optax's
 * `scale_by_schedule`). Matrices may be strided views (transposes, blocks): every read goes through
 * the row-major entries, every update is a fresh contiguous float64 matrix.
 *
 * Projection onto the sphere is not a transform here: the additive update `normalize(p + u) − p`
 * would only land on the sphere up to the rounding of the runner's `p + u'`, and optax too keeps
 * projections (`optax.projections`) as functions applied to the parameters after `apply_updates`.
 * The runner (src/experiments/run.ts) normalises the rows after `applyUpdates` (THEORY 6).
 */
import { type Matrix64, shapeStr, toContiguous, zeros } from '../core/matrix.ts';
import { ConfigError } from '../core/errors.ts';
import type { GradientTransformation, Params, Schedule, UpdateOptions } from './types.ts';

const asSchedule = (x: number | Schedule): Schedule => (typeof x === 'number' ? () => x : x);

function mapParams(p: Params, f: (m: Matrix64, key: string) => Matrix64): Record<string, Matrix64> {
  const out: Record<string, Matrix64> = {};
  for (const k of Object.keys(p)) out[k] = f(p[k]!, k);
  return out;
}

function like(m: Matrix64): Matrix64 {
  return zeros(m.rows, m.cols);
}

type Buffer = Float64Array | Float32Array;

/**
 * The buffers a donated update may overwrite: those that appear exactly once among the matrices it
 * reads (the state's, the gradients', the parameters'). A buffer shared by two matrices is never
 * reused, since writing one entry would change what the other reads.
 */
function donatable(donate: boolean, ...groups: (Params | undefined)[]): Set<Buffer> {
  const out = new Set<Buffer>();
  if (!donate) return out;
  const seen = new Set<Buffer>();
  for (const g of groups) {
    for (const m of Object.values(g ?? {})) {
      if (seen.has(m.data)) out.delete(m.data);
      else { seen.add(m.data); out.add(m.data); }
    }
  }
  return out;
}

/**
 * A buffer for a new value of `old`'s shape: `old` itself when its buffer is in `free` (donated and
 * not shared) and it is a contiguous float64 matrix at offset 0, else a fresh one. Safe for the
 * element-wise updates below: entry i is read before it is written.
 */
function reuse(old: Matrix64, free: Set<Buffer>): Matrix64 {
  const d = old.data;
  if (free.has(d) && d instanceof Float64Array && old.offset === 0 && old.colStride === 1 && old.rowStride === old.cols && d.length === old.rows * old.cols) {
    free.delete(d);
    return old;
  }
  return like(old);
}

/**
 * The entries of `m` in row-major order, length rows·cols: `m.data` itself when `m` is already a
 * contiguous float64 matrix at offset 0, else a copy. Reading `m.data[i]` directly would be wrong
 * for a transpose or a block view (strides, offset).
 */
function entries(m: Matrix64): Float64Array {
  return toContiguous(m, 'f64').data as Float64Array;
}

function norm(a: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

/** `a` and `b` name the same matrices with the same shapes. */
function assertSameParams(op: string, aName: string, a: Params, bName: string, b: Params | undefined): void {
  if (!b || typeof b !== 'object') throw new ConfigError(op, `${bName} is missing`);
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) {
    throw new ConfigError(op, `${aName} has [${ka.join(', ')}] but ${bName} has [${kb.join(', ')}]`);
  }
  for (const k of ka) {
    const x = a[k]!;
    const y = b[k]!;
    if (x.rows !== y.rows || x.cols !== y.cols) throw new ConfigError(op, `${aName}.${k} is ${shapeStr(x)} but ${bName}.${k} is ${shapeStr(y)}`);
  }
}

function assertRate(op: string, name: string, x: number | Schedule): void {
  if (typeof x === 'number' && !(Number.isFinite(x) && x >= 0)) throw new ConfigError(op, `${name} must be a finite number >= 0, got ${x}`);
}

function assertDecay(op: string, name: string, x: number): void {
  if (!(Number.isFinite(x) && x >= 0 && x < 1)) throw new ConfigError(op, `${name} must be in [0, 1), got ${x}`);
}

function assertNonNeg(op: string, name: string, x: number): void {
  if (!(Number.isFinite(x) && x >= 0)) throw new ConfigError(op, `${name} must be a finite number >= 0, got ${x}`);
}

/** A parameter with a single row or a single column (a bias, a scale): a "1-D" parameter. */
export function isVectorShaped(m: { rows: number; cols: number }): boolean {
  return m.rows === 1 || m.cols === 1;
}

export interface CountState { readonly count: number }

export function sgd(lr: number | Schedule): GradientTransformation<CountState> {
  assertRate('sgd', 'lr', lr);
  const eta = asSchedule(lr);
  return {
    init: () => ({ count: 0 }),
    update(grads, state) {
      const e = eta(state.count);
      const updates = mapParams(grads, (g) => {
        const gd = entries(g);
        const u = like(g);
        for (let i = 0; i < u.data.length; i++) u.data[i] = -e * gd[i]!;
        return u;
      });
      return { updates, state: { count: state.count + 1 } };
    },
  };
}

export interface MomentumState { readonly count: number; readonly m: Params }

/**
 * Heavy-ball momentum (PyTorch SGD with dampening 0, optax `trace` then the learning rate):
 *   m ← μ·m + g,   u = −η_t·m;   Nesterov (Sutskever et al. 2013, in the form of optax's
 *   `trace(nesterov=True)` and PyTorch):  u = −η_t·(g + μ·m) with the NEW m.
 */
export function momentum(lr: number | Schedule, mu = 0.9, nesterov = false): GradientTransformation<MomentumState> {
  const op = nesterov ? 'nesterov' : 'momentum';
  assertRate(op, 'lr', lr);
  assertDecay(op, 'momentum', mu);
  const eta = asSchedule(lr);
  return {
    init: (params) => ({ count: 0, m: mapParams(params, like) }),
    update(grads, state, _params, opts?: UpdateOptions) {
      assertSameParams(op, 'grads', grads, 'state.m', state.m);
      const e = eta(state.count);
      const m: Record<string, Matrix64> = {};
      const free = donatable(opts?.donateState === true, state.m, grads);
      const updates = mapParams(grads, (g, k) => {
        const gd = entries(g);
        const prev = entries(state.m[k]!);
        const mk = reuse(state.m[k]!, free);
        const u = like(g);
        const md = mk.data as Float64Array;
        const ud = u.data as Float64Array;
        for (let i = 0; i < ud.length; i++) {
          const mi = mu * prev[i]! + gd[i]!;
          md[i] = mi;
          ud[i] = -e * (nesterov ? gd[i]! + mu * mi : mi);
        }
        m[k] = mk;
        return u;
      });
      return { updates, state: { count: state.count + 1, m } };
    },
  };
}

/** Nesterov momentum as its own recipe: `momentum(lr, mu, true)`. */
export function nesterov(lr: number | Schedule, mu = 0.9): GradientTransformation<MomentumState> {
  return momentum(lr, mu, true);
}

export interface AdamState { readonly count: number; readonly m: Params; readonly v: Params }

/**
 * AdamW (Loshchilov & Hutter 2019, Algorithm 2; optax `adamw`, PyTorch `AdamW`): with t = count + 1,
 *   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  m̂ = m/(1−β1^t),  v̂ = v/(1−β2^t),
 *   u = −η_t·( m̂/(√v̂ + ε) + λ·w ),
 * evaluated in PyTorch AdamW's arrangement (step size η_t/c1, denominator √v/√c2 + ε), with 1/√c2
 * precomputed so that each entry takes one division and one root:
 *   u = −(η_t/c1)·m / (√v·(1/√c2) + ε) − η_t·λ·w,   c1 = 1 − β1^t, c2 = 1 − β2^t
 * (the same quantity; it differs from the literal form only in rounding).
 * The weight decay is decoupled from the moments and scaled by the learning rate η_t, as in optax
 * and PyTorch (the paper scales it by the schedule multiplier only; λ here is the paper's λ/α).
 * Every parameter is decayed (optax's default mask).
 */
export function adamw(lr: number | Schedule, opts: { b1?: number; b2?: number; eps?: number; weightDecay?: number } = {}): GradientTransformation<AdamState> {
  const { b1 = 0.9, b2 = 0.999, eps = 1e-8, weightDecay = 0 } = opts;
  assertRate('adamw', 'lr', lr);
  assertDecay('adamw', 'b1', b1);
  assertDecay('adamw', 'b2', b2);
  assertNonNeg('adamw', 'eps', eps);
  assertNonNeg('adamw', 'weightDecay', weightDecay);
  const eta = asSchedule(lr);
  return {
    init: (params) => ({ count: 0, m: mapParams(params, like), v: mapParams(params, like) }),
    update(grads, state, params, opts?: UpdateOptions) {
      assertSameParams('adamw', 'grads', grads, 'state.m', state.m);
      assertSameParams('adamw', 'grads', grads, 'state.v', state.v);
      if (weightDecay !== 0) assertSameParams('adamw', 'grads', grads, 'params', params);
      const t = state.count + 1;
      const e = eta(state.count);
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      const stepSize = e / c1;
      const invRootC2 = 1 / Math.sqrt(c2);
      const decay = e * weightDecay;
      const m: Record<string, Matrix64> = {};
      const v: Record<string, Matrix64> = {};
      const free = donatable(opts?.donateState === true, state.m, state.v, grads, params);
      const updates = mapParams(grads, (g, k) => {
        const gd = entries(g);
        const pm = entries(state.m[k]!);
        const pv = entries(state.v[k]!);
        const w = weightDecay !== 0 ? entries(params[k]!) : null;
        const mk = reuse(state.m[k]!, free);
        const vk = reuse(state.v[k]!, free);
        const u = like(g);
        // Locals for the hot loop (a typed array read through a matrix field is not hoisted).
        const md = mk.data as Float64Array;
        const vd = vk.data as Float64Array;
        const ud = u.data as Float64Array;
        for (let i = 0; i < ud.length; i++) {
          const gi = gd[i]!;
          const mi = b1 * pm[i]! + (1 - b1) * gi;
          const vi = b2 * pv[i]! + (1 - b2) * gi * gi;
          md[i] = mi;
          vd[i] = vi;
          const step = (stepSize * mi) / (Math.sqrt(vi) * invRootC2 + eps);
          ud[i] = w ? -step - decay * w[i]! : -step;
        }
        m[k] = mk;
        v[k] = vk;
        return u;
      });
      return { updates, state: { count: t, m, v } };
    },
  };
}

export interface LarsState { readonly count: number; readonly m: Params }

export interface LarsOptions {
  /** Momentum μ (default 0.9). */
  momentum?: number;
  /** Weight decay λ (default 0). */
  weightDecay?: number;
  /** Trust coefficient (default 1e-3). */
  trust?: number;
  /**
   * 'you2017' (default): You, Gitman & Ginsburg 2017, Algorithm 1 —
   *     ratio = trust·‖w‖ / (‖g‖ + λ‖w‖),  m ← μ·m + η_t·ratio·(g + λw),  u = −m.
   * 'sogclr': the LARS of SogCLR's code (sogclr/optimizer.py, taken from MoCo v3) —
   *     d = g + λw,  ratio = trust·‖w‖ / ‖d‖,  m ← μ·m + ratio·d,  u = −η_t·m.
   * The two agree exactly for a constant learning rate and λ = 0; they differ in the ratio's
   * denominator (‖g‖ + λ‖w‖ ≥ ‖g + λw‖) and in whether a schedule acts inside the momentum.
   */
  variant?: 'you2017' | 'sogclr';
  /**
   * Parameters that skip weight decay and the trust ratio (plain momentum SGD for them).
   * Default: `isVectorShaped` — a single row or column, the matrix analogue of the 1-D biases and
   * scales that the LARS of MoCo v3 / SogCLR (`p.ndim > 1`) and optax's masks leave out.
   */
  exclude?: (name: string, w: Matrix64) => boolean;
}

/**
 * LARS, per parameter matrix w with gradient g (see `LarsOptions.variant` for the two forms).
 * The ratio is 1 when ‖w‖ = 0 or its denominator is 0 (as the `where` guards of optax's
 * `scale_by_trust_ratio` and MoCo v3); with λ > 0 and g = 0 the You et al. ratio is trust/λ.
 */
export function lars(lr: number | Schedule, opts: LarsOptions = {}): GradientTransformation<LarsState> {
  const { momentum: mu = 0.9, weightDecay = 0, trust = 1e-3, variant = 'you2017', exclude = (_: string, w: Matrix64) => isVectorShaped(w) } = opts;
  assertRate('lars', 'lr', lr);
  assertDecay('lars', 'momentum', mu);
  assertNonNeg('lars', 'weightDecay', weightDecay);
  if (!(Number.isFinite(trust) && trust > 0)) throw new ConfigError('lars', `trust must be a finite number > 0, got ${trust}`);
  if (variant !== 'you2017' && variant !== 'sogclr') throw new ConfigError('lars', `variant must be 'you2017' or 'sogclr', got '${String(variant)}'`);
  const eta = asSchedule(lr);
  return {
    init: (params) => ({ count: 0, m: mapParams(params, like) }),
    update(grads, state, params, opts?: UpdateOptions) {
      assertSameParams('lars', 'grads', grads, 'state.m', state.m);
      assertSameParams('lars', 'grads', grads, 'params', params);
      const e = eta(state.count);
      const m: Record<string, Matrix64> = {};
      const free = donatable(opts?.donateState === true, state.m, grads, params);
      const updates = mapParams(grads, (g, k) => {
        const wMat = params[k]!;
        const skip = exclude(k, wMat);
        const wd = skip ? 0 : weightDecay;
        const w = entries(wMat);
        const gd = entries(g);
        const prev = entries(state.m[k]!);
        // d = g + λw (λ = 0 for skipped parameters)
        const d = new Float64Array(gd.length);
        for (let i = 0; i < d.length; i++) d[i] = gd[i]! + wd * w[i]!;
        let ratio = 1;
        if (!skip) {
          const wn = norm(w);
          const den = variant === 'you2017' ? norm(gd) + wd * wn : norm(d);
          ratio = wn === 0 || den === 0 ? 1 : (trust * wn) / den;
        }
        // you2017: the learning rate enters the momentum buffer; sogclr: it multiplies the buffer.
        const inScale = variant === 'you2017' ? e * ratio : ratio;
        const outScale = variant === 'you2017' ? -1 : -e;
        const mk = reuse(state.m[k]!, free);
        const u = like(g);
        const md = mk.data as Float64Array;
        const ud = u.data as Float64Array;
        for (let i = 0; i < ud.length; i++) {
          const mi = mu * prev[i]! + inScale * d[i]!;
          md[i] = mi;
          ud[i] = outScale * mi;
        }
        m[k] = mk;
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
    update(grads, state, params, opts?: UpdateOptions) {
      if (!Array.isArray(state) || state.length !== links.length) {
        throw new ConfigError('chain', `state must be an array of ${links.length} link states, got ${Array.isArray(state) ? `${state.length}` : typeof state}`);
      }
      let g = grads;
      const next: unknown[] = [];
      links.forEach((l, i) => {
        const r = l.update(g, state[i], params, opts);
        g = r.updates;
        next.push(r.state);
      });
      return { updates: g, state: next };
    },
  };
}

/** params + updates, as new contiguous float64 matrices. `updates` must name exactly the params. */
export function applyUpdates(params: Params, updates: Params): Record<string, Matrix64> {
  for (const k of Object.keys(updates)) {
    if (!(k in params)) throw new ConfigError('applyUpdates', `update for '${k}' has no parameter of that name`);
  }
  return mapParams(params, (p, k) => {
    const u = updates[k];
    if (!u || u.rows !== p.rows || u.cols !== p.cols) {
      throw new ConfigError('applyUpdates', `update for '${k}' is ${u ? shapeStr(u) : 'missing'}, parameter is ${shapeStr(p)}`);
    }
    const pd = entries(p);
    const ud = entries(u);
    const out = like(p);
    const od = out.data as Float64Array;
    for (let i = 0; i < od.length; i++) od[i] = pd[i]! + ud[i]!;
    return out;
  });
}

// ---- schedules ----

export const constantSchedule = (x: number): Schedule => () => x;

/**
 * Linear warm-up then half-cycle cosine (optax `warmup_cosine_decay_schedule` with init 0; the
 * `adjust_learning_rate` of MoCo v3 / SogCLR's code, there per fractional epoch):
 *   t < warmup:           peak·t/warmup                                   (0 at t = 0)
 *   warmup ≤ t < total:   end + (peak − end)·(1 + cos(π·(t − warmup)/(total − warmup)))/2   (peak at t = warmup)
 *   t ≥ total:            end
 * Continuous at t = warmup; with warmup = total there is no cosine phase (peak is never reached).
 * 0 ≤ warmup ≤ total (integers); t must be finite and ≥ 0 (fractional steps allowed).
 */
export function warmupCosine(peak: number, warmup: number, total: number, end = 0): Schedule {
  if (!Number.isFinite(peak) || !Number.isFinite(end)) throw new ConfigError('warmupCosine', `peak and end must be finite, got ${peak} and ${end}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new ConfigError('warmupCosine', `warmup must be an integer >= 0, got ${warmup}`);
  if (!Number.isInteger(total) || total < warmup) throw new ConfigError('warmupCosine', `total must be an integer >= warmup = ${warmup}, got ${total}`);
  return (t) => {
    if (!(Number.isFinite(t) && t >= 0)) throw new ConfigError('warmupCosine', `step must be a finite number >= 0, got ${t}`);
    if (t >= total) return end;
    if (t < warmup) return (peak * t) / warmup;
    const p = (t - warmup) / (total - warmup);
    return end + 0.5 * (peak - end) * (1 + Math.cos(Math.PI * p));
  };
}

/** SimCLR/SogCLR's square-root scaling rule: η = base·√B (SogCLR's default base is 0.075). */
export function sqrtBatchScaling(base: number, B: number): number {
  if (!Number.isFinite(base)) throw new ConfigError('sqrtBatchScaling', `base must be finite, got ${base}`);
  if (!Number.isInteger(B) || B < 1) throw new ConfigError('sqrtBatchScaling', `batch size B must be an integer >= 1, got ${B}`);
  return base * Math.sqrt(B);
}
