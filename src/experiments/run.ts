/**
 * One run: a pure function of (spec, seed, backend). Each update step:
 *   (U, V) = embed(params)                       projected: params are the unit rows; reparam: normalise
 *   batches = sampler.next({U, V, ...})          THEORY 4
 *   g = ∇ (1/|batches|) Σ_b L(U_b, V_b)          THEORY 2.2, blocked kernels
 *   reparam: g ← (I − ûûᵀ) g / ‖x‖ (chain rule through normalisation)
 *   params ← params + optimizer.update(g)        then normalise rows if projected (THEORY 6)
 * Every `logEvery` steps the full-batch metrics are logged. The whole state (step, parameters,
 * optimizer state, sampler state, generator state, trace) is plain data: a checkpoint taken at any
 * step resumes to exactly the numbers of an uninterrupted run.
 */
import { defaultBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import { frobeniusNorm, gatherRows, type Matrix64, zeros } from '../core/matrix.ts';
import { Rng, type RngState } from '../core/random.ts';
import { normalizeRows, rowNorms, tangentProject } from '../core/sphere.ts';
import { infonceLossAndGrad, minibatchLossAndGrad } from '../objectives/index.ts';
import { applyUpdates } from '../optim/transforms.ts';
import { etfInfonce, partitionInfonce } from '../optima/closedForms.ts';
import { gramDistance } from '../optima/gramDistance.ts';
import { knownOptimum } from '../optima/known.ts';
import { cutIntoBatches } from '../samplers/common.ts';
import { makeSampler } from '../samplers/index.ts';
import { dataShape, initialEmbeddings, makeOptimizer, rectangleAngleError } from './build.ts';
import { configHash, type ExperimentSpec, type MetricName } from './spec.ts';

/** One logged row: the step, the epoch and whichever metrics the run logs. */
export type RunTraceRow = { readonly step: number; readonly epoch: number } & { readonly [K in MetricName]?: number };

export interface RunState {
  readonly arm: string;
  readonly seed: number;
  readonly configHash: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly params: { readonly U: Matrix64; readonly V: Matrix64 };
  readonly opt: unknown;
  readonly sampler: unknown;
  readonly rng: RngState;
  readonly trace: RunTraceRow[];
  readonly done: boolean;
  readonly stoppedEarly: boolean;
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
  readonly U: Matrix64;
  readonly V: Matrix64;
  /** Fixed-partition runs: the end point's batch structure (CHO Thm 5, THEORY 3). */
  readonly partition?: PartitionCheck;
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

export interface RunOptions {
  readonly backend?: Backend;
  /** Continue from this state (from a checkpoint) instead of starting afresh. */
  readonly resume?: RunState;
  /** Called after every logged step. */
  readonly onLog?: (row: RunTraceRow, totalSteps: number) => void;
  /** Called with the full state every `checkpointEvery` steps and at the end. */
  readonly onCheckpoint?: (state: RunState) => void;
}

function defaultMetrics(spec: ExperimentSpec): MetricName[] {
  const { n, d } = dataShape(spec.data);
  const m: MetricName[] = ['loss', 'gradNorm'];
  if (knownOptimum(spec.objective, n, d)) m.push('distance', 'gap');
  if (spec.data.kind === 'rectangle') m.push('angleError');
  return m;
}

/** Seeds the run's generator from (arm hash, seed) so that arms with the same seed share nothing by accident but the data. */
function runRng(seed: number): Rng {
  return Rng.fromSeed(seed);
}

export function totalSteps(spec: ExperimentSpec): number {
  const { n } = dataShape(spec.data);
  const perEpoch = makeSampler(spec.sampler, n).stepsPerEpoch(n);
  return 'epochs' in spec.budget ? spec.budget.epochs * perEpoch : spec.budget.steps;
}

export function initialState(spec: ExperimentSpec, seed: number): RunState {
  const { n } = dataShape(spec.data);
  const rng = runRng(seed);
  // The data come first from the seed, so every arm of a study starts from the same embeddings.
  const { U, V } = initialEmbeddings(spec.data, rng.split());
  const samplerRng = rng.split();
  const sampler = makeSampler(spec.sampler, n);
  const total = totalSteps(spec);
  const opt = makeOptimizer(spec.optimizer, total);
  return {
    arm: spec.name, seed, configHash: configHash(spec), step: 0, totalSteps: total,
    params: { U, V }, opt: opt.init({ U, V }), sampler: sampler.init(n, samplerRng), rng: rng.state(),
    trace: [], done: false, stoppedEarly: false,
  };
}

export function runExperiment(spec: ExperimentSpec, seed: number, opts: RunOptions = {}): RunRecord {
  const backend = opts.backend ?? defaultBackend();
  const { n, d } = dataShape(spec.data);
  const tau = spec.objective.tau;
  const sampler = makeSampler(spec.sampler, n);
  let st = opts.resume ?? initialState(spec, seed);
  if (st.configHash !== configHash(spec) || st.seed !== seed) {
    throw new ConfigError('runExperiment', `the checkpoint is for arm '${st.arm}' seed ${st.seed} (config ${st.configHash}), not '${spec.name}' seed ${seed} (config ${configHash(spec)})`);
  }
  const total = st.totalSteps;
  const opt = makeOptimizer(spec.optimizer, total);
  const perEpoch = sampler.stepsPerEpoch(n);
  const logEvery = spec.logEvery ?? perEpoch;
  const ckEvery = spec.checkpointEvery ?? logEvery;
  const metrics = spec.metrics ?? defaultMetrics(spec);
  const optimum = knownOptimum(spec.objective, n, d);
  const reparam = spec.parametrisation === 'reparam';
  const rng = Rng.fromState(st.rng);
  let { U: PU, V: PV } = st.params;
  let optState = st.opt;
  let samplerState = st.sampler;
  const trace = st.trace.slice();
  let step = st.step;
  let stoppedEarly = st.stoppedEarly;

  const embed = () => (reparam ? { U: normalizeRows(PU, 'run', 'U'), V: normalizeRows(PV, 'run', 'V') } : { U: PU, V: PV });

  const log = (U: Matrix64, V: Matrix64): RunTraceRow => {
    const row: Record<string, number> = { step, epoch: step / perEpoch };
    if (metrics.includes('loss') || metrics.includes('gradNorm') || metrics.includes('gap')) {
      const r = infonceLossAndGrad(U, V, { tau, backend, grad: metrics.includes('gradNorm') });
      if (metrics.includes('loss')) row.loss = r.value;
      if (metrics.includes('gradNorm')) row.gradNorm = frobeniusNorm(tangentProject(U, r.gradU!), tangentProject(V, r.gradV!));
      if (metrics.includes('gap') && optimum) row.gap = r.value - optimum.value;
    }
    if (metrics.includes('distance') && optimum) row.distance = optimum.distance(U, V);
    if (metrics.includes('angleError') && d === 2 && n === 4) row.angleError = rectangleAngleError(U);
    return row as unknown as RunTraceRow;
  };

  const snapshot = (done: boolean): RunState => ({
    arm: spec.name, seed, configHash: st.configHash, step, totalSteps: total, params: { U: PU, V: PV },
    opt: optState, sampler: samplerState, rng: rng.state(), trace: trace.slice(), done, stoppedEarly,
  });

  while (!st.done) {
    const { U, V } = embed();
    const logged = trace.length > 0 && trace[trace.length - 1]!.step === step;
    if (!logged && (step % logEvery === 0 || step === total)) {
      const row = log(U, V);
      trace.push(row);
      opts.onLog?.(row, total);
      const w = spec.stopWhen;
      const val = w ? (row as unknown as Record<string, number | undefined>)[w.metric] : undefined;
      if (w && val !== undefined && val <= w.below) stoppedEarly = true;
    }
    if (step === total || stoppedEarly) {
      st = snapshot(true);
      opts.onCheckpoint?.(st);
      break;
    }
    const stepRng = rng.split();
    const sel = sampler.next({ U, V, tau, backend, rng: stepRng, step }, samplerState);
    samplerState = sel.state;
    const g = sel.batches.length === 1 && sel.batches[0]!.length === n
      ? infonceLossAndGrad(U, V, { tau, backend })
      : minibatchLossAndGrad(U, V, { tau, backend, batches: { kind: 'list', batches: sel.batches } });
    let gU = g.gradU!;
    let gV = g.gradV!;
    if (reparam) {
      gU = divideRows(tangentProject(PU, gU), rowNorms(PU));
      gV = divideRows(tangentProject(PV, gV), rowNorms(PV));
    } else if (spec.gradient === 'riemannian') {
      gU = tangentProject(PU, gU);
      gV = tangentProject(PV, gV);
    }
    const upd = opt.update({ U: gU, V: gV }, optState, { U: PU, V: PV });
    optState = upd.state;
    const next = applyUpdates({ U: PU, V: PV }, upd.updates);
    PU = reparam ? next.U! : normalizeRows(next.U!, 'run', 'U');
    PV = reparam ? next.V! : normalizeRows(next.V!, 'run', 'V');
    step++;
    if (step % ckEvery === 0 && step < total) opts.onCheckpoint?.(snapshot(false));
  }
  const { U, V } = embed();
  const partition = spec.sampler.kind === 'fixed' ? partitionCheck(U, V, samplerState as { order: number[] }, spec.sampler.B, tau, backend) : undefined;
  return {
    arm: spec.name, seed, configHash: st.configHash, steps: step, epochs: step / perEpoch, stoppedEarly,
    trace, final: trace[trace.length - 1]!, U, V, ...(partition ? { partition } : {}),
  };
}

function partitionCheck(U: Matrix64, V: Matrix64, state: { order: number[] }, B: number, tau: number, backend: Backend): PartitionCheck | undefined {
  const n = U.rows;
  if (n % B !== 0 || B < 2) return undefined;
  const batches = cutIntoBatches(state.order, B);
  let worst = 0;
  for (const b of batches) worst = Math.max(worst, gramDistance(gatherRows(U, b), gatherRows(V, b), 'etf').distance);
  const partitionLoss = minibatchLossAndGrad(U, V, { tau, backend, grad: false, batches: { kind: 'list', batches } }).value;
  return {
    maxBatchEtfDistance: worst, partitionLoss, partitionOptimum: partitionInfonce(n, B, tau),
    fullGap: infonceLossAndGrad(U, V, { tau, backend, grad: false }).value - etfInfonce(n, tau),
  };
}

function divideRows(G: Matrix64, norms: Float64Array): Matrix64 {
  const out = zeros(G.rows, G.cols);
  for (let i = 0; i < G.rows; i++) for (let j = 0; j < G.cols; j++) out.data[i * G.cols + j] = G.data[i * G.cols + j]! / norms[i]!;
  return out;
}
