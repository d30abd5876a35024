/** `contrastlab run`: run an experiment or study spec (a JSON file or a shipped preset). */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { makeFigures } from '../../experiments/figures.ts';
import { gclTotalSteps } from '../../experiments/gcl.ts';
import { findPreset, PRESETS } from '../../experiments/presets.ts';
import { totalSteps } from '../../experiments/run.ts';
import { isGclExperiment, validateStudy, type StudySpec } from '../../experiments/spec.ts';
import { runStudy, type StudyProgress, type StudyResult } from '../../experiments/study.ts';
import { setAside, writeFileAtomic } from '../../io/atomic.ts';
import { readJsonFile } from '../../io/read.ts';
import { choiceFlag, parseFlags, stringFlag } from '../args.ts';
import { defaultDtype, makeBackend } from '../backendChoice.ts';
import type { CommandIO } from '../io.ts';
import { createProgress, progressIntervalMs } from '../progress.ts';

export const RUN_HELP = `contrastlab run (SPEC.json | --preset NAME) --out DIR [options]
contrastlab run --list
contrastlab run --preset NAME --print-spec

Runs every experiment (arm) of a study spec for every seed, with checkpoints, then writes
DIR/trace.csv, trace.jsonl, summary.csv, final.json, summary.md, the figures (SVG and PNG),
checkpoint.json and run.json, and prints a short summary: where the files are and, per arm, the
final mean over seeds of its main metrics (run.json holds it as JSON; --json prints that instead).
A run is a pure function of (spec, seed, backend): same seed, same numbers.

Progress goes to stderr, counted in optimisation steps over all runs, with the time elapsed and
an ETA: on a terminal one bar redrawn in place; otherwise (nohup, CI, notebooks) a line at the
start, one every 5 s (CONTRASTLAB_PROGRESS_INTERVAL=SECONDS) and one at the end.

  SPEC.json            an experiment spec or a study spec ({"name", "experiments": [...], ...})
  --preset NAME        a shipped study (see --list)
  --size full|smoke    preset size (default full; smoke: fewer seeds and epochs)
  --out DIR            results folder (must not exist unless --force or --resume)
  --resume             continue the study in DIR from its checkpoint (same numbers as uninterrupted)
  --force              replace DIR if it exists
  --dtype f64|f32      kernel precision (default f64; f32 with gpujs)
  --backend NAME       cpu (default), reference, or gpujs[:headlessgl|auto|webasm|cpu]: gpu.js,
                       float32; headlessgl needs an X display (xvfb-run -a); prints the mode it got
  --json               print the summary as one JSON object (the content of DIR/run.json)
  --quiet              no progress on stderr
  --figure-size SIZE   column (3.25 in) or page (6.75 in): figures sized for a paper, SVG text
                       outlined, PNG at 4x (default: screen size)
  --list               print every preset: name, then a short description
  --print-spec         print the preset's spec as JSON and exit`;

/** The spec file: bounded, regular files only, BOM accepted, nesting limited (io/read.ts); then the whole spec validated. */
function loadSpec(path: string): StudySpec {
  return validateStudy(readJsonFile('contrastlab run', path, { what: 'spec file' }));
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

/** The steps of every run of the study, in runStudy's order (arm by arm, then seed by seed). */
export function studyRunSteps(study: StudySpec): number[] {
  return study.experiments.flatMap((e) => {
    const steps = isGclExperiment(e) ? gclTotalSteps(e) : totalSteps(e);
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
 * Progress of a study weighted by steps: the total is every run's steps (from the spec); runs that
 * runStudy passes over (finished before a --resume) count as done, and so do the steps before the
 * first logged row of a run resumed from its checkpoint; those, and the steps a run skips by
 * stopping early, are left out of the rate behind the ETA.
 */
export function runProgress(io: CommandIO, study: StudySpec, o: { quiet?: boolean; intervalMs?: number; now?: () => number } = {}): RunProgress {
  const steps = studyRunSteps(study);
  const runCount = steps.length;
  let total = steps.reduce((a, b) => a + b, 0);
  const bar = createProgress(io, {
    label: `run ${study.name}`, total, unit: 'steps',
    ...(o.quiet !== undefined ? { quiet: o.quiet } : {}), ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}), ...(o.now ? { now: o.now } : {}),
  });
  let next = 0; // the runs before `next` are finished
  let finished = 0; // their steps
  let skipped = 0; // steps counted done that this invocation did not compute
  let current = -1; // the run whose rows this invocation is logging
  let lastStep = 0; // its last logged step
  const passOver = (k: number) => {
    for (; next < k; next++) {
      finished += steps[next]!;
      skipped += steps[next]!;
    }
  };
  const where = (k: number, arm: string, seed: number) => `${arm} seed ${seed} (run ${k + 1}/${runCount})`;
  const callbacks: StudyProgress = {
    onLog: ({ arm, seed, runIndex: k, row, totalSteps: t }) => {
      if (steps[k] !== t) {
        total += t - steps[k]!;
        steps[k] = t;
        bar.setTotal(total);
      }
      if (k !== current) {
        passOver(k);
        current = k;
        // A fresh run logs step 0 first; a resumed one starts past its checkpoint.
        skipped += row.step;
      }
      lastStep = row.step;
      bar.setSkipped(skipped);
      bar.update(finished + row.step, `${where(k, arm, seed)} step ${row.step}/${t}`);
    },
    onRunDone: ({ arm, seed, runIndex: k }) => {
      passOver(k);
      // A run resumed from a finished state logs nothing; one that stopped early skips the rest.
      skipped += k === current ? steps[k]! - lastStep : steps[k]!;
      finished += steps[k]!;
      next = k + 1;
      bar.setSkipped(skipped);
      bar.update(finished, `${where(k, arm, seed)} done`);
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

export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const cmd = 'run';
  const { flags, positionals } = parseFlags(cmd, argv, {
    preset: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    force: { type: 'boolean' }, dtype: { type: 'string' }, backend: { type: 'string' }, list: { type: 'boolean' },
    'print-spec': { type: 'boolean' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, 'figure-size': { type: 'string' }, help: { type: 'boolean', short: 'h' },
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
    throw new ConfigError('contrastlab run', 'give exactly one of SPEC.json or --preset NAME');
  }
  let study: StudySpec;
  if (presetName !== undefined) {
    const p = findPreset(presetName);
    if (!p) throw new ConfigError('contrastlab run', `unknown preset '${presetName}'; expected one of ${PRESETS.map((x) => x.name).join(', ')}`);
    study = validateStudy(p.build(size));
  } else study = loadSpec(positionals[0]!);
  if (flags['print-spec']) {
    io.out(JSON.stringify(study, null, 2));
    return 0;
  }
  const out = stringFlag(flags, 'out');
  if (!out) throw new ConfigError('contrastlab run', '--out DIR is required');
  if (flags.resume && flags.force) throw new ConfigError('contrastlab run', '--resume and --force cannot be combined');
  const dtype = choiceFlag(cmd, flags, 'dtype', ['f64', 'f32'] as const, defaultDtype(stringFlag(flags, 'backend')));
  const intervalMs = progressIntervalMs(cmd);
  const backend = makeBackend(cmd, stringFlag(flags, 'backend'), dtype, (l) => io.err(l));
  // What this invocation creates (a fresh or replaced DIR and any missing parents): removed if it
  // fails after runStudy (runStudy removes it on its own failures). --resume removes nothing.
  const made = flags.resume ? null : (topMissing(out) ?? (flags.force ? resolve(out) : null));
  // --force: the old folder is set aside and deleted only when the new study and its figures are
  // complete; on any failure it is put back.
  const aside = flags.force && existsSync(out) ? setAside(out, 'contrastlab run') : null;
  try {
    const bar = runProgress(io, study, { quiet: flags.quiet === true, intervalMs });
    const started = Date.now();
    let res: StudyResult;
    try {
      res = runStudy(study, { out, resume: flags.resume === true, force: false, backend, progress: bar.callbacks });
      bar.finish();
    } finally {
      bar.close();
    }
    let summary: RunSummary;
    let text: string;
    try {
      const figures = await makeFigures(study, res, out, figureSize ? { size: figureSize } : {});
      summary = {
        study: study.name, out, runs: res.records.length, seconds: (Date.now() - started) / 1000, figures,
        arms: res.arms.map((a) => ({ arm: a.arm, final: Object.fromEntries(Object.entries(a.final).map(([k, s]) => [k, s!.mean])) })),
      };
      text = JSON.stringify(summary);
      // DIR/run.json: what --json prints, written before anything is printed.
      writeFileAtomic(join(out, 'run.json'), `${text}\n`, { overwrite: true, op: 'contrastlab run' });
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
