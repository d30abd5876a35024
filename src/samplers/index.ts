/**
 * Batch samplers (THEORY 4): `makeSampler(spec, N)` validates a sampler spec and builds the sampler
 * for N rows. Samplers are pure `init`/`next` pairs over plain-JSON states (see types.ts); every
 * random draw goes through the rng handed to `init` or the step's `ctx.rng`.
 *
 *   with-replacement          one uniformly random B-subset per step; epoch = ⌈N/B⌉ steps
 *   reshuffle                 a fresh permutation per epoch cut into ⌈N/B⌉ batches (uneven rule)
 *   fixed                     one permutation drawn at init, cut the same way, reused every epoch
 *   full                      the batch 0..N−1; B = N; 1 step per epoch
 *   ncb                       all C(N,B) batches in one step (a lazy sequence); 1 step per epoch
 *   osgd                      exhaustive max-loss batch each step; epoch = ⌈N/B⌉ steps
 *   osgd-without-replacement  max-loss batch among the rows not yet used this epoch; ⌈N/B⌉ steps
 *   approx-osgd (k, q)        top ⌈q·m/k⌉ of each group of m ≤ k shuffled batches; epoch = one period
 *   spectral                  CHO Algorithm 1 at the start of each epoch, then one batch per step
 *
 * Ties in the exhaustive searches go to the lexicographically smallest batch (see osgd.ts). Every
 * batch has B >= 2 rows (`full`: N >= 2): a batch of one row has no negatives.
 *
 * Example:
 *   const s = makeSampler({ kind: 'reshuffle', B: 4 }, 10);
 *   let state = s.init(10, rng.split());
 *   const { batches, state: next, epochEnd } = s.next({ U, V, tau: 1, backend, rng: rng.split(), step: 0 }, state);
 */
import { assertBatchCount, DEFAULT_MAX_BATCHES } from '../core/combinatorics.ts';
import { ConfigError, DomainError } from '../core/errors.ts';
import { assertBatchSize, assertPositiveInt } from '../core/validate.ts';
import { MIN_BATCH } from './common.ts';
import { approxOsgdSampler, osgdSampler, osgdWithoutReplacementSampler } from './osgd.ts';
import { fixedSampler, fullSampler, ncbSampler, reshuffleSampler, withReplacementSampler } from './random.ts';
import { spectralSampler } from './spectralSampler.ts';
import type { Sampler, SamplerSpec } from './types.ts';

export type { BatchScorer, BatchSequence, Sampler, SamplerContext, SamplerSpec, SamplerState, SamplerStep } from './types.ts';
export { AllBatches, batchLoss, batchOfOrder, cutIntoBatches, MIN_BATCH } from './common.ts';
export {
  approxOsgdKeep, approxOsgdStepsPerEpoch, maxLossBatch, planApproxOsgd,
  type ApproxOsgdOptions, type ApproxOsgdPlan, type ApproxOsgdState, type MaxLossBatch, type OsgdState, type OsgdWithoutReplacementState,
} from './osgd.ts';
export type { CounterState, EmptyState, OrderState } from './random.ts';
export type { SpectralSamplerOptions, SpectralSamplerState } from './spectralSampler.ts';

/** Every sampler kind `makeSampler` accepts. */
export const SAMPLER_KINDS = [
  'with-replacement', 'reshuffle', 'fixed', 'full', 'ncb', 'osgd', 'osgd-without-replacement', 'approx-osgd', 'spectral',
] as const satisfies readonly SamplerSpec['kind'][];

const SOLVERS = ['dense', 'lanczos', 'auto'] as const;

function maxBatchesOf(op: string, spec: { maxBatches?: number }): number {
  const cap = spec.maxBatches ?? DEFAULT_MAX_BATCHES;
  if (cap !== Infinity && (!Number.isInteger(cap) || cap < 1)) {
    throw new DomainError(op, `maxBatches must be an integer >= 1 or Infinity, got ${cap}`);
  }
  return cap;
}

/**
 * Validates `spec` for N = `n` rows and builds the sampler. Throws ConfigError for a spec that is not
 * an object or names an unknown kind, DomainError for N < 1, B outside 2..N (`full`: N < 2), a bad maxBatches, k < 1
 * or q outside 1..k, a bad groupSize (not a positive multiple of B) or solver, and CapExceededError when an exhaustive sampler
 * (ncb, osgd, osgd-without-replacement) would enumerate more than maxBatches (default
 * DEFAULT_MAX_BATCHES) batches, i.e. C(N,B) > maxBatches. `spectral` needs groupSize to be a multiple of B.
 */
export function makeSampler(spec: SamplerSpec, n: number): Sampler {
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new ConfigError('makeSampler', `spec must be an object with a "kind", got ${JSON.stringify(spec)}`);
  }
  const kind = (spec as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !(SAMPLER_KINDS as readonly string[]).includes(kind)) {
    throw new ConfigError('makeSampler', `unknown sampler kind ${JSON.stringify(kind)}; expected one of ${SAMPLER_KINDS.join(', ')}`);
  }
  const op = `makeSampler(${kind})`;
  assertPositiveInt(op, 'N', n);
  if (spec.kind === 'full') {
    if (n < MIN_BATCH) throw new DomainError(op, `the full batch of N = ${n} row has no negatives; N must be >= ${MIN_BATCH}`);
    return fullSampler(n);
  }
  const B = spec.B;
  assertBatchSize(op, B, n); // B in [2, N]
  switch (spec.kind) {
    case 'with-replacement':
      return withReplacementSampler(n, B);
    case 'reshuffle':
      return reshuffleSampler(n, B);
    case 'fixed':
      return fixedSampler(n, B);
    case 'ncb':
      assertBatchCount(op, n, B, maxBatchesOf(op, spec));
      return ncbSampler(n, B);
    case 'osgd':
      assertBatchCount(op, n, B, maxBatchesOf(op, spec));
      return osgdSampler(n, B);
    case 'osgd-without-replacement':
      // The first step of each epoch searches all C(N,B) batches: the largest enumeration.
      assertBatchCount(op, n, B, maxBatchesOf(op, spec));
      return osgdWithoutReplacementSampler(n, B);
    case 'approx-osgd': {
      const { k, q } = spec;
      assertPositiveInt(op, 'k', k);
      if (!Number.isInteger(q) || q < 1 || q > k) throw new DomainError(op, `q must be an integer in 1..k = ${k}, got ${q}`);
      return approxOsgdSampler(n, B, k, q);
    }
    case 'spectral': {
      const { groupSize, solver } = spec;
      if (groupSize !== undefined) {
        assertPositiveInt(op, 'groupSize', groupSize);
        if (groupSize % B !== 0) throw new DomainError(op, `groupSize must be a multiple k·B of B = ${B}, got ${groupSize}`);
      }
      if (solver !== undefined && !(SOLVERS as readonly string[]).includes(solver)) {
        throw new DomainError(op, `solver must be one of ${SOLVERS.join(', ')}, got ${JSON.stringify(solver)}`);
      }
      return spectralSampler(n, B, { groupSize, solver });
    }
  }
}
