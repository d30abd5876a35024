/**
 * The SogCLR studies (THEORY 5): the same data, model and epoch budget for full-batch gradient
 * descent, SimCLR (plug-in NT-Xent) and SogCLR at several batch sizes, with the exact global
 * objective F (unimodal GCL, ε₀ = 0) logged every epoch — the synthetic analogue of SOG's ImageNet
 * batch-size curve — plus sweeps of γ and τ and the sum-storage pitfall.
 *
 * Setting: a linear encoder u = normalize(W x) (d = 16) on K = 8 latent classes in R^32 (σ = 3, so
 * a random encoder is far from perfect downstream), two augmented views per example (noise 0.2,
 * masking 0.2); τ = 0.1; SGD with momentum 0.9 at a learning rate that does not depend on B (the
 * same per-step rule for every method, as in SOG's analysis); the batch estimators see B examples
 * (2B views) per step, drawn by reshuffling.
 */
import type { CompactStudy } from '../studyLanguage.ts';
import type { PresetInfo } from './types.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const seedsOf = (k: number) => Array.from({ length: k }, (_, i) => i);

export interface Setting {
  readonly n: number;
  readonly epochs: number;
  readonly seeds: number;
  readonly referenceEpochs: number;
}

export const SIZES: Record<'full' | 'smoke', Setting> = {
  full: { n: 1024, epochs: 30, seeds: 5, referenceEpochs: 500 },
  smoke: { n: 256, epochs: 4, seeds: 2, referenceEpochs: 40 },
};

/** Full-batch GD run long (one step per epoch): its final F is the reference F* of the gaps. */
export const REFERENCE = 'full-batch GD (reference)';

/** The shared setting: data, linear encoder, unimodal GCL at τ, momentum SGD (lr 0.5), reshuffled batches. */
export function setting(s: Pick<Setting, 'n' | 'epochs' | 'seeds'>, views: 'fixed' | 'fresh' = 'fixed', tau: number | undefined = 0.1): Obj {
  return {
    data: { kind: 'synthetic-classes', n: s.n, nTest: Math.max(64, s.n / 4), p: 32, classes: 8, sigma: 3, augment: { noise: 0.2, mask: 0.2 } },
    model: { kind: 'linear', d: 16, trainViews: views },
    objective: tau === undefined ? { kind: 'gcl', eps0: 0 } : { kind: 'gcl', tau, eps0: 0 },
    sampler: { kind: 'reshuffle' },
    optimizer: { kind: 'momentum', lr: 0.5, momentum: 0.9 },
    budget: { epochs: s.epochs }, seeds: { count: s.seeds },
  };
}

/** The full-batch arm (sampler full, the exact gradient of F); `long`: the reference, run for referenceEpochs. */
export function fullBatch(name: string, s: Setting, long: boolean): Obj {
  return {
    name, sampler: { kind: 'full' }, estimator: { kind: 'exact' },
    ...(long ? { budget: { epochs: s.referenceEpochs }, logEveryEpochs: Math.max(1, s.referenceEpochs / 10) } : {}),
  };
}

export const sogclr = (tau: number | string, gamma: number, extra: Obj = {}): Obj => ({ kind: 'sogclr', modality: 'unimodal', tau, gamma, eps0: 0, ...extra });
export const ESTIMATOR_LABELS = { simclr: 'SimCLR', dcl: 'DCL', sogclr: 'SogCLR' };

function smallBatch(size: 'full' | 'smoke', views: 'fixed' | 'fresh'): CompactStudy {
  const s = SIZES[size];
  const Bs = size === 'full' ? [8, 16, 32, 64, 128, 256, 512] : [8, 32];
  const estimators = [{ kind: 'simclr', tau: 0.1 }, { kind: 'dcl', modality: 'unimodal', tau: 0.1 }, sogclr(0.1, 0.9)]
    .filter((e) => views === 'fixed' || e.kind !== 'dcl');
  const used = estimators.map((e) => ESTIMATOR_LABELS[e.kind as keyof typeof ESTIMATOR_LABELS]);
  const series = { by: 'estimator', x: 'sampler.B', where: { 'sampler.kind': 'reshuffle' } };
  const panels = { by: 'sampler.B', values: size === 'full' ? [8, 32, 256] : [8, 32], title: 'B = {sampler.B}', include: ['full-batch GD'] };
  const name = views === 'fixed' ? 'sogclr-small-batch' : 'sogclr-small-batch-augmented';
  return {
    name: size === 'full' ? name : `${name}-smoke`,
    description: `SOG's claim on synthetic data: linear encoder on ${s.n} examples (two ${views === 'fixed' ? 'fixed views per example, the same in training and in F' : 'fresh augmented views per example per visit; F on fixed views'}), `
      + `unimodal GCL (τ = 0.1, ε₀ = 0) logged exactly every epoch; full-batch GD, ${used.join(', ')} at B ∈ {${Bs.join(', ')}}, ${s.epochs} epochs, `
      + `${s.seeds} seeds, SGD with momentum 0.9, lr 0.5 for every B.`,
    defaults: setting(s, views),
    experiments: [fullBatch(REFERENCE, s, true), fullBatch('full-batch GD', s, false)],
    grid: { estimator: estimators, 'sampler.B': Bs },
    labels: { estimator: ESTIMATOR_LABELS },
    names: '{estimator} B={sampler.B}',
    figures: [
      { name: 'gap-vs-epoch', title: 'Exact F − F* against epochs', metric: 'objectiveGap', x: 'epoch', logY: true, panels },
      { name: 'gradF-vs-epoch', title: 'Exact ‖∇F‖ against epochs', metric: 'objectiveGradNorm', x: 'epoch', logY: true, panels },
    ],
    sweeps: [
      { name: 'final-gap-vs-B', title: 'Final exact F gap to the full-batch optimum against B', metric: 'objectiveGap', xTitle: 'batch size B', logX: true, logY: true, series },
      { name: 'final-gradF-vs-B', title: 'Final exact ‖∇F‖ against B', metric: 'objectiveGradNorm', xTitle: 'batch size B', logX: true, logY: true, series },
      { name: 'probe-vs-B', title: 'Linear-probe accuracy (held out) against B', metric: 'probe', xTitle: 'batch size B', logX: true, series, referenceArm: REFERENCE },
    ],
    gapReference: REFERENCE,
    notes: 'SOG: SimCLR (the plug-in estimator, ε₀ = 1/(2B−2)) is biased, with an error floor in 1/B, so at small B it stops at a larger objective gap; SogCLR\'s moving average removes the bias '
      + 'and gets close to the full-batch optimum for any B. DCL is the plug-in estimator of the same F (ε₀ = 0): it separates the ε₀ mismatch from the Jensen bias of the plug-in. '
      + `objectiveGap is F minus F* = the final F of full-batch GD run for ${s.referenceEpochs} steps on the same seed. `
      + (views === 'fixed' ? 'Training uses the fixed views on which F is evaluated, so every method minimises exactly the logged F.'
        : 'Training sees fresh augmentations, so the stochastic methods minimise the augmentation-averaged objective while F and F* use fixed views: a common residual gap is expected.'),
  };
}

function gammaSweep(size: 'full' | 'smoke'): CompactStudy {
  const s = SIZES[size];
  const gammas = size === 'full' ? [0.1, 0.3, 0.5, 0.7, 0.9, 1] : [0.5, 1];
  const { gamma: _, ...sog } = sogclr(0.1, 0);
  return {
    name: size === 'full' ? 'sogclr-gamma' : 'sogclr-gamma-smoke',
    description: `SogCLR at B = 32 for γ ∈ {${gammas.join(', ')}} (γ = 1 is the plug-in estimator with ε₀ = 0, i.e. DCL), same setting as sogclr-small-batch.`,
    defaults: { ...setting(s), sampler: { kind: 'reshuffle', B: 32 }, estimator: sog },
    experiments: [fullBatch(REFERENCE, s, true)],
    grid: { 'estimator.gamma': gammas },
    names: 'SogCLR γ={estimator.gamma}',
    gapReference: REFERENCE,
    sweeps: [{
      name: 'final-gap-vs-gamma', title: 'Final exact F gap against γ (B = 32)', metric: 'objectiveGap', xTitle: 'γ',
      series: { name: 'SogCLR', x: 'estimator.gamma', where: { 'estimator.kind': 'sogclr' } },
    }],
    figures: [{ name: 'F-vs-epoch', title: 'Exact F against epochs, B = 32', metric: 'objective', x: 'epoch' }],
  };
}

function tauSweep(size: 'full' | 'smoke'): CompactStudy {
  const s = SIZES[size];
  const taus = size === 'full' ? [0.01, 0.05, 0.1, 0.5] : [0.01, 0.1];
  return {
    name: size === 'full' ? 'sogclr-tau' : 'sogclr-tau-smoke',
    description: `SimCLR and SogCLR at B = 32 and full-batch GD for τ ∈ {${taus.join(', ')}} (τ = 0.01 exercises the max shift), each logging its own exact F.`,
    // lr kept fixed across τ: the objective is in τ·log units, so its gradient scales like τ·(1/τ)·... ≈ 1.
    defaults: { ...setting(s), sampler: { kind: 'reshuffle', B: 32 } },
    grid: {
      'objective.tau': taus,
      estimator: [
        { label: 'full-batch GD', value: { kind: 'exact' }, with: fullBatchWith(s) },
        { kind: 'simclr', tau: '$objective.tau' },
        sogclr('$objective.tau', 0.9),
      ],
    },
    labels: { estimator: ESTIMATOR_LABELS },
    names: '{estimator} τ={objective.tau}',
    sweeps: [{ name: 'final-F-vs-tau', title: 'Final exact F against τ (B = 32)', metric: 'objective', xTitle: 'τ', logX: true, series: { by: 'estimator', x: 'objective.tau' } }],
  };
}

/** The keys the long full-batch reference sets besides its estimator (a grid value's `with`). */
function fullBatchWith(s: Setting): Obj {
  const { name: _, estimator: __, ...rest } = fullBatch('', s, true);
  return rest;
}

function pitfall(size: 'full' | 'smoke'): CompactStudy {
  const s = SIZES[size];
  return {
    name: size === 'full' ? 'sogclr-sum-pitfall' : 'sogclr-sum-pitfall-smoke',
    description: 'SogCLR with one u per example shared by its two views: storing the mean (correct) against storing u1 + u2 (the pitfall of THEORY 5) at γ ∈ {0.9, 0.6, 0.4}, B = 32.',
    defaults: { ...setting(s), sampler: { kind: 'reshuffle', B: 32 }, estimator: { kind: 'sogclr', modality: 'unimodal', tau: 0.1, eps0: 0, sharedU: true } },
    experiments: [fullBatch(REFERENCE, s, true)],
    grid: { 'estimator.gamma': [0.9, 0.6, 0.4], 'estimator.pitfalls': [{ label: 'mean storage' }, { label: 'sum storage', value: { sumStorage: true } }] },
    names: '{estimator.pitfalls} γ={estimator.gamma}',
    gapReference: REFERENCE,
    figures: [{ name: 'F-vs-epoch', title: 'Exact F against epochs: mean vs sum storage of the shared u', metric: 'objective', x: 'epoch' }],
    sweeps: [{
      name: 'final-gap-vs-gamma', title: 'Final F gap against γ', metric: 'objectiveGap', xTitle: 'γ',
      series: { by: 'estimator.pitfalls', x: 'estimator.gamma', where: { 'estimator.kind': 'sogclr' } },
    }],
    notes: 'THEORY 5: storing u1 + u2 inflates the fixed point of u (and so shrinks the weights τ/(ε₀+u)) and diverges for γ ≤ 1/2.',
  };
}

/**
 * The annealed regime (THEORY 5, where the moving average matters): the same data and model, DCL (the
 * plug-in estimator of the same F, ε₀ = 0) against SogCLR (γ = 0.9) at small B, with momentum SGD whose
 * step is cosine-annealed from 0.5 to 0 over the run (warm-up 0; src/optim warmupCosine). With a
 * constant step both methods end at a noise floor that hides the plug-in's bias (sogclr-small-batch);
 * with the step annealed the noise vanishes and each method settles at its own stationary point: DCL at
 * that of the expected plug-in objective (biased, O(1/B)), SogCLR near that of F. No F* is needed: the
 * comparison is paired by seed (same data, same initial encoder), so F* cancels.
 */
export const ANNEALED_SIZES = {
  full: { n: 256, epochs: 200, seeds: seedsOf(5), Bs: [8, 16, 32] },
  smoke: { n: 128, epochs: 100, seeds: seedsOf(8), Bs: [8] },
} as const;

function annealed(size: 'full' | 'smoke'): CompactStudy {
  const z = ANNEALED_SIZES[size];
  const s = { n: z.n, epochs: z.epochs, seeds: z.seeds.length };
  return {
    name: size === 'full' ? 'sogclr-annealed' : 'sogclr-annealed-smoke',
    description: `DCL against SogCLR (γ = 0.9) with a cosine-annealed step (momentum 0.9, lr 0.5 → 0): linear encoder on ${s.n} examples (fixed views), unimodal GCL (τ = 0.1, ε₀ = 0), `
      + `B ∈ {${z.Bs.join(', ')}}, ${s.epochs} epochs, ${s.seeds} seeds.`,
    defaults: {
      ...setting(s), optimizer: { kind: 'momentum', lr: 0.5, momentum: 0.9, schedule: { kind: 'warmup-cosine', warmupSteps: 0 } },
      logEveryEpochs: Math.max(1, z.epochs / 20),
    },
    grid: { estimator: [{ kind: 'dcl', modality: 'unimodal', tau: 0.1 }, sogclr(0.1, 0.9)], 'sampler.B': [...z.Bs] },
    labels: { estimator: ESTIMATOR_LABELS },
    names: '{estimator} B={sampler.B}',
    figures: [{ name: 'F-vs-epoch', title: 'Exact F against epochs, cosine-annealed step', metric: 'objective', x: 'epoch' }],
    sweeps: [{ name: 'final-F-vs-B', title: 'Final exact F against B (annealed step)', metric: 'objective', xTitle: 'batch size B', logX: true, series: { by: 'estimator', x: 'sampler.B' } }],
    notes: 'THEORY 5: the plug-in estimator (DCL) is biased, so with the step annealed to 0 it converges to the stationary point of the expected plug-in objective, not of F; '
      + 'SogCLR\'s moving average removes most of that bias. Compare the final F paired by seed (sog.annealed.sogclr-beats-dcl).',
  };
}

export const SOGCLR_PRESETS: readonly PresetInfo[] = [
  { name: 'sogclr-small-batch', description: 'SOG: full-batch GD vs SimCLR, DCL and SogCLR at B = 8..512, exact F gap, gradient norm and downstream accuracy against B (linear encoder, fixed views)', spec: (z) => smallBatch(z, 'fixed') },
  { name: 'sogclr-small-batch-augmented', description: 'the same with fresh augmentations in training (SOG\'s setting; F on fixed views, so a common residual gap remains)', spec: (z) => smallBatch(z, 'fresh') },
  { name: 'sogclr-gamma', description: 'SogCLR at B = 32 for gamma from 0.1 to 1 (gamma = 1 is the plug-in estimator)', spec: gammaSweep },
  { name: 'sogclr-tau', description: 'SimCLR and SogCLR at B = 32 for tau in {0.01, 0.05, 0.1, 0.5}', spec: tauSweep },
  { name: 'sogclr-annealed', description: 'DCL vs SogCLR at small B with a cosine-annealed step (the regime where the moving average matters)', spec: annealed },
  { name: 'sogclr-sum-pitfall', description: 'SogCLR shared u: mean storage vs the u1+u2 sum-storage pitfall at gamma 0.9, 0.6, 0.4', spec: pitfall },
];
