/**
 * A study: every arm (experiment) × every seed, run one after another with checkpoints, then
 * summarised and plotted. Outputs in DIR:
 *   trace.csv, trace.jsonl   every logged row of every run (arm, seed, step, epoch, metrics)
 *   summary.csv              per arm and logged step: mean, sd, min, max over seeds
 *   final.json               per run final values, per arm summary, config hashes, environment
 *   summary.md               the tables a person reads
 *   spec.json                the study spec as run
 *   *.svg, *.png             figures (loss / distance against steps with bands; Gram heat-maps)
 *   checkpoint.json          the state to resume from (`--resume`)
 * Every file is written atomically; a resumed study gives exactly the numbers of an uninterrupted one.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { decodeState, encodeState } from '../io/codec.ts';
import { traceToCsv, traceToJsonl } from '../io/trace.ts';
import { type RunRecord, type RunState, type RunTraceRow, runExperiment } from './run.ts';
import { checkGclExperiment, type GclRunState, runGclExperiment } from './gcl.ts';
import { configHash, isGclExperiment, METRICS, type MetricName, type StudySpec } from './spec.ts';
import { stats, stepsToThreshold, summariseTraces, type Stats } from './summary.ts';

export interface StudyProgress {
  /** Called after each logged step of the run in progress. */
  onLog?(info: { arm: string; seed: number; runIndex: number; runCount: number; row: RunTraceRow; totalSteps: number }): void;
  onRunDone?(info: { arm: string; seed: number; runIndex: number; runCount: number }): void;
}

export interface StudyOptions {
  readonly out: string;
  readonly resume?: boolean;
  readonly force?: boolean;
  readonly backend: Backend;
  readonly progress?: StudyProgress;
  /** Minimum time between checkpoints of the run in progress (default 2000 ms; 0 = at every opportunity). */
  readonly checkpointIntervalMs?: number;
}

/** checkpoint.json: the run in progress. Finished runs are in runs/NNNN.json, each written once. */
interface Checkpoint {
  readonly version: 1;
  readonly studyHash: string;
  readonly current: RunState | GclRunState | null;
}

/** Checkpoints of the run in progress are written at most this often (and at every run's end). */
const CHECKPOINT_INTERVAL_MS = 2000;

export interface ArmSummary {
  readonly arm: string;
  readonly configHash: string;
  readonly final: Partial<Record<MetricName, Stats>>;
  readonly thresholds: { readonly metric: MetricName; readonly below: number; readonly reached: number; readonly of: number; readonly steps: Stats; readonly epochs: Stats }[];
}

export interface StudyResult {
  readonly records: RunRecord[];
  readonly arms: ArmSummary[];
  readonly finalJson: Record<string, unknown>;
}

export function environment(backend: Backend): Record<string, unknown> {
  return {
    node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    backend: backend.name, dtype: backend.dtype, blockSize: backend.blockSize, contrastlab: '0.1.0',
  };
}

const CHECKPOINT = 'checkpoint.json';

export function runStudy(study: StudySpec, opts: StudyOptions): StudyResult {
  const op = 'run';
  const { out } = opts;
  const studyHash = configHash(study);
  // Configuration errors surface before anything is written (model/estimator pairing, batch sizes, ...).
  for (const e of study.experiments) if (isGclExperiment(e)) checkGclExperiment(e);
  let ck: Checkpoint = { version: 1, studyHash, current: null };
  const runsDir = join(out, 'runs');
  if (opts.resume) {
    const path = join(out, CHECKPOINT);
    if (!existsSync(path)) throw new ConfigError(op, `--resume: no checkpoint at '${path}'`);
    let parsed: Checkpoint;
    try {
      parsed = decodeState(JSON.parse(readFileSync(path, 'utf8'))) as Checkpoint;
    } catch (e) {
      throw new ConfigError(op, `--resume: the checkpoint '${path}' is not readable JSON (${(e as Error).message})`);
    }
    if (parsed.studyHash !== studyHash) {
      throw new ConfigError(op, `--resume: the checkpoint in '${out}' is for another spec (hash ${parsed.studyHash}, this spec ${studyHash})`);
    }
    ck = parsed;
  } else {
    if (existsSync(out)) {
      if (!opts.force) throw new ConfigError(op, `'${out}' already exists; refusing to overwrite it (pass --force, or --resume to continue it)`);
      rmSync(out, { recursive: true, force: true });
    }
    mkdirSync(out, { recursive: true });
  }
  mkdirSync(runsDir, { recursive: true });
  let lastSave = 0;
  const save = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastSave < (opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS)) return;
    lastSave = now;
    writeFileAtomic(join(out, CHECKPOINT), JSON.stringify(encodeState(ck)), { overwrite: true });
  };
  const runFile = (k: number) => join(runsDir, `${String(k).padStart(4, '0')}.json`);

  const runs = study.experiments.flatMap((e) => e.seeds.map((seed) => ({ e, seed })));
  const records: RunRecord[] = [];
  for (let k = 0; k < runs.length; k++) {
    const { e, seed } = runs[k]!;
    if (opts.resume && existsSync(runFile(k))) {
      const r = decodeState(JSON.parse(readFileSync(runFile(k), 'utf8'))) as RunRecord;
      if (r.arm !== e.name || r.seed !== seed || r.configHash !== configHash(e)) {
        throw new ConfigError(op, `--resume: '${runFile(k)}' holds arm '${r.arm}' seed ${r.seed}, expected '${e.name}' seed ${seed}`);
      }
      records.push(r);
      continue;
    }
    const resume = ck.current && ck.current.arm === e.name && ck.current.seed === seed ? ck.current : undefined;
    const hooks = {
      backend: opts.backend,
      onLog: (row: RunTraceRow, totalSteps: number) => opts.progress?.onLog?.({ arm: e.name, seed, runIndex: k, runCount: runs.length, row, totalSteps }),
      onCheckpoint: (state: RunState | GclRunState) => {
        ck = { ...ck, current: state };
        save(false);
      },
    };
    const rec: RunRecord = isGclExperiment(e)
      ? runGclExperiment(e, seed, { ...hooks, resume: resume as GclRunState | undefined })
      : runExperiment(e, seed, { ...hooks, resume: resume as RunState | undefined });
    records.push(rec);
    writeFileAtomic(runFile(k), JSON.stringify(encodeState(rec)), { overwrite: true });
    ck = { ...ck, current: null };
    save(true);
    opts.progress?.onRunDone?.({ arm: e.name, seed, runIndex: k, runCount: runs.length });
  }
  return summariseStudy(study, records, opts.backend, out);
}

function fmtStats(s: Stats | undefined, digits = 4): string {
  if (!s || s.count === 0) return '—';
  const f = (x: number) => (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4) || x === 0 ? x.toFixed(digits) : x.toExponential(2);
  return `${f(s.mean)} ± ${f(s.sd)}`;
}

/** objectiveGap = objective − the reference arm's final objective for the same seed (a derived column). */
function withObjectiveGap(study: StudySpec, records: RunRecord[]): RunRecord[] {
  const refArm = study.gapReference;
  if (!refArm) return records;
  const refFinal = new Map<number, number>();
  for (const r of records) if (r.arm === refArm && r.final.objective !== undefined) refFinal.set(r.seed, r.final.objective);
  return records.map((r) => {
    const ref = refFinal.get(r.seed);
    if (ref === undefined) return r;
    const trace = r.trace.map((t) => (t.objective === undefined ? t : { ...t, objectiveGap: t.objective - ref }));
    return { ...r, trace, final: trace[trace.length - 1]! };
  });
}

export function summariseStudy(study: StudySpec, recordsIn: RunRecord[], backend: Backend, out: string): StudyResult {
  const records = withObjectiveGap(study, recordsIn);
  const metrics = METRICS.filter((m) => records.some((r) => r.final[m] !== undefined));
  const arms: ArmSummary[] = study.experiments.map((e) => {
    const runs = records.filter((r) => r.arm === e.name);
    const final: Partial<Record<MetricName, Stats>> = {};
    for (const m of metrics) {
      const v = runs.map((r) => r.final[m]).filter((x): x is number => x !== undefined);
      if (v.length) final[m] = stats(v);
    }
    const thresholds = (study.thresholds ?? []).map((t) => {
      const hits = runs.map((r) => stepsToThreshold(r, t.metric, t.below));
      const ok = hits.filter((h): h is { step: number; epoch: number } => h !== null);
      return { ...t, reached: ok.length, of: runs.length, steps: stats(ok.map((h) => h.step)), epochs: stats(ok.map((h) => h.epoch)) };
    });
    return { arm: e.name, configHash: configHash(e), final, thresholds };
  });

  const rows = records.flatMap((r) => r.trace.map((t) => ({ arm: r.arm, seed: r.seed, ...t })));
  writeFileAtomic(join(out, 'trace.csv'), traceToCsv(rows), { overwrite: true });
  writeFileAtomic(join(out, 'trace.jsonl'), traceToJsonl(rows), { overwrite: true });
  const sum = summariseTraces(records, metrics).map((s) => ({ arm: s.arm, step: s.step, epoch: s.epoch, metric: s.metric, ...s.stats }));
  writeFileAtomic(join(out, 'summary.csv'), traceToCsv(sum), { overwrite: true });

  const finalJson = {
    study: study.name, description: study.description, studyHash: configHash(study), environment: environment(backend),
    arms, runs: records.map((r) => ({ arm: r.arm, seed: r.seed, configHash: r.configHash, steps: r.steps, epochs: r.epochs, stoppedEarly: r.stoppedEarly, final: r.final, ...(r.partition ? { partition: r.partition } : {}) })),
  };
  writeFileAtomic(join(out, 'final.json'), JSON.stringify(finalJson, null, 2) + '\n', { overwrite: true });
  // The spec as run, so a results folder is self-describing (contrastlab report shows it).
  writeFileAtomic(join(out, 'spec.json'), JSON.stringify(study, null, 2) + '\n', { overwrite: true });

  const lines: string[] = [`# ${study.name}`, '', study.description, ''];
  if (study.notes) lines.push(study.notes, '');
  const seedsOf = (arm: string) => records.filter((r) => r.arm === arm).length;
  lines.push(`Final values over seeds (mean ± sd); ${records.length} runs; config hash ${configHash(study)}.`, '');
  lines.push(`| arm | seeds | ${metrics.join(' | ')} |`, `|---|---|${metrics.map(() => '---').join('|')}|`);
  for (const a of arms) lines.push(`| ${a.arm} | ${seedsOf(a.arm)} | ${metrics.map((m) => fmtStats(a.final[m])).join(' | ')} |`);
  (study.thresholds ?? []).forEach((t, k) => {
    lines.push('', `Steps and epochs until ${t.metric} ≤ ${t.below} (mean ± sd over the seeds that reach it).`, '');
    lines.push('| arm | reached | steps | epochs |', '|---|---|---|---|');
    for (const a of arms) {
      const th = a.thresholds[k]!;
      lines.push(`| ${a.arm} | ${th.reached}/${th.of} | ${fmtStats(th.steps, 1)} | ${fmtStats(th.epochs, 2)} |`);
    }
  });
  for (const sw of study.sweeps ?? []) {
    const arms = Object.values(sw.series).flat();
    const xs = [...new Set(arms.map((a) => a.x))].sort((a, b) => a - b);
    lines.push('', `${sw.title}: final ${sw.metric}, mean ± sd over seeds.`, '');
    lines.push(`| ${sw.xTitle} | ${Object.keys(sw.series).join(' | ')} |`, `|---|${Object.keys(sw.series).map(() => '---').join('|')}|`);
    for (const x of xs) {
      const cells = Object.values(sw.series).map((ser) => {
        const a = ser.find((q) => q.x === x);
        return a ? fmtStats(stats(records.filter((r) => r.arm === a.arm).map((r) => r.final[sw.metric]).filter((v): v is number => v !== undefined))) : '—';
      });
      lines.push(`| ${x} | ${cells.join(' | ')} |`);
    }
    if (sw.referenceArm) {
      lines.push('', `Reference (${sw.referenceArm}): ${fmtStats(stats(records.filter((r) => r.arm === sw.referenceArm).map((r) => r.final[sw.metric]).filter((v): v is number => v !== undefined)))}.`);
    }
  }
  const fixed = records.filter((r) => r.partition);
  if (fixed.length) {
    lines.push('', 'Fixed-partition end points (CHO Thm 5): each batch against the B-point ETF, the partition objective against its closed-form minimum, and the full-batch gap to the ETF value.', '');
    lines.push('| arm | seed | max batch-ETF distance | partition loss − optimum | full-batch loss − ETF value |', '|---|---|---|---|---|');
    for (const r of fixed) {
      const p = r.partition!;
      lines.push(`| ${r.arm} | ${r.seed} | ${p.maxBatchEtfDistance.toExponential(2)} | ${(p.partitionLoss - p.partitionOptimum).toExponential(2)} | ${p.fullGap.toExponential(3)} |`);
    }
  }
  lines.push('', `Environment: ${JSON.stringify(environment(backend))}`, '');
  writeFileAtomic(join(out, 'summary.md'), lines.join('\n'), { overwrite: true });
  return { records, arms, finalJson };
}
