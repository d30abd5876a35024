/** Summaries over seeds: per logged step (mean, sd, min, max) and steps to reach a threshold. */
import type { RunRecord } from './run.ts';
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
 * Per arm and logged step, statistics over seeds of every metric. Runs that stopped early carry
 * their last value forward (they sit at the threshold's side of it from then on).
 */
export function summariseTraces(records: readonly RunRecord[], metrics: readonly MetricName[]): StepSummaryRow[] {
  const byArm = new Map<string, RunRecord[]>();
  for (const r of records) byArm.set(r.arm, [...(byArm.get(r.arm) ?? []), r]);
  const out: StepSummaryRow[] = [];
  for (const [arm, runs] of byArm) {
    const epochOf = new Map<number, number>();
    for (const r of runs) for (const t of r.trace) if (!epochOf.has(t.step)) epochOf.set(t.step, t.epoch);
    const steps = [...epochOf.keys()].sort((a, b) => a - b);
    // One cursor per run: the last row at or before the current step (traces are in step order).
    const cursor = runs.map(() => -1);
    for (const step of steps) {
      runs.forEach((r, k) => {
        while (cursor[k]! + 1 < r.trace.length && r.trace[cursor[k]! + 1]!.step <= step) cursor[k]!++;
      });
      for (const metric of metrics) {
        const vals: number[] = [];
        runs.forEach((r, k) => {
          const v = cursor[k]! >= 0 ? r.trace[cursor[k]!]![metric] : undefined;
          if (v !== undefined) vals.push(v);
        });
        if (vals.length) out.push({ arm, step, epoch: epochOf.get(step)!, metric, stats: stats(vals) });
      }
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
