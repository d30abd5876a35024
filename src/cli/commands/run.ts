/** `contrastlab run`: run an experiment or study spec (a JSON file or a shipped preset). */
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { findPreset, PRESETS } from '../../experiments/presets/index.ts';
import { runTotalSteps, studyRuns } from '../../experiments/pool.ts';
import { planShards, resolveShard, type Shard } from '../../experiments/shard.ts';
import { validateStudy, type StudySpec } from '../../experiments/spec.ts';
import { expandStudy } from '../../experiments/studyLanguage.ts';
import { runStudyParallel, type StudyProgress, type StudyResult } from '../../experiments/study.ts';
import { setAside, writeFileAtomic } from '../../io/atomic.ts';
import { readJsonFile } from '../../io/read.ts';
import { choiceFlag, parseFlags, stringFlag } from '../args.ts';
import { defaultDtype, makeBackend } from '../backendChoice.ts';
import { type CommandIO, processIO } from '../io.ts';
import { createProgress, progressIntervalMs } from '../progress.ts';

export const RUN_HELP = `contrastlab run (SPEC.json | --preset NAME) --out DIR [options]
contrastlab run (SPEC.json | --preset NAME) --dry-run [--shard I/N | --shard-count N]
contrastlab run --list
contrastlab run --preset NAME (--print-spec | --expand)

Runs every experiment (arm) of a study spec for every seed, with checkpoints, then writes
DIR/trace.csv, trace.jsonl, summary.csv, final.json, summary.md, the figures (SVG and PNG),
spec.json, runs/NNNN.json (one per run) and run.json, and prints a short summary: where the files
are and, per arm, the final mean over seeds of its main metrics (run.json holds it as JSON; --json
prints that instead). A run is a pure function of (spec, seed, backend): same seed, same numbers,
whatever the number of workers or machines.

Progress goes to stderr, counted in optimisation steps over all runs, with the time elapsed and
an ETA: on a terminal one bar redrawn in place; otherwise (nohup, CI, notebooks) a line at the
start, one every 5 s (CONTRASTLAB_PROGRESS_INTERVAL=SECONDS) and one at the end.

Several machines: each runs a shard (--shard I/N, or a job array's environment, below) into one
shared DIR or folders of their own, writing only its runs (no summaries); then
\`contrastlab merge DIR [SHARD_DIR...]\` checks that every run is there once and writes the summaries
and figures: the same bytes as one machine running the whole study. Shards are balanced by steps:
runs longest first (ties by index), each to the shard with the fewest steps so far (ties to the
lowest); \`--dry-run\` shows the plan. Without --shard the shard comes from
  Slurm job arrays     SLURM_ARRAY_TASK_ID (minus SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT
  Kubernetes Indexed   JOB_COMPLETION_INDEX, with --shard-count N (the Job's completions)
  AWS Batch arrays     AWS_BATCH_JOB_ARRAY_INDEX of AWS_BATCH_JOB_ARRAY_SIZE

  SPEC.json            an experiment spec or a study spec ({"name", "experiments": [...], ...})
  --preset NAME        a shipped study (see --list)
  --size full|smoke    preset size (default full; smoke: fewer seeds and epochs)
  --out DIR            results folder (must not exist unless --force or --resume; a shard accepts
                       a folder holding the same study)
  --resume             continue the study in DIR: every unfinished run from its checkpoint
                       (runs/NNNN.partial.json; same numbers as uninterrupted)
  --force              replace DIR if it exists
  --workers K          runs in parallel on K worker threads (default: the number of cores, here
                       ${availableParallelism()}); gpujs uses one; the outputs are the same bytes for any K
  --shard I/N          run only shard I (0 to N-1) of N; with --dry-run, print the plan
  --shard-count N      the number of shards, with Kubernetes' JOB_COMPLETION_INDEX
  --dry-run            print each shard's runs (index, arm, seed, steps) and exit
  --dtype f64|f32      kernel precision (default f64; f32 with gpujs)
  --backend NAME       cpu (default), reference, or gpujs[:headlessgl|auto|webasm|cpu]: gpu.js,
                       float32; headlessgl needs an X display (xvfb-run -a); prints the mode it got
  --json               print the summary as one JSON object (the content of DIR/run.json)
  --quiet              no progress on stderr
  --figure-size SIZE   column (3.25 in) or page (6.75 in): figures sized for a paper, SVG text
                       outlined, PNG at 4x (default: screen size)
  --list               print every preset: name, then a short description
  --print-spec         print the preset's spec as JSON and exit
  --expand             print the study with every arm listed (the expanded spec) as JSON and exit`;

/**
 * The spec file: bounded, regular files only, BOM accepted, nesting limited (io/read.ts); expanded if
 * compact; then the whole spec validated (keys, values, combinations, names, memory), and the file as
 * written checked against the shipped JSON Schema (schema/study.schema.json), the one editors use.
 */
async function loadSpec(path: string): Promise<StudySpec> {
  const raw = readJsonFile('contrastlab run', path, { what: 'spec file' });
  const study = validateStudy(expandStudy(raw));
  (await import('../../experiments/schema.ts')).checkSchema(raw, 'spec file');
  return study;
}

/** The topmost folder on the way to `p` that does not exist yet (what creating `p` creates), or null. */
function topMissing(p: string): string | null {
  let top: string | null = null;
  for (let d = resolve(p); !existsSync(d) && d !== dirname(d); d = dirname(d)) top = d;
  return top;
}

/** What `run` prints with --json and writes to DIR/run.json. */
export interface RunSummary {
  readonly study: string;
  readonly out: string;
  readonly runs: number;
  readonly seconds: number;
  /** File names of the figures in DIR (SVG and PNG). */
  readonly figures: string[];
  /** Per arm, the final mean over seeds of every metric it logged. */
  readonly arms: { arm: string; final: Record<string, number> }[];
}

/** The steps of every run of the study, in index order (arm by arm, then seed by seed). */
export function studyRunSteps(study: StudySpec): number[] {
  return study.experiments.flatMap((e) => {
    const steps = runTotalSteps(e);
    return e.seeds.map(() => steps);
  });
}

export interface RunProgress {
  /** To pass as runStudy's `progress`. */
  readonly callbacks: StudyProgress;
  finish(): void;
  close(): void;
}

/**
 * Progress of a study weighted by steps: the total is the steps of every run of this invocation
 * (all, or its shard's; from the spec), done is the sum over runs of each one's last logged step
 * (several runs may be in progress at once, on workers). Runs finished before a --resume count as
 * done, and so do the steps before the first logged row of a run resumed from its checkpoint;
 * those, and the steps a run skips by stopping early, are left out of the rate behind the ETA.
 */
export function runProgress(io: CommandIO, study: StudySpec, o: { quiet?: boolean; intervalMs?: number; now?: () => number } = {}): RunProgress {
  const steps = studyRunSteps(study);
  const runCount = steps.length;
  let inShare: Set<number> | null = null; // null: every run
  const total = () => steps.reduce((a, b, k) => (inShare === null || inShare.has(k) ? a + b : a), 0);
  const bar = createProgress(io, {
    label: `run ${study.name}`, total: total(), unit: 'steps',
    ...(o.quiet !== undefined ? { quiet: o.quiet } : {}), ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}), ...(o.now ? { now: o.now } : {}),
  });
  const at = new Map<number, number>(); // run → steps counted done
  let done = 0;
  let skipped = 0; // steps counted done that this invocation did not compute
  const seen = new Set<number>(); // runs that logged a row in this invocation
  const set = (k: number, v: number) => {
    done += v - (at.get(k) ?? 0);
    at.set(k, v);
  };
  const where = (k: number, arm: string, seed: number) => `${arm} seed ${seed} (run ${k + 1}/${runCount})`;
  const callbacks: StudyProgress = {
    onPlan: ({ share, finished }) => {
      inShare = share.length === runCount ? null : new Set(share);
      bar.setTotal(total());
      for (const k of finished) {
        set(k, steps[k]!);
        skipped += steps[k]!;
      }
      bar.setSkipped(skipped);
    },
    onLog: ({ arm, seed, runIndex: k, row, totalSteps: t }) => {
      if (steps[k] !== t) {
        steps[k] = t;
        bar.setTotal(total());
      }
      if (!seen.has(k)) {
        seen.add(k);
        // A fresh run logs step 0 first; a resumed one starts past its checkpoint.
        skipped += row.step;
      }
      set(k, row.step);
      bar.setSkipped(skipped);
      bar.update(done, `${where(k, arm, seed)} step ${row.step}/${t}`);
    },
    onRunDone: ({ arm, seed, runIndex: k }) => {
      // A run resumed from a finished state logs nothing; one that stopped early skips the rest.
      skipped += steps[k]! - (seen.has(k) ? at.get(k) ?? 0 : 0);
      set(k, steps[k]!);
      bar.setSkipped(skipped);
      bar.update(done, `${where(k, arm, seed)} done`);
    },
  };
  return { callbacks, finish: () => bar.finish(), close: () => bar.close() };
}

/** The metrics shown per arm in the printed summary, in this order, at most MAX_METRICS of them. */
const MAIN_METRICS = ['loss', 'gap', 'distance', 'angleError', 'objective', 'objectiveGap', 'probe', 'knn', 'retrieval'];
const MAX_METRICS = 4;
const MAX_ARMS = 16;

function fmtNum(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toFixed(4) : x.toExponential(2);
}

/** The few lines `run` prints: where the files are, then per arm the final means of its main metrics. */
export function humanSummary(study: StudySpec, s: RunSummary): string {
  const svg = s.figures.filter((f) => f.endsWith('.svg'));
  const lines = [
    `run ${study.name}: ${s.runs} runs (${study.experiments.length} arms) in ${s.seconds.toFixed(1)} s; results in ${s.out}`,
    `  summary.md   the tables (final values per arm: mean ± sd over seeds)`,
    `  final.json   per-run and per-arm final values, config hashes, environment`,
    `  trace.csv    every logged row (also trace.jsonl; summary.csv: per step over seeds)`,
    `  run.json     this summary as JSON (what --json prints)`,
    `  figures      ${svg.length ? `${svg.join(', ')} (each also .png)` : 'none'}`,
  ];
  const rows = s.arms.map((a) => {
    const keys = MAIN_METRICS.filter((m) => a.final[m] !== undefined).slice(0, MAX_METRICS);
    return { arm: a.arm, cells: keys.map((m) => `${m} ${fmtNum(a.final[m]!)}`).join('  ') };
  }).filter((r) => r.cells !== '');
  if (rows.length) {
    lines.push('final mean over seeds:');
    const shown = rows.slice(0, MAX_ARMS);
    const w = Math.min(40, Math.max(...shown.map((r) => r.arm.length)));
    for (const r of shown) lines.push(`  ${r.arm.padEnd(w)}  ${r.cells}`);
    if (rows.length > shown.length) lines.push(`  … ${rows.length - shown.length} more arms in summary.md`);
  }
  return lines.join('\n');
}

function preset(name: string) {
  const p = findPreset(name);
  if (!p) throw new ConfigError('contrastlab run', `unknown preset '${name}'; expected one of ${PRESETS.map((x) => x.name).join(', ')}`);
  return p;
}

/** The study of a preset at a size: expanded (studyLanguage.ts) and validated. */
function presetStudy(name: string, size: 'full' | 'smoke'): StudySpec {
  return validateStudy(expandStudy(preset(name).spec(size)));
}

/** --workers K: a positive integer (default: the cores). */
function workersFlag(cmd: string, raw: string | undefined): number {
  if (raw === undefined) return availableParallelism();
  const t = raw.trim();
  const k = /^[1-9][0-9]*$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(k) || k > 1024) throw new ConfigError(`contrastlab ${cmd}`, `--workers must be an integer from 1 to 1024, got '${raw}'`);
  return k;
}

/** The dry-run plan: each shard's runs (index, arm, seed, steps), the current one marked. */
export function shardPlanText(study: StudySpec, count: number, current: Shard | null): string {
  const runs = studyRuns(study);
  const steps = runs.map((r) => runTotalSteps(r.e));
  const plan = planShards(steps, count);
  const lines = [`${study.name}: ${runs.length} runs, ${steps.reduce((a, b) => a + b, 0)} steps, ${count} shard${count > 1 ? 's' : ''} (longest first by steps, ties by index; each to the least-loaded shard)`];
  plan.forEach((share, i) => {
    const total = share.reduce((a, k) => a + steps[k]!, 0);
    lines.push(`shard ${i}/${count}: ${share.length} runs, ${total} steps${current?.index === i ? ` (this one: ${current.source})` : ''}`);
    for (const k of share) lines.push(`  ${String(k).padStart(4, '0')}  ${runs[k]!.arm}  seed ${runs[k]!.seed}  ${steps[k]} steps`);
  });
  return lines.join('\n');
}

export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const cmd = 'run';
  const op = 'contrastlab run';
  const { flags, positionals } = parseFlags(cmd, argv, {
    preset: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    force: { type: 'boolean' }, dtype: { type: 'string' }, backend: { type: 'string' }, list: { type: 'boolean' },
    'print-spec': { type: 'boolean' }, expand: { type: 'boolean' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, 'figure-size': { type: 'string' },
    workers: { type: 'string' }, shard: { type: 'string' }, 'shard-count': { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, true);
  if (flags.help) {
    io.out(RUN_HELP);
    return 0;
  }
  if (flags.list) {
    for (const p of PRESETS) io.out(`${p.name}\t${p.description}`);
    return 0;
  }
  const size = choiceFlag(cmd, flags, 'size', ['full', 'smoke'] as const, 'full');
  // Paper sizes for the figures (src/plot/charts.ts FigureSize); undefined: screen size.
  const figureSize = flags['figure-size'] === undefined ? undefined : choiceFlag(cmd, flags, 'figure-size', ['column', 'page'] as const, 'column');
  const presetName = stringFlag(flags, 'preset');
  if ((presetName === undefined) === (positionals.length === 0) || positionals.length > 1) {
    throw new ConfigError(op, 'give exactly one of SPEC.json or --preset NAME');
  }
  if (flags['print-spec']) {
    if (presetName === undefined) throw new ConfigError(op, '--print-spec prints a preset\'s compact spec: give --preset NAME (--expand prints any spec expanded)');
    io.out(JSON.stringify(preset(presetName).spec(size), null, 2));
    return 0;
  }
  const study = presetName !== undefined ? presetStudy(presetName, size) : await loadSpec(positionals[0]!);
  if (flags.expand) {
    io.out(JSON.stringify(study, null, 2));
    return 0;
  }
  const workers = workersFlag(cmd, stringFlag(flags, 'workers'));
  const shard = resolveShard(op, stringFlag(flags, 'shard'), stringFlag(flags, 'shard-count'), process.env);
  if (flags['dry-run']) {
    io.out(shardPlanText(study, shard?.count ?? 1, shard));
    return 0;
  }
  const out = stringFlag(flags, 'out');
  if (!out) throw new ConfigError(op, '--out DIR is required');
  if (flags.resume && flags.force) throw new ConfigError(op, '--resume and --force cannot be combined');
  if (shard && flags.force) throw new ConfigError(op, `--force cannot be combined with a shard (${shard.source}): the folder may hold the other shards' runs`);
  const dtype = choiceFlag(cmd, flags, 'dtype', ['f64', 'f32'] as const, defaultDtype(stringFlag(flags, 'backend')));
  const intervalMs = progressIntervalMs(cmd);
  const backendName = stringFlag(flags, 'backend') ?? 'cpu';
  const backend = makeBackend(cmd, backendName, dtype, (l) => io.err(l));
  // gpu.js: one GPU context, in this thread.
  const gpu = backendName.startsWith('gpujs');
  if (gpu && workers > 1 && stringFlag(flags, 'workers') !== undefined) io.err(`contrastlab run: --backend ${backendName} runs on one worker (one GPU context); --workers ${workers} ignored`);
  const k = gpu ? 1 : workers;
  // What this invocation creates (a fresh or replaced DIR and any missing parents): removed if it
  // fails after the runs (runStudy removes it on its own failures). --resume and shards remove nothing.
  const made = flags.resume || shard ? null : (topMissing(out) ?? (flags.force ? resolve(out) : null));
  // --force: the old folder is set aside and deleted only when the new study and its figures are
  // complete; on any failure it is put back.
  const aside = flags.force && existsSync(out) ? setAside(out, op) : null;
  try {
    const bar = runProgress(io, study, { quiet: flags.quiet === true, intervalMs });
    const started = Date.now();
    let res: StudyResult | null;
    try {
      res = await runStudyParallel(study, {
        out, resume: flags.resume === true, force: false, backend, backendName, workers: k, crashCleanup: io === processIO, progress: bar.callbacks, ...(shard ? { shard } : {}),
      });
      bar.finish();
    } finally {
      bar.close();
    }
    if (res === null) {
      // A shard: its runs are in DIR/runs; the summaries are for `merge`.
      const seconds = (Date.now() - started) / 1000;
      const share = planShards(studyRunSteps(study), shard!.count)[shard!.index]!;
      const info = { study: study.name, out, shard: { index: shard!.index, count: shard!.count, source: shard!.source }, runs: share.length, seconds };
      io.out(flags.json ? JSON.stringify(info)
        : `run ${study.name}: shard ${shard!.index}/${shard!.count} (${shard!.source}): ${share.length} runs in ${seconds.toFixed(1)} s; run files in ${join(out, 'runs')}\n`
          + `  when every shard is done: contrastlab merge ${out} (plus the shard folders, if separate)`);
      return 0;
    }
    let summary: RunSummary;
    let text: string;
    try {
      // The plotting stack (vega, resvg) is loaded only now: the runs and the summaries do without it.
      const { makeFigures } = await import('../../experiments/figures.ts');
      const figures = await makeFigures(study, res, out, figureSize ? { size: figureSize } : {});
      summary = {
        study: study.name, out, runs: res.records.length, seconds: (Date.now() - started) / 1000, figures,
        arms: res.arms.map((a) => ({ arm: a.arm, final: Object.fromEntries(Object.entries(a.final).map(([k, s]) => [k, s!.mean])) })),
      };
      text = JSON.stringify(summary);
      // DIR/run.json: what --json prints, written before anything is printed.
      writeFileAtomic(join(out, 'run.json'), `${text}\n`, { overwrite: true, op });
    } catch (e) {
      if (made !== null) rmSync(made, { recursive: true, force: true });
      throw e;
    }
    aside?.discard();
    io.out(flags.json ? text : humanSummary(study, summary));
    return 0;
  } finally {
    aside?.restore(); // a no-op after discard
    backend.dispose();
  }
}
