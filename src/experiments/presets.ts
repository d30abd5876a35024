/**
 * The shipped studies (`contrastlab run --preset NAME`, listed by `contrastlab run --list`).
 * Each is plain data (print one with `contrastlab run --preset NAME --print-spec`).
 *
 * Learning rates: CHO's code sums the two directions of the loss (2x THEORY 2.1's average), so its
 * lr 0.5 is lr 1.0 here; the two give identical trajectories.
 */
import type { SamplerSpec } from '../samplers/types.ts';
import type { ExperimentSpec, FigureSpec, StudySpec } from './spec.ts';
import { GCL_PRESETS } from './presetsGcl.ts';

export interface PresetInfo {
  readonly name: string;
  readonly description: string;
  /** Builds the study; `smoke` shrinks seeds and budget for CI and quick looks. */
  build(size: 'full' | 'smoke'): StudySpec;
}

const METHODS: { label: string; sampler: (B: number) => SamplerSpec }[] = [
  { label: 'fixed', sampler: (B) => ({ kind: 'fixed', B }) },
  { label: 'reshuffled', sampler: (B) => ({ kind: 'reshuffle', B }) },
  { label: 'full', sampler: () => ({ kind: 'full' }) },
  { label: 'NcB', sampler: (B) => ({ kind: 'ncb', B }) },
  { label: 'OSGD', sampler: (B) => ({ kind: 'osgd', B }) },
  { label: 'spectral', sampler: (B) => ({ kind: 'spectral', B }) },
];

const seedsOf = (k: number) => Array.from({ length: k }, (_, i) => i);

function choGrid(size: 'full' | 'smoke'): StudySpec {
  const grid: [number, number][] = size === 'full'
    ? [[4, 2], [4, 8], [8, 4], [8, 16], [16, 8], [16, 32]]
    : [[4, 2], [8, 16]];
  const epochs = size === 'full' ? 500 : 40;
  const seeds = seedsOf(size === 'full' ? 10 : 2);
  const experiments: ExperimentSpec[] = [];
  const panels: Record<'projected' | 'reparam', { title: string; arms: string[] }[]> = { projected: [], reparam: [] };
  for (const [n, d] of grid) {
    for (const param of ['projected', 'reparam'] as const) {
      const arms: string[] = [];
      for (const m of METHODS) {
        const name = `N=${n},d=${d} ${param} ${m.label}`;
        arms.push(name);
        experiments.push({
          name, data: { kind: 'random-sphere', n, d }, objective: { name: 'infonce', tau: 1 }, parametrisation: param,
          sampler: m.sampler(2), optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs }, seeds,
          metrics: ['loss', 'distance', 'gap'],
        });
      }
      panels[param].push({ title: `N=${n}, d=${d} (${d >= n - 1 ? 'ETF' : 'cross-polytope'})`, arms });
    }
  }
  const figures: FigureSpec[] = (['projected', 'reparam'] as const).flatMap((param) => [
    { name: `distance-${param}`, title: `CHO grid, ${param}: distance to the optimal Gram matrix against epochs`, metric: 'distance' as const, x: 'epoch' as const, logY: true, panels: panels[param] },
    { name: `loss-${param}`, title: `CHO grid, ${param}: full-batch loss minus its optimum against epochs`, metric: 'gap' as const, x: 'epoch' as const, logY: true, panels: panels[param] },
  ]);
  const gramFigures = grid.filter(([n, d]) => d >= n - 1).slice(0, 1).map(([n, d]) => ({
    name: `gram-N${n}-d${d}-projected`, title: `UVᵀ at the end, N=${n}, d=${d}, projected`, arms: METHODS.map((m) => `N=${n},d=${d} projected ${m.label}`),
  }));
  return {
    name: size === 'full' ? 'cho-grid' : 'cho-grid-smoke',
    description: `CHO's synthetic study: B = 2, tau = 1, lr 0.5 in CHO's summed-loss convention (1.0 here), ${epochs} epochs, ${seeds.length} seeds; `
      + 'methods fixed / reshuffled / full / NcB / OSGD / spectral, projected and reparametrised; metric ||UV^T - G*||_F to the ETF (d >= N-1) or cross-polytope (N = 2d) Gram matrix.',
    experiments, figures, gramFigures,
    thresholds: [{ metric: 'distance', below: 1 }, { metric: 'distance', below: 0.1 }, { metric: 'distance', below: 1e-2 }],
    notes: 'CHO report: all-batches (NcB) and full batch reach the optimum; a fixed partition stops short; OSGD and spectral reach it in fewer epochs than reshuffled SGD. '
      + 'The cross-polytope cases (N = 2d) use an optimum whose optimality THEORY marks unverified. An epoch is N/B update steps for the mini-batch methods and one step for full and NcB.',
  };
}

function rectangle(size: 'full' | 'smoke'): StudySpec {
  const seeds = seedsOf(size === 'full' ? 50 : 3);
  const maxEpochs = size === 'full' ? 5000 : 300;
  const arm = (label: string, sampler: SamplerSpec): ExperimentSpec => ({
    name: label, data: { kind: 'rectangle', thetaDeg: 10 }, objective: { name: 'infonce', tau: 1 }, parametrisation: 'projected',
    sampler, optimizer: { kind: 'sgd', lr: 0.05 }, budget: { epochs: maxEpochs }, seeds, logEvery: 1,
    metrics: ['loss', 'angleError'], stopWhen: { metric: 'angleError', below: 0.5 },
  });
  return {
    name: size === 'full' ? 'rectangle' : 'rectangle-smoke',
    description: "THEORY 4's toy: N = 4, d = 2, B = 2, U = V at the rectangle (±cos θ, ±sin θ) with θ0 = 10°, projected SGD (lr 0.05 here = 0.025 on CHO's summed loss); "
      + `steps and epochs until every angle between neighbours is within 0.5° of 90° (θ = π/4), over ${seeds.length} seeds, at most ${maxEpochs} epochs.`,
    experiments: [arm('OSGD', { kind: 'osgd', B: 2 }), arm('reshuffled', { kind: 'reshuffle', B: 2 }), arm('with-replacement', { kind: 'with-replacement', B: 2 })],
    figures: [{ name: 'angle-error', title: 'Rectangle toy: angle error (degrees) against epochs', metric: 'angleError', x: 'epoch', logY: true }],
    thresholds: [{ metric: 'angleError', below: 0.5 }],
    notes: 'THEORY 4 [derived]: OSGD always steps on a pair at the small gap 2θ and reaches π/4 in a few epochs; reshuffled SGD drifts there slowly. '
      + 'Measured here: a pair step does not vanish at the square (a 2-point batch is minimised by antipodal points), so with a constant step OSGD ends in a limit cycle '
      + 'whose angle error grows with lr (1.53° at lr 0.2, 0.77° at lr 0.1, 5 seeds each); lr 0.05 puts it below the 0.5° threshold. The from-rectangle start is symmetric, '
      + 'so OSGD (ties broken in lexicographic order) takes the same path for every seed.',
  };
}

function fixedPartition(size: 'full' | 'smoke'): StudySpec {
  const seeds = seedsOf(size === 'full' ? 10 : 2);
  const epochs = size === 'full' ? 2000 : 300;
  const arm = (label: string, sampler: SamplerSpec): ExperimentSpec => ({
    name: label, data: { kind: 'random-sphere', n: 8, d: 8 }, objective: { name: 'infonce', tau: 1 }, parametrisation: 'projected',
    sampler, optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs }, seeds, metrics: ['loss', 'gap', 'distance'],
  });
  return {
    name: size === 'full' ? 'fixed-partition' : 'fixed-partition-smoke',
    description: `CHO Thm 5: N = 8, d = 8, B = 2, tau = 1; a fixed partition into 4 batches against reshuffled SGD and full batch, ${epochs} epochs, ${seeds.length} seeds. `
      + 'At the end point of the fixed partition each batch is a 2-point ETF (u_i = v_i = -u_j) and the full-batch loss stays above the ETF value.',
    experiments: [arm('fixed', { kind: 'fixed', B: 2 }), arm('reshuffled', { kind: 'reshuffle', B: 2 }), arm('full', { kind: 'full' })],
    figures: [
      { name: 'gap', title: 'Full-batch loss minus the ETF value', metric: 'gap', x: 'epoch', logY: true },
      { name: 'distance', title: 'Distance to the ETF Gram matrix', metric: 'distance', x: 'epoch', logY: true },
    ],
    gramFigures: [{ name: 'gram', title: 'UVᵀ at the end (first seed)', arms: ['fixed', 'reshuffled', 'full'] }],
    notes: 'THEORY 3: with a disjoint partition every minimiser makes each batch a B-point ETF and places the batches arbitrarily; the full-batch loss there is >= the ETF value, in general strictly.',
  };
}

const CHO_PRESETS: readonly PresetInfo[] = [
  { name: 'cho-grid', description: "CHO's synthetic convergence grid: 6 (N,d), 6 batch-selection methods, projected and reparametrised, 10 seeds", build: choGrid },
  { name: 'rectangle', description: 'the N=4, d=2 rectangle toy: epochs for OSGD vs reshuffled SGD to reach pi/4 within 0.5 degrees', build: rectangle },
  { name: 'fixed-partition', description: 'CHO Thm 5: a fixed partition ends at batch ETFs with full-batch loss above the ETF value', build: fixedPartition },
];

export const PRESETS: readonly PresetInfo[] = [...CHO_PRESETS, ...GCL_PRESETS];

export function findPreset(name: string): PresetInfo | undefined {
  return PRESETS.find((p) => p.name === name);
}
