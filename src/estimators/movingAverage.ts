/**
 * SogCLR's per-anchor moving averages u (THEORY 5), as explicit, serialisable state.
 *
 *   u_a ← ĝ_a                          on the first visit of a (per entry; optionally per batch, a pitfall)
 *   u_a ← (1−γ)·u_a + γ·ĝ_a           afterwards
 *
 * Storage with a max shift (SOG's code): slot k holds s_k = u_k·e^{−b_k}, with b_k the running max of
 * log ĝ over the visits of k, so s ≤ 1 and u itself is never formed (at τ = 0.01, ĝ can reach
 * e^{200}; at τ = 0.002, e^{1000} overflows float64). The update is SOG's rescaling
 *   b' = max(b, log ĝ),   s' = (1−γ)·s·e^{b−b'} + γ·e^{log ĝ − b'}
 * evaluated as log u' = logaddexp(log(1−γ) + log s + b, log γ + log ĝ) (the same number, without
 * underflow), then s' = e^{log u' − b'}. Should s' leave [2^−600, 2^600] (log ĝ falling by more
 * than ~400 below its running max, or the diverging sum-storage pitfall) the slot is renormalised
 * to b' = log u', s' = 1; b is then no longer the running max, and the representation stays exact.
 * The weights need only log u = b + log s.
 *
 * Slots: with a shared u (SOG's official code) one slot per example (length N), holding the mean of
 * the two anchors' updated values (or their sum, the `sumStorage` pitfall); otherwise one slot per
 * anchor (length 2N): slot i for example i's first anchor, N + i for its second (bimodal: u1_i, u2_i;
 * unimodal: view 1, view 2). With a shared u each anchor's weight uses its own updated value
 * (1−γ)·u_i + γ·ĝ_a, as SOG's code does (u1, u2 before the mean is stored).
 */
import { ConfigError, ShapeError } from '../core/errors.ts';

export interface MovingAverageState {
  /** Number of examples N. */
  readonly n: number;
  /** One slot per example (true) or per anchor (false). */
  readonly shared: boolean;
  /** u·e^{−b} per slot. */
  readonly s: Float64Array;
  /** The shift b per slot (running max of log ĝ). */
  readonly b: Float64Array;
  /** 1 once the slot has been visited. */
  readonly visited: Int32Array;
}

export interface MovingAverageRules {
  /** Shared slot stores u1 + u2 instead of (u1 + u2)/2. */
  readonly sumStorage?: boolean;
  /** γ = 1 only when every slot of the batch is unvisited (instead of per slot). */
  readonly batchFirstVisit?: boolean;
}

const S_MIN = 2 ** -600;
const S_MAX = 2 ** 600;

export function slotCount(n: number, shared: boolean): number {
  return shared ? n : 2 * n;
}

export function initMovingAverage(n: number, shared: boolean): MovingAverageState {
  const m = slotCount(n, shared);
  return { n, shared, s: new Float64Array(m), b: new Float64Array(m), visited: new Int32Array(m) };
}

/** A state with every slot visited at the given log u (e.g. the exact log g; tests and analysis). */
export function movingAverageFromLogU(n: number, shared: boolean, logU: Float64Array): MovingAverageState {
  const st = initMovingAverage(n, shared);
  if (logU.length !== st.s.length) {
    throw new ShapeError('movingAverageFromLogU', `logU has length ${logU.length} but N = ${n} with shared = ${shared} has ${st.s.length} slots`);
  }
  for (let k = 0; k < logU.length; k++) {
    st.b[k] = logU[k]!;
    st.s[k] = 1;
    st.visited[k] = 1;
  }
  return st;
}

/** log u per slot (−Infinity where the slot is unvisited). */
export function movingAverageLogU(st: MovingAverageState): Float64Array {
  const out = new Float64Array(st.s.length);
  for (let k = 0; k < out.length; k++) out[k] = st.visited[k] ? st.b[k]! + Math.log(st.s[k]!) : -Infinity;
  return out;
}

/** Checks a (possibly decoded) state: types and lengths. */
export function checkMovingAverage(op: string, st: MovingAverageState, shared: boolean): void {
  const ok = st !== null && typeof st === 'object' && Number.isInteger(st.n) && st.n >= 1
    && st.s instanceof Float64Array && st.b instanceof Float64Array && st.visited instanceof Int32Array;
  if (!ok) throw new ConfigError(op, 'state must be {n, shared, s: Float64Array, b: Float64Array, visited: Int32Array} (from init or decodeState)');
  if (st.shared !== shared) throw new ConfigError(op, `state has shared = ${st.shared} but the estimator has sharedU = ${shared}`);
  const m = slotCount(st.n, shared);
  if (st.s.length !== m || st.b.length !== m || st.visited.length !== m) {
    throw new ShapeError(op, `state arrays must have ${m} slots for N = ${st.n}, got s ${st.s.length}, b ${st.b.length}, visited ${st.visited.length}`);
  }
}

/** A deep copy (O(N)): the estimators' `clone`. */
export function copyMovingAverage(st: MovingAverageState): MovingAverageState {
  return { n: st.n, shared: st.shared, s: st.s.slice(), b: st.b.slice(), visited: st.visited.slice() };
}

function logAddExp(x: number, y: number): number {
  if (x === -Infinity) return y;
  if (y === -Infinity) return x;
  return x > y ? x + Math.log1p(Math.exp(y - x)) : y + Math.log1p(Math.exp(x - y));
}

/** log((1−γ)·u + γ·ĝ) with u = s·e^b (s = 0: u = 0). */
function logMix(gamma: number, s: number, b: number, lg: number): number {
  const t1 = s > 0 && gamma < 1 ? Math.log1p(-gamma) + Math.log(s) + b : -Infinity;
  return logAddExp(t1, Math.log(gamma) + lg);
}

/** Writes log-value `lu` into slot k with shift candidate `bNew`, renormalising when s would leave range. */
function store(st: MovingAverageState, k: number, lu: number, bNew: number): void {
  let s = Math.exp(lu - bNew);
  if (!(s >= S_MIN && s <= S_MAX)) {
    bNew = lu;
    s = 1;
  }
  st.s[k] = s;
  st.b[k] = bNew;
  st.visited[k] = 1;
}

/**
 * Updates, in place, the slots of a batch's anchors (no other slot is read or written: O(B) work) and
 * returns log u per anchor (anchor layout, length 2B) for the weights. `index` holds the batch's data
 * indices (distinct, so each slot is written once and never read after its write within a batch),
 * `logG` log ĝ per anchor.
 */
export function updateMovingAverage(st: MovingAverageState, index: Int32Array, logG: Float64Array, gamma: number, rules: MovingAverageRules = {}): Float64Array {
  const B = index.length;
  const n = st.n;
  const logU = new Float64Array(2 * B);
  let batchFresh = false;
  if (rules.batchFirstVisit) {
    batchFresh = true;
    for (let r = 0; r < B && batchFresh; r++) {
      const i = index[r]!;
      if (st.shared ? st.visited[i] : st.visited[i] || st.visited[n + i]) batchFresh = false;
    }
  }
  const first = (k: number) => (rules.batchFirstVisit ? batchFresh : !st.visited[k]) || gamma === 1;
  if (!st.shared) {
    for (let a = 0; a < 2 * B; a++) {
      const k = a < B ? index[a]! : n + index[a - B]!;
      const lg = logG[a]!;
      if (first(k)) {
        logU[a] = lg;
        store(st, k, lg, lg);
      } else {
        const s = st.s[k]!;
        const b = st.b[k]!;
        const lu = logMix(gamma, s, b, lg);
        logU[a] = lu;
        store(st, k, lu, s > 0 ? Math.max(b, lg) : lg);
      }
    }
    return logU;
  }
  const agg = rules.sumStorage ? 0 : Math.LN2; // log of the mean = logaddexp − log 2
  for (let r = 0; r < B; r++) {
    const k = index[r]!;
    const lg1 = logG[r]!;
    const lg2 = logG[B + r]!;
    let lu1: number;
    let lu2: number;
    let bNew: number;
    if (first(k)) {
      lu1 = lg1;
      lu2 = lg2;
      bNew = Math.max(lg1, lg2);
    } else {
      const s = st.s[k]!;
      const b = st.b[k]!;
      lu1 = logMix(gamma, s, b, lg1);
      lu2 = logMix(gamma, s, b, lg2);
      bNew = s > 0 ? Math.max(b, lg1, lg2) : Math.max(lg1, lg2);
    }
    logU[r] = lu1;
    logU[B + r] = lu2;
    store(st, k, logAddExp(lu1, lu2) - agg, bNew);
  }
  return logU;
}

/** Data-index checks for a batch: length B, integers in [0, n), distinct. */
export function checkIndex(op: string, index: Int32Array, B: number, n: number): void {
  if (!(index instanceof Int32Array)) throw new ConfigError(op, 'index must be an Int32Array of data indices');
  if (index.length !== B) throw new ShapeError(op, `index has length ${index.length} but the batch has B = ${B} rows`);
  const seen = new Set<number>();
  for (let r = 0; r < B; r++) {
    const i = index[r]!;
    if (i < 0 || i >= n) throw new ShapeError(op, `index[${r}] = ${i} is outside 0..${n - 1} (the state was made for N = ${n})`);
    if (seen.has(i)) throw new ShapeError(op, `index[${r}] = ${i} repeats an earlier entry; a batch holds distinct examples`);
    seen.add(i);
  }
}
