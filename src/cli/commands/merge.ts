/** `contrastlab merge`: the summaries and figures of a study whose runs were computed in shards. */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { readRunFile, type RunConfig, describeConfig, runFile, runName, studyRuns } from '../../experiments/pool.ts';
import { configHash, validateStudy, type StudySpec } from '../../experiments/spec.ts';
import { expandStudy } from '../../experiments/studyLanguage.ts';
import { finishedRunFiles, folderStudyHash, specText, summariseStudyDir } from '../../experiments/study.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { fsReason, readJsonFile } from '../../io/read.ts';
import { choiceFlag, parseFlags } from '../args.ts';
import type { CommandIO } from '../io.ts';
import { humanSummary, type RunSummary } from './run.ts';

export const MERGE_HELP = `contrastlab merge DIR [SHARD_DIR...] [--json] [--figure-size column|page]

Completes a study computed in shards (\`contrastlab run ... --shard I/N\`): reads the study from
DIR/spec.json (or the first SHARD_DIR's), checks every run file in DIR/runs and SHARD_DIR/runs
(the study's hash, one run configuration for all, each file's record), that every (arm, seed) run
is present exactly once (a run found in several folders must be the same bytes), copies the runs
missing from DIR into it, then writes DIR/trace.csv, trace.jsonl, summary.csv, final.json,
summary.md, the figures and run.json: the same bytes as one machine running the whole study
(run.json aside, which holds the time). Nothing is written until every check has passed.

  DIR                  the results folder (made if missing; may be the folder the shards shared)
  SHARD_DIR...         more folders of run files (each a shard's --out)
  --json               print the summary as one JSON object (the content of DIR/run.json)
  --figure-size SIZE   column or page (as for run)`;

const OP = 'contrastlab merge';

function readStudy(dir: string): StudySpec {
  return validateStudy(expandStudy(readJsonFile(OP, join(dir, 'spec.json'), { what: 'spec file' })));
}

export async function mergeCommand(argv: string[], io: CommandIO): Promise<number> {
  const { flags, positionals } = parseFlags('merge', argv, {
    json: { type: 'boolean' }, 'figure-size': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, true);
  if (flags.help) {
    io.out(MERGE_HELP);
    return 0;
  }
  const figureSize = flags['figure-size'] === undefined ? undefined : choiceFlag('merge', flags, 'figure-size', ['column', 'page'] as const, 'column');
  if (positionals.length === 0) throw new ConfigError(OP, 'give the results folder DIR (and any shard folders)');
  const [out, ...shardDirs] = positionals as [string, ...string[]];
  const dirs = [out, ...shardDirs];
  for (const d of dirs) {
    if (!existsSync(d)) {
      if (d === out && shardDirs.length > 0) continue; // made below
      throw new ConfigError(OP, `'${d}' does not exist`);
    }
    if (!statSync(d).isDirectory()) throw new ConfigError(OP, `'${d}' is not a folder`);
  }
  const specDir = dirs.find((d) => existsSync(join(d, 'spec.json')));
  if (specDir === undefined) throw new ConfigError(OP, `no spec.json in ${dirs.map((d) => `'${d}'`).join(', ')}: not the folder of a study run with contrastlab run`);
  const started = Date.now();
  const study = readStudy(specDir);
  const studyHash = configHash(study);
  for (const d of dirs) {
    const h = folderStudyHash(OP, d);
    if (h !== null && h !== studyHash) throw new ConfigError(OP, `'${d}' holds another study (spec.json hash ${h}; '${join(specDir, 'spec.json')}' has ${studyHash})`);
  }
  const runs = studyRuns(study);
  // Every run file of every folder, checked; one run configuration for all.
  let runConfig: RunConfig | null = null;
  let configFrom = '';
  const found = new Map<number, string>(); // index → the first file found
  const copy: { from: string; index: number }[] = [];
  for (const d of dirs) {
    for (const [k, name] of [...finishedRunFiles(d)].sort((a, b) => a[0] - b[0])) {
      const path = join(d, 'runs', name);
      if (k >= runs.length || name !== runName(k)) throw new ConfigError(OP, `'${path}' is not a run of this study (it has ${runs.length} runs, runs/0000.json to runs/${runName(runs.length - 1)})`);
      let rc: RunConfig;
      try {
        rc = readRunFile(OP, path, runs[k]!, studyHash, runConfig, '').runConfig;
      } catch (e) {
        if (e instanceof ConfigError && runConfig !== null && / was computed with /.test(e.message)) {
          throw new ConfigError(OP, `'${path}' was computed with another run configuration than '${configFrom}' (${describeConfig(runConfig)}); merge runs of one --backend and --dtype`);
        }
        throw e;
      }
      if (runConfig === null) {
        runConfig = rc;
        configFrom = path;
      }
      const first = found.get(k);
      if (first !== undefined) {
        let same: boolean;
        try {
          same = readFileSync(first).equals(readFileSync(path));
        } catch (e) {
          throw new ConfigError(OP, `cannot read '${path}': ${fsReason(e)}`);
        }
        if (!same) throw new ConfigError(OP, `run ${k} (arm '${runs[k]!.arm}' seed ${runs[k]!.seed}) is in '${first}' and '${path}', which differ; remove the one that is wrong`);
        continue;
      }
      found.set(k, path);
      if (d !== out) copy.push({ from: path, index: k });
    }
  }
  const missing = runs.filter((r) => !found.has(r.index));
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).map((r) => `${runName(r.index)} (arm '${r.arm}' seed ${r.seed})`).join(', ');
    throw new ConfigError(OP, `${missing.length} of ${runs.length} runs are missing from ${dirs.map((d) => `'${d}'`).join(', ')}: ${shown}${missing.length > 8 ? ', …' : ''}; run the shards that hold them (contrastlab run ... --dry-run --shard-count N shows which)`);
  }
  // Every check passed: copy the runs DIR lacks (atomically, never over a file), then summarise.
  mkdirSync(join(out, 'runs'), { recursive: true });
  if (!existsSync(join(out, 'spec.json'))) writeFileAtomic(join(out, 'spec.json'), specText(study), { op: OP });
  for (const { from, index } of copy) {
    const to = runFile(out, index);
    let bytes: Buffer;
    try {
      bytes = readFileSync(from);
    } catch (e) {
      throw new ConfigError(OP, `cannot read '${from}': ${fsReason(e)}`);
    }
    writeFileAtomic(to, bytes, { op: OP });
  }
  const res = summariseStudyDir(study, out, runConfig!, OP);
  // The plotting stack (vega, resvg) is loaded only now: the runs and the summaries do without it.
      const { makeFigures } = await import('../../experiments/figures.ts');
      const figures = await makeFigures(study, res, out, figureSize ? { size: figureSize } : {});
  const summary: RunSummary = {
    study: study.name, out, runs: res.records.length, seconds: (Date.now() - started) / 1000, figures,
    arms: res.arms.map((a) => ({ arm: a.arm, final: Object.fromEntries(Object.entries(a.final).map(([k, s]) => [k, s!.mean])) })),
  };
  const text = JSON.stringify(summary);
  writeFileAtomic(join(out, 'run.json'), `${text}\n`, { overwrite: true, op: OP });
  io.out(flags.json ? text : humanSummary(study, summary).replace(/^run /, 'merge '));
  return 0;
}
