/** Summaries over seeds: per logged step (mean, sd, min, max) and steps to reach a threshold. */
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
