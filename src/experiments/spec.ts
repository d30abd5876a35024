/**
 * Validation of experiment and study specs (plain JSON; the types are in types.ts). The whole spec
 * is checked before any run starts: every key is known, every value has its type and range, the
 * data / model / sampler / estimator combination is defined (else refused with the reason), every
 * name a figure, sweep, threshold or gap reference uses exists, and each run's memory fits.
 */
import { assertFitsBudget, assertMatricesFit } from '../core/budget.ts';
import { ConfigError, ContrastlabError } from '../core/errors.ts';
import { makeEstimator } from '../estimators/index.ts';
import { checkKeys, ESTIMATOR_KINDS, keyPath, nearest } from '../estimators/spec.ts';
import { knownOptimum } from '../optima/known.ts';
import { makeSampler } from '../samplers/index.ts';
import type { SamplerSpec } from '../samplers/types.ts';
import { MNIST_COUNT, MNIST_PIXELS } from '../data/mnist.ts';
import { npyDataShape, readLabels } from '../data/npyData.ts';
import { makeOptimizer } from './build.ts';
import { INPUT_DATA_KINDS, METRICS, type ExperimentSpec, type MetricName, type OptimizerSpec, type StudySpec } from './types.ts';

export { canonicalJson, configHash } from './hash.ts';
export {
  METRICS, type DataSpec, type ExperimentSpec, type FigureSpec, type GramFigureSpec, type MetricName, type ModelSpec, type ObjectiveSpec,
  type OptimizerSpec, type ScheduleSpec, type StudySpec, type SweepSpec, type TrainEstimatorSpec,
} from './types.ts';

/** The metrics of CHO's runs (minibatch-infonce on free embeddings) and of SOG's (the global objective, downstream). */
export const CHO_METRICS = ['loss', 'gradNorm', 'distance', 'gap', 'angleError'] as const satisfies readonly MetricName[];
export const GCL_METRICS = ['objective', 'objectiveGradNorm', 'batchValue', 'knn', 'probe', 'retrieval'] as const satisfies readonly MetricName[];

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

/** A view augmentation: the vector one ({ noise, mask }) or, where `image` is allowed, { kind: 'image', ... } for p = height·width. */
function checkAugment(v: unknown, path: string, p: number, image: boolean): void {
  const a0 = obj(v, path, [], ['kind', 'noise', 'mask', 'height', 'width', 'crop', 'translate', 'erase']);
  if (a0.kind === undefined) {
    const a = obj(v, path, ['noise', 'mask']);
    num(a.noise, `${path}.noise`, { min: 0 });
    num(a.mask, `${path}.mask`, { min: 0, lt: 1 });
    return;
  }
  str(a0.kind, `${path}.kind`, ['image'] as const);
  if (!image) fail(`${path}.kind`, "'image' applies to data 'mnist' and 'npy'; synthetic-classes takes the vector augmentation { noise, mask }");
  const a = obj(v, path, ['kind', 'height', 'width', 'crop', 'translate', 'erase', 'noise']);
  const h = num(a.height, `${path}.height`, { int: true, min: 1 });
  const w = num(a.width, `${path}.width`, { int: true, min: 1 });
  if (h * w !== p) fail(path, `is a ${h} x ${w} image (${h * w} pixels) but the inputs have p = ${p} values per row`);
  if (a.crop !== null) {
    const c = obj(a.crop, `${path}.crop`, ['minScale']);
    num(c.minScale, `${path}.crop.minScale`, { gt: 0, max: 1 });
  }
  num(a.translate, `${path}.translate`, { int: true, min: 0 });
  if (a.erase !== null) {
    const r = obj(a.erase, `${path}.erase`, ['p', 'minScale', 'maxScale']);
    num(r.p, `${path}.erase.p`, { min: 0, max: 1 });
    const lo = num(r.minScale, `${path}.erase.minScale`, { gt: 0, max: 1 });
    const hi = num(r.maxScale, `${path}.erase.maxScale`, { gt: 0, max: 1 });
    if (lo > hi) fail(`${path}.erase.minScale`, `= ${lo} exceeds maxScale = ${hi}`);
  }
  num(a.noise, `${path}.noise`, { min: 0 });
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
  /** Metrics its runs log (objectiveGap excepted: it depends on the study's gapReference). */
  readonly logs: ReadonlySet<MetricName>;
  readonly seeds: readonly number[];
  /** Its study run files keep the final U and V (`recordsEmbeddings`). */
  readonly recordsEmbeddings: boolean;
}

function logsOf(metrics: readonly MetricName[]): string {
  return metrics.length ? metrics.join(', ') : 'nothing';
}

/**
 * Whether a study's run file keeps the final embeddings: for free-embedding arms only (their
 * parameters, which Gram figures show; a Gram figure over another arm is refused). An encoder arm's
 * would be 2·N·d numbers per run file.
 */
export function recordsEmbeddings(e: ExperimentSpec): boolean {
  return e.model.kind === 'free';
}

function checkExperiment(v: unknown, path: string): ArmInfo {
  const e = obj(v, path, ['name', 'data', 'model', 'objective', 'sampler', 'estimator', 'optimizer', 'budget', 'seeds'],
    ['logEvery', 'logEveryEpochs', 'metrics', 'stopWhen', 'checkpointEvery']);
  const armName = name(e.name, `${path}.name`);

  // data
  const data = obj(e.data, `${path}.data`, ['kind'], ['n', 'd', 'thetaDeg', 'nTest', 'p', 'classes', 'sigma', 'augment', 'train', 'test', 'seed', 'x', 'labels']);
  const dk = str(data.kind, `${path}.data.kind`, ['random-sphere', 'rectangle', ...INPUT_DATA_KINDS] as const);
  const inputs = (INPUT_DATA_KINDS as readonly string[]).includes(dk);
  let n: number;
  let d = 0;
  let nTest = 0;
  let p = 0;
  let labelled = false;
  if (dk === 'random-sphere') {
    obj(data, `${path}.data`, ['kind', 'n', 'd']);
    // N >= 2: a batch needs two rows (one row has no negatives).
    n = num(data.n, `${path}.data.n`, { int: true, min: 2 });
    d = num(data.d, `${path}.data.d`, { int: true, min: 1 });
  } else if (dk === 'rectangle') {
    obj(data, `${path}.data`, ['kind', 'thetaDeg']);
    num(data.thetaDeg, `${path}.data.thetaDeg`, { gt: 0, max: 90 });
    n = 4;
    d = 2;
  } else if (dk === 'synthetic-classes') {
    obj(data, `${path}.data`, ['kind', 'n', 'nTest', 'p', 'classes', 'sigma'], ['augment']);
    n = num(data.n, `${path}.data.n`, { int: true, min: 2 });
    nTest = num(data.nTest, `${path}.data.nTest`, { int: true, min: 1 });
    p = num(data.p, `${path}.data.p`, { int: true, min: 1 });
    num(data.classes, `${path}.data.classes`, { int: true, min: 1 });
    num(data.sigma, `${path}.data.sigma`, { min: 0 });
    labelled = true;
    if (data.augment !== undefined) checkAugment(data.augment, `${path}.data.augment`, p, false);
  } else if (dk === 'mnist') {
    obj(data, `${path}.data`, ['kind', 'train', 'test'], ['seed', 'augment']);
    n = num(data.train, `${path}.data.train`, { int: true, min: 2, max: MNIST_COUNT - 1 });
    nTest = num(data.test, `${path}.data.test`, { int: true, min: 1, max: MNIST_COUNT - 1 });
    if (n + nTest > MNIST_COUNT) fail(`${path}.data`, `train + test = ${n} + ${nTest} = ${n + nTest} exceeds the ${MNIST_COUNT} digits of the package 'mnist'`);
    optNum(data, 'seed', `${path}.data`, { int: true, min: 0 });
    p = MNIST_PIXELS;
    labelled = true;
    if (data.augment !== undefined) checkAugment(data.augment, `${path}.data.augment`, p, true);
  } else {
    obj(data, `${path}.data`, ['kind', 'x'], ['labels', 'test', 'seed', 'augment']);
    const x = str(data.x, `${path}.data.x`);
    if (x.length === 0) fail(`${path}.data.x`, 'must be a path to an .npy file, got an empty string');
    if (data.labels !== undefined && str(data.labels, `${path}.data.labels`).length === 0) fail(`${path}.data.labels`, 'must be a path to an .npy file, got an empty string');
    nTest = optNum(data, 'test', `${path}.data`, { int: true, min: 0 }) ?? 0;
    optNum(data, 'seed', `${path}.data`, { int: true, min: 0 });
    const shape = built(`${path}.data`, () => npyDataShape({ x }));
    p = shape.p;
    n = shape.rows - nTest;
    if (n < 2) fail(`${path}.data.test`, `= ${nTest} leaves ${n} training row${n === 1 ? '' : 's'} of the x file's N = ${shape.rows}; training needs at least 2`);
    if (data.labels !== undefined) {
      built(`${path}.data.labels`, () => readLabels(data.labels as string, shape.rows));
      labelled = true;
    }
    if (data.augment !== undefined) checkAugment(data.augment, `${path}.data.augment`, p, true);
  }

  // model
  const m = obj(e.model, `${path}.model`, ['kind'], ['parametrisation', 'gradient', 'd', 'hidden', 'trainViews']);
  const mk = str(m.kind, `${path}.model.kind`, ['free', 'linear', 'mlp'] as const);
  let hidden = 0;
  if (mk === 'free') {
    obj(m, `${path}.model`, ['kind'], ['parametrisation', 'gradient']);
    const par = m.parametrisation === undefined ? 'projected' : str(m.parametrisation, `${path}.model.parametrisation`, ['projected', 'reparam'] as const);
    if (m.gradient !== undefined) {
      str(m.gradient, `${path}.model.gradient`, ['euclidean', 'riemannian'] as const);
      if (par === 'reparam') fail(`${path}.model.gradient`, "applies to the projected parametrisation only (reparametrised rows are free: their gradient is the chain rule's)");
    }
    if (inputs) fail(`${path}.model.kind`, `'free' needs data 'random-sphere' or 'rectangle' (free embeddings have no inputs); data '${dk}' needs 'linear' or 'mlp'`);
  } else {
    obj(m, `${path}.model`, mk === 'mlp' ? ['kind', 'hidden', 'd'] : ['kind', 'd'], ['trainViews']);
    d = num(m.d, `${path}.model.d`, { int: true, min: 1 });
    if (mk === 'mlp') hidden = num(m.hidden, `${path}.model.hidden`, { int: true, min: 1 });
    if (m.trainViews !== undefined) str(m.trainViews, `${path}.model.trainViews`, ['fresh', 'fixed'] as const);
    if (!inputs) fail(`${path}.model.kind`, `'${mk}' needs data ${INPUT_DATA_KINDS.map((k) => `'${k}'`).join(', ')} (an encoder needs inputs); data '${dk}' needs 'free'`);
  }
  const modality = mk === 'free' ? 'bimodal' : 'unimodal';

  // objective (the exact objectives logged)
  const o = obj(e.objective, `${path}.objective`, ['tau'], ['kind', 'eps0']);
  if (o.kind !== undefined) str(o.kind, `${path}.objective.kind`, ['gcl', 'infonce'] as const);
  const tau = num(o.tau, `${path}.objective.tau`, { gt: 0 });
  optNum(o, 'eps0', `${path}.objective`, { min: 0 });
  if (o.kind === 'infonce' && o.eps0 !== undefined) fail(`${path}.objective.eps0`, "applies to objective kind 'gcl' only");

  // sampler
  const s = obj(e.sampler, `${path}.sampler`, ['kind'], ['B', 'maxBatches', 'k', 'q', 'groupSize', 'solver']);
  const sk = str(s.kind, `${path}.sampler.kind`, SAMPLER_KINDS);
  obj(s, `${path}.sampler`, sk === 'full' ? ['kind'] : ['kind', 'B'], SAMPLER_KEYS[sk].filter((k) => k !== 'B'));
  let B = n;
  if (sk !== 'full') {
    B = num(s.B, `${path}.sampler.B`, { int: true });
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

  // estimator
  const est = obj(e.estimator, `${path}.estimator`, ['kind'], ['tau', 'modality', 'gamma', 'eps0', 'sharedU', 'pitfalls', 'tau0', 'tauMin', 'tauMax', 'rho', 'tauLr']);
  const ek = str(est.kind, `${path}.estimator.kind`, ['minibatch-infonce', 'exact', ...ESTIMATOR_KINDS]);
  if (ek === 'minibatch-infonce') {
    obj(est, `${path}.estimator`, ['kind', 'tau']);
    num(est.tau, `${path}.estimator.tau`, { gt: 0 });
  } else if (ek === 'exact') {
    obj(est, `${path}.estimator`, ['kind']);
    if (sk !== 'full') fail(`${path}.estimator.kind`, `'exact' is the gradient of the objective on all N examples; it needs sampler 'full', got '${sk}'`);
  } else {
    const estimator = built(`${path}.estimator`, () => makeEstimator(est as never, { path: `${path}.estimator` }));
    if (estimator.modality !== modality) {
      fail(`${path}.estimator`, `is ${estimator.modality} but the model '${mk}' is ${modality} (free embeddings: bimodal pairs; encoders: two views of one input, unimodal)`);
    }
    if (sk === 'ncb') fail(`${path}.sampler.kind`, `'ncb' takes all C(N,B) batches in one step; estimator '${ek}' updates its per-anchor state once per batch and needs one batch per step (use estimator 'minibatch-infonce' for NcB)`);
  }

  // optimizer, budget, seeds, logging
  const optKind = checkOptimizer(e.optimizer, `${path}.optimizer`);
  const b = obj(e.budget, `${path}.budget`, [], ['epochs', 'steps']);
  if ((b.epochs === undefined) === (b.steps === undefined)) fail(`${path}.budget`, 'must have exactly one of epochs or steps');
  const epochs = optNum(b, 'epochs', `${path}.budget`, { int: true, min: 0 });
  const steps = optNum(b, 'steps', `${path}.budget`, { int: true, min: 0 });
  const seeds = checkSeeds(e.seeds, `${path}.seeds`);
  const logEvery = optNum(e, 'logEvery', path, { int: true, min: 1 });
  const logEveryEpochs = optNum(e, 'logEveryEpochs', path, { int: true, min: 1 });
  if (logEvery !== undefined && logEveryEpochs !== undefined) fail(path, 'has both logEvery and logEveryEpochs; give one');
  optNum(e, 'checkpointEvery', path, { int: true, min: 1 });

  // metrics: what applies to this arm (train.ts loggedMetrics)
  const optimum = mk === 'free' && knownOptimum({ name: 'infonce', tau }, n, d) !== null;
  const downstream = inputs && nTest > 0;
  const can = (x: MetricName): string | null =>
    x === 'objectiveGap' ? 'is derived by the study (study.gapReference), not logged by a run'
    : (x === 'distance' || x === 'gap') && !optimum ? `needs free embeddings with a known optimum (d >= N-1 or N = 2d); ${mk === 'free' ? `N = ${n}, d = ${d} has none` : `model '${mk}'`}`
    : x === 'angleError' && dk !== 'rectangle' ? "is the rectangle toy's metric (data 'rectangle')"
    : (x === 'knn' || x === 'probe' || x === 'retrieval') && !downstream ? `needs data 'synthetic-classes', 'mnist' or 'npy' with held-out rows (${inputs ? `data '${dk}' holds out none: set data.test` : `data '${dk}' has no inputs`})`
    : (x === 'knn' || x === 'probe') && !labelled ? `needs labels (data '${dk}' has none: give data.labels; 'retrieval' needs none)`
    : null;
  let metrics: MetricName[];
  if (e.metrics !== undefined) {
    metrics = arr(e.metrics, `${path}.metrics`, 'metric names').map((x, i) => {
      const q = str(x, `${path}.metrics[${i}]`, METRICS);
      const why = can(q);
      if (why) fail(`${path}.metrics[${i}]`, `'${q}' ${why}`);
      return q;
    });
  } else if (ek === 'minibatch-infonce') {
    metrics = ['loss', 'gradNorm', ...(optimum ? ['distance', 'gap'] as const : []), ...(dk === 'rectangle' ? ['angleError'] as const : [])];
  } else {
    metrics = ['objective', 'objectiveGradNorm', 'batchValue', ...(downstream ? (labelled ? ['knn', 'probe', 'retrieval'] as const : ['retrieval'] as const) : [])];
  }
  const logs = new Set<MetricName>(metrics);
  if (logs.has('objectiveGradNorm')) logs.add('objective');
  if (e.stopWhen !== undefined) {
    const w = obj(e.stopWhen, `${path}.stopWhen`, ['metric', 'below']);
    const q = str(w.metric, `${path}.stopWhen.metric`, METRICS);
    if (!logs.has(q)) fail(`${path}.stopWhen.metric`, `'${q}' is not logged by this experiment (it logs ${logsOf([...logs])}), so the run would never stop early`);
    num(w.below, `${path}.stopWhen.below`);
  }

  // Memory before anything of size N is built: inputs (and their fixed views), embeddings of both
  // views with their gradients, hidden layers, parameters with their gradients, updates and optimizer state.
  const params = mk === 'free' ? 2 * n * d : mk === 'linear' ? d * p : hidden * (p + 1 + d);
  const elements = 3 * (n + nTest) * p + 8 * n * d + 4 * n * hidden + (3 + 2 * OPT_SLOTS[optKind]) * params + 8 * n;
  assertFitsBudget(OP, `${path}: one run's data, embeddings, gradients and optimizer state (N = ${n}, d = ${d}${p ? `, p = ${p}` : ''}${hidden ? `, hidden = ${hidden}` : ''}; ${elements} float64)`, elements * 8);

  const total = epochs !== undefined ? epochs * sampler.stepsPerEpoch(n) : steps!;
  if (!Number.isSafeInteger(total)) fail(`${path}.budget`, `gives ${total} update steps, more than ${Number.MAX_SAFE_INTEGER}`);
  built(`${path}.optimizer`, () => makeOptimizer(e.optimizer as OptimizerSpec, total));
  return { name: armName, logs, seeds, recordsEmbeddings: recordsEmbeddings(e as unknown as ExperimentSpec) };
}

/** Validates one experiment spec parsed from JSON (keys, values, the combination, its memory); returns it typed. */
export function validateExperiment(v: unknown, path = 'experiment'): ExperimentSpec {
  checkExperiment(v, path);
  return v as ExperimentSpec;
}


const STUDY_KEYS = ['name', 'description', 'experiments', 'gapReference', 'sweeps', 'figures', 'thresholds', 'gramFigures', 'notes'] as const;
const EXPERIMENT_KEYS = ['name', 'data', 'model', 'objective', 'sampler', 'estimator', 'optimizer', 'budget', 'seeds', 'logEvery', 'logEveryEpochs', 'metrics',
  'stopWhen', 'checkpointEvery'];

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
    const e = checkExperiment(s0, 'experiment');
    return { name: e.name, description: 'a single experiment', experiments: [s0 as unknown as ExperimentSpec] };
  }
  const s = obj(v, 'study', ['name', 'experiments'], STUDY_KEYS);
  str(s.name, 'study.name');
  if (s.description !== undefined) str(s.description, 'study.description');
  if (s.notes !== undefined) str(s.notes, 'study.notes');
  const arms = new Map<string, ArmInfo>();
  arr(s.experiments, 'study.experiments', 'experiments').forEach((e, i) => {
    const a = checkExperiment(e, `study.experiments[${i}]`);
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
      armList(o.arms, `study.gramFigures[${i}].arms`).forEach((a, k) => {
        if (!a.recordsEmbeddings) fail(`study.gramFigures[${i}].arms[${k}]`, `'${a.name}' trains an encoder; a Gram figure shows the final embeddings, which only free-embedding runs record`);
      });
    });
  }
  return (s.description === undefined ? { description: '', ...s } : s) as unknown as StudySpec;
}
