/**
 * The loss-blind samplers of THEORY 4: SGD with replacement, random reshuffling, a fixed
 * partition, the full batch and NcB (all C(N,B) batches at once).
 *
 * States are plain JSON data. Arrays in a state are never mutated: a new state may share an
 * array with the old one (the epoch order), so `next` stays pure and cheap.
 */
import { DomainError } from '../core/errors.ts';
import type { Rng } from '../core/random.ts';
import { AllBatches, assertContextRows, assertInitN, assertStateN, batchOfOrder, ceilDiv, stateInt, stateObject, stateRows } from './common.ts';
import type { Sampler, SamplerContext, SamplerStep } from './types.ts';
import { mutant } from '../core/mutants.ts';

/** Step counter within the current epoch (samplers with no other memory). */
export interface CounterState {
  readonly n: number;
  /** Update steps already taken in the current epoch. */
  readonly t: number;
}

/** An epoch order and the index of the next batch to serve. */
export interface OrderState {
  readonly n: number;
  /** The current epoch's order (a permutation of 0..N−1), or null before the epoch has drawn it. */
  readonly order: readonly number[] | null;
  /** Index of the next batch of `order` (0..⌈N/B⌉−1). */
  readonly next: number;
}

export type EmptyState = { readonly n: number };

function counterStep(spe: number, s: CounterState): { state: CounterState; epochEnd: boolean } {
  const t = s.t + 1;
  return t >= spe ? { state: { n: s.n, t: 0 }, epochEnd: true } : { state: { n: s.n, t }, epochEnd: false };
}

/**
 * SGD with replacement: each step one uniformly random B-subset (`rng.sample`, rows in draw order).
 * An epoch is ⌈N/B⌉ steps (the same count as reshuffling, so the two compare step for step).
 */
export function withReplacementSampler(n: number, B: number): Sampler<CounterState> {
  const name = 'with-replacement';
  return {
    name,
    B,
    stepsPerEpoch: (m) => ceilDiv(m, B),
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n, t: 0 };
    },
    next(ctx: SamplerContext, state: CounterState): SamplerStep<CounterState> {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      const batch = ctx.rng.sample(n, B);
      return { batches: [batch], ...counterStep(ceilDiv(n, B), state) };
    },
    checkState(state) {
      const op = `sampler ${name}`;
      stateInt(op, stateObject(op, state, n), 't', 0, ceilDiv(n, B) - 1);
    },
  };
}

/** An epoch order and batch index: `order` a permutation (or null before the epoch draws it, unless `fixed`). */
function checkOrderState(op: string, state: unknown, n: number, B: number, fixed: boolean): void {
  const s = stateObject(op, state, n);
  const next = stateInt(op, s, 'next', 0, ceilDiv(n, B) - 1);
  if (s.order !== null || fixed || next > 0) stateRows(op, s.order, 'order', n, true);
}

function orderNext(name: string, n: number, B: number, state: OrderState, order: readonly number[]): SamplerStep<OrderState> {
  const nb = ceilDiv(n, B);
  const batch = batchOfOrder(order, B, state.next);
  const next = state.next + 1;
  const keep = name === 'fixed' || (name === 'reshuffle' && mutant('reshuffle-reuses-first-epoch'));
  if (next >= nb) return { batches: [batch], state: { n, order: keep ? order : null, next: 0 }, epochEnd: true };
  return { batches: [batch], state: { n, order, next }, epochEnd: false };
}

/**
 * SGD without replacement (random reshuffling): at the first step of each epoch a fresh uniformly
 * random permutation (from that step's `ctx.rng`), cut into ⌈N/B⌉ batches by the uneven rule of
 * types.ts, served in order. The state holds the epoch's permutation until the epoch ends.
 */
export function reshuffleSampler(n: number, B: number): Sampler<OrderState> {
  const name = 'reshuffle';
  return {
    name,
    B,
    stepsPerEpoch: (m) => ceilDiv(m, B),
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n, order: null, next: 0 };
    },
    next(ctx, state) {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      const reuse = state.order !== null && mutant('reshuffle-reuses-first-epoch');
      const order = !reuse && (state.next === 0 || state.order === null) ? Array.from(ctx.rng.permutation(n)) : state.order!;
      return orderNext(name, n, B, state, order);
    },
    checkState: (state) => checkOrderState(`sampler ${name}`, state, n, B, false),
  };
}

/**
 * Fixed partition: one random permutation drawn once by `init` (from the rng given to it), cut by
 * the uneven rule into ⌈N/B⌉ batches, reused every epoch in the same order. `next` draws nothing.
 */
export function fixedSampler(n: number, B: number): Sampler<OrderState> {
  const name = 'fixed';
  return {
    name,
    B,
    stepsPerEpoch: (m) => ceilDiv(m, B),
    init: (m: number, rng: Rng) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n, order: Array.from(rng.permutation(n)), next: 0 };
    },
    next(ctx, state) {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      if (!Array.isArray(state.order) || state.order.length !== n) {
        throw new DomainError(`sampler ${name}`, `state.order must be the partition's order (${n} rows), got ${JSON.stringify(state.order)}`);
      }
      return orderNext(name, n, B, state, state.order);
    },
    checkState: (state) => checkOrderState(`sampler ${name}`, state, n, B, true),
  };
}

/** Full batch: one batch 0..N−1 per step; B = N; one step per epoch. */
export function fullSampler(n: number): Sampler<EmptyState> {
  const name = 'full';
  return {
    name,
    B: n,
    stepsPerEpoch: () => 1,
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n };
    },
    next(ctx, state) {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      const batch = new Int32Array(n);
      for (let i = 0; i < n; i++) batch[i] = i;
      return { batches: [batch], state: { n }, epochEnd: true };
    },
    checkState: (state) => void stateObject(`sampler ${name}`, state, n),
  };
}

/**
 * NcB: one step on the average over all C(N,B) batches, returned every step as a lazy sequence in
 * lexicographic order (`AllBatches`: enumerated on demand, never stored); one step per epoch; draws
 * no randomness. The cap on C(N,B) is checked when the sampler is built (`makeSampler`).
 */
export function ncbSampler(n: number, B: number): Sampler<EmptyState> {
  const name = 'ncb';
  return {
    name,
    B,
    stepsPerEpoch: () => 1,
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n };
    },
    next(ctx, state) {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      return { batches: new AllBatches(n, B), state: { n }, epochEnd: true };
    },
    checkState: (state) => void stateObject(`sampler ${name}`, state, n),
  };
}
