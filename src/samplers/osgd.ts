/**
 * Loss-driven samplers of THEORY 4 (CHO): ordered SGD (Kawaguchi & Lu 2020) by exhaustive search,
 * its without-replacement variant, and CHO's approximate OSGD (k, q).
 *
 * Every batch is scored by `batchLoss` (two-sided InfoNCE on the batch's rows, THEORY 2.1) at the
 * parameters in the step's context, with the context's τ and backend.
 *
 * Ties: the exhaustive searches enumerate candidate batches in lexicographic order of their
 * (ascending) row indices and keep the first batch that attains the maximum, i.e. ties go to the
 * lexicographically smallest batch. Ties are judged on the computed float64 losses.
 */
import type { Backend } from '../backend/types.ts';
import { combinations } from '../core/combinatorics.ts';
import type { Matrix } from '../core/matrix.ts';
import { DomainError } from '../core/errors.ts';
import type { Rng } from '../core/random.ts';
import { assertContextRows, assertInitN, assertStateN, batchLoss, ceilDiv, cutIntoBatches, stateInt, stateObject, stateQueue, stateRows, toArray } from './common.ts';
import type { BatchScorer, Sampler, SamplerStep } from './types.ts';
import { mutant } from '../core/mutants.ts';

export interface MaxLossBatch {
  /** The chosen batch, rows ascending. */
  readonly batch: Int32Array;
  readonly loss: number;
  /** Number of candidate batches scored, C(|rows|, B). */
  readonly scored: number;
}

/**
 * argmax over all B-subsets b of `rows` of L(U_b, V_b), exhaustively. `rows` must be ascending and
 * distinct (then the enumeration is lexicographic in row indices); ties go to the lexicographically
 * smallest batch. The caller checks the C(|rows|, B) cap.
 */
export function maxLossBatch(U: Matrix, V: Matrix, rows: ArrayLike<number>, B: number, tau: number, backend?: Backend, score: BatchScorer = batchLoss): MaxLossBatch {
  const pick = new Int32Array(B);
  let best: Int32Array | null = null;
  let bestLoss = -Infinity;
  let scored = 0;
  const minimum = mutant('osgd-min-loss');
  for (const c of combinations(rows.length, B)) {
    for (let t = 0; t < B; t++) pick[t] = rows[c[t]!]!;
    const l = score(U, V, pick, tau, backend);
    scored++;
    if (best === null || (minimum ? l < bestLoss : l > bestLoss)) {
      best = pick.slice();
      bestLoss = l;
    }
  }
  if (best === null) throw new RangeError(`maxLossBatch: no ${B}-subset of ${rows.length} rows`);
  return { batch: best, loss: bestLoss, scored };
}

/** State of `osgd`: the step counter within the epoch. */
export interface OsgdState {
  readonly n: number;
  readonly t: number;
}

/**
 * OSGD: each step the exhaustive argmax_b L(U_b, V_b) over all C(N,B) batches (ties: the
 * lexicographically smallest). An epoch is ⌈N/B⌉ steps (as for reshuffling). Draws no randomness.
 */
export function osgdSampler(n: number, B: number): Sampler<OsgdState> {
  const name = 'osgd';
  const all = Array.from({ length: n }, (_, i) => i);
  const spe = ceilDiv(n, B);
  return {
    name,
    B,
    stepsPerEpoch: (m) => ceilDiv(m, B),
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n, t: 0 };
    },
    next(ctx, state): SamplerStep<OsgdState> {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      const { batch } = maxLossBatch(ctx.U, ctx.V, all, B, ctx.tau, ctx.backend, ctx.score);
      const t = state.t + 1;
      return t >= spe ? { batches: [batch], state: { n, t: 0 }, epochEnd: true } : { batches: [batch], state: { n, t }, epochEnd: false };
    },
    checkState(state) {
      const op = `sampler ${name}`;
      stateInt(op, stateObject(op, state, n), 't', 0, spe - 1);
    },
  };
}

/** State of `osgd-without-replacement`: the rows used so far this epoch, in the order they were chosen. */
export interface OsgdWithoutReplacementState {
  readonly n: number;
  readonly used: readonly number[];
}

/**
 * OSGD without replacement: within an epoch, each step takes the max-loss batch among the rows not
 * yet used this epoch (exhaustive over C(remaining, B); ties: the lexicographically smallest).
 * The epoch order is the concatenation of the chosen batches (each ascending). When B does not
 * divide N, the last step's batch is the r = N mod B remaining rows (ascending) followed by the
 * first B − r rows of the epoch order (the uneven rule of types.ts); no search happens there.
 * An epoch is ⌈N/B⌉ steps. Draws no randomness.
 */
export function osgdWithoutReplacementSampler(n: number, B: number): Sampler<OsgdWithoutReplacementState> {
  const name = 'osgd-without-replacement';
  return {
    name,
    B,
    stepsPerEpoch: (m) => ceilDiv(m, B),
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n, used: [] };
    },
    next(ctx, state): SamplerStep<OsgdWithoutReplacementState> {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      const isUsed = new Uint8Array(n);
      for (const i of state.used) isUsed[i] = 1;
      const remaining: number[] = [];
      for (let i = 0; i < n; i++) if (!isUsed[i]) remaining.push(i);
      let batch: Int32Array;
      if (remaining.length >= B) {
        batch = maxLossBatch(ctx.U, ctx.V, remaining, B, ctx.tau, ctx.backend, ctx.score).batch;
      } else {
        const r = remaining.length;
        batch = new Int32Array(B);
        batch.set(remaining, 0);
        for (let t = r; t < B; t++) batch[t] = state.used[t - r]!;
      }
      if (remaining.length <= B) return { batches: [batch], state: { n, used: [] }, epochEnd: true };
      return { batches: [batch], state: { n, used: state.used.concat(toArray(batch)) }, epochEnd: false };
    },
    checkState(state) {
      // Mid-epoch: the rows of the whole batches chosen so far, with more than B rows left.
      const op = `sampler ${name}`;
      const used = stateRows(op, stateObject(op, state, n).used, 'used', n, false);
      if (used.length % B !== 0 || used.length >= n) {
        throw new DomainError(op, `state.used must hold a multiple of B = ${B} rows, fewer than N = ${n}, got ${used.length}`);
      }
    },
  };
}

/** How many batches approximate OSGD keeps from a group of m ≤ k batches: ⌈q·m/k⌉ (= q for a full group). */
export function approxOsgdKeep(m: number, k: number, q: number): number {
  return Math.floor((q * m + k - 1) / k);
}

/** Update steps in one period (epoch) of approximate OSGD at N rows: the kept batches of all groups. */
export function approxOsgdStepsPerEpoch(n: number, B: number, k: number, q: number): number {
  const nb = ceilDiv(n, B);
  const full = Math.floor(nb / k);
  const rest = nb - full * k;
  return full * q + (rest > 0 ? approxOsgdKeep(rest, k, q) : 0);
}

export interface ApproxOsgdOptions {
  readonly B: number;
  readonly k: number;
  readonly q: number;
  readonly tau: number;
  readonly rng: Rng;
  readonly backend?: Backend;
  /** The batch loss to rank by (default batchLoss, the two-sided InfoNCE). */
  readonly score?: BatchScorer;
}

/** One period of approximate OSGD, with everything a check needs. */
export interface ApproxOsgdPlan {
  /** The shuffle: a uniformly random permutation of 0..N−1 (one `rng.permutation(N)` draw). */
  readonly order: Int32Array;
  /** The ⌈N/B⌉ batches cut from `order` by the uneven rule; group g is batches [g·k, min((g+1)·k, ⌈N/B⌉)). */
  readonly batches: Int32Array[];
  /** scores[i] = L(U_b, V_b) of batches[i] at the given parameters. */
  readonly scores: Float64Array;
  /** Indices into `batches` of the kept batches, in serving order. */
  readonly selected: number[];
}

/**
 * Draws and scores one period of approximate OSGD (CHO's `osgd_kb_loose`): shuffle, cut into
 * ⌈N/B⌉ batches (uneven rule), cut the batches into consecutive groups of k, score every batch,
 * keep the ⌈q·m/k⌉ highest of each group of m batches (q for every full group; CHO's code drops
 * the rows of a partial group, this keeps the same fraction of it instead), served group by group,
 * within a group by decreasing loss (ties: earlier position in the group first).
 */
export function planApproxOsgd(U: Matrix, V: Matrix, opts: ApproxOsgdOptions): ApproxOsgdPlan {
  const { B, k, q, tau, rng, backend } = opts;
  const score = opts.score ?? batchLoss;
  const order = rng.permutation(U.rows);
  const batches = cutIntoBatches(order, B);
  const nb = batches.length;
  const scores = new Float64Array(nb);
  for (let i = 0; i < nb; i++) scores[i] = score(U, V, batches[i]!, tau, backend);
  const selected: number[] = [];
  for (let g0 = 0; g0 < nb; g0 += k) {
    const g1 = Math.min(g0 + k, nb);
    const idx: number[] = [];
    for (let i = g0; i < g1; i++) idx.push(i);
    idx.sort((a, b) => scores[b]! - scores[a]! || a - b);
    for (let t = 0; t < approxOsgdKeep(g1 - g0, k, q); t++) selected.push(idx[t]!);
  }
  return { order, batches, scores, selected };
}

/** State of `approx-osgd`: the kept batches of the current period and the index of the next one. */
export interface ApproxOsgdState {
  readonly n: number;
  /** Kept batches of the current period, in serving order (empty before a period is drawn). */
  readonly queue: readonly (readonly number[])[];
  readonly next: number;
}

/**
 * Approximate OSGD (k, q). When the queue of kept batches is empty, one period is drawn and scored
 * at the current parameters (`planApproxOsgd`, randomness from that step's `ctx.rng`); then one
 * kept batch is served per step. An epoch is one period: one pass over the kept batches of all
 * groups, `approxOsgdStepsPerEpoch(N, B, k, q)` = ⌊⌈N/B⌉/k⌋·q + ⌈q·(⌈N/B⌉ mod k)/k⌉ steps
 * (≈ ⌈N/B⌉·q/k), so an epoch sees about a q/k fraction of the rows, not all of them.
 */
export function approxOsgdSampler(n: number, B: number, k: number, q: number): Sampler<ApproxOsgdState> {
  const name = 'approx-osgd';
  return {
    name,
    B,
    stepsPerEpoch: (m) => approxOsgdStepsPerEpoch(m, B, k, q),
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n, queue: [], next: 0 };
    },
    next(ctx, state): SamplerStep<ApproxOsgdState> {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      let queue = state.queue;
      let next = state.next;
      if (next >= queue.length) {
        const plan = planApproxOsgd(ctx.U, ctx.V, { B, k, q, tau: ctx.tau, rng: ctx.rng, backend: ctx.backend, ...(ctx.score ? { score: ctx.score } : {}) });
        queue = plan.selected.map((i) => toArray(plan.batches[i]!));
        next = 0;
      }
      const batch = Int32Array.from(queue[next]!);
      next++;
      if (next >= queue.length) return { batches: [batch], state: { n, queue: [], next: 0 }, epochEnd: true };
      return { batches: [batch], state: { n, queue, next }, epochEnd: false };
    },
    checkState(state) {
      const op = `sampler ${name}`;
      stateQueue(op, stateObject(op, state, n), n, B, approxOsgdStepsPerEpoch(n, B, k, q));
    },
  };
}
