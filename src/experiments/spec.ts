/**
 * Experiments as data. An ExperimentSpec names the objective, the data generator, the
 * parametrisation, the sampler, the optimizer, the budget, the seeds and what to log; a run is a
 * pure function of (spec, seed, backend). A StudySpec groups experiments (one per method, "arm")
 * and says which figures and summary tables to make. Both are plain JSON.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors.ts';
import type { SamplerSpec } from '../samplers/types.ts';
import type { GclExperimentSpec } from './gcl.ts';

export type DataSpec =
  /** N Gaussian rows normalised, U and V drawn independently from the run's seed. */
  | { readonly kind: 'random-sphere'; readonly n: number; readonly d: number }
  /** THEORY 4's toy: N = 4, d = 2, U = V = the rectangle (±cos θ, ±sin θ), θ in degrees. */
  | { readonly kind: 'rectangle'; readonly thetaDeg: number };

export type ScheduleSpec =
  | { readonly kind: 'constant' }
  | { readonly kind: 'warmup-cosine'; readonly warmupSteps: number; readonly endLr?: number };

export type OptimizerSpec =
  | { readonly kind: 'sgd'; readonly lr: number; readonly schedule?: ScheduleSpec }
  | { readonly kind: 'momentum'; readonly lr: number; readonly momentum?: number; readonly nesterov?: boolean; readonly schedule?: ScheduleSpec }
  | { readonly kind: 'adamw'; readonly lr: number; readonly b1?: number; readonly b2?: number; readonly eps?: number; readonly weightDecay?: number; readonly schedule?: ScheduleSpec }
  | { readonly kind: 'lars'; readonly lr: number; readonly momentum?: number; readonly weightDecay?: number; readonly trust?: number; readonly schedule?: ScheduleSpec };

export const METRICS = [
  // mini-batch (CHO) runs: the full-batch two-sided InfoNCE, its Riemannian gradient norm, the optimum's distance and gap, the rectangle's angle
  'loss', 'gradNorm', 'distance', 'gap', 'angleError',
  // global-objective (SogCLR) runs: the exact F and ‖∇F‖, F minus the reference arm's final F, the last batch's plug-in value, downstream metrics
  'objective', 'objectiveGradNorm', 'objectiveGap', 'batchValue', 'knn', 'probe', 'retrieval',
] as const;
export type MetricName = (typeof METRICS)[number];

export interface ExperimentSpec {
  /** The arm's label (the method), e.g. 'osgd / projected'. */
  readonly name: string;
  readonly data: DataSpec;
  /** The per-batch loss (THEORY 2.1's two-sided InfoNCE) and its temperature. */
  readonly objective: { readonly name: 'infonce'; readonly tau: number };
  readonly parametrisation: 'projected' | 'reparam';
  /**
   * Projected runs: the optimizer gets the Euclidean gradient (default, as CHO's code) or its tangent
   * (Riemannian) part. Coordinate-wise adaptive optimizers (AdamW) need 'riemannian': with the
   * Euclidean gradient the optimum is not a fixed point of the projected step.
   */
  readonly gradient?: 'euclidean' | 'riemannian';
  readonly sampler: SamplerSpec;
  readonly optimizer: OptimizerSpec;
  readonly budget: { readonly epochs: number } | { readonly steps: number };
  readonly seeds: readonly number[];
  /** Log every this many update steps (default: once per epoch). */
  readonly logEvery?: number;
  /** Metrics logged on the full batch (default loss, gradNorm, distance, gap where an optimum is known). */
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

export interface StudySpec {
  readonly name: string;
  readonly description: string;
  readonly experiments: readonly AnyExperimentSpec[];
  /** Adds `objectiveGap` = objective − the final objective of this arm for the same seed (e.g. full-batch GD). */
  readonly gapReference?: string;
  /** Summary tables of final values against a parameter of the arms (e.g. B), see study.ts. */
  readonly sweeps?: readonly SweepSpec[];
  readonly figures?: readonly FigureSpec[];
  /** Summary tables: steps (and epochs) until `metric` ≤ `below`, per arm (mean ± sd over seeds). */
  readonly thresholds?: readonly { readonly metric: MetricName; readonly below: number }[];
  /** Gram heat-maps of UVᵀ at the end (first seed of each listed arm). */
  readonly gramFigures?: readonly GramFigureSpec[];
  /** Free-form notes written at the top of summary.md (what the paper says, what to look for). */
  readonly notes?: string;
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

export type AnyExperimentSpec = ExperimentSpec | GclExperimentSpec;

export function isGclExperiment(e: AnyExperimentSpec): e is GclExperimentSpec {
  return (e as { kind?: string }).kind === 'gcl';
}

/** Canonical JSON (sorted keys) and its SHA-256: the config hash in every run record. */
export function canonicalJson(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonicalJson).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    return `{${Object.keys(x).sort().filter((k) => (x as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((x as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

export function configHash(x: unknown): string {
  return createHash('sha256').update(canonicalJson(x)).digest('hex').slice(0, 16);
}

// ---- validation of JSON input (ConfigError naming the path and value) ----

function fail(path: string, msg: string): never {
  throw new ConfigError('experiment spec', `${path} ${msg}`);
}
function obj(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, `must be an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}
function num(v: unknown, path: string, rule: { int?: boolean; min?: number; gt?: number; max?: number } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a finite number, got ${JSON.stringify(v)}`);
  if (rule.int && !Number.isInteger(v)) fail(path, `must be an integer, got ${v}`);
  if (rule.min !== undefined && v < rule.min) fail(path, `must be >= ${rule.min}, got ${v}`);
  if (rule.gt !== undefined && v <= rule.gt) fail(path, `must be > ${rule.gt}, got ${v}`);
  if (rule.max !== undefined && v > rule.max) fail(path, `must be <= ${rule.max}, got ${v}`);
  return v;
}
function str<T extends string>(v: unknown, path: string, choices?: readonly T[]): T {
  if (typeof v !== 'string') fail(path, `must be a string, got ${JSON.stringify(v)}`);
  if (choices && !(choices as readonly string[]).includes(v)) fail(path, `must be one of ${choices.join(', ')}, got '${v}'`);
  return v as T;
}
function optNum(o: Record<string, unknown>, k: string, path: string, rule?: Parameters<typeof num>[2]): void {
  if (o[k] !== undefined) num(o[k], `${path}.${k}`, rule);
}

const SAMPLER_KINDS = ['with-replacement', 'reshuffle', 'fixed', 'full', 'ncb', 'osgd', 'osgd-without-replacement', 'approx-osgd', 'spectral'] as const;

function checkSchedule(v: unknown, path: string): void {
  if (v === undefined) return;
  const s = obj(v, path);
  const kind = str(s.kind, `${path}.kind`, ['constant', 'warmup-cosine'] as const);
  if (kind === 'warmup-cosine') {
    num(s.warmupSteps, `${path}.warmupSteps`, { int: true, min: 0 });
    optNum(s, 'endLr', path, { min: 0 });
  }
}

/** Validates an ExperimentSpec parsed from JSON; returns it typed. */
export function validateExperiment(v: unknown, path = 'experiment'): ExperimentSpec {
  const e = obj(v, path);
  str(e.name, `${path}.name`);
  const data = obj(e.data, `${path}.data`);
  const dk = str(data.kind, `${path}.data.kind`, ['random-sphere', 'rectangle'] as const);
  if (dk === 'random-sphere') {
    num(data.n, `${path}.data.n`, { int: true, min: 1 });
    num(data.d, `${path}.data.d`, { int: true, min: 1 });
  } else num(data.thetaDeg, `${path}.data.thetaDeg`, { gt: 0, max: 90 });
  const o = obj(e.objective, `${path}.objective`);
  str(o.name, `${path}.objective.name`, ['infonce'] as const);
  num(o.tau, `${path}.objective.tau`, { gt: 0 });
  str(e.parametrisation, `${path}.parametrisation`, ['projected', 'reparam'] as const);
  if (e.gradient !== undefined) str(e.gradient, `${path}.gradient`, ['euclidean', 'riemannian'] as const);
  const s = obj(e.sampler, `${path}.sampler`);
  const sk = str(s.kind, `${path}.sampler.kind`, SAMPLER_KINDS);
  if (sk !== 'full') num(s.B, `${path}.sampler.B`, { int: true, min: 1 });
  if (sk === 'approx-osgd') {
    num(s.k, `${path}.sampler.k`, { int: true, min: 1 });
    num(s.q, `${path}.sampler.q`, { int: true, min: 1 });
  }
  optNum(s, 'maxBatches', `${path}.sampler`, { int: true, min: 1 });
  optNum(s, 'groupSize', `${path}.sampler`, { int: true, min: 1 });
  const opt = obj(e.optimizer, `${path}.optimizer`);
  str(opt.kind, `${path}.optimizer.kind`, ['sgd', 'momentum', 'adamw', 'lars'] as const);
  num(opt.lr, `${path}.optimizer.lr`, { gt: 0 });
  for (const k of ['momentum', 'b1', 'b2']) optNum(opt, k, `${path}.optimizer`, { min: 0, max: 1 });
  for (const k of ['eps', 'weightDecay', 'trust']) optNum(opt, k, `${path}.optimizer`, { min: 0 });
  checkSchedule(opt.schedule, `${path}.optimizer.schedule`);
  const b = obj(e.budget, `${path}.budget`);
  if ((b.epochs === undefined) === (b.steps === undefined)) fail(`${path}.budget`, 'must have exactly one of epochs or steps');
  optNum(b, 'epochs', `${path}.budget`, { int: true, min: 0 });
  optNum(b, 'steps', `${path}.budget`, { int: true, min: 0 });
  if (!Array.isArray(e.seeds) || e.seeds.length === 0) fail(`${path}.seeds`, `must be a non-empty array of integers, got ${JSON.stringify(e.seeds)}`);
  e.seeds.forEach((x, i) => num(x, `${path}.seeds[${i}]`, { int: true, min: 0 }));
  optNum(e, 'logEvery', path, { int: true, min: 1 });
  optNum(e, 'checkpointEvery', path, { int: true, min: 1 });
  if (e.metrics !== undefined) {
    if (!Array.isArray(e.metrics)) fail(`${path}.metrics`, 'must be an array');
    e.metrics.forEach((m, i) => str(m, `${path}.metrics[${i}]`, METRICS));
  }
  if (e.stopWhen !== undefined) {
    const w = obj(e.stopWhen, `${path}.stopWhen`);
    str(w.metric, `${path}.stopWhen.metric`, METRICS);
    num(w.below, `${path}.stopWhen.below`);
  }
  return e as unknown as ExperimentSpec;
}

/** Shape checks of a global-objective experiment; the model/estimator pairing is checked again before a run starts. */
export function validateGclExperiment(v: unknown, path = 'experiment'): GclExperimentSpec {
  const e = obj(v, path);
  str(e.name, `${path}.name`);
  const data = obj(e.data, `${path}.data`);
  const dk = str(data.kind, `${path}.data.kind`, ['random-sphere', 'synthetic-classes'] as const);
  num(data.n, `${path}.data.n`, { int: true, min: 2 });
  if (dk === 'random-sphere') num(data.d, `${path}.data.d`, { int: true, min: 1 });
  else {
    num(data.nTest, `${path}.data.nTest`, { int: true, min: 1 });
    num(data.p, `${path}.data.p`, { int: true, min: 1 });
    num(data.classes, `${path}.data.classes`, { int: true, min: 1 });
    num(data.sigma, `${path}.data.sigma`, { min: 0 });
  }
  const m = obj(e.model, `${path}.model`);
  const mk = str(m.kind, `${path}.model.kind`, ['free', 'linear', 'mlp'] as const);
  if (mk !== 'free') num(m.d, `${path}.model.d`, { int: true, min: 1 });
  if (mk === 'mlp') num(m.hidden, `${path}.model.hidden`, { int: true, min: 1 });
  const o = obj(e.objective, `${path}.objective`);
  num(o.tau, `${path}.objective.tau`, { gt: 0 });
  optNum(o, 'eps0', `${path}.objective`, { min: 0 });
  const est = obj(e.estimator, `${path}.estimator`);
  str(est.kind, `${path}.estimator.kind`);
  if (est.kind !== 'full-batch') num(e.batchSize, `${path}.batchSize`, { int: true, min: 2 });
  const opt = obj(e.optimizer, `${path}.optimizer`);
  str(opt.kind, `${path}.optimizer.kind`, ['sgd', 'momentum', 'adamw', 'lars'] as const);
  num(opt.lr, `${path}.optimizer.lr`, { gt: 0 });
  checkSchedule(opt.schedule, `${path}.optimizer.schedule`);
  const b = obj(e.budget, `${path}.budget`);
  num(b.epochs, `${path}.budget.epochs`, { int: true, min: 0 });
  if (!Array.isArray(e.seeds) || e.seeds.length === 0) fail(`${path}.seeds`, `must be a non-empty array of integers, got ${JSON.stringify(e.seeds)}`);
  e.seeds.forEach((x, i) => num(x, `${path}.seeds[${i}]`, { int: true, min: 0 }));
  optNum(e, 'logEveryEpochs', path, { int: true, min: 1 });
  return e as unknown as GclExperimentSpec;
}

/** Validates a StudySpec (or wraps a single ExperimentSpec into a one-arm study). */
export function validateStudy(v: unknown): StudySpec {
  const s = obj(v, 'spec');
  if (s.experiments === undefined) {
    const e = s.kind === 'gcl' ? validateGclExperiment(s) : validateExperiment(s);
    return { name: e.name, description: 'a single experiment', experiments: [e] };
  }
  str(s.name, 'study.name');
  if (s.description !== undefined) str(s.description, 'study.description');
  if (!Array.isArray(s.experiments) || s.experiments.length === 0) fail('study.experiments', 'must be a non-empty array');
  const names = new Set<string>();
  s.experiments.forEach((e, i) => {
    const x = (e as { kind?: unknown })?.kind === 'gcl' ? validateGclExperiment(e, `study.experiments[${i}]`) : validateExperiment(e, `study.experiments[${i}]`);
    if (names.has(x.name)) fail(`study.experiments[${i}].name`, `repeats the arm name '${x.name}'`);
    names.add(x.name);
  });
  if (s.figures !== undefined) {
    if (!Array.isArray(s.figures)) fail('study.figures', 'must be an array');
    s.figures.forEach((f, i) => {
      const o = obj(f, `study.figures[${i}]`);
      str(o.name, `study.figures[${i}].name`);
      str(o.metric, `study.figures[${i}].metric`, METRICS);
      str(o.x, `study.figures[${i}].x`, ['step', 'epoch'] as const);
    });
  }
  return { description: '', ...(s as object) } as StudySpec;
}
