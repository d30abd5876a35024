/**
 * One training loop for both papers: a run is a pure function of (spec, seed, backend).
 *
 *   data → model → sampler → estimator → optimizer → projection → metrics        (types.ts)
 *
 * Each update step:
 *   batches = sampler.next(ctx)                       THEORY 4 (OSGD scores with the trained objective's batch loss)
 *   minibatch-infonce: g = ∇ (1/|batches|) Σ_b L(U_b, V_b)      CHO, THEORY 2.2 (blocked kernels)
 *   GCL estimators:    g = the estimator's m_b on the batch      SOG, THEORY 5 (per-anchor state updated in place)
 *   exact:             g = ∇F on all N examples (fixed views)
 *   params ← project(params + optimizer.update(g))              THEORY 6
 * and every `logEvery` steps the metrics are logged (exact objectives from the blocked kernels,
 * the distance to a known optimum, downstream metrics).
 *
 * Cost of a step. With plain SGD, a model with a row-sparse update (free embeddings) and a sampler
 * that does not look at the embeddings, a step touches only the B rows of its batch and the
 * estimator's per-anchor state of those rows: O(B·d + B²·d), whatever N. Dense optimizers
 * (momentum, AdamW, LARS) update every row; CHO's minibatch-infonce on free embeddings keeps its
 * dense path (the numbers of the original runner, bit for bit). Samplers that score batches (OSGD,
 * spectral) need every example's embedding at the step they plan: for encoders one forward pass of
 * all N inputs with the fixed views (N·p·d multiply-adds for the linear encoder).
 *
 * Generators. The seed's generator gives two streams: the first draws the data (free embeddings:
 * the initial U, V; encoder data: synthetic-classes' inputs, and for every input kind the state of
 * the fixed evaluation views; MNIST's and npy's splits come from their own data seed), the second the encoder's weights and then the
 * sampler's initial state. Each step splits one generator off the main one: the sampler draws from
 * it directly for free embeddings; for encoders, which draw their augmentations from it, the sampler
 * gets a generator split off it at its first draw of the step.
 *
 * State. The run owns its state: parameters updated in place on the row-sparse path, the
 * estimator's per-anchor arrays updated in place. `onCheckpoint` receives a deep copy (only there is
 * anything of size N copied), and a state resumed from a checkpoint gives exactly the numbers of an
 * uninterrupted run.
 */
import { defaultBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import { clone, frobeniusNorm, gatherRows, type Matrix, type Matrix64, zeros } from '../core/matrix.ts';
import { Rng, type RngState } from '../core/random.ts';
import { normalizeRows, rowNorms, tangentProject } from '../core/sphere.ts';
import { downstreamMetrics } from '../analysis/downstream.ts';
import type { Dataset } from '../data/dataset.ts';
import { batchPairs, pluginValue } from '../estimators/batch.ts';
import { makeEstimator } from '../estimators/index.ts';
import { pluginEps0 } from '../estimators/plugin.ts';
import type { EstimatorSpec } from '../estimators/spec.ts';
import type { Estimator } from '../estimators/types.ts';
import { freeEmbeddings, linearEncoder, mlpEncoder, type Model } from '../models/index.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad, infonceLossAndGrad, minibatchLossAndGrad } from '../objectives/index.ts';
import { applyUpdates } from '../optim/transforms.ts';
import type { GradientTransformation, Params } from '../optim/types.ts';
import { etfInfonce, partitionInfonce } from '../optima/closedForms.ts';
import { gramDistance } from '../optima/gramDistance.ts';
import { knownOptimum } from '../optima/known.ts';
import { AllBatches, cutIntoBatches } from '../samplers/common.ts';
import { makeSampler } from '../samplers/index.ts';
import type { BatchScorer, Sampler, SamplerContext } from '../samplers/types.ts';
import { buildDataset, inputDataShape, isInputData } from './data.ts';
import { initialEmbeddings, makeOptimizer, makeSchedule, rectangleAngleError } from './build.ts';
import { sameJson, StateChecker } from './checkpoint.ts';
import { assertFiniteParams, assertFiniteRow, atStep, type RunPlace } from './guard.ts';
import { configHash } from './hash.ts';
import type { DataSpec, ExperimentSpec, MetricName, TrainEstimatorSpec } from './types.ts';

/** One logged row: the step, the epoch and whichever metrics the run logs. */
export type RunTraceRow = { readonly step: number; readonly epoch: number } & { readonly [K in MetricName]?: number };

export interface RunState {
  readonly arm: string;
  readonly seed: number;
  readonly configHash: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly params: Params;
  readonly opt: unknown;
  readonly sampler: unknown;
  readonly estimator: unknown;
  readonly rng: RngState;
  readonly trace: RunTraceRow[];
  /** The last step's batch value (NaN before the first step). */
  readonly lastBatchValue: number;
  readonly done: boolean;
  readonly stoppedEarly: boolean;
}

export interface PartitionCheck {
  /** max over batches b of ‖U_b V_bᵀ − G*_B‖_F, G*_B the B-point ETF Gram (0 when every batch is an ETF). */
  readonly maxBatchEtfDistance: number;
  /** The mini-batch objective over the partition, and its closed-form minimum log(1 + (B−1)e^{−B/((B−1)τ)}). */
  readonly partitionLoss: number;
  readonly partitionOptimum: number;
  /** Full-batch loss minus the ETF value (≥ 0; > 0 means the end point is not a full-batch minimiser). */
  readonly fullGap: number;
}

export interface RunRecord {
  readonly arm: string;
  readonly seed: number;
  readonly configHash: string;
  readonly steps: number;
  readonly epochs: number;
  readonly stoppedEarly: boolean;
  readonly trace: RunTraceRow[];
  readonly final: RunTraceRow;
  /**
   * The embeddings of every training example at the end (encoders: of the fixed views), unless the
   * caller asked for none (`TrainOptions.recordEmbeddings: false`). The study runner keeps them for
   * free-embedding arms only (their parameters; Gram figures show them): an encoder arm's are a
   * function of its weights and the data, 2·N·d numbers per run (22 MB of JSON for MNIST's 8000 x 128).
   */
  readonly U?: Matrix64;
  readonly V?: Matrix64;
  /** Fixed-partition CHO runs: the end point's batch structure (CHO Thm 5, THEORY 3). */
  readonly partition?: PartitionCheck;
}

export interface TrainOptions {
  readonly backend?: Backend;
  /** Put the final U and V into the record (default true; see RunRecord.U). */
  readonly recordEmbeddings?: boolean;
  /** Continue from this state (from a checkpoint) instead of starting afresh. */
  readonly resume?: RunState;
  /** Called after every logged step. */
  readonly onLog?: (row: RunTraceRow, totalSteps: number) => void;
  /** Called with a deep copy of the state every `checkpointEvery` steps and at the end. */
  readonly onCheckpoint?: (state: RunState) => void;
}

// ---- what a spec builds ----

/** The exact-objective family the metrics and the `exact` estimator use. */
type GclEstimatorSpec = EstimatorSpec;

export interface Setup {
  readonly spec: ExperimentSpec;
  readonly n: number;
  readonly d: number;
  readonly model: Model;
  readonly data: Dataset | null;
  readonly sampler: Sampler;
  /** null for minibatch-infonce and exact. */
  readonly estimator: Estimator | null;
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  /** CHO's dense path: minibatch-infonce on free embeddings. */
  readonly choDense: boolean;
  readonly reparam: boolean;
}

function shapeOf(data: DataSpec, model: ExperimentSpec['model']): { n: number; d: number } {
  if (data.kind === 'rectangle') return { n: 4, d: 2 };
  if (data.kind === 'random-sphere') return { n: data.n, d: data.d };
  return { n: inputDataShape(data).n, d: model.kind === 'free' ? 0 : model.d };
}

/** Downstream metrics a run can log: held-out rows for all three, labels for k-NN and the probe. */
function downstreamOf(data: DataSpec): MetricName[] {
  if (!isInputData(data)) return [];
  const s = inputDataShape(data);
  if (s.nTest < 1) return [];
  return s.labelled ? ['knn', 'probe', 'retrieval'] : ['retrieval'];
}

const isFree = (spec: ExperimentSpec) => spec.model.kind === 'free';

/** The batch size of the step's batches (N for `full`). */
export function batchSizeOf(spec: ExperimentSpec, n: number): number {
  return spec.sampler.kind === 'full' ? n : spec.sampler.B;
}

/**
 * Builds the model (and the data set it embeds), sampler and estimator of `spec` for `seed`, and
 * refuses combinations that are not defined, naming the reason (ConfigError).
 */
export function setupRun(spec: ExperimentSpec, seed: number): Setup {
  const op = `experiment '${spec.name}'`;
  const { n, d: d0 } = shapeOf(spec.data, spec.model);
  const rng = Rng.fromSeed(seed);
  const s1 = rng.split();
  let model: Model;
  let data: Dataset | null = null;
  if (spec.model.kind === 'free') {
    if (isInputData(spec.data)) throw new ConfigError(op, `model 'free' needs data 'random-sphere' or 'rectangle' (free embeddings have no inputs); data '${spec.data.kind}' needs an encoder`);
    model = freeEmbeddings(n, d0, { parametrisation: spec.model.parametrisation ?? 'projected' });
  } else {
    if (!isInputData(spec.data)) throw new ConfigError(op, `model '${spec.model.kind}' needs data 'synthetic-classes', 'mnist' or 'npy' (an encoder needs inputs)`);
    data = buildDataset(spec.data, s1);
    model = spec.model.kind === 'linear'
      ? linearEncoder(data, spec.model.d, { trainViews: spec.model.trainViews })
      : mlpEncoder(data, spec.model.hidden, spec.model.d, { trainViews: spec.model.trainViews });
  }
  const sampler = makeSampler(spec.sampler, n);
  const ek = spec.estimator.kind;
  let estimator: Estimator | null = null;
  if (ek === 'exact') {
    if (spec.sampler.kind !== 'full') throw new ConfigError(op, `estimator 'exact' is the gradient on all N examples; it needs sampler 'full', got '${spec.sampler.kind}'`);
  } else if (ek !== 'minibatch-infonce') {
    estimator = makeEstimator(spec.estimator as GclEstimatorSpec, { path: 'experiment.estimator' });
    if (estimator.modality !== model.modality) {
      throw new ConfigError(op, `estimator '${ek}' is ${estimator.modality} but the model '${spec.model.kind}' is ${model.modality} (free embeddings: bimodal pairs; encoders: two views of one input, unimodal)`);
    }
    if (spec.sampler.kind === 'ncb') {
      throw new ConfigError(op, `sampler 'ncb' takes all C(N,B) batches in one step; estimator '${ek}' updates its per-anchor state once per batch, so it needs one batch per step (use estimator 'minibatch-infonce' for NcB)`);
    }
  }
  const stepsPerEpoch = sampler.stepsPerEpoch(n);
  const total = 'epochs' in spec.budget ? spec.budget.epochs * stepsPerEpoch : spec.budget.steps;
  return {
    spec, n, d: model.d, model, data, sampler, estimator, stepsPerEpoch, totalSteps: total,
    choDense: ek === 'minibatch-infonce' && spec.model.kind === 'free',
    reparam: spec.model.kind === 'free' && spec.model.parametrisation === 'reparam',
  };
}

export function totalSteps(spec: ExperimentSpec): number {
  return setupRun(spec, spec.seeds[0] ?? 0).totalSteps;
}

/** The metrics a run logs when the spec does not say: CHO's for minibatch-infonce, SOG's otherwise. */
export function defaultMetrics(spec: ExperimentSpec): MetricName[] {
  const { n, d } = shapeOf(spec.data, spec.model);
  if (spec.estimator.kind === 'minibatch-infonce') {
    const m: MetricName[] = ['loss', 'gradNorm'];
    if (isFree(spec) && knownOptimum({ name: 'infonce', tau: spec.objective.tau }, n, d)) m.push('distance', 'gap');
    if (spec.data.kind === 'rectangle') m.push('angleError');
    return m;
  }
  return ['objective', 'objectiveGradNorm', 'batchValue', ...downstreamOf(spec.data)];
}

/** The metrics a run's rows can hold: those asked for that apply (F is logged with ‖∇F‖; distance/gap need a known optimum). */
export function loggedMetrics(spec: ExperimentSpec): MetricName[] {
  const { n, d } = shapeOf(spec.data, spec.model);
  const optimum = isFree(spec) && knownOptimum({ name: 'infonce', tau: spec.objective.tau }, n, d) !== null;
  const m = (spec.metrics ?? defaultMetrics(spec))
    .filter((x) => (x !== 'distance' && x !== 'gap') || optimum)
    .filter((x) => x !== 'angleError' || spec.data.kind === 'rectangle');
  return m.includes('objectiveGradNorm') && !m.includes('objective') ? [...m, 'objective'] : [...m];
}

/** Initial parameters: free embeddings from the first stream (CHO's initial U, V), encoders' weights from the second. */
function initialParams(st: Setup, spec: ExperimentSpec, seed: number): { params: Params; samplerRng: Rng; rng: Rng } {
  const rng = Rng.fromSeed(seed);
  const s1 = rng.split();
  const s2 = rng.split();
  let params: Params;
  if (spec.model.kind === 'free') {
    const { U, V } = initialEmbeddings(spec.data as Extract<DataSpec, { kind: 'random-sphere' | 'rectangle' }>, s1);
    params = { U, V };
  } else {
    params = st.model.init(s2);
  }
  return { params, samplerRng: s2, rng };
}

export function initialState(spec: ExperimentSpec, seed: number, st: Setup = setupRun(spec, seed)): RunState {
  const { params, samplerRng, rng } = initialParams(st, spec, seed);
  const opt = makeOptimizer(spec.optimizer, st.totalSteps);
  return {
    arm: spec.name, seed, configHash: configHash(spec), step: 0, totalSteps: st.totalSteps,
    params, opt: opt.init(params), sampler: st.sampler.init(st.n, samplerRng), estimator: st.estimator ? st.estimator.init(st.n) : null,
    rng: rng.state(), trace: [], lastBatchValue: NaN, done: false, stoppedEarly: false,
  };
}

// ---- checks of state read back from disk ----

function identity(c: StateChecker, o: Record<string, unknown>, spec: ExperimentSpec, seed: number): void {
  if (o.arm !== spec.name || o.seed !== seed || o.configHash !== configHash(spec)) {
    throw new ConfigError(c.op, `${c.source} is for arm ${JSON.stringify(o.arm)} seed ${JSON.stringify(o.seed)} (config ${JSON.stringify(o.configHash)}), not '${spec.name}' seed ${seed} (config ${configHash(spec)})`);
  }
}

/**
 * Checks a state to resume `spec`'s run of `seed` from (a decoded checkpoint) against what the spec
 * gives: identity, step in [0, totalSteps], parameters (shapes, finite), optimizer, sampler,
 * estimator and generator states, and the trace. Returns it typed.
 */
export function checkRunState(spec: ExperimentSpec, seed: number, v: unknown, c: StateChecker = new StateChecker('train', 'the resume state')): RunState {
  const r = c.root ?? 'state';
  const o = c.obj(v, r, ['arm', 'seed', 'configHash', 'step', 'totalSteps', 'params', 'opt', 'sampler', 'estimator', 'rng', 'trace', 'lastBatchValue', 'done', 'stoppedEarly']);
  identity(c, o, spec, seed);
  const st = setupRun(spec, seed);
  const fresh = initialState(spec, seed, st);
  const total = fresh.totalSteps;
  c.eq(o.totalSteps, `${r}.totalSteps`, total, 'the spec');
  const step = c.int(o.step, `${r}.step`, 0, total);
  const done = c.bool(o.done, `${r}.done`);
  const stoppedEarly = c.bool(o.stoppedEarly, `${r}.stoppedEarly`);
  if (stoppedEarly && !spec.stopWhen) c.fail(`${r}.stoppedEarly`, 'is true but the spec has no stopWhen');
  if (done && !stoppedEarly && step !== total) c.fail(`${r}.done`, `is true at step ${step} of ${total} without an early stop`);
  c.like(o.params, fresh.params, `${r}.params`, true);
  c.like(o.opt, fresh.opt, `${r}.opt`);
  c.eq((o.opt as { count?: unknown }).count, `${r}.opt.count`, step, 'one optimizer update per step');
  c.wrap(`${r}.sampler`, () => st.sampler.checkState(o.sampler));
  c.like(o.estimator, fresh.estimator, `${r}.estimator`);
  c.rng(o.rng, `${r}.rng`);
  if (typeof o.lastBatchValue !== 'number' || (step > 0 && !Number.isFinite(o.lastBatchValue) && spec.estimator.kind !== 'minibatch-infonce')) {
    c.fail(`${r}.lastBatchValue`, `must be a ${step > 0 ? 'finite ' : ''}number, got ${JSON.stringify(o.lastBatchValue)}`);
  }
  const trace = c.trace(o.trace, `${r}.trace`, step, st.stepsPerEpoch, loggedMetrics(spec));
  if (done && (trace.length === 0 || trace[trace.length - 1]!.step !== step)) c.fail(`${r}.trace`, `must end with the row of the last step ${step} when done`);
  return v as RunState;
}

/**
 * Checks a finished run's record (runs/NNNN.json) against `spec` and `seed`; returns it typed.
 * `embeddings`: whether the record must carry U and V (it must not otherwise), as `recordEmbeddings`.
 */
export function checkRunRecord(spec: ExperimentSpec, seed: number, v: unknown, c: StateChecker = new StateChecker('train', 'the run record'), embeddings = true): RunRecord {
  const r = c.root ?? 'record';
  const o = c.obj(v, r, ['arm', 'seed', 'configHash', 'steps', 'epochs', 'stoppedEarly', 'trace', 'final', ...(embeddings ? ['U', 'V'] : [])], ['partition']);
  c.eq(o.arm, `${r}.arm`, spec.name, 'the spec');
  c.eq(o.seed, `${r}.seed`, seed, 'the spec');
  c.eq(o.configHash, `${r}.configHash`, configHash(spec), "the spec's configuration");
  const st = setupRun(spec, seed);
  const total = st.totalSteps;
  const steps = c.int(o.steps, `${r}.steps`, 0, total);
  c.eq(o.epochs, `${r}.epochs`, steps / st.stepsPerEpoch, 'steps / steps per epoch');
  const stoppedEarly = c.bool(o.stoppedEarly, `${r}.stoppedEarly`);
  if (stoppedEarly && !spec.stopWhen) c.fail(`${r}.stoppedEarly`, 'is true but the spec has no stopWhen');
  if (!stoppedEarly && steps !== total) c.fail(`${r}.steps`, `is ${steps} but a run that did not stop early takes ${total}`);
  const trace = c.trace(o.trace, `${r}.trace`, steps, st.stepsPerEpoch, loggedMetrics(spec));
  if (trace.length === 0 || trace[trace.length - 1]!.step !== steps) c.fail(`${r}.trace`, `must end with the row of the last step ${steps}`);
  if (!sameJson(o.final, trace[trace.length - 1])) c.fail(`${r}.final`, 'must be the last row of record.trace');
  if (embeddings) {
    c.matrix(o.U, `${r}.U`, st.n, st.d);
    c.matrix(o.V, `${r}.V`, st.n, st.d);
  }
  if (hasPartitionCheck(spec, st.n)) {
    const p = c.obj(o.partition, `${r}.partition`, ['maxBatchEtfDistance', 'partitionLoss', 'partitionOptimum', 'fullGap']);
    for (const [k, x] of Object.entries(p)) if (typeof x !== 'number' || !Number.isFinite(x)) c.fail(`${r}.partition.${k}`, `must be a finite number, got ${JSON.stringify(x)}`);
  } else if (o.partition !== undefined) c.fail(`${r}.partition`, 'is only recorded for a fixed partition with B dividing N (minibatch-infonce on free embeddings)');
  return v as RunRecord;
}

function hasPartitionCheck(spec: ExperimentSpec, n: number): boolean {
  return spec.sampler.kind === 'fixed' && spec.estimator.kind === 'minibatch-infonce' && isFree(spec) && n % spec.sampler.B === 0;
}

// ---- the loop ----

/** Deep copy of plain data with typed arrays (parameters, optimizer and estimator states). */
function deepCopy<T>(x: T): T {
  return structuredClone(x);
}

function divideRows(G: Matrix64, norms: Float64Array): Matrix64 {
  const out = zeros(G.rows, G.cols);
  for (let i = 0; i < G.rows; i++) for (let j = 0; j < G.cols; j++) out.data[i * G.cols + j] = G.data[i * G.cols + j]! / norms[i]!;
  return out;
}

/**
 * The batch loss OSGD ranks by: the trained objective's. minibatch-infonce: the default (two-sided
 * InfoNCE at its τ). GCL estimators: their plug-in batch value (τ/(2B))·Σ_a log(ε₀ + ĝ_a) with the
 * estimator's τ (the current τ for FastCLIP/iSogCLR is not known to the sampler: their τ₀) and ε₀.
 */
function scorerOf(e: TrainEstimatorSpec, modality: 'bimodal' | 'unimodal'): { score?: BatchScorer; tau: number } {
  switch (e.kind) {
    case 'minibatch-infonce':
      return { tau: e.tau };
    case 'exact':
      return { tau: 1 };
    default: {
      const tau = 'tau' in e ? e.tau : e.tau0;
      const eps0For = (B: number): number => (e.kind === 'simclr' || e.kind === 'clip' || e.kind === 'dcl' ? pluginEps0(e.kind, B) : e.eps0 ?? 0);
      const score: BatchScorer = (U: Matrix, V: Matrix, rows, t, backend) => {
        const B = rows.length;
        const p = batchPairs(modality, gatherRows(U, rows), gatherRows(V, rows), t, backend ?? defaultBackend());
        return pluginValue(p.logG, eps0For(B), t / (2 * B));
      };
      return { score, tau };
    }
  }
}

/**
 * The exact objective F of the model's modality (or the two-sided InfoNCE) on every example's fixed
 * views; `grad: false` skips the gradient pass (gradU, gradV null; the value is the same bits): the
 * value alone costs about a third of value and gradient (unimodal, N = 8000, d = 128, f64: 7 s of 20 s).
 */
function exactObjective(spec: ExperimentSpec, model: Model, params: Params, backend: Backend, grad = true) {
  const all = model.embedAll(params, backend);
  const o = spec.objective;
  const r = o.kind === 'infonce'
    ? infonceLossAndGrad(all.U, all.V, { tau: o.tau, backend, grad })
    : (model.modality === 'bimodal' ? gclBimodalLossAndGrad : gclUnimodalLossAndGrad)(all.U, all.V, { tau: o.tau, eps0: o.eps0 ?? 0, backend, grad });
  return { value: r.value, gradU: r.gradU! as Matrix64, gradV: r.gradV! as Matrix64, all };
}

function partitionCheck(U: Matrix64, V: Matrix64, state: { order: number[] }, B: number, tau: number, backend: Backend): PartitionCheck {
  const n = U.rows;
  const batches = cutIntoBatches(state.order, B);
  let worst = 0;
  for (const b of batches) worst = Math.max(worst, gramDistance(gatherRows(U, b), gatherRows(V, b), 'etf').distance);
  const partitionLoss = minibatchLossAndGrad(U, V, { tau, backend, grad: false, batches: { kind: 'list', batches } }).value;
  return {
    maxBatchEtfDistance: worst, partitionLoss, partitionOptimum: partitionInfonce(n, B, tau),
    fullGap: infonceLossAndGrad(U, V, { tau, backend, grad: false }).value - etfInfonce(n, tau),
  };
}

/** Plain SGD on a model with a row-sparse update: the O(B) path. */
function rowPath(spec: ExperimentSpec, model: Model): boolean {
  return spec.optimizer.kind === 'sgd' && model.applyRowUpdate !== undefined && model.backwardRows !== undefined
    && !(spec.model.kind === 'free' && spec.model.gradient === 'riemannian');
}

/** Finite entries (and row norms) on the rows `index` of every parameter (the row-sparse path's check). */
function assertFiniteRows(place: RunPlace, step: number, params: Params, index: Int32Array): void {
  const sub: Record<string, Matrix64> = {};
  for (const [k, P] of Object.entries(params)) sub[k] = gatherRows(P, index, 'f64') as Matrix64;
  assertFiniteParams(place, step, sub);
}

export function train(spec: ExperimentSpec, seed: number, opts: TrainOptions = {}): RunRecord {
  const backend = opts.backend ?? defaultBackend();
  const st = setupRun(spec, seed);
  const { n, d, model, sampler, estimator } = st;
  const st0 = opts.resume ? checkRunState(spec, seed, opts.resume) : initialState(spec, seed, st);
  const place: RunPlace = { arm: spec.name, seed, optimizer: spec.optimizer };
  const total = st.totalSteps;
  const opt: GradientTransformation<unknown> = makeOptimizer(spec.optimizer, total);
  const lrAt = makeSchedule(spec.optimizer, total);
  const perEpoch = st.stepsPerEpoch;
  const logEvery = spec.logEvery ?? (spec.logEveryEpochs ?? 1) * perEpoch;
  const ckEvery = spec.checkpointEvery ?? logEvery;
  const metrics = loggedMetrics(spec);
  const has = (m: MetricName) => metrics.includes(m);
  const tauLoss = spec.objective.tau;
  const optimum = isFree(spec) ? knownOptimum({ name: 'infonce', tau: tauLoss }, n, d) : null;
  const { score, tau: samplerTau } = scorerOf(spec.estimator, model.modality);
  const sparse = rowPath(spec, model);
  const rng = Rng.fromState(st0.rng);
  // The run's own copies: updated in place below (a resumed state is not modified).
  let params: Params = opts.resume ? deepCopy(st0.params) : st0.params;
  let optState = opts.resume ? deepCopy(st0.opt) : st0.opt;
  let samplerState = st0.sampler;
  let estState = opts.resume && st0.estimator !== null ? estimator!.clone(st0.estimator) : st0.estimator;
  const trace = st0.trace.slice();
  let step = st0.step;
  let stoppedEarly = st0.stoppedEarly;
  let lastBatchValue = st0.lastBatchValue;

  /** The embeddings of every example (CHO's dense path: the parameters, normalised if reparametrised). */
  const embedAll = (): { U: Matrix64; V: Matrix64 } => {
    if (st.choDense) return st.reparam ? { U: normalizeRows(params.U!, 'train', 'U'), V: normalizeRows(params.V!, 'train', 'V') } : { U: params.U!, V: params.V! };
    const e = model.embedAll(params, backend);
    return { U: e.U, V: e.V };
  };

  const log = (): RunTraceRow => {
    const row: Record<string, number> = { step, epoch: step / perEpoch };
    const needs = has('loss') || has('gradNorm') || has('gap') || has('distance') || has('angleError');
    const { U, V } = needs ? embedAll() : { U: null as unknown as Matrix64, V: null as unknown as Matrix64 };
    if (has('loss') || has('gradNorm') || has('gap')) {
      const r = infonceLossAndGrad(U, V, { tau: tauLoss, backend, grad: has('gradNorm') });
      if (has('loss')) row.loss = r.value;
      if (has('gradNorm')) row.gradNorm = frobeniusNorm(tangentProject(U, r.gradU!), tangentProject(V, r.gradV!));
      if (has('gap') && optimum) row.gap = r.value - optimum.value;
    }
    if (has('distance') && optimum) row.distance = optimum.distance(U, V);
    if (has('angleError') && spec.data.kind === 'rectangle') row.angleError = rectangleAngleError(U);
    if (has('objective') || has('objectiveGradNorm')) {
      const ex = exactObjective(spec, model, params, backend, has('objectiveGradNorm'));
      row.objective = ex.value;
      if (has('objectiveGradNorm')) row.objectiveGradNorm = model.gradNorm(params, model.backward(params, ex.all.cache, ex.gradU, ex.gradV));
    }
    if (has('batchValue') && Number.isFinite(lastBatchValue)) row.batchValue = lastBatchValue;
    if (st.data && (has('knn') || has('probe') || has('retrieval'))) {
      const dm = downstreamMetrics(model, params, st.data, backend, {}, (['knn', 'probe', 'retrieval'] as const).filter((m) => has(m)));
      if (has('knn')) row.knn = dm.knn;
      if (has('probe')) row.probe = dm.probe;
      if (has('retrieval')) row.retrieval = dm.retrieval;
    }
    return row as unknown as RunTraceRow;
  };

  const snapshot = (done: boolean): RunState => ({
    arm: spec.name, seed, configHash: st0.configHash, step, totalSteps: total, params: deepCopy(params),
    opt: deepCopy(optState), sampler: deepCopy(samplerState), estimator: estState === null ? null : estimator!.clone(estState),
    rng: rng.state(), trace: trace.slice(), lastBatchValue, done, stoppedEarly,
  });

  /** One update step with the optimizer (dense) or the row-sparse SGD update. */
  const update = (grads: Params) => {
    // The loop owns optState (a resumed state is copied above; checkpoints copy it), so it donates it.
    const upd = opt.update(grads, optState, params, { donateState: true });
    optState = upd.state;
    const next = applyUpdates(params, upd.updates);
    assertFiniteParams(place, step, next);
    params = model.project ? model.project(next) : next;
  };

  while (true) {
    const logged = trace.length > 0 && trace[trace.length - 1]!.step === step;
    if (!logged && (step % logEvery === 0 || step === total)) {
      const row = atStep(place, step, log);
      assertFiniteRow(place, row as unknown as Record<string, number>);
      trace.push(row);
      opts.onLog?.(row, total);
      const w = spec.stopWhen;
      const val = w ? (row as unknown as Record<string, number | undefined>)[w.metric] : undefined;
      if (w && val !== undefined && val <= w.below) stoppedEarly = true;
    }
    if (step === total || stoppedEarly) break;
    const stepRng = rng.split();
    atStep(place, step, () => {
      // The sampler's context: the embeddings only if it reads them; its generator (see the header).
      let all: { U: Matrix64; V: Matrix64 } | null = null;
      let samplerRng: Rng | null = null;
      const ctx = {
        n, tau: samplerTau, backend, step, ...(score ? { score } : {}),
        get U() { return (all ??= embedAll()).U; },
        get V() { return (all ??= embedAll()).V; },
        get rng() { return (samplerRng ??= st.choDense || spec.model.kind === 'free' ? stepRng : stepRng.split()); },
      } as SamplerContext;
      const sel = sampler.next(ctx, samplerState);
      samplerState = sel.state;
      if (st.choDense) {
        // CHO (THEORY 2.2) on the full embedding matrices: the gradient of the mean batch loss.
        const { U, V } = all ?? embedAll();
        const g = sel.batches instanceof AllBatches
          ? minibatchLossAndGrad(U, V, { tau: (spec.estimator as { tau: number }).tau, backend, batches: { kind: 'all', B: sel.batches.B }, maxBatches: sel.batches.length })
          : sel.batches.length === 1 && sel.batches.at(0)!.length === n
            ? infonceLossAndGrad(U, V, { tau: (spec.estimator as { tau: number }).tau, backend })
            : minibatchLossAndGrad(U, V, { tau: (spec.estimator as { tau: number }).tau, backend, batches: { kind: 'list', batches: Array.from(sel.batches) } });
        lastBatchValue = g.value;
        let gU = g.gradU! as Matrix64;
        let gV = g.gradV! as Matrix64;
        if (st.reparam) {
          gU = divideRows(tangentProject(params.U!, gU), rowNorms(params.U!));
          gV = divideRows(tangentProject(params.V!, gV), rowNorms(params.V!));
        } else if (spec.model.kind === 'free' && spec.model.gradient === 'riemannian') {
          gU = tangentProject(params.U!, gU);
          gV = tangentProject(params.V!, gV);
        }
        const upd = opt.update({ U: gU, V: gV }, optState, params);
        optState = upd.state;
        const next = applyUpdates(params, upd.updates);
        assertFiniteParams(place, step, next);
        params = st.reparam ? next : { U: normalizeRows(next.U!, 'run', 'U'), V: normalizeRows(next.V!, 'run', 'V') };
        return;
      }
      if (spec.estimator.kind === 'exact') {
        const ex = exactObjective(spec, model, params, backend);
        lastBatchValue = ex.value;
        update(model.backward(params, ex.all.cache, ex.gradU, ex.gradV));
        return;
      }
      // One forward pass over the rows of the step's batches (their union, in order of appearance).
      const batches = Array.from(sel.batches);
      const idx = batches.length === 1 ? batches[0]! : unionOf(batches);
      const fw = model.forward(params, idx, stepRng, backend);
      let gU: Matrix64;
      let gV: Matrix64;
      if (estimator === null) {
        // minibatch-infonce on an encoder: CHO's objective on the views of the step's batches.
        const local = batches.length === 1 ? [Int32Array.from({ length: idx.length }, (_, i) => i)] : localBatches(batches, idx);
        const g = minibatchLossAndGrad(fw.U, fw.V, { tau: (spec.estimator as { tau: number }).tau, backend, batches: { kind: 'list', batches: local } });
        lastBatchValue = g.value;
        gU = g.gradU! as Matrix64;
        gV = g.gradV! as Matrix64;
      } else {
        const e = estimator.step({ U: fw.U, V: fw.V, index: idx, epoch: Math.floor(step / perEpoch), step, backend }, estState);
        estState = e.state;
        lastBatchValue = e.batchValue;
        gU = e.gradU;
        gV = e.gradV;
      }
      if (sparse) {
        const rows = model.backwardRows!(params, fw.cache, gU, gV);
        model.applyRowUpdate!(params, rows, lrAt(step));
        assertFiniteRows(place, step, params, rows.index);
        optState = { count: (optState as { count: number }).count + 1 };
      } else {
        update(model.backward(params, fw.cache, gU, gV));
      }
    });
    step++;
    if (step % ckEvery === 0 && step < total) opts.onCheckpoint?.(snapshot(false));
  }
  opts.onCheckpoint?.(snapshot(true));
  const end = opts.recordEmbeddings !== false || hasPartitionCheck(spec, n) ? embedAll() : null;
  const partition = end && hasPartitionCheck(spec, n)
    ? partitionCheck(end.U, end.V, samplerState as { order: number[] }, batchSizeOf(spec, n), (spec.estimator as { tau: number }).tau, backend) : undefined;
  return {
    arm: spec.name, seed, configHash: st0.configHash, steps: step, epochs: step / perEpoch, stoppedEarly,
    trace, final: trace[trace.length - 1]!, ...(end && opts.recordEmbeddings !== false ? { U: clone(end.U) as Matrix64, V: clone(end.V) as Matrix64 } : {}), ...(partition ? { partition } : {}),
  };
}

/** The distinct rows of `batches` in order of first appearance. */
function unionOf(batches: readonly Int32Array[]): Int32Array {
  const seen = new Set<number>();
  const out: number[] = [];
  for (const b of batches) for (const i of b) if (!seen.has(i)) { seen.add(i); out.push(i); }
  return Int32Array.from(out);
}

/** The batches as positions in `idx`. */
function localBatches(batches: readonly Int32Array[], idx: Int32Array): Int32Array[] {
  const pos = new Map<number, number>();
  idx.forEach((i, k) => pos.set(i, k));
  return batches.map((b) => Int32Array.from(b, (i) => pos.get(i)!));
}
