/**
 * Experiments as data. An ExperimentSpec names the objective, the data generator, the
 * parametrisation, the sampler, the optimizer, the budget, the seeds and what to log; a run is a
 * pure function of (spec, seed, backend). A StudySpec groups experiments (one per method, "arm")
 * and says which figures and summary tables to make. Both are plain JSON.
 */
import { createHash } from 'node:crypto';
import { assertFitsBudget, assertMatricesFit } from '../core/budget.ts';
import { ConfigError, ContrastlabError } from '../core/errors.ts';
import { makeEstimator } from '../estimators/index.ts';
import { checkKeys, ESTIMATOR_KINDS, keyPath, nearest } from '../estimators/spec.ts';
import { knownOptimum } from '../optima/known.ts';
import { makeSampler } from '../samplers/index.ts';
import type { SamplerSpec } from '../samplers/types.ts';
import { makeOptimizer } from './build.ts';
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

/** The metrics a mini-batch (CHO) experiment can log. */
export const CHO_METRICS = ['loss', 'gradNorm', 'distance', 'gap', 'angleError'] as const satisfies readonly MetricName[];
/** The metrics a global-objective experiment can log (objectiveGap is derived from the study's gapReference). */
export const GCL_METRICS = ['objective', 'objectiveGradNorm', 'batchValue', 'knn', 'probe', 'retrieval'] as const satisfies readonly MetricName[];
export type GclMetric = (typeof GCL_METRICS)[number];

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


// ---- validation of JSON input ----
//
// The whole spec is checked before any run starts (a failure after the first step would leave
// partial outputs): every key is known, every value has its type and range, every name a figure,
// sweep, threshold or gap reference uses exists, every sampler fits its data, the optimizer and
// sampler build, and each run's memory fits the budget. Errors are one-line ConfigErrors (exit 2)
// naming the path and the value.

const OP = 'experiment spec';
/** Longest arm / figure name accepted (names become table cells and file names). */
const MAX_NAME = 200;
/** Figure, sweep and Gram-figure names are file names: a letter or digit, then letters, digits, '.', '_', '-'. */
const SAFE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Bytes per logged value kept for the summary (the row object, trace.csv, trace.jsonl, the checkpoint). */
const BYTES_PER_TRACE_VALUE = 64;

/** A value for a message: short, one line, never throwing (a deep or cyclic value is not expanded). */
function show(v: unknown): string {
  if (typeof v === 'string' && v.length <= 80 && !/[\u0000-\u001f\u007f]/.test(v)) return `'${v}'`;
  let t: string;
  try {
    t = JSON.stringify(v) ?? String(v);
  } catch {
    t = Array.isArray(v) ? '[array]' : typeof v === 'object' ? '{object}' : String(v);
  }
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
}
function fail(path: string, msg: string): never {
  throw new ConfigError(OP, `${path} ${msg}`);
}
/** An object whose keys are all in `required` ∪ `optional` (see checkKeys) and has every required key. */
function obj(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(path, `must be an object, got ${show(v)}`);
  checkKeys(OP, path, v as Record<string, unknown>, required, optional);
  return v as Record<string, unknown>;
}
interface NumRule { int?: boolean; min?: number; gt?: number; max?: number; lt?: number }
/** A finite number; `int`: a safe integer (so that counts and products stay exact). */
function num(v: unknown, path: string, rule: NumRule = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, `must be a finite number, got ${show(v)}`);
  if (rule.int && !Number.isInteger(v)) fail(path, `must be an integer, got ${v}`);
  if (rule.int && !Number.isSafeInteger(v)) fail(path, `must be an integer of at most ${Number.MAX_SAFE_INTEGER}, got ${v}`);
  if (rule.min !== undefined && v < rule.min) fail(path, `must be >= ${rule.min}, got ${v}`);
  if (rule.gt !== undefined && v <= rule.gt) fail(path, `must be > ${rule.gt}, got ${v}`);
  if (rule.max !== undefined && v > rule.max) fail(path, `must be <= ${rule.max}, got ${v}`);
  if (rule.lt !== undefined && v >= rule.lt) fail(path, `must be < ${rule.lt}, got ${v}`);
  return v;
}
function optNum(o: Record<string, unknown>, k: string, path: string, rule?: NumRule): number | undefined {
  return o[k] === undefined ? undefined : num(o[k], keyPath(path, k), rule);
}
function str<T extends string>(v: unknown, path: string, choices?: readonly T[]): T {
  if (typeof v !== 'string') fail(path, `must be a string, got ${show(v)}`);
  if (choices && !(choices as readonly string[]).includes(v)) {
    const near = nearest(v, choices);
    fail(path, `must be one of ${choices.join(', ')}, got ${show(v)}${near ? `; did you mean '${near}'?` : ''}`);
  }
  return v as T;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, `must be true or false, got ${show(v)}`);
  return v;
}
function optBool(o: Record<string, unknown>, k: string, path: string): void {
  if (o[k] !== undefined) bool(o[k], keyPath(path, k));
}
function arr(v: unknown, path: string, what: string): unknown[] {
  if (!Array.isArray(v) || v.length === 0) fail(path, `must be a non-empty array of ${what}, got ${show(v)}`);
  return v;
}
/** A name shown in tables and messages: non-empty, one line, at most MAX_NAME characters. */
function name(v: unknown, path: string): string {
  const s = str(v, path);
  if (s.length === 0 || s.length > MAX_NAME || /[\u0000-\u001f\u007f]/.test(s)) {
    fail(path, `must be a non-empty name of at most ${MAX_NAME} characters without control characters, got ${show(s)}`);
  }
  return s;
}
/** A name that becomes NAME.svg and NAME.png in the results folder. */
function fileName(v: unknown, path: string): string {
  const s = str(v, path);
  if (!SAFE_FILE_NAME.test(s)) {
    fail(path, `must be a safe file name (a letter or digit, then letters, digits, '.', '_' or '-'; at most 100 characters), got ${show(s)}`);
  }
  return s;
}
/** Runs a builder (sampler, optimizer, estimator) on the checked spec; its error is re-raised naming `path`. */
function built<T>(path: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (!(e instanceof ContrastlabError)) throw e;
    const Cls = e.constructor as new (op: string, message: string) => ContrastlabError;
    throw new Cls(OP, `${path}: ${e.message}`);
  }
}

const OPTIMIZER_KEYS = {
  sgd: [],
  momentum: ['momentum', 'nesterov'],
  adamw: ['b1', 'b2', 'eps', 'weightDecay'],
  lars: ['momentum', 'weightDecay', 'trust'],
} as const;

const SAMPLER_KEYS: Record<SamplerSpec['kind'], readonly string[]> = {
  'with-replacement': ['B'],
  reshuffle: ['B'],
  fixed: ['B'],
  full: [],
  ncb: ['B', 'maxBatches'],
  osgd: ['B', 'maxBatches'],
  'osgd-without-replacement': ['B', 'maxBatches'],
  'approx-osgd': ['B', 'k', 'q'],
  spectral: ['B', 'groupSize', 'solver'],
};
const SAMPLER_KINDS = Object.keys(SAMPLER_KEYS) as SamplerSpec['kind'][];

/** Optimizer state slots (matrices per parameter) of each optimizer. */
const OPT_SLOTS = { sgd: 0, momentum: 1, adamw: 2, lars: 1 } as const;

function checkSchedule(v: unknown, path: string): void {
  if (v === undefined) return;
  const s = obj(v, path, ['kind'], ['warmupSteps', 'endLr']);
  const kind = str(s.kind, `${path}.kind`, ['constant', 'warmup-cosine'] as const);
  if (kind === 'constant') obj(v, path, ['kind']);
  else {
    obj(v, path, ['kind', 'warmupSteps'], ['endLr']);
    num(s.warmupSteps, `${path}.warmupSteps`, { int: true, min: 0 });
    optNum(s, 'endLr', path, { min: 0 });
  }
}

/** The optimizer's keys and values; it is built (for `totalSteps`) by the caller. */
function checkOptimizer(v: unknown, path: string): keyof typeof OPT_SLOTS {
  const o = obj(v, path, ['kind', 'lr'], ['schedule', 'momentum', 'nesterov', 'b1', 'b2', 'eps', 'weightDecay', 'trust']);
  const kind = str(o.kind, `${path}.kind`, ['sgd', 'momentum', 'adamw', 'lars'] as const);
  obj(v, path, ['kind', 'lr'], ['schedule', ...OPTIMIZER_KEYS[kind]]);
  // lr: finite and > 0 here; a step size too large for the problem shows as non-finite parameters during the run (run.ts).
  num(o.lr, `${path}.lr`, { gt: 0 });
  for (const k of ['momentum', 'b1', 'b2']) optNum(o, k, path, { min: 0, lt: 1 });
  for (const k of ['eps', 'weightDecay']) optNum(o, k, path, { min: 0 });
  optNum(o, 'trust', path, { gt: 0 });
  optBool(o, 'nesterov', path);
  checkSchedule(o.schedule, `${path}.schedule`);
  return kind;
}

function checkSeeds(v: unknown, path: string): number[] {
  const seeds = arr(v, path, 'integers') as number[];
  const seen = new Set<number>();
  seeds.forEach((x, i) => {
    // Rng.fromSeed takes any safe integer; the seeds are the run's identity, so >= 0 and distinct.
    num(x, `${path}[${i}]`, { int: true, min: 0 });
    if (seen.has(x)) fail(`${path}[${i}]`, `repeats the seed ${x}`);
    seen.add(x);
  });
  return seeds;
}

/** What the study-level checks need to know about an arm. */
interface ArmInfo {
  readonly name: string;
  readonly kind: 'cho' | 'gcl';
  /** Metrics its runs log (objectiveGap excepted: it depends on the study's gapReference). */
  readonly logs: ReadonlySet<MetricName>;
  readonly seeds: readonly number[];
  /** Bytes one finished run keeps until the summary is written (final U, V and the trace). */
  readonly keptBytesPerRun: number;
}

function logsOf(metrics: readonly MetricName[]): string {
  return metrics.length ? metrics.join(', ') : 'nothing';
}

function checkCho(v: unknown, path: string): ArmInfo {
  const e = obj(v, path, ['name', 'data', 'objective', 'parametrisation', 'sampler', 'optimizer', 'budget', 'seeds'],
    ['gradient', 'logEvery', 'metrics', 'stopWhen', 'checkpointEvery']);
  const armName = name(e.name, `${path}.name`);
  const data = obj(e.data, `${path}.data`, ['kind'], ['n', 'd', 'thetaDeg']);
  const dk = str(data.kind, `${path}.data.kind`, ['random-sphere', 'rectangle'] as const);
  let n: number;
  let d: number;
  if (dk === 'random-sphere') {
    obj(data, `${path}.data`, ['kind', 'n', 'd']);
    // N >= 2: a batch needs two rows (one row has no negatives).
    n = num(data.n, `${path}.data.n`, { int: true, min: 2 });
    d = num(data.d, `${path}.data.d`, { int: true, min: 1 });
  } else {
    obj(data, `${path}.data`, ['kind', 'thetaDeg']);
    num(data.thetaDeg, `${path}.data.thetaDeg`, { gt: 0, max: 90 });
    n = 4;
    d = 2;
  }
  const o = obj(e.objective, `${path}.objective`, ['name', 'tau']);
  str(o.name, `${path}.objective.name`, ['infonce'] as const);
  const tau = num(o.tau, `${path}.objective.tau`, { gt: 0 });
  str(e.parametrisation, `${path}.parametrisation`, ['projected', 'reparam'] as const);
  if (e.gradient !== undefined) str(e.gradient, `${path}.gradient`, ['euclidean', 'riemannian'] as const);
  const optKind = checkOptimizer(e.optimizer, `${path}.optimizer`);
  const b = obj(e.budget, `${path}.budget`, [], ['epochs', 'steps']);
  if ((b.epochs === undefined) === (b.steps === undefined)) fail(`${path}.budget`, 'must have exactly one of epochs or steps');
  const epochs = optNum(b, 'epochs', `${path}.budget`, { int: true, min: 0 });
  const steps = optNum(b, 'steps', `${path}.budget`, { int: true, min: 0 });
  const seeds = checkSeeds(e.seeds, `${path}.seeds`);
  const logEvery = optNum(e, 'logEvery', path, { int: true, min: 1 });
  optNum(e, 'checkpointEvery', path, { int: true, min: 1 });

  // The metrics this arm logs (run.ts): a known optimum gives distance and gap, the rectangle its angle.
  const optimum = knownOptimum({ name: 'infonce', tau }, n, d) !== null;
  const can = (m: MetricName): string | null =>
    !(CHO_METRICS as readonly string[]).includes(m) ? `is logged by global-objective (kind 'gcl') experiments only`
    : (m === 'distance' || m === 'gap') && !optimum ? `needs a known optimum (d >= N-1 or N = 2d); N = ${n}, d = ${d} has none`
    : m === 'angleError' && !(n === 4 && d === 2) ? 'is the rectangle toy\'s metric (N = 4, d = 2)'
    : null;
  let metrics: MetricName[];
  if (e.metrics !== undefined) {
    metrics = arr(e.metrics, `${path}.metrics`, 'metric names').map((m, i) => {
      const x = str(m, `${path}.metrics[${i}]`, CHO_METRICS);
      const why = can(x);
      if (why) fail(`${path}.metrics[${i}]`, `'${x}' ${why}`);
      return x;
    });
  } else {
    metrics = ['loss', 'gradNorm', ...(optimum ? ['distance', 'gap'] as const : []), ...(dk === 'rectangle' ? ['angleError'] as const : [])];
  }
  if (e.stopWhen !== undefined) {
    const w = obj(e.stopWhen, `${path}.stopWhen`, ['metric', 'below']);
    const m = str(w.metric, `${path}.stopWhen.metric`, METRICS);
    if (!metrics.includes(m)) fail(`${path}.stopWhen.metric`, `'${m}' is not logged by this experiment (it logs ${logsOf(metrics)}), so the run would never stop early`);
    num(w.below, `${path}.stopWhen.below`);
  }

  // Memory before anything of size N is built: one run's U, V, gradients, updates and optimizer state.
  assertMatricesFit(OP, `${path}: one run's U, V, gradients and optimizer state`, n, d, 8, 10 + 4 * OPT_SLOTS[optKind]);

  const s = obj(e.sampler, `${path}.sampler`, ['kind'], ['B', 'maxBatches', 'k', 'q', 'groupSize', 'solver']);
  const sk = str(s.kind, `${path}.sampler.kind`, SAMPLER_KINDS);
  obj(s, `${path}.sampler`, sk === 'full' ? ['kind'] : ['kind', 'B'], SAMPLER_KEYS[sk].filter((k) => k !== 'B'));
  if (sk !== 'full') {
    const B = num(s.B, `${path}.sampler.B`, { int: true });
    if (B < 2) fail(`${path}.sampler.B`, `must be >= 2 (a batch of one row has no negatives), got ${B}`);
    if (B > n) fail(`${path}.sampler.B`, `= ${B} exceeds the data's N = ${n}`);
    optNum(s, 'maxBatches', `${path}.sampler`, { int: true, min: 1 });
    optNum(s, 'k', `${path}.sampler`, { int: true, min: 1 });
    optNum(s, 'q', `${path}.sampler`, { int: true, min: 1 });
    optNum(s, 'groupSize', `${path}.sampler`, { int: true, min: 1 });
    if (s.solver !== undefined) str(s.solver, `${path}.sampler.solver`, ['dense', 'lanczos', 'auto'] as const);
    if (sk === 'spectral') {
      // The embedding and the assignment costs are g x ⌈g/B⌉ per group of g rows; M is g x g while stored.
      const g = Math.min(n, (s.groupSize as number | undefined) ?? n);
      assertMatricesFit(OP, `${path}.sampler: spectral clustering of ${g} rows (embedding and assignment costs)`, g, Math.ceil(g / B), 8, 4);
    }
  }
  const sampler = built(`${path}.sampler`, () => makeSampler(s as unknown as SamplerSpec, n));
  const total = epochs !== undefined ? epochs * sampler.stepsPerEpoch(n) : steps!;
  if (!Number.isSafeInteger(total)) fail(`${path}.budget`, `gives ${total} update steps, more than ${Number.MAX_SAFE_INTEGER}`);
  built(`${path}.optimizer`, () => makeOptimizer(e.optimizer as OptimizerSpec, total));

  const rows = Math.floor(total / (logEvery ?? sampler.stepsPerEpoch(n))) + 2;
  return {
    name: armName, kind: 'cho', logs: new Set(metrics.filter((m) => can(m) === null)), seeds,
    keptBytesPerRun: 2 * n * d * 8 + rows * (2 + metrics.length) * BYTES_PER_TRACE_VALUE,
  };
}

function checkGcl(v: unknown, path: string): ArmInfo {
  const e = obj(v, path, ['kind', 'name', 'data', 'model', 'objective', 'estimator', 'optimizer', 'budget', 'seeds'],
    ['batchSize', 'logEveryEpochs', 'metrics']);
  str(e.kind, `${path}.kind`, ['gcl'] as const);
  const armName = name(e.name, `${path}.name`);
  const data = obj(e.data, `${path}.data`, ['kind'], ['n', 'd', 'nTest', 'p', 'classes', 'sigma', 'augment']);
  const dk = str(data.kind, `${path}.data.kind`, ['random-sphere', 'synthetic-classes'] as const);
  const n = num(data.n, `${path}.data.n`, { int: true, min: 2 });
  let nTest = 0;
  let p = 0;
  if (dk === 'random-sphere') {
    obj(data, `${path}.data`, ['kind', 'n', 'd']);
    num(data.d, `${path}.data.d`, { int: true, min: 1 });
  } else {
    obj(data, `${path}.data`, ['kind', 'n', 'nTest', 'p', 'classes', 'sigma'], ['augment']);
    nTest = num(data.nTest, `${path}.data.nTest`, { int: true, min: 1 });
    p = num(data.p, `${path}.data.p`, { int: true, min: 1 });
    num(data.classes, `${path}.data.classes`, { int: true, min: 1 });
    num(data.sigma, `${path}.data.sigma`, { min: 0 });
    if (data.augment !== undefined) {
      const a = obj(data.augment, `${path}.data.augment`, ['noise', 'mask']);
      num(a.noise, `${path}.data.augment.noise`, { min: 0 });
      num(a.mask, `${path}.data.augment.mask`, { min: 0, lt: 1 });
    }
  }
  const m = obj(e.model, `${path}.model`, ['kind'], ['d', 'hidden', 'parametrisation', 'trainViews']);
  const mk = str(m.kind, `${path}.model.kind`, ['free', 'linear', 'mlp'] as const);
  let d: number;
  let hidden = 0;
  if (mk === 'free') {
    obj(m, `${path}.model`, ['kind'], ['parametrisation']);
    if (m.parametrisation !== undefined) str(m.parametrisation, `${path}.model.parametrisation`, ['projected', 'reparam'] as const);
    if (dk !== 'random-sphere') fail(`${path}.model.kind`, `'free' needs data 'random-sphere' (free embeddings have no inputs); data '${dk}' needs 'linear' or 'mlp'`);
    d = data.d as number;
  } else {
    obj(m, `${path}.model`, mk === 'mlp' ? ['kind', 'hidden', 'd'] : ['kind', 'd'], ['trainViews']);
    d = num(m.d, `${path}.model.d`, { int: true, min: 1 });
    if (mk === 'mlp') hidden = num(m.hidden, `${path}.model.hidden`, { int: true, min: 1 });
    if (m.trainViews !== undefined) str(m.trainViews, `${path}.model.trainViews`, ['fresh', 'fixed'] as const);
    if (dk !== 'synthetic-classes') fail(`${path}.model.kind`, `'${mk}' needs data 'synthetic-classes' (an encoder needs inputs); data 'random-sphere' needs 'free'`);
  }
  const o = obj(e.objective, `${path}.objective`, ['tau'], ['eps0']);
  num(o.tau, `${path}.objective.tau`, { gt: 0 });
  optNum(o, 'eps0', `${path}.objective`, { min: 0 });
  const est = obj(e.estimator, `${path}.estimator`, ['kind'], ['tau', 'modality', 'gamma', 'eps0', 'sharedU', 'pitfalls', 'tau0', 'tauMin', 'tauMax', 'rho', 'tauLr']);
  let stepsPerEpoch = 1;
  str(est.kind, `${path}.estimator.kind`, ['full-batch', ...ESTIMATOR_KINDS]);
  if (est.kind === 'full-batch') {
    obj(est, `${path}.estimator`, ['kind']);
    if (e.batchSize !== undefined) fail(`${path}.batchSize`, 'applies to estimators only; full-batch gradient descent uses all N examples');
  } else {
    const estimator = makeEstimator(est as never, { path: `${path}.estimator` });
    const modality = mk === 'free' ? 'bimodal' : 'unimodal';
    if (estimator.modality !== modality) {
      fail(`${path}.estimator`, `is ${estimator.modality} but the model '${mk}' is ${modality} (free embeddings: bimodal; encoders: unimodal)`);
    }
    const B = num(e.batchSize, `${path}.batchSize`, { int: true, min: 2 });
    if (B > n) fail(`${path}.batchSize`, `= ${B} exceeds the data's N = ${n}`);
    stepsPerEpoch = Math.ceil(n / B);
  }
  const optKind = checkOptimizer(e.optimizer, `${path}.optimizer`);
  const b = obj(e.budget, `${path}.budget`, ['epochs']);
  const epochs = num(b.epochs, `${path}.budget.epochs`, { int: true, min: 0 });
  const seeds = checkSeeds(e.seeds, `${path}.seeds`);
  const logEveryEpochs = optNum(e, 'logEveryEpochs', path, { int: true, min: 1 }) ?? 1;
  const downstream = dk === 'synthetic-classes';
  let metrics: MetricName[] = downstream ? [...GCL_METRICS] : ['objective', 'objectiveGradNorm', 'batchValue'];
  if (e.metrics !== undefined) {
    metrics = arr(e.metrics, `${path}.metrics`, 'metric names').map((x, i) => {
      const q = str(x, `${path}.metrics[${i}]`, GCL_METRICS);
      if (!downstream && (q === 'knn' || q === 'probe' || q === 'retrieval')) fail(`${path}.metrics[${i}]`, `'${q}' needs data 'synthetic-classes' (labels and held-out inputs)`);
      return q;
    });
  }
  // gcl.ts logs F whenever F or ‖∇F‖ is asked for.
  const logs = new Set<MetricName>(metrics);
  if (logs.has('objectiveGradNorm')) logs.add('objective');

  // Memory before the data set or the model is built: inputs (and their two fixed views), the
  // embeddings of both views with their gradients, hidden layers, free parameters and optimizer state.
  const params = mk === 'free' ? 2 * n * d : mk === 'linear' ? d * p : hidden * (p + 1 + d);
  const elements = 3 * (n + nTest) * p + 8 * n * d + 4 * n * hidden + (3 + 2 * OPT_SLOTS[optKind]) * params + 8 * n;
  assertFitsBudget(OP, `${path}: one run's data, embeddings, gradients and optimizer state (N = ${n}, d = ${d}${p ? `, p = ${p}` : ''}${hidden ? `, hidden = ${hidden}` : ''}; ${elements} float64)`, elements * 8);

  const total = epochs * stepsPerEpoch;
  built(`${path}.optimizer`, () => makeOptimizer(e.optimizer as OptimizerSpec, total));
  const rows = Math.floor(total / (logEveryEpochs * stepsPerEpoch)) + 2;
  return { name: armName, kind: 'gcl', logs, seeds, keptBytesPerRun: 2 * n * d * 8 + rows * (3 + logs.size) * BYTES_PER_TRACE_VALUE };
}

/** Validates an ExperimentSpec parsed from JSON (keys, values, its sampler against its data, its memory); returns it typed. */
export function validateExperiment(v: unknown, path = 'experiment'): ExperimentSpec {
  checkCho(v, path);
  return v as ExperimentSpec;
}

/** Validates a global-objective experiment (keys, values, the data/model/estimator pairing, its memory); returns it typed. */
export function validateGclExperiment(v: unknown, path = 'experiment'): GclExperimentSpec {
  checkGcl(v, path);
  return v as GclExperimentSpec;
}

function checkArm(v: unknown, path: string): ArmInfo {
  const kind = (v as { kind?: unknown } | null)?.kind;
  if (kind === undefined) return checkCho(v, path);
  if (kind === 'gcl') return checkGcl(v, path);
  return fail(`${path}.kind`, `must be 'gcl' (a global-objective experiment) or absent (a mini-batch experiment), got ${show(kind)}`);
}

/** Every finished run's final U, V and trace stay in memory until the summary is written. */
function assertKeptFits(arms: readonly ArmInfo[]): void {
  let kept = 0;
  let runs = 0;
  for (const a of arms) {
    kept += a.seeds.length * a.keptBytesPerRun;
    runs += a.seeds.length;
  }
  assertFitsBudget(OP, `study: the results kept for the summary (${runs} runs: final U, V and traces)`, kept);
}

const STUDY_KEYS = ['name', 'description', 'experiments', 'gapReference', 'sweeps', 'figures', 'thresholds', 'gramFigures', 'notes'] as const;
const EXPERIMENT_KEYS = ['name', 'data', 'objective', 'parametrisation', 'gradient', 'sampler', 'optimizer', 'budget', 'seeds', 'logEvery', 'metrics',
  'stopWhen', 'checkpointEvery', 'kind', 'model', 'estimator', 'batchSize', 'logEveryEpochs'];

const STUDY_ONLY_KEYS: string[] = STUDY_KEYS.filter((k) => !EXPERIMENT_KEYS.includes(k));

/** True when `s` reads as a study rather than a single experiment: a study-only key, or a misspelling nearest to one. */
function looksLikeStudy(s: Record<string, unknown>): boolean {
  return Object.keys(s).some((k) => STUDY_ONLY_KEYS.includes(k)
    || (!EXPERIMENT_KEYS.includes(k) && STUDY_ONLY_KEYS.includes(nearest(k, [...EXPERIMENT_KEYS, ...STUDY_ONLY_KEYS]) ?? '')));
}

/**
 * Validates a StudySpec (or wraps a single ExperimentSpec into a one-arm study): every arm, then
 * every figure, sweep, threshold, Gram figure and the gap reference against the arms and the metrics
 * they log, then the memory the study keeps for its summary.
 */
export function validateStudy(v: unknown): StudySpec {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('spec', `must be an object, got ${show(v)}`);
  const s0 = v as Record<string, unknown>;
  if (s0.experiments === undefined && !looksLikeStudy(s0)) {
    const e = checkArm(s0, 'experiment');
    assertKeptFits([e]);
    return { name: e.name, description: 'a single experiment', experiments: [s0 as unknown as AnyExperimentSpec] };
  }
  const s = obj(v, 'study', ['name', 'experiments'], STUDY_KEYS);
  str(s.name, 'study.name');
  if (s.description !== undefined) str(s.description, 'study.description');
  if (s.notes !== undefined) str(s.notes, 'study.notes');
  const arms = new Map<string, ArmInfo>();
  arr(s.experiments, 'study.experiments', 'experiments').forEach((e, i) => {
    const a = checkArm(e, `study.experiments[${i}]`);
    if (arms.has(a.name)) fail(`study.experiments[${i}].name`, `repeats the arm name '${a.name}'`);
    arms.set(a.name, a);
  });
  const armNames = [...arms.keys()];
  const arm = (x: unknown, path: string): ArmInfo => {
    const n = str(x, path);
    const a = arms.get(n);
    if (!a) {
      const near = nearest(n, armNames);
      fail(path, `names no arm of this study: ${show(n)}${near ? `; did you mean '${near}'?` : ''}`);
    }
    return a;
  };
  const armList = (x: unknown, path: string): ArmInfo[] => {
    const list = arr(x, path, 'arm names').map((a, i) => arm(a, `${path}[${i}]`));
    list.forEach((a, i) => {
      if (list.indexOf(a) !== i) fail(`${path}[${i}]`, `repeats the arm '${a.name}'`);
    });
    return list;
  };

  if (s.gapReference !== undefined) {
    const ref = arm(s.gapReference, 'study.gapReference');
    if (!ref.logs.has('objective')) fail('study.gapReference', `'${ref.name}' does not log objective, so there is no gap to take`);
  }
  // objectiveGap: derived for the arms that log objective when the study has a gap reference.
  const logs = (a: ArmInfo): ReadonlySet<MetricName> =>
    s.gapReference !== undefined && a.logs.has('objective') ? new Set([...a.logs, 'objectiveGap' as const]) : a.logs;
  const metricOf = (x: unknown, path: string, of: readonly ArmInfo[], which: string): MetricName => {
    const m = str(x, path, METRICS);
    if (!of.some((a) => logs(a).has(m))) {
      const hint = m === 'objectiveGap' && s.gapReference === undefined ? ' (objectiveGap needs study.gapReference)' : '';
      fail(path, `'${m}' is not logged by ${which}${hint}`);
    }
    return m;
  };
  const all = [...arms.values()];
  const files = new Map<string, string>();
  const outputName = (x: unknown, path: string) => {
    const f = fileName(x, path);
    const prev = files.get(f.toLowerCase());
    if (prev !== undefined) fail(path, `'${f}' is also the name of ${prev}; each figure is a file of its own`);
    files.set(f.toLowerCase(), path);
  };

  if (s.figures !== undefined) {
    if (!Array.isArray(s.figures)) fail('study.figures', `must be an array of figures, got ${show(s.figures)}`);
    s.figures.forEach((f, i) => {
      const path = `study.figures[${i}]`;
      const o = obj(f, path, ['name', 'title', 'metric', 'x'], ['logY', 'arms', 'panels']);
      outputName(o.name, `${path}.name`);
      str(o.title, `${path}.title`);
      str(o.x, `${path}.x`, ['step', 'epoch'] as const);
      optBool(o, 'logY', path);
      if (o.arms !== undefined && o.panels !== undefined) fail(path, 'has both arms and panels; give one (panels list their own arms)');
      if (o.panels !== undefined) {
        const panels = arr(o.panels, `${path}.panels`, 'panels').map((q, k) => {
          const pp = obj(q, `${path}.panels[${k}]`, ['title', 'arms']);
          str(pp.title, `${path}.panels[${k}].title`);
          return armList(pp.arms, `${path}.panels[${k}].arms`);
        });
        const m = metricOf(o.metric, `${path}.metric`, panels.flat(), 'any arm of the figure');
        panels.forEach((p, k) => metricOf(m, `${path}.panels[${k}]`, p, 'any arm of this panel'));
      } else {
        metricOf(o.metric, `${path}.metric`, o.arms !== undefined ? armList(o.arms, `${path}.arms`) : all, 'any arm of the figure');
      }
    });
  }
  if (s.sweeps !== undefined) {
    if (!Array.isArray(s.sweeps)) fail('study.sweeps', `must be an array of sweeps, got ${show(s.sweeps)}`);
    s.sweeps.forEach((w, i) => {
      const path = `study.sweeps[${i}]`;
      const o = obj(w, path, ['name', 'title', 'metric', 'series', 'xTitle'], ['logY', 'logX', 'referenceArm']);
      outputName(o.name, `${path}.name`);
      str(o.title, `${path}.title`);
      str(o.xTitle, `${path}.xTitle`);
      optBool(o, 'logY', path);
      optBool(o, 'logX', path);
      if (o.series === null || typeof o.series !== 'object' || Array.isArray(o.series) || Object.keys(o.series).length === 0) {
        fail(`${path}.series`, `must be an object of series (name → [{arm, x}, ...]), got ${show(o.series)}`);
      }
      const used: ArmInfo[] = [];
      for (const [label, points] of Object.entries(o.series as Record<string, unknown>)) {
        const sp = keyPath(`${path}.series`, label);
        arr(points, sp, '{arm, x} points').forEach((pt, k) => {
          const q = obj(pt, `${sp}[${k}]`, ['arm', 'x']);
          used.push(arm(q.arm, `${sp}[${k}].arm`));
          const x = num(q.x, `${sp}[${k}].x`);
          if (o.logX === true && !(x > 0)) fail(`${sp}[${k}].x`, `must be > 0 on a log x axis (logX), got ${x}`);
        });
      }
      const m = metricOf(o.metric, `${path}.metric`, used, 'any arm of the sweep');
      if (o.referenceArm !== undefined) metricOf(m, `${path}.referenceArm`, [arm(o.referenceArm, `${path}.referenceArm`)], 'the reference arm');
    });
  }
  if (s.thresholds !== undefined) {
    if (!Array.isArray(s.thresholds)) fail('study.thresholds', `must be an array of {metric, below}, got ${show(s.thresholds)}`);
    s.thresholds.forEach((t, i) => {
      const o = obj(t, `study.thresholds[${i}]`, ['metric', 'below']);
      metricOf(o.metric, `study.thresholds[${i}].metric`, all, 'any arm of the study');
      num(o.below, `study.thresholds[${i}].below`);
    });
  }
  if (s.gramFigures !== undefined) {
    if (!Array.isArray(s.gramFigures)) fail('study.gramFigures', `must be an array of Gram figures, got ${show(s.gramFigures)}`);
    s.gramFigures.forEach((g, i) => {
      const o = obj(g, `study.gramFigures[${i}]`, ['name', 'title', 'arms']);
      outputName(o.name, `study.gramFigures[${i}].name`);
      str(o.title, `study.gramFigures[${i}].title`);
      armList(o.arms, `study.gramFigures[${i}].arms`);
    });
  }
  assertKeptFits(all);
  return (s.description === undefined ? { description: '', ...s } : s) as unknown as StudySpec;
}
