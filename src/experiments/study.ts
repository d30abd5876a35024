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
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import { type Aside, setAside, writeFileAtomic } from '../io/atomic.ts';
import { decodeState, encodeState } from '../io/codec.ts';
import { readJsonFile } from '../io/read.ts';
import { traceToCsv, traceToJsonl } from '../io/trace.ts';
import { StateChecker } from './checkpoint.ts';
import { checkRunRecord, checkRunState, type RunRecord, type RunState, type RunTraceRow, runExperiment } from './run.ts';
import { checkGclExperiment, checkGclRunRecord, checkGclRunState, type GclRunState, runGclExperiment } from './gcl.ts';
import { configHash, isGclExperiment, METRICS, type MetricName, type StudySpec, validateStudy } from './spec.ts';
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

/**
 * What changes the numbers besides the spec: the backend, its precision, its tile size and (gpu.js)
 * the mode it runs in. A study is resumed only under the same run configuration.
 */
export interface RunConfig {
  readonly backend: string;
  readonly dtype: string;
  readonly blockSize: number;
  readonly mode?: string;
}

export function runConfigOf(backend: Backend): RunConfig {
  const mode = backend.info.mode;
  return { backend: backend.name, dtype: backend.dtype, blockSize: backend.blockSize, ...(typeof mode === 'string' ? { mode } : {}) };
}

/**
 * checkpoint.json: the run in progress, with the spec's hash (configHash, as in final.json) and
 * the run configuration it was computed under. Finished runs are in runs/NNNN.json
 * ({@link RunFile}), each written once.
 */
interface Checkpoint {
  readonly version: 2;
  readonly studyHash: string;
  readonly runConfig: RunConfig;
  readonly current: RunState | GclRunState | null;
}

interface RunFile {
  readonly version: 2;
  readonly studyHash: string;
  readonly runConfig: RunConfig;
  /** The run's index in the study (arms in order, seeds in order). */
  readonly index: number;
  readonly record: RunRecord;
}

const VERSION = 2;

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

function describeConfig(c: RunConfig): string {
  return `backend ${c.backend}${c.mode ? ` (mode ${c.mode})` : ''}, dtype ${c.dtype}, blockSize ${c.blockSize}`;
}

/** The header shared by checkpoint.json and runs/NNNN.json: version, spec hash, run configuration. */
function checkHeader(c: StateChecker, o: Record<string, unknown>, studyHash: string, runConfig: RunConfig, out: string): void {
  if (o.version !== VERSION) {
    c.fail('version', `is ${JSON.stringify(o.version)}; this contrastlab writes version ${VERSION} (it records the backend configuration); start the study afresh with --force`);
  }
  if (o.studyHash !== studyHash) {
    throw new ConfigError(c.op, `--resume: the checkpoint in '${out}' is for another spec (hash ${JSON.stringify(o.studyHash)}, this spec ${studyHash})`);
  }
  const rc = c.obj(o.runConfig, 'runConfig', ['backend', 'dtype', 'blockSize'], ['mode']);
  const diffs = (['backend', 'mode', 'dtype', 'blockSize'] as const).filter((k) => rc[k] !== runConfig[k]);
  if (diffs.length > 0) {
    throw new ConfigError(c.op, `${c.source} was computed with ${describeConfig(rc as unknown as RunConfig)}, but this invocation uses ${describeConfig(runConfig)}; `
      + `resume with the same --backend and --dtype (mixing them would mix numbers of different precision)`);
  }
}

export function runStudy(study: StudySpec, opts: StudyOptions): StudyResult {
  const op = 'run';
  const { out } = opts;
  // The whole spec is checked before anything is written or computed (see validateStudy); the gcl
  // arms are also built once (data, model, estimator).
  validateStudy(study);
  for (const e of study.experiments) if (isGclExperiment(e)) checkGclExperiment(e);
  const studyHash = configHash(study);
  const runConfig = runConfigOf(opts.backend);
  const runs = study.experiments.flatMap((e) => e.seeds.map((seed) => ({ e, seed })));
  const runsDir = join(out, 'runs');
  const runFile = (k: number) => join(runsDir, `${String(k).padStart(4, '0')}.json`);
  const records = new Map<number, RunRecord>();
  let ck: Checkpoint = { version: VERSION, studyHash, runConfig, current: null };
  // The folder this invocation created: removed if it fails (a fresh study leaves nothing half-made).
  // A signal ends the process without coming here, so an interrupted fresh study stays resumable.
  let created: string | null = null;
  // With --force an existing folder is set aside, and deleted only once the new study is complete.
  let aside: Aside | null = null;
  try {
    if (opts.resume) {
      const path = join(out, CHECKPOINT);
      if (!existsSync(path)) throw new ConfigError(op, `--resume: no checkpoint at '${path}'`);
      const c: StateChecker = new StateChecker(op, `--resume: '${path}'`);
      const raw = decodeState(readJsonFile(op, path, { what: 'checkpoint' }));
      const o = c.obj(raw, 'content', [], ['version', 'studyHash', 'runConfig', 'current']);
      checkHeader(c, o, studyHash, runConfig, out);
      c.obj(raw, 'content', ['version', 'studyHash', 'runConfig', 'current']);
      let current: RunState | GclRunState | null = null;
      if (o.current !== null) {
        if (typeof o.current !== 'object' || Array.isArray(o.current)) c.fail('current', `must be the state of a run or null, got ${JSON.stringify(o.current)}`);
        const cur = o.current as { arm?: unknown; seed?: unknown };
        const run = runs.find((r) => r.e.name === cur.arm && r.seed === cur.seed);
        if (!run) c.fail('current', `is for arm ${JSON.stringify(cur.arm)} seed ${JSON.stringify(cur.seed)}, which is not a run of this study`);
        const cc = new StateChecker(op, `--resume: '${path}'`, 'current');
        current = isGclExperiment(run.e) ? checkGclRunState(run.e, run.seed, o.current, cc) : checkRunState(run.e, run.seed, o.current, cc);
      }
      ck = { version: VERSION, studyHash, runConfig, current };
      // Every finished run is read and checked before any new work.
      runs.forEach(({ e, seed }, k) => {
        if (!existsSync(runFile(k))) return;
        const c: StateChecker = new StateChecker(op, `--resume: '${runFile(k)}'`);
        const raw = decodeState(readJsonFile(op, runFile(k), { what: 'run record' }));
        const f = c.obj(raw, 'content', [], ['version', 'studyHash', 'runConfig', 'index', 'record']);
        checkHeader(c, f, studyHash, runConfig, out);
        c.obj(raw, 'content', ['version', 'studyHash', 'runConfig', 'index', 'record']);
        c.eq(f.index, 'index', k, 'its file name');
        const rc = new StateChecker(op, `--resume: '${runFile(k)}'`, 'record');
        records.set(k, isGclExperiment(e) ? checkGclRunRecord(e, seed, f.record, rc) as unknown as RunRecord : checkRunRecord(e, seed, f.record, rc));
      });
    } else {
      if (existsSync(out)) {
        if (!opts.force) throw new ConfigError(op, `'${out}' already exists; refusing to overwrite it (pass --force, or --resume to continue it)`);
        aside = setAside(out, op);
      }
      created = mkdirSync(out, { recursive: true }) ?? out;
    }
    mkdirSync(runsDir, { recursive: true });
    let lastSave = 0;
    const save = (force: boolean) => {
      const now = Date.now();
      if (!force && now - lastSave < (opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS)) return;
      lastSave = now;
      writeFileAtomic(join(out, CHECKPOINT), JSON.stringify(encodeState(ck)), { overwrite: true });
    };

    for (let k = 0; k < runs.length; k++) {
      const { e, seed } = runs[k]!;
      if (records.has(k)) continue;
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
      records.set(k, rec);
      const file: RunFile = { version: VERSION, studyHash, runConfig, index: k, record: rec };
      writeFileAtomic(runFile(k), JSON.stringify(encodeState(file)), { overwrite: true });
      ck = { ...ck, current: null };
      save(true);
      opts.progress?.onRunDone?.({ arm: e.name, seed, runIndex: k, runCount: runs.length });
    }
    const result = summariseStudy(study, runs.map((_, k) => records.get(k)!), opts.backend, out);
    aside?.discard();
    return result;
  } catch (e) {
    if (created !== null) rmSync(created, { recursive: true, force: true });
    aside?.restore();
    throw e;
  }
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
