/** Summaries over seeds: per logged step (mean, sd, min, max) and steps to reach a threshold. */
import type { RunRecord, RunTraceRow } from './run.ts';
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
  const mean = v.reduce((a, b) => a + b, 0) / count;
  const sd = count > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (count - 1)) : 0;
  return { mean, sd, min: Math.min(...v), max: Math.max(...v), count };
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
    const steps = [...new Set(runs.flatMap((r) => r.trace.map((t) => t.step)))].sort((a, b) => a - b);
    for (const step of steps) {
      const epoch = runs.flatMap((r) => r.trace).find((t) => t.step === step)!.epoch;
      for (const metric of metrics) {
        const vals: number[] = [];
        for (const r of runs) {
          const row = lastAtOrBefore(r.trace, step);
          const v = row?.[metric];
          if (v !== undefined) vals.push(v);
        }
        if (vals.length) out.push({ arm, step, epoch, metric, stats: stats(vals) });
      }
    }
  }
  return out;
}

function lastAtOrBefore(trace: readonly RunTraceRow[], step: number): RunTraceRow | undefined {
  let best: RunTraceRow | undefined;
  for (const t of trace) if (t.step <= step) best = t;
  return best;
}

/** First logged step (and epoch) at which `metric` ≤ `below`, or null if never. */
export function stepsToThreshold(r: RunRecord, metric: MetricName, below: number): { step: number; epoch: number } | null {
  for (const t of r.trace) {
    const v = t[metric];
    if (v !== undefined && v <= below) return { step: t.step, epoch: t.epoch };
  }
  return null;
}
