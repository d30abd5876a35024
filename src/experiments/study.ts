/**
 * A study: every arm (experiment) × every seed, then summarised and plotted. Outputs in DIR:
 *   spec.json                the study spec as run (written first: it names the study of the folder)
 *   runs/NNNN.json           each finished run (arm-major, then seed), written when it ends
 *   runs/NNNN.partial.json   the checkpoint of a run in progress (`--resume` continues it)
 *   shards/I-of-N.json       with a shard: which runs it does (a shard writes no summaries)
 *   trace.csv, trace.jsonl   every logged row of every run (arm, seed, step, epoch, metrics)
 *   summary.csv              per arm and logged step: mean, sd, min, max over seeds
 *   final.json               per run final values, per arm summary, config hashes, environment
 *   summary.md               the tables a person reads
 *   *.svg, *.png             figures (figures.ts, from the StudyResult)
 *
 * Runs are not kept in memory: each is written to its file when it ends, and the summaries are
 * computed from the files, arm by arm, in index order (summariseStudyDir). So the summaries are the
 * same bytes whatever ran the runs: one thread, several (runStudyParallel), several machines
 * (shards, then `contrastlab merge`), with or without interruptions. Every file is written
 * atomically.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import type { Matrix64 } from '../core/matrix.ts';
import { type Aside, setAside, StagedDir, writeFileAtomic } from '../io/atomic.ts';
import { readJsonFile } from '../io/read.ts';
import {
  CHECKPOINT_INTERVAL_MS, executeRun, partialFile, type PlannedRun, readPartialFile, readRunFile, type RunConfig, runConfigOf, runFile,
  type RunRecord, runOnWorkers, runTotalSteps, type RunTraceRow, studyRuns, VERSION,
} from './pool.ts';
import type { PartitionCheck } from './train.ts';
import { planShards, type Shard } from './shard.ts';
import { configHash, METRICS, type MetricName, type StudySpec, validateStudy } from './spec.ts';
import { centreKey, collectGarbage, gram, stats, stepsToThreshold, summariseTraces, traceCentres, type Stats, type TraceCentreRow } from './summary.ts';


export { type RunConfig, runConfigOf } from './pool.ts';

export interface StudyProgress {
  /** Called once before any run: this invocation's runs (its shard's, or all) and those of them already finished on disk. */
  onPlan?(info: { runCount: number; share: readonly number[]; finished: readonly number[] }): void;
  /** Called after each logged step of a run in progress (several may be in progress with workers). */
  onLog?(info: { arm: string; seed: number; runIndex: number; runCount: number; row: RunTraceRow; totalSteps: number }): void;
  onRunDone?(info: { arm: string; seed: number; runIndex: number; runCount: number }): void;
}

export interface StudyOptions {
  readonly out: string;
  readonly resume?: boolean;
  readonly force?: boolean;
  readonly backend: Backend;
  readonly progress?: StudyProgress;
  /** Minimum time between checkpoints of a run in progress (default 2000 ms; 0 = at every opportunity). */
  readonly checkpointIntervalMs?: number;
  /** Only this shard's runs, into a folder that may already hold the same study (no summaries). */
  readonly shard?: Shard | null;
}

export interface ParallelStudyOptions extends StudyOptions {
  /** Worker threads (default 1: this thread). Each builds its backend from `backendName` and the backend's dtype. */
  readonly workers?: number;
  /** The backend's CLI name (cpu, reference); the workers make their own. Default: the backend's name. */
  readonly backendName?: string;
  /** The workers register their temporaries with a crash-cleanup watchdog (set by the CLI, which does so itself). */
  readonly crashCleanup?: boolean;
}

export interface ArmSummary {
  readonly arm: string;
  readonly configHash: string;
  readonly final: Partial<Record<MetricName, Stats>>;
  readonly thresholds: { readonly metric: MetricName; readonly below: number; readonly reached: number; readonly of: number; readonly steps: Stats; readonly epochs: Stats }[];
}

/** A run without its trace and end point: what the tables and sweep figures need. */
export type RunFinal = Omit<RunRecord, 'trace' | 'U' | 'V'>;

export interface StudyResult {
  /** Every run's final values, in index order (not the traces: those are in the files). */
  readonly records: RunFinal[];
  readonly arms: ArmSummary[];
  readonly finalJson: Record<string, unknown>;
  /** Per arm, metric and axis (key: centreKey), the figure lines (see figures.ts traceCentres). */
  readonly centres: ReadonlyMap<string, TraceCentreRow[]>;
  /** Per arm of a Gram figure: the Gram matrix UVᵀ of its first seed. */
  readonly grams: ReadonlyMap<string, { seed: number; gram: Matrix64 }>;
}

export function environmentOf(rc: RunConfig): Record<string, unknown> {
  return {
    node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
    backend: rc.backend, dtype: rc.dtype, blockSize: rc.blockSize, contrastlab: '0.1.0',
  };
}

export function environment(backend: Backend): Record<string, unknown> {
  return environmentOf(runConfigOf(backend));
}

/** spec.json's bytes for a study. */
export const specText = (study: StudySpec) => JSON.stringify(study, null, 2) + '\n';

/** The hash of the study in DIR/spec.json (as written: expanded and validated), or null when there is none. */
export function folderStudyHash(op: string, dir: string): string | null {
  const p = join(dir, 'spec.json');
  if (!existsSync(p)) return null;
  return configHash(readJsonFile(op, p, { what: 'spec file' }));
}

/** Everything decided before the first run. */
interface Prepared {
  readonly runs: PlannedRun[];
  readonly studyHash: string;
  readonly runConfig: RunConfig;
  readonly share: number[];
  readonly todo: number[];
  readonly created: string | null;
  readonly aside: Aside | null;
}

function prepare(study: StudySpec, opts: StudyOptions): Prepared {
  const op = 'run';
  const { out } = opts;
  // The whole spec is checked before anything is written or computed (see validateStudy).
  validateStudy(study);
  const studyHash = configHash(study);
  const runConfig = runConfigOf(opts.backend);
  const runs = studyRuns(study);
  const shard = opts.shard ?? null;
  if (shard && opts.force) throw new ConfigError(op, '--force cannot be combined with a shard (the folder may hold the other shards\' runs)');
  const share = shard ? planShards(runs.map((r) => runTotalSteps(r.e)), shard.count)[shard.index]! : runs.map((r) => r.index);
  // The folder this invocation created: removed if it fails (a fresh study leaves nothing half-made).
  // A signal ends the process without coming here, so an interrupted fresh study stays resumable.
  let created: string | null = null;
  // With --force an existing folder is set aside, and deleted only once the new study is complete.
  let aside: Aside | null = null;
  const other = (h: string) => `'${out}' holds another study (spec.json hash ${h}, this spec ${studyHash})`;
  try {
    if (opts.resume && !existsSync(out)) throw new ConfigError(op, `--resume: no checkpoint at '${out}' (no such folder)`);
    if (opts.resume && !shard && !existsSync(join(out, 'spec.json')) && !existsSync(join(out, 'runs'))) {
      throw new ConfigError(op, `--resume: no checkpoint at '${out}' (neither spec.json nor runs/: not a study folder)`);
    }
    if (opts.resume || shard) {
      // A shard may find the folder made by another shard of the same study, or its own earlier try.
      const h = existsSync(out) ? folderStudyHash(op, out) : null;
      if (h !== null && h !== studyHash) throw new ConfigError(op, `${opts.resume ? '--resume: ' : ''}${other(h)}; ${opts.resume ? 'resume with its spec' : 'use another --out'}`);
      // Never removed on failure: other shards may be writing into it, and what is there resumes.
      if (!existsSync(out)) mkdirSync(out, { recursive: true });
    } else {
      if (existsSync(out)) {
        if (!opts.force) throw new ConfigError(op, `'${out}' already exists; refusing to overwrite it (pass --force, or --resume to continue it)`);
        aside = setAside(out, op);
      }
      created = mkdirSync(out, { recursive: true }) ?? out;
    }
    mkdirSync(join(out, 'runs'), { recursive: true });
    // Every finished run and every checkpoint of this invocation's share is read and checked before any new work.
    const todo: number[] = [];
    for (const k of share) {
      if (existsSync(runFile(out, k))) readRunFile(op, runFile(out, k), runs[k]!, studyHash, runConfig);
      else {
        if (existsSync(partialFile(out, k))) readPartialFile(op, partialFile(out, k), runs[k]!, studyHash, runConfig);
        todo.push(k);
      }
    }
    if (!existsSync(join(out, 'spec.json'))) writeFileAtomic(join(out, 'spec.json'), specText(study), { overwrite: true, op });
    if (shard) {
      mkdirSync(join(out, 'shards'), { recursive: true });
      const manifest = {
        version: VERSION, studyHash, runConfig, shard: { index: shard.index, count: shard.count, source: shard.source },
        rule: 'longest first by steps, ties by index; each run to the least-loaded shard, ties to the lowest',
        runs: share.map((k) => ({ index: k, arm: runs[k]!.arm, seed: runs[k]!.seed, steps: runTotalSteps(runs[k]!.e) })),
      };
      writeFileAtomic(join(out, 'shards', `${shard.index}-of-${shard.count}.json`), JSON.stringify(manifest, null, 2) + '\n', { overwrite: true, op });
    }
    return { runs, studyHash, runConfig, share, todo, created, aside };
  } catch (e) {
    if (created !== null) rmSync(created, { recursive: true, force: true });
    aside?.restore();
    throw e;
  }
}

function contextOf(p: Prepared, opts: StudyOptions) {
  return { op: 'run', out: opts.out, studyHash: p.studyHash, runConfig: p.runConfig, checkpointIntervalMs: opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS };
}

function finishStudy(study: StudySpec, p: Prepared, opts: StudyOptions): StudyResult | null {
  const res = opts.shard ? null : summariseStudyDir(study, opts.out, p.runConfig);
  p.aside?.discard();
  return res;
}

function fail(p: Prepared, e: unknown): never {
  if (p.created !== null) rmSync(p.created, { recursive: true, force: true });
  p.aside?.restore();
  throw e;
}

function planned(p: Prepared, opts: StudyOptions): void {
  const todo = new Set(p.todo);
  opts.progress?.onPlan?.({ runCount: p.runs.length, share: p.share, finished: p.share.filter((k) => !todo.has(k)) });
}

/** The runs to do, one after another in this thread. */
function runHere(p: Prepared, opts: StudyOptions): void {
  const ctx = contextOf(p, opts);
  const n = p.runs.length;
  for (const k of p.todo) {
    const { arm, seed } = p.runs[k]!;
    executeRun(ctx, p.runs[k]!, opts.backend, (row, totalSteps) => opts.progress?.onLog?.({ arm, seed, runIndex: k, runCount: n, row, totalSteps }));
    opts.progress?.onRunDone?.({ arm, seed, runIndex: k, runCount: n });
  }
}

/**
 * Runs the study in this thread, one run after another, then (without a shard) writes the
 * summaries. Returns null for a shard.
 */
export function runStudy(study: StudySpec, opts: StudyOptions & { shard: Shard }): null;
export function runStudy(study: StudySpec, opts: StudyOptions): StudyResult;
export function runStudy(study: StudySpec, opts: StudyOptions): StudyResult | null {
  const p = prepare(study, opts);
  try {
    planned(p, opts);
    runHere(p, opts);
    return finishStudy(study, p, opts);
  } catch (e) {
    fail(p, e);
  }
}

/**
 * As runStudy, with the runs on `workers` worker threads, each taking the next run in index order
 * when it is free; with one worker (or one run to do), in this thread.
 */
export async function runStudyParallel(study: StudySpec, opts: ParallelStudyOptions): Promise<StudyResult | null> {
  const p = prepare(study, opts);
  try {
    planned(p, opts);
    const workers = Math.min(opts.workers ?? 1, p.todo.length);
    if (workers <= 1) runHere(p, opts);
    else {
      const n = p.runs.length;
      await runOnWorkers(p.todo, {
        study, ctx: contextOf(p, opts), backend: opts.backendName ?? opts.backend.name, dtype: opts.backend.dtype, workers, crashCleanup: opts.crashCleanup === true,
        onLog: (k, row, totalSteps) => opts.progress?.onLog?.({ arm: p.runs[k]!.arm, seed: p.runs[k]!.seed, runIndex: k, runCount: n, row, totalSteps }),
        onDone: (k) => opts.progress?.onRunDone?.({ arm: p.runs[k]!.arm, seed: p.runs[k]!.seed, runIndex: k, runCount: n }),
      });
    }
    return finishStudy(study, p, opts);
  } catch (e) {
    fail(p, e);
  }
}

// ---- summaries, from the run files ----

function fmtStats(s: Stats | undefined, digits = 4): string {
  if (!s || s.count === 0) return '—';
  const f = (x: number) => (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4) || x === 0 ? x.toFixed(digits) : x.toExponential(2);
  return `${f(s.mean)} ± ${f(s.sd)}`;
}

/** objectiveGap = objective − the reference arm's final objective for the same seed (a derived column). */
function withObjectiveGap(refFinal: ReadonlyMap<number, number> | null, r: RunRecord): RunRecord {
  const ref = refFinal?.get(r.seed);
  if (ref === undefined) return r;
  const trace = r.trace.map((t) => (t.objective === undefined ? t : { ...t, objectiveGap: t.objective - ref }));
  return { ...r, trace, final: trace[trace.length - 1]! };
}

function finalOf(r: RunRecord): RunFinal {
  return { arm: r.arm, seed: r.seed, configHash: r.configHash, steps: r.steps, epochs: r.epochs, stoppedEarly: r.stoppedEarly, final: r.final, ...(r.partition ? { partition: r.partition } : {}) };
}

// CSV cells as io/trace.ts writes them (traceToCsv), for a CSV written row by row.
const NEEDS_QUOTES = /[",\r\n]|^ | $/;
const csvCell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : String(v));
const quote = (s: string) => (NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
const csvRow = (cells: readonly string[]) => (cells.length === 1 && cells[0] === '' ? '""' : cells.map(quote).join(','));

/** A file written in pieces (buffered), fsynced at the end. */
class Appender {
  private fd: number;
  private buf: string[] = [];
  private size = 0;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'wx');
  }
  write(s: string): void {
    this.buf.push(s);
    this.size += s.length;
    if (this.size > 1 << 20) this.flush();
  }
  flush(): void {
    if (this.buf.length === 0) return;
    const b = Buffer.from(this.buf.join(''), 'utf8');
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.buf = [];
    this.size = 0;
  }
  close(): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** Each line of a text file, read in pieces (split at LF bytes, which UTF-8 never uses inside a character). */
function* linesOf(path: string): Generator<string> {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let rest: Buffer = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const buf = rest.length ? Buffer.concat([rest, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let i = buf.indexOf(10, start); i >= 0; i = buf.indexOf(10, start)) {
        yield buf.toString('utf8', start, i);
        start = i + 1;
      }
      rest = Buffer.from(buf.subarray(start));
    }
    if (rest.length) yield rest.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A CSV written row by row whose header is the union of the rows' keys in first-seen order (as
 * traceToCsv): the rows' cells go to a side file, and the CSV is written from it at the end.
 */
class CsvStream {
  private keys: string[] = [];
  private seen = new Set<string>();
  private side: Appender;
  constructor(private readonly dir: string, private readonly name: string) {
    this.side = new Appender(join(dir, `${name}.cells`));
  }
  add(row: Record<string, unknown>): void {
    const ks = Object.keys(row);
    for (const k of ks) if (!this.seen.has(k)) {
      this.seen.add(k);
      this.keys.push(k);
    }
    this.side.write(JSON.stringify(ks.map((k) => [k, csvCell(row[k])])) + '\n');
  }
  /** Writes DIR/NAME and returns its path. */
  finish(): string {
    this.side.close();
    const path = join(this.dir, this.name);
    const out = new Appender(path);
    out.write(csvRow(this.keys) + '\n');
    for (const line of linesOf(join(this.dir, `${this.name}.cells`))) {
      const cells = new Map(JSON.parse(line) as [string, string][]);
      out.write(csvRow(this.keys.map((k) => cells.get(k) ?? '')) + '\n');
    }
    out.close();
    rmSync(join(this.dir, `${this.name}.cells`));
    return path;
  }
}

/**
 * Writes trace.csv, trace.jsonl, summary.csv, final.json, summary.md and spec.json into `out` from
 * the run files in out/runs (all present, checked as they are read), holding one arm's runs at a
 * time; returns what the figures need. `runConfig`: the run files' (checked to agree).
 */
export function summariseStudyDir(study: StudySpec, out: string, runConfig: RunConfig, op = 'run'): StudyResult {
  const studyHash = configHash(study);
  const runs = studyRuns(study);
  const load = (k: number) => readRunFile(op, runFile(out, k), runs[k]!, studyHash, runConfig, '').record;
  const byArm = study.experiments.map((e) => runs.filter((r) => r.arm === e.name).map((r) => r.index));
  // The gap reference's final objective per seed (objectiveGap), then every run's final values.
  let refFinal: Map<number, number> | null = null;
  if (study.gapReference) {
    refFinal = new Map();
    for (const r of runs) {
      if (r.arm !== study.gapReference) continue;
      const rec = load(r.index);
      if (rec.final.objective !== undefined) refFinal.set(rec.seed, rec.final.objective);
    }
  }
  const records: RunFinal[] = runs.map((r) => finalOf(withObjectiveGap(refFinal, load(r.index))));
  const metrics = METRICS.filter((m) => records.some((r) => r.final[m] !== undefined));

  const figureArms = new Map<string, { metric: MetricName; log: boolean }[]>();
  for (const f of study.figures ?? []) {
    const arms = f.panels ? f.panels.flatMap((p) => p.arms) : f.arms ?? study.experiments.map((e) => e.name);
    for (const a of arms) {
      const l = figureArms.get(a) ?? [];
      if (!l.some((x) => x.metric === f.metric && x.log === (f.logY === true))) l.push({ metric: f.metric, log: f.logY === true });
      figureArms.set(a, l);
    }
  }
  const gramArms = new Set((study.gramFigures ?? []).flatMap((g) => g.arms));
  const centres = new Map<string, TraceCentreRow[]>();
  const grams = new Map<string, { seed: number; gram: Matrix64 }>();

  const staged = new StagedDir(join(out, 'summaries'), { op });
  try {
    const dir = staged.staging;
    const jsonl = new Appender(join(dir, 'trace.jsonl'));
    const trace = new CsvStream(dir, 'trace.csv');
    const summary = new CsvStream(dir, 'summary.csv');
    const arms: ArmSummary[] = study.experiments.map((e, a) => {
      const recs = byArm[a]!.map((k) => withObjectiveGap(refFinal, load(k)));
      for (const r of recs) {
        for (const t of r.trace) {
          const row = { arm: r.arm, seed: r.seed, ...t };
          jsonl.write(JSON.stringify(row) + '\n');
          trace.add(row);
        }
      }
      for (const s of summariseTraces(recs, metrics)) summary.add({ arm: s.arm, step: s.step, epoch: s.epoch, metric: s.metric, ...s.stats });
      for (const { metric, log } of figureArms.get(e.name) ?? []) centres.set(centreKey(e.name, metric, log), traceCentres(recs, metric, log));
      // Gram arms are free-embedding arms (checked with the study), whose records keep U and V.
      if (gramArms.has(e.name) && recs.length > 0) grams.set(e.name, { seed: recs[0]!.seed, gram: gram(recs[0]!.U!, recs[0]!.V!) });
      collectGarbage();
      const finals = byArm[a]!.map((k) => records[k]!);
      const final: Partial<Record<MetricName, Stats>> = {};
      for (const m of metrics) {
        const v = finals.map((r) => r.final[m]).filter((x): x is number => x !== undefined);
        if (v.length) final[m] = stats(v);
      }
      const thresholds = (study.thresholds ?? []).map((t) => {
        const hits = recs.map((r) => stepsToThreshold(r, t.metric, t.below));
        const ok = hits.filter((h): h is { step: number; epoch: number } => h !== null);
        return { ...t, reached: ok.length, of: recs.length, steps: stats(ok.map((h) => h.step)), epochs: stats(ok.map((h) => h.epoch)) };
      });
      return { arm: e.name, configHash: configHash(e), final, thresholds };
    });
    jsonl.close();
    const files = [join(dir, 'trace.jsonl'), trace.finish(), summary.finish()];
    for (const f of files) renameSync(f, join(out, f.slice(dir.length + 1)));
    staged.abort();
    const res = writeTables(study, out, runConfig, records, arms, metrics);
    return { ...res, centres, grams };
  } catch (e) {
    staged.abort();
    throw e;
  }
}

function writeTables(study: StudySpec, out: string, runConfig: RunConfig, records: RunFinal[], arms: ArmSummary[], metrics: readonly MetricName[]) {
  const env = environmentOf(runConfig);
  const finalJson = {
    study: study.name, description: study.description, studyHash: configHash(study), environment: env,
    arms, runs: records.map((r) => ({ arm: r.arm, seed: r.seed, configHash: r.configHash, steps: r.steps, epochs: r.epochs, stoppedEarly: r.stoppedEarly, final: r.final, ...(r.partition ? { partition: r.partition } : {}) })),
  };
  writeFileAtomic(join(out, 'final.json'), JSON.stringify(finalJson, null, 2) + '\n', { overwrite: true });
  // The spec as run, so a results folder is self-describing (contrastlab report shows it).
  writeFileAtomic(join(out, 'spec.json'), specText(study), { overwrite: true });

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
  lines.push('', `Environment: ${JSON.stringify(env)}`, '');
  writeFileAtomic(join(out, 'summary.md'), lines.join('\n'), { overwrite: true });
  return { records, arms, finalJson };
}

/** The finished run files in `dir`/runs: index → file name (partial checkpoints left out). */
export function finishedRunFiles(dir: string): Map<number, string> {
  const out = new Map<number, string>();
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, 'runs'));
  } catch {
    return out;
  }
  for (const n of names) {
    const m = /^(\d{4,})\.json$/.exec(n);
    if (m) out.set(Number(m[1]), n);
  }
  return out;
}
