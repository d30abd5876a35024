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
import { AllBatches, cutIntoBatches } from '../samplers/common.ts';
import { makeSampler } from '../samplers/index.ts';
import { dataShape, initialEmbeddings, makeOptimizer, rectangleAngleError } from './build.ts';
import { sameJson, StateChecker } from './checkpoint.ts';
import { assertFiniteParams, assertFiniteRow, atStep, type RunPlace } from './guard.ts';
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

/** The metrics the run asks for (some are logged only where they apply, see `log`). */
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

/** The metrics a run of `spec` logs: those asked for that apply to its data (as `log` below). */
export function loggedMetrics(spec: ExperimentSpec): MetricName[] {
  const { n, d } = dataShape(spec.data);
  const optimum = knownOptimum(spec.objective, n, d) !== null;
  return (spec.metrics ?? defaultMetrics(spec)).filter((m) => (m !== 'distance' && m !== 'gap') || optimum).filter((m) => m !== 'angleError' || (n === 4 && d === 2));
}

/**
 * Checks a state to resume `spec`'s run of `seed` from (a decoded checkpoint) against what the spec
 * gives: identity (arm, seed, config hash), step in [0, totalSteps], parameter shapes (finite),
 * optimizer, sampler and generator states, and the trace. Returns it typed.
 */
export function checkRunState(spec: ExperimentSpec, seed: number, v: unknown, c: StateChecker = new StateChecker('runExperiment', 'the resume state')): RunState {
  const r = c.root ?? 'state';
  const o = c.obj(v, r, ['arm', 'seed', 'configHash', 'step', 'totalSteps', 'params', 'opt', 'sampler', 'rng', 'trace', 'done', 'stoppedEarly']);
  if (o.arm !== spec.name || o.seed !== seed || o.configHash !== configHash(spec)) {
    throw new ConfigError(c.op, `${c.source} is for arm ${JSON.stringify(o.arm)} seed ${JSON.stringify(o.seed)} (config ${JSON.stringify(o.configHash)}), not '${spec.name}' seed ${seed} (config ${configHash(spec)})`);
  }
  const fresh = initialState(spec, seed);
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
  const { n } = dataShape(spec.data);
  const sampler = makeSampler(spec.sampler, n);
  c.wrap(`${r}.sampler`, () => sampler.checkState(o.sampler));
  c.rng(o.rng, `${r}.rng`);
  const trace = c.trace(o.trace, `${r}.trace`, step, sampler.stepsPerEpoch(n), loggedMetrics(spec));
  if (done && (trace.length === 0 || trace[trace.length - 1]!.step !== step)) c.fail(`${r}.trace`, `must end with the row of the last step ${step} when done`);
  return v as RunState;
}

/** Checks a finished run's record (runs/NNNN.json) against `spec` and `seed`; returns it typed. */
export function checkRunRecord(spec: ExperimentSpec, seed: number, v: unknown, c: StateChecker = new StateChecker('runExperiment', 'the run record')): RunRecord {
  const r = c.root ?? 'record';
  const o = c.obj(v, r, ['arm', 'seed', 'configHash', 'steps', 'epochs', 'stoppedEarly', 'trace', 'final', 'U', 'V'], ['partition']);
  c.eq(o.arm, `${r}.arm`, spec.name, 'the spec');
  c.eq(o.seed, `${r}.seed`, seed, 'the spec');
  c.eq(o.configHash, `${r}.configHash`, configHash(spec), "the spec's configuration");
  const total = totalSteps(spec);
  const { n, d } = dataShape(spec.data);
  const perEpoch = makeSampler(spec.sampler, n).stepsPerEpoch(n);
  const steps = c.int(o.steps, `${r}.steps`, 0, total);
  c.eq(o.epochs, `${r}.epochs`, steps / perEpoch, 'steps / steps per epoch');
  const stoppedEarly = c.bool(o.stoppedEarly, `${r}.stoppedEarly`);
  if (!stoppedEarly && steps !== total) c.fail(`${r}.steps`, `is ${steps} but a run that did not stop early takes ${total}`);
  const trace = c.trace(o.trace, `${r}.trace`, steps, perEpoch, loggedMetrics(spec));
  if (trace.length === 0 || trace[trace.length - 1]!.step !== steps) c.fail(`${r}.trace`, `must end with the row of the last step ${steps}`);
  if (!sameJson(o.final, trace[trace.length - 1])) c.fail(`${r}.final`, 'must be the last row of record.trace');
  c.matrix(o.U, `${r}.U`, n, d);
  c.matrix(o.V, `${r}.V`, n, d);
  const B = spec.sampler.kind === 'full' ? n : spec.sampler.B;
  if (spec.sampler.kind === 'fixed' && n % B === 0) {
    const p = c.obj(o.partition, `${r}.partition`, ['maxBatchEtfDistance', 'partitionLoss', 'partitionOptimum', 'fullGap']);
    for (const [k, x] of Object.entries(p)) if (typeof x !== 'number' || !Number.isFinite(x)) c.fail(`${r}.partition.${k}`, `must be a finite number, got ${JSON.stringify(x)}`);
  } else if (o.partition !== undefined) c.fail(`${r}.partition`, 'is only recorded for a fixed partition with B dividing N');
  return v as RunRecord;
}

export function runExperiment(spec: ExperimentSpec, seed: number, opts: RunOptions = {}): RunRecord {
  const backend = opts.backend ?? defaultBackend();
  const { n, d } = dataShape(spec.data);
  const tau = spec.objective.tau;
  const sampler = makeSampler(spec.sampler, n);
  let st = opts.resume ? checkRunState(spec, seed, opts.resume) : initialState(spec, seed);
  const place: RunPlace = { arm: spec.name, seed, optimizer: spec.optimizer };
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
      const row = atStep(place, step, () => log(U, V));
      assertFiniteRow(place, row as unknown as Record<string, number>);
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
    atStep(place, step, () => {
      const sel = sampler.next({ U, V, tau, backend, rng: stepRng, step }, samplerState);
      samplerState = sel.state;
      // ncb: all C(N,B) batches, enumerated lazily by the objective in the same (lexicographic) order.
      const g = sel.batches instanceof AllBatches
        ? minibatchLossAndGrad(U, V, { tau, backend, batches: { kind: 'all', B: sel.batches.B }, maxBatches: sel.batches.length })
        : sel.batches.length === 1 && sel.batches.at(0)!.length === n
          ? infonceLossAndGrad(U, V, { tau, backend })
          : minibatchLossAndGrad(U, V, { tau, backend, batches: { kind: 'list', batches: Array.from(sel.batches) } });
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
      assertFiniteParams(place, step, next);
      PU = reparam ? next.U! : normalizeRows(next.U!, 'run', 'U');
      PV = reparam ? next.V! : normalizeRows(next.V!, 'run', 'V');
    });
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
