/**
 * two-papers: does picking hard batches (CHO's OSGD and spectral batches) help SogCLR or SimCLR at
 * small batch size, with an encoder (SOG's setting)? SimCLR, DCL and SogCLR (unimodal, γ = 0.9) at
 * B ∈ {8, 32, 128}, each with reshuffled, approximate-OSGD and spectral batches, on the
 * sogclr-small-batch setting (synthetic classes, n = 1024, p = 32, 8 classes, σ = 3, augment noise
 * 0.2 / mask 0.2, fixed views; linear encoder d = 16; τ = 0.1; momentum SGD lr 0.5), 5 seeds, with
 * full-batch GD run long as the reference F* of the objective gap.
 *
 * Approximate OSGD (k = 4, q = 1): each period shuffles the examples into ⌈N/B⌉ batches, scores them
 * in groups of k = 4 at the current encoder and trains on the hardest one of each group. Exhaustive
 * OSGD is out of reach (C(1024, 8) batches); k = 4 divides ⌈N/B⌉ for every B here (128, 32, 8 at
 * N = 1024; 16, 4 at the smoke size's N = 128), so every group is full, and keeping 1 of 4 is a
 * strong selection at the price of 4 scored batches per step. A period (the sampler's epoch) is a
 * quarter of the reshuffled epoch's steps, so the approximate-OSGD arms get 4x the epochs: every arm
 * of a given B takes the same number of update steps, and the figures are against steps.
 */
import type { CompactStudy } from '../studyLanguage.ts';
import { ESTIMATOR_LABELS, fullBatch, REFERENCE, setting, sogclr } from './sogclr.ts';
import type { PresetInfo } from './types.ts';

/** Batches scored per group and kept per group by approximate OSGD. */
export const APPROX_OSGD = { k: 4, q: 1 } as const;

export const TWO_PAPERS_SIZES = {
  full: { n: 1024, epochs: 30, seeds: 5, referenceEpochs: 500, Bs: [8, 32, 128] },
  smoke: { n: 128, epochs: 2, seeds: 2, referenceEpochs: 20, Bs: [8, 32] },
} as const;

function twoPapers(size: 'full' | 'smoke'): CompactStudy {
  const z = TWO_PAPERS_SIZES[size];
  const { k, q } = APPROX_OSGD;
  const batched = { 'sampler.kind': ['reshuffle', 'approx-osgd', 'spectral'] };
  const byMethodAndSampler = { by: ['estimator', 'sampler.kind'], name: '{estimator} {sampler.kind}', x: 'sampler.B', where: batched };
  const panels = { by: 'sampler.B', title: 'B = {sampler.B}' };
  const curves = (metric: string, what: string, logY: boolean) => ({
    name: `${metric}-{estimator}`, title: `{estimator}: ${what} against update steps, per B`, metric, x: 'step', ...(logY ? { logY } : {}), panels,
  });
  return {
    name: size === 'full' ? 'two-papers' : 'two-papers-smoke',
    description: `Hard batches for an encoder: SimCLR, DCL and SogCLR (γ = 0.9) at B ∈ {${z.Bs.join(', ')}} with reshuffled, approximate-OSGD (k = ${k}, q = ${q}) and spectral batches; `
      + `linear encoder on ${z.n} synthetic-classes examples (fixed views), unimodal GCL (τ = 0.1, ε₀ = 0) logged exactly, ${z.epochs} epochs (approximate OSGD: ${z.epochs * k / q} periods, the same steps), `
      + `${z.seeds} seeds, SGD with momentum 0.9, lr 0.5; F* from full-batch GD run ${z.referenceEpochs} steps.`,
    defaults: setting(z),
    experiments: [fullBatch(REFERENCE, z, true)],
    grid: {
      estimator: [{ kind: 'simclr', tau: 0.1 }, { kind: 'dcl', modality: 'unimodal', tau: 0.1 }, sogclr(0.1, 0.9)],
      'sampler.B': [...z.Bs],
      'sampler.kind': [
        { label: 'reshuffled', value: 'reshuffle' },
        { label: 'approx-OSGD', value: 'approx-osgd', with: { 'sampler.k': k, 'sampler.q': q, 'budget.epochs': z.epochs * k / q } },
        'spectral',
      ],
    },
    labels: { estimator: ESTIMATOR_LABELS },
    names: '{estimator} B={sampler.B} {sampler.kind}',
    gapReference: REFERENCE,
    figures: [{
      forEach: 'estimator', where: batched,
      figures: [curves('objectiveGap', 'exact F − F*', true), curves('probe', 'linear-probe accuracy (held out)', false), curves('knn', 'k-NN accuracy (held out)', false)],
    }],
    sweeps: [
      { name: 'final-gap-vs-B', title: 'Final exact F gap to the full-batch optimum against B, per method and batch sampler', metric: 'objectiveGap', xTitle: 'batch size B', logX: true, logY: true, series: byMethodAndSampler },
      { name: 'probe-vs-B', title: 'Final linear-probe accuracy (held out) against B, per method and batch sampler', metric: 'probe', xTitle: 'batch size B', logX: true, series: byMethodAndSampler, referenceArm: REFERENCE },
    ],
    notes: 'Question: does CHO\'s hard-batch selection (OSGD, spectral) help the encoder methods of SOG at small B? SimCLR and DCL are plug-in estimators of F, biased at small B; '
      + 'SogCLR\'s moving average removes most of that bias (sogclr-small-batch). Hard batches raise the loss of each step\'s batch; for a plug-in estimator they also change which '
      + 'negatives its bias is taken over, and for SogCLR they change how often each example\'s u is refreshed. '
      + `Approximate OSGD keeps the hardest ${q} of every ${k} shuffled batches, so a period sees about ${q}/${k} of the examples; its arms run ${k / q}x the epochs so that every arm of a B `
      + 'takes the same number of update steps (the figures are against steps). Compare the final objectiveGap and probe accuracy paired by seed, per B.',
  };
}

export const TWO_PAPERS_PRESET: PresetInfo = {
  name: 'two-papers',
  description: 'does picking hard batches help SogCLR or SimCLR at small batch size, with an encoder? SimCLR, DCL, SogCLR at B = 8, 32, 128 with reshuffled, approximate-OSGD and spectral batches',
  spec: twoPapers,
};
