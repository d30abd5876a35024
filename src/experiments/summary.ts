/** Summaries over seeds: per logged step (mean, sd, min, max) and steps to reach a threshold. */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { logCentre, type SweepCentre } from '../analysis/curves.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import type { RunRecord, RunTraceRow } from './train.ts';
import type { MetricName } from './spec.ts';

export interface Stats {
  readonly mean: number;
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly count: number;
}

export function stats(xs: readonly number[]): Stats {
  const v = xs.filter((x) => Number.isFinite(x));
  const count = v.length;
  if (count === 0) return { mean: NaN, sd: NaN, min: NaN, max: NaN, count };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const mean = sum / count;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { mean, sd: count > 1 ? Math.sqrt(ss / (count - 1)) : 0, min, max, count };
}

export interface StepSummaryRow {
  readonly arm: string;
  readonly step: number;
  readonly epoch: number;
  readonly metric: MetricName;
  readonly stats: Stats;
}

/**
 * Every logged step of every arm, with each run's row at that step: the last row at or before it,
 * so a run that stopped early carries its last value forward (it sits at the threshold's side of it
 * from then on); undefined before a run's first row. Traces are in step order.
 */
export function* stepsAcrossRuns(records: readonly RunRecord[]): Generator<{ arm: string; step: number; epoch: number; rows: (RunTraceRow | undefined)[] }> {
  const byArm = new Map<string, RunRecord[]>();
  for (const r of records) byArm.set(r.arm, [...(byArm.get(r.arm) ?? []), r]);
  for (const [arm, runs] of byArm) {
    const epochOf = new Map<number, number>();
    for (const r of runs) for (const t of r.trace) if (!epochOf.has(t.step)) epochOf.set(t.step, t.epoch);
    const steps = [...epochOf.keys()].sort((a, b) => a - b);
    const cursor = runs.map(() => -1);
    for (const step of steps) {
      runs.forEach((r, k) => {
        while (cursor[k]! + 1 < r.trace.length && r.trace[cursor[k]! + 1]!.step <= step) cursor[k]!++;
      });
      yield { arm, step, epoch: epochOf.get(step)!, rows: runs.map((r, k) => (cursor[k]! >= 0 ? r.trace[cursor[k]!] : undefined)) };
    }
  }
}

/** Per arm and logged step, statistics over seeds of every metric (see stepsAcrossRuns). */
export function summariseTraces(records: readonly RunRecord[], metrics: readonly MetricName[]): StepSummaryRow[] {
  const out: StepSummaryRow[] = [];
  for (const { arm, step, epoch, rows } of stepsAcrossRuns(records)) {
    for (const metric of metrics) {
      const vals = rows.map((t) => t?.[metric]).filter((v): v is number => v !== undefined);
      if (vals.length) out.push({ arm, step, epoch, metric, stats: stats(vals) });
    }
  }
  return out;
}

/** First logged step (and epoch) at which `metric` ≤ `below`, or null if never. */
export function stepsToThreshold(r: RunRecord, metric: MetricName, below: number): { step: number; epoch: number } | null {
  for (const t of r.trace) {
    const v = t[metric];
    if (v !== undefined && v <= below) return { step: t.step, epoch: t.epoch };
  }
  return null;
}

/** UVᵀ. */
export function gram(U: Matrix64, V: Matrix64): Matrix64 {
  const G = zeros(U.rows, V.rows);
  for (let i = 0; i < U.rows; i++) {
    for (let j = 0; j < V.rows; j++) {
      let s = 0;
      for (let k = 0; k < U.cols; k++) s += U.data[i * U.cols + k]! * V.data[j * V.cols + k]!;
      G.data[i * V.rows + j] = s;
    }
  }
  return G;
}

/** The key of an arm's figure line in StudyResult.centres. */
export const centreKey = (arm: string, metric: MetricName, log: boolean) => `${arm}\u0000${metric}\u0000${log ? 'log' : 'lin'}`;

export interface TraceCentreRow { arm: string; step: number; epoch: number; mean: number; lo: number; hi: number; centre: SweepCentre; seeds: number }

/**
 * Per arm and logged step, the centre and min–max of `metric` over seeds (a run that stopped early
 * keeps its last value, as in summariseTraces): the mean, or with `log` the geometric mean (the
 * median at a step where a seed is <= 0).
 */
export function traceCentres(records: readonly RunRecord[], metric: MetricName, log: boolean): TraceCentreRow[] {
  const out: TraceCentreRow[] = [];
  for (const { arm, step, epoch, rows } of stepsAcrossRuns(records)) {
    const vals = rows.map((t) => t?.[metric]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (vals.length === 0) continue;
    const c = log ? logCentre(vals)! : { value: vals.reduce((x, y) => x + y, 0) / vals.length, centre: 'mean' as const };
    out.push({ arm, step, epoch, mean: c.value, lo: Math.min(...vals), hi: Math.max(...vals), centre: c.centre, seeds: vals.length });
  }
  return out;
}

let gcFn: (() => void) | null | undefined;

/**
 * A full garbage collection where the runtime allows it (V8's gc, exposed once): called between
 * the large steps of a study's summaries (each arm) and figures (each figure), it keeps the heap
 * from growing towards the sum of their garbage; V8 alone grows the heap first and collects later.
 * Changes no result.
 */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
}
