/**
 * Experiments on the global contrastive objective (THEORY 2.3, 5): a model (free embeddings or a
 * shared encoder) trained by a stochastic estimator (SimCLR / DCL / CLIP plug-in, SogCLR, iSogCLR,
 * FastCLIP-v3) or by full-batch gradient descent, with the EXACT objective F and its gradient norm
 * logged from the blocked kernels. Each step:
 *   idx = next batch of B examples (reshuffled every epoch; the uneven-N/B rule of samplers/types.ts)
 *   (U_b, V_b) = model.forward(params, idx, views drawn from the step's generator)
 *   m_b = estimator.step(U_b, V_b, idx, state)            ∂F̂_b/∂(batch embeddings)
 *   g = model.backward(m_b);  params ← params + optimizer.update(g);  model.project
 * A run is a pure function of (spec, seed, backend); its whole state is plain data (checkpointable).
 */
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import type { Matrix64 } from '../core/matrix.ts';
import { Rng, type RngState } from '../core/random.ts';
import { syntheticDataset, type AugmentSpec } from '../data/synthetic.ts';
import { makeEstimator, type EstimatorSpec } from '../estimators/index.ts';
import type { Estimator } from '../estimators/types.ts';
import { freeEmbeddings, linearEncoder, mlpEncoder, type Model } from '../models/index.ts';
import { gclBimodalLossAndGrad, gclUnimodalLossAndGrad } from '../objectives/index.ts';
import { applyUpdates } from '../optim/transforms.ts';
import type { Params } from '../optim/types.ts';
import { batchOfOrder } from '../samplers/common.ts';
import { downstreamMetrics } from '../analysis/downstream.ts';
import { makeOptimizer } from './build.ts';
import { sameJson, StateChecker } from './checkpoint.ts';
import { assertFiniteParams, assertFiniteRow, atStep, type RunPlace } from './guard.ts';
import type { RunTraceRow } from './run.ts';
import { configHash, type GclMetric, type OptimizerSpec } from './spec.ts';

export type GclDataSpec =
  | { readonly kind: 'random-sphere'; readonly n: number; readonly d: number }
  | { readonly kind: 'synthetic-classes'; readonly n: number; readonly nTest: number; readonly p: number; readonly classes: number; readonly sigma: number; readonly augment?: AugmentSpec };

export type GclModelSpec =
  | { readonly kind: 'free'; readonly parametrisation?: 'projected' | 'reparam' }
  | { readonly kind: 'linear'; readonly d: number; readonly trainViews?: 'fresh' | 'fixed' }
  | { readonly kind: 'mlp'; readonly hidden: number; readonly d: number; readonly trainViews?: 'fresh' | 'fixed' };

export { GCL_METRICS, type GclMetric } from './spec.ts';

export interface GclExperimentSpec {
  readonly kind: 'gcl';
  readonly name: string;
  readonly data: GclDataSpec;
  readonly model: GclModelSpec;
  /** The exact objective logged (its modality must be the model's: free → bimodal, encoders → unimodal). */
  readonly objective: { readonly tau: number; readonly eps0?: number };
  /** The estimator, or full-batch gradient descent on the exact objective (one step per epoch). */
  readonly estimator: EstimatorSpec | { readonly kind: 'full-batch' };
  /** Batch size B (estimators only). */
  readonly batchSize?: number;
  readonly optimizer: OptimizerSpec;
  readonly budget: { readonly epochs: number };
  readonly seeds: readonly number[];
  /** Log every this many epochs (default 1; the last epoch is always logged). */
  readonly logEveryEpochs?: number;
  /** Default: objective, objectiveGradNorm, batchValue (+ knn, probe, retrieval for encoders). */
  readonly metrics?: readonly GclMetric[];
}

export type GclTraceRow = RunTraceRow;

export interface GclRunState {
  readonly arm: string;
  readonly seed: number;
  readonly configHash: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly params: Params;
  readonly opt: unknown;
  readonly estimator: unknown;
  readonly order: number[];
  readonly rng: RngState;
  readonly trace: GclTraceRow[];
  readonly lastBatchValue: number;
  readonly done: boolean;
}

export interface GclRunRecord {
  readonly arm: string;
  readonly seed: number;
  readonly configHash: string;
  readonly steps: number;
  readonly epochs: number;
  readonly stoppedEarly: boolean;
  readonly trace: GclTraceRow[];
  readonly final: GclTraceRow;
  readonly U: Matrix64;
  readonly V: Matrix64;
}

export interface GclRunOptions {
  readonly backend: Backend;
  readonly resume?: GclRunState;
  readonly onLog?: (row: GclTraceRow, totalSteps: number) => void;
  readonly onCheckpoint?: (state: GclRunState) => void;
}

interface Setup {
  readonly model: Model;
  readonly n: number;
  readonly estimator: Estimator | null;
  readonly B: number;
  readonly stepsPerEpoch: number;
  readonly data: ReturnType<typeof syntheticDataset> | null;
}

function setup(spec: GclExperimentSpec, seed: number): Setup {
  const op = `gcl experiment '${spec.name}'`;
  const dataRng = Rng.fromSeed(seed).split();
  let model: Model;
  let data: ReturnType<typeof syntheticDataset> | null = null;
  if (spec.data.kind === 'random-sphere') {
    if (spec.model.kind !== 'free') throw new ConfigError(op, `data 'random-sphere' needs model 'free', got '${spec.model.kind}'`);
    model = freeEmbeddings(spec.data.n, spec.data.d, { parametrisation: spec.model.parametrisation ?? 'projected' });
  } else {
    data = syntheticDataset(spec.data, dataRng);
    if (spec.model.kind === 'linear') model = linearEncoder(data, spec.model.d, { trainViews: spec.model.trainViews });
    else if (spec.model.kind === 'mlp') model = mlpEncoder(data, spec.model.hidden, spec.model.d, { trainViews: spec.model.trainViews });
    else throw new ConfigError(op, "data 'synthetic-classes' needs an encoder model ('linear' or 'mlp')");
  }
  const n = model.n;
  if (spec.estimator.kind === 'full-batch') return { model, n, estimator: null, B: n, stepsPerEpoch: 1, data };
  const B = spec.batchSize;
  if (B === undefined || !Number.isInteger(B) || B < 2 || B > n) throw new ConfigError(op, `batchSize must be an integer in [2, N = ${n}], got ${B}`);
  const estimator = makeEstimator(spec.estimator as EstimatorSpec, { path: 'experiment.estimator' });
  if (estimator.modality !== model.modality) {
    throw new ConfigError(op, `the estimator is ${estimator.modality} but the model '${model.name}' is ${model.modality}`);
  }
  return { model, n, estimator, B, stepsPerEpoch: Math.ceil(n / B), data };
}

function exactObjective(spec: GclExperimentSpec, model: Model, params: Params, backend: Backend) {
  const all = model.embedAll(params, backend);
  const f = model.modality === 'bimodal' ? gclBimodalLossAndGrad : gclUnimodalLossAndGrad;
  const r = f(all.U, all.V, { tau: spec.objective.tau, eps0: spec.objective.eps0 ?? 0, backend });
  return { value: r.value, gradU: r.gradU!, gradV: r.gradV!, all };
}

/** Builds everything a run needs once, so that configuration errors surface before any work. */
export function checkGclExperiment(spec: GclExperimentSpec): void {
  setup(spec, spec.seeds[0] ?? 0);
}

export function gclTotalSteps(spec: GclExperimentSpec): number {
  return spec.budget.epochs * setup(spec, spec.seeds[0] ?? 0).stepsPerEpoch;
}

export function gclInitialState(spec: GclExperimentSpec, seed: number): GclRunState {
  const s = setup(spec, seed);
  const rng = Rng.fromSeed(seed);
  rng.split(); // the data generator's stream (see setup)
  const params = s.model.init(rng.split());
  const total = spec.budget.epochs * s.stepsPerEpoch;
  const opt = makeOptimizer(spec.optimizer, total);
  return {
    arm: spec.name, seed, configHash: configHash(spec), step: 0, totalSteps: total, params, opt: opt.init(params),
    estimator: s.estimator ? s.estimator.init(s.n) : null, order: [], rng: rng.state(), trace: [], lastBatchValue: NaN, done: false,
  };
}

/** The metrics a run of `spec` asks for (default: F, ‖∇F‖, the batch value, and downstream metrics for encoders). */
function metricsOf(spec: GclExperimentSpec): readonly GclMetric[] {
  return spec.metrics ?? (spec.data.kind === 'synthetic-classes' ? ['objective', 'objectiveGradNorm', 'batchValue', 'knn', 'probe', 'retrieval'] : ['objective', 'objectiveGradNorm', 'batchValue']);
}

/** The metrics a run's rows can hold (F is logged whenever F or ‖∇F‖ is asked for). */
function loggedGclMetrics(spec: GclExperimentSpec): GclMetric[] {
  const m = metricsOf(spec);
  return m.includes('objectiveGradNorm') && !m.includes('objective') ? [...m, 'objective'] : [...m];
}

/**
 * Checks a state to resume `spec`'s run of `seed` from (a decoded checkpoint) against the spec:
 * identity, step in [0, totalSteps], parameter, optimizer and estimator states of the shapes the
 * spec builds, the epoch order, the generator state and the trace. Returns it typed.
 */
export function checkGclRunState(spec: GclExperimentSpec, seed: number, v: unknown, c: StateChecker = new StateChecker('runGclExperiment', 'the resume state')): GclRunState {
  const r = c.root ?? 'state';
  const o = c.obj(v, r, ['arm', 'seed', 'configHash', 'step', 'totalSteps', 'params', 'opt', 'estimator', 'order', 'rng', 'trace', 'lastBatchValue', 'done']);
  if (o.arm !== spec.name || o.seed !== seed || o.configHash !== configHash(spec)) {
    throw new ConfigError(c.op, `${c.source} is for arm ${JSON.stringify(o.arm)} seed ${JSON.stringify(o.seed)} (config ${JSON.stringify(o.configHash)}), not '${spec.name}' seed ${seed} (config ${configHash(spec)})`);
  }
  const s = setup(spec, seed);
  const fresh = gclInitialState(spec, seed);
  const total = fresh.totalSteps;
  c.eq(o.totalSteps, `${r}.totalSteps`, total, 'the spec');
  const step = c.int(o.step, `${r}.step`, 0, total);
  const done = c.bool(o.done, `${r}.done`);
  if (done && step !== total) c.fail(`${r}.done`, `is true at step ${step} of ${total}`);
  c.like(o.params, fresh.params, `${r}.params`, true);
  c.like(o.opt, fresh.opt, `${r}.opt`);
  c.eq((o.opt as { count?: unknown }).count, `${r}.opt.count`, step, 'one optimizer update per step');
  c.like(o.estimator, fresh.estimator, `${r}.estimator`);
  // The epoch's order: drawn at its first step, used by the steps after it.
  const order = o.order;
  if (!Array.isArray(order)) c.fail(`${r}.order`, `must be an array, got ${JSON.stringify(order)}`);
  if (order.length > 0 || (s.estimator !== null && step % s.stepsPerEpoch !== 0)) {
    const seen = new Uint8Array(s.n);
    for (const i of order as unknown[]) {
      if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= s.n || seen[i]) c.fail(`${r}.order`, `must be a permutation of 0..${s.n - 1}`);
      seen[i] = 1;
    }
    if (order.length !== s.n) c.fail(`${r}.order`, `must be a permutation of 0..${s.n - 1}, got ${order.length} entries`);
  }
  c.rng(o.rng, `${r}.rng`);
  if (typeof o.lastBatchValue !== 'number' || (step > 0 && !Number.isFinite(o.lastBatchValue))) {
    c.fail(`${r}.lastBatchValue`, `must be a ${step > 0 ? 'finite ' : ''}number, got ${JSON.stringify(o.lastBatchValue)}`);
  }
  const trace = c.trace(o.trace, `${r}.trace`, step, s.stepsPerEpoch, loggedGclMetrics(spec));
  if (done && (trace.length === 0 || trace[trace.length - 1]!.step !== step)) c.fail(`${r}.trace`, `must end with the row of the last step ${step} when done`);
  return v as GclRunState;
}

/** Checks a finished run's record (runs/NNNN.json) against `spec` and `seed`; returns it typed. */
export function checkGclRunRecord(spec: GclExperimentSpec, seed: number, v: unknown, c: StateChecker = new StateChecker('runGclExperiment', 'the run record')): GclRunRecord {
  const r = c.root ?? 'record';
  const o = c.obj(v, r, ['arm', 'seed', 'configHash', 'steps', 'epochs', 'stoppedEarly', 'trace', 'final', 'U', 'V']);
  c.eq(o.arm, `${r}.arm`, spec.name, 'the spec');
  c.eq(o.seed, `${r}.seed`, seed, 'the spec');
  c.eq(o.configHash, `${r}.configHash`, configHash(spec), "the spec's configuration");
  const s = setup(spec, seed);
  const total = spec.budget.epochs * s.stepsPerEpoch;
  c.eq(o.steps, `${r}.steps`, total, 'the spec');
  c.eq(o.epochs, `${r}.epochs`, total / s.stepsPerEpoch, 'the spec');
  if (o.stoppedEarly !== false) c.fail(`${r}.stoppedEarly`, `must be false (a global-objective run does not stop early), got ${JSON.stringify(o.stoppedEarly)}`);
  const trace = c.trace(o.trace, `${r}.trace`, total, s.stepsPerEpoch, loggedGclMetrics(spec));
  if (trace.length === 0 || trace[trace.length - 1]!.step !== total) c.fail(`${r}.trace`, `must end with the row of the last step ${total}`);
  if (!sameJson(o.final, trace[trace.length - 1])) c.fail(`${r}.final`, 'must be the last row of record.trace');
  c.matrix(o.U, `${r}.U`, s.n, s.model.d);
  c.matrix(o.V, `${r}.V`, s.n, s.model.d);
  return v as GclRunRecord;
}

export function runGclExperiment(spec: GclExperimentSpec, seed: number, opts: GclRunOptions): GclRunRecord {
  const { backend } = opts;
  const s = setup(spec, seed);
  const st0 = opts.resume ? checkGclRunState(spec, seed, opts.resume) : gclInitialState(spec, seed);
  const place: RunPlace = { arm: spec.name, seed, optimizer: spec.optimizer };
  const total = st0.totalSteps;
  const opt = makeOptimizer(spec.optimizer, total);
  const logEvery = (spec.logEveryEpochs ?? 1) * s.stepsPerEpoch;
  const metrics = metricsOf(spec);
  const rng = Rng.fromState(st0.rng);
  let params = st0.params;
  let optState = st0.opt;
  let estState = st0.estimator;
  let order = st0.order;
  let step = st0.step;
  let lastBatchValue = st0.lastBatchValue;
  const trace = st0.trace.slice();

  const snapshot = (done: boolean): GclRunState => ({
    arm: spec.name, seed, configHash: st0.configHash, step, totalSteps: total, params, opt: optState, estimator: estState,
    order, rng: rng.state(), trace: trace.slice(), lastBatchValue, done,
  });

  const log = () => {
    const row: Record<string, number> = { step, epoch: step / s.stepsPerEpoch };
    if (metrics.includes('objective') || metrics.includes('objectiveGradNorm')) {
      const ex = exactObjective(spec, s.model, params, backend);
      row.objective = ex.value;
      if (metrics.includes('objectiveGradNorm')) row.objectiveGradNorm = s.model.gradNorm(params, s.model.backward(params, ex.all.cache, ex.gradU, ex.gradV));
    }
    if (metrics.includes('batchValue') && Number.isFinite(lastBatchValue)) row.batchValue = lastBatchValue;
    if (s.data && s.model.embedInputs && (metrics.includes('knn') || metrics.includes('probe') || metrics.includes('retrieval'))) {
      const d = downstreamMetrics(s.model, params, s.data, backend);
      if (metrics.includes('knn')) row.knn = d.knn;
      if (metrics.includes('probe')) row.probe = d.probe;
      if (metrics.includes('retrieval')) row.retrieval = d.retrieval;
    }
    assertFiniteRow(place, row);
    trace.push(row as unknown as GclTraceRow);
    opts.onLog?.(row as unknown as GclTraceRow, total);
  };

  for (;;) {
    const logged = trace.length > 0 && trace[trace.length - 1]!.step === step;
    if (!logged && (step % logEvery === 0 || step === total)) atStep(place, step, log);
    if (step === total) break;
    const stepRng = rng.split();
    atStep(place, step, () => {
      let grads: Params;
      if (s.estimator === null) {
        const ex = exactObjective(spec, s.model, params, backend);
        lastBatchValue = ex.value;
        grads = s.model.backward(params, ex.all.cache, ex.gradU, ex.gradV);
      } else {
        const j = step % s.stepsPerEpoch;
        if (j === 0) order = Array.from(stepRng.split().permutation(s.n));
        const idx = batchOfOrder(order, s.B, j);
        const fw = s.model.forward(params, idx, stepRng, backend);
        const est = s.estimator.step({ U: fw.U, V: fw.V, index: idx, epoch: Math.floor(step / s.stepsPerEpoch), step, backend }, estState);
        estState = est.state;
        lastBatchValue = est.batchValue;
        grads = s.model.backward(params, fw.cache, est.gradU, est.gradV);
      }
      const upd = opt.update(grads, optState, params);
      optState = upd.state;
      const next = applyUpdates(params, upd.updates);
      assertFiniteParams(place, step, next);
      params = s.model.project ? s.model.project(next) : next;
    });
    step++;
    if (step % s.stepsPerEpoch === 0 && step < total) opts.onCheckpoint?.(snapshot(false));
  }
  opts.onCheckpoint?.(snapshot(true));
  const all = s.model.embedAll(params, backend);
  return {
    arm: spec.name, seed, configHash: st0.configHash, steps: step, epochs: step / s.stepsPerEpoch, stoppedEarly: false,
    trace, final: trace[trace.length - 1]!, U: all.U, V: all.V,
  };
}
