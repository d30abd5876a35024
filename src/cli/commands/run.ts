/** `contrastlab run`: run an experiment or study spec (a JSON file or a shipped preset). */
import { existsSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { makeFigures } from '../../experiments/figures.ts';
import { findPreset, PRESETS } from '../../experiments/presets.ts';
import { validateStudy, type StudySpec } from '../../experiments/spec.ts';
import { runStudy } from '../../experiments/study.ts';
import { setAside } from '../../io/atomic.ts';
import { readJsonFile } from '../../io/read.ts';
import { choiceFlag, parseFlags, stringFlag } from '../args.ts';
import { defaultDtype, makeBackend } from '../backendChoice.ts';
import type { CommandIO } from '../io.ts';
import { progressBar } from '../progress.ts';

export const RUN_HELP = `contrastlab run (SPEC.json | --preset NAME) --out DIR [options]
contrastlab run --list
contrastlab run --preset NAME --print-spec

Runs every experiment (arm) of a study spec for every seed, with checkpoints, then writes
DIR/trace.csv, trace.jsonl, summary.csv, final.json, summary.md, the figures (SVG and PNG) and
checkpoint.json. A run is a pure function of (spec, seed, backend): same seed, same numbers.

  SPEC.json            an experiment spec or a study spec ({"name", "experiments": [...], ...})
  --preset NAME        a shipped study (see --list)
  --size full|smoke    preset size (default full; smoke: fewer seeds and epochs)
  --out DIR            results folder (must not exist unless --force or --resume)
  --resume             continue the study in DIR from its checkpoint (same numbers as uninterrupted)
  --force              replace DIR if it exists
  --dtype f64|f32      kernel precision (default f64; f32 with gpujs)
  --backend NAME       cpu (default), reference, or gpujs[:headlessgl|auto|webasm|cpu]: gpu.js,
                       float32; headlessgl needs an X display (xvfb-run -a); prints the mode it got
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

export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const cmd = 'run';
  const { flags, positionals } = parseFlags(cmd, argv, {
    preset: { type: 'string' }, size: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    force: { type: 'boolean' }, dtype: { type: 'string' }, backend: { type: 'string' }, list: { type: 'boolean' },
    'print-spec': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
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
  const backend = makeBackend(cmd, stringFlag(flags, 'backend'), dtype, (l) => io.err(l));
  // What this invocation creates (a fresh or replaced DIR and any missing parents): removed if it
  // fails after runStudy (runStudy removes it on its own failures). --resume removes nothing.
  const made = flags.resume ? null : (topMissing(out) ?? (flags.force ? resolve(out) : null));
  // --force: the old folder is set aside and deleted only when the new study and its figures are
  // complete; on any failure it is put back.
  const aside = flags.force && existsSync(out) ? setAside(out, 'contrastlab run') : null;
  try {
    const runCount = study.experiments.reduce((a, e) => a + e.seeds.length, 0);
    const bar = progressBar(io, `run ${study.name}`, runCount);
    const started = Date.now();
    const res = runStudy(study, {
      out, resume: flags.resume === true, force: false, backend,
      progress: {
        onLog: ({ arm, seed, runIndex, row, totalSteps }) => bar.update(runIndex, `${arm} seed ${seed} step ${row.step}/${totalSteps}`),
        onRunDone: ({ runIndex }) => bar.update(runIndex + 1),
      },
    });
    bar.finish();
    let figures: string[];
    try {
      figures = await makeFigures(study, res, out);
    } catch (e) {
      if (made !== null) rmSync(made, { recursive: true, force: true });
      throw e;
    }
    aside?.discard();
    io.out(JSON.stringify({
      study: study.name, out, runs: res.records.length, seconds: (Date.now() - started) / 1000, figures,
      arms: res.arms.map((a) => ({ arm: a.arm, final: Object.fromEntries(Object.entries(a.final).map(([k, s]) => [k, s!.mean])) })),
    }));
    return 0;
  } finally {
    aside?.restore(); // a no-op after discard
    backend.dispose();
  }
}
