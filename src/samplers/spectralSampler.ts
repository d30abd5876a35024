/**
 * The spectral-clustering sampler (CHO Algorithm 1, THEORY 4): at the first step of each epoch the
 * clustering is recomputed at the current parameters by `spectralBatches` (spectral.ts; randomness
 * from that step's `ctx.rng`, τ and backend from the context), and its ⌈N/B⌉ batches are then
 * served one per step in the order it returns them (a topped-up batch, when B ∤ N, last). An epoch
 * is those ⌈N/B⌉ steps.
 */
import { assertContextRows, assertInitN, assertStateN, ceilDiv, stateObject, stateQueue, toArray } from './common.ts';
import { spectralBatches } from './spectral.ts';
import type { Sampler, SamplerStep } from './types.ts';

/** State of `spectral`: this epoch's batches and the index of the next one. */
export interface SpectralSamplerState {
  readonly n: number;
  /** This epoch's batches, in serving order (empty before the epoch's clustering). */
  readonly queue: readonly (readonly number[])[];
  readonly next: number;
}

export interface SpectralSamplerOptions {
  readonly groupSize?: number;
  readonly solver?: 'dense' | 'lanczos' | 'auto';
}

export function spectralSampler(n: number, B: number, opts: SpectralSamplerOptions = {}): Sampler<SpectralSamplerState> {
  const name = 'spectral';
  return {
    name,
    B,
    stepsPerEpoch: (m) => ceilDiv(m, B),
    init: (m: number) => {
      assertInitN(`sampler ${name}`, m, n);
      return { n, queue: [], next: 0 };
    },
    next(ctx, state): SamplerStep<SpectralSamplerState> {
      assertStateN(`sampler ${name}`, state, n);
      assertContextRows(`sampler ${name}`, ctx, n);
      let queue = state.queue;
      let next = state.next;
      if (next >= queue.length) {
        const batches = spectralBatches(ctx.U, ctx.V, {
          tau: ctx.tau, B, rng: ctx.rng, backend: ctx.backend,
          ...(opts.groupSize !== undefined ? { groupSize: opts.groupSize } : {}),
          ...(opts.solver !== undefined ? { solver: opts.solver } : {}),
        });
        queue = batches.map(toArray);
        next = 0;
      }
      const batch = Int32Array.from(queue[next]!);
      next++;
      if (next >= queue.length) return { batches: [batch], state: { n, queue: [], next: 0 }, epochEnd: true };
      return { batches: [batch], state: { n, queue, next }, epochEnd: false };
    },
    checkState(state) {
      const op = `sampler ${name}`;
      stateQueue(op, stateObject(op, state, n), n, B, ceilDiv(n, B));
    },
  };
}
