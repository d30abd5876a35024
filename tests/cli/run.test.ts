import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/experiments/presets/index.ts';
import { initialState } from '../../src/experiments/train.ts';
import type { ExperimentSpec } from '../../src/experiments/spec.ts';
import { encodeState } from '../../src/io/codec.ts';
import { cli, tmp } from './harness.ts';

const arm: ExperimentSpec = {
  name: 'a', data: { kind: 'random-sphere', n: 6, d: 5 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 0.5 },
  sampler: { kind: 'reshuffle', B: 2 }, estimator: { kind: 'minibatch-infonce', tau: 0.5 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs: 3 }, seeds: [0, 1],
};
const twoArms = (extra: Record<string, unknown> = {}) => ({ name: 's', description: 'd', experiments: [arm, { ...arm, name: 'b', sampler: { kind: 'full' } }], ...extra });

/** Every file under `dir` with its bytes (to show a command left a folder exactly as it was). */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = readFileSync(join(d, e.name), 'base64');
    }
  };
  walk(dir, '');
  return out;
}

describe('contrastlab run', () => {
  it('--list prints every preset, one per line: name, then a description', async () => {
    const r = await cli('run', '--list');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(PRESETS.length);
    for (const [i, p] of PRESETS.entries()) expect(lines[i]).toMatch(new RegExp(`^${p.name}\\t.{10,}`));
  }, 120_000); // the first CLI call of the file: 6.9 s at load 13 on 2 cores

  it('a smoke preset writes trace.csv, final.json, summary.md and the figures; --print-spec round-trips through a spec file', async () => {
    const dir = tmp();
    const out = join(dir, 'rect');
    const r = await cli('run', '--preset', 'rectangle', '--size', 'smoke', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['trace.csv', 'final.json', 'summary.md', 'angle-error.svg', 'angle-error.png', 'run.json']) expect(existsSync(join(out, f)), f).toBe(true);
    // stdout: where the files are and the headline numbers (the JSON is in run.json, or --json).
    expect(r.stdout).toMatch(/^run rectangle-smoke: 9 runs \(3 arms\) in \d+\.\d s; results in /);
    expect(r.stdout).toMatch(/\n {2}OSGD {14}loss \d\.\d{4} {2}angleError /);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ study: 'rectangle-smoke', out, runs: 9 });
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/Steps and epochs until angleError ≤ 0.5/);
    const spec = await cli('run', '--preset', 'rectangle', '--size', 'smoke', '--print-spec');
    // As an editor would write it: pointing at the shipped schema (run checks the file against it too).
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ $schema: './node_modules/contrastlab/schema/study.schema.json', ...JSON.parse(spec.stdout) }, null, 2));
    const again = await cli('run', join(dir, 'spec.json'), '--out', join(dir, 'again'));
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(dir, 'again', 'trace.csv'), 'utf8')).toBe(readFileSync(join(out, 'trace.csv'), 'utf8'));
    // --resume of a finished study changes nothing.
    const resumed = await cli('run', join(dir, 'spec.json'), '--out', join(dir, 'again'), '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(join(dir, 'again', 'trace.csv'), 'utf8')).toBe(readFileSync(join(out, 'trace.csv'), 'utf8'));
  }, 120_000);

  it('bad input: one line on stderr, exit 2', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.json'), '{"name": "x", "experiments": [{"name": "a"}]}');
    writeFileSync(join(dir, 'notjson.json'), '{');
    const cases: [string[], RegExp][] = [
      [['run', '--preset', 'nope', '--out', join(dir, 'o')], /unknown preset 'nope'/],
      [['run', '--out', join(dir, 'o')], /exactly one of SPEC.json or --preset NAME/],
      [['run', join(dir, 'bad.json'), '--out', join(dir, 'o')], /study.experiments\[0\].data is required/],
      [['run', join(dir, 'notjson.json'), '--out', join(dir, 'o')], /is not valid JSON/],
      [['run', join(dir, 'missing.json'), '--out', join(dir, 'o')], /spec file '.*missing.json' does not exist/],
      [['run', '--preset', 'rectangle', '--size', 'smoke', '--out', join(dir, 'o'), '--resume'], /no checkpoint/],
      [['run', '--preset', 'rectangle', '--size', 'huge', '--out', join(dir, 'o')], /--size must be one of full, smoke/],
      [['run', '--preset', 'rectangle', '--out', dir], /already exists/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(existsSync(join(dir, 'o'))).toBe(false);
  });
});

describe('contrastlab run: --workers, --shard, the job array environments, --dry-run', () => {
  const envKeys = ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT', 'SLURM_ARRAY_TASK_MIN', 'JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX', 'AWS_BATCH_JOB_ARRAY_SIZE'];
  async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
    const saved = Object.fromEntries(envKeys.map((k) => [k, process.env[k]]));
    for (const k of envKeys) delete process.env[k];
    Object.assign(process.env, env);
    try {
      return await f();
    } finally {
      for (const k of envKeys) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  }

  it('bad values: one line naming the flag or the variable and its value, exit 2, nothing created', async () => {
    const dir = tmp();
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(twoArms()));
    const o = join(dir, 'o');
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{}, ['--workers', '0'], /--workers must be an integer from 1 to 1024, got '0'/],
      [{}, ['--workers', 'all'], /--workers must be an integer from 1 to 1024, got 'all'/],
      [{}, ['--shard', '3/3'], /--shard I\/N needs I an integer from 0 to N-1 = 2, got '3'/],
      [{}, ['--shard', 'half'], /--shard must be I\/N/],
      [{}, ['--shard', '0/2', '--force'], /--force cannot be combined with a shard \(--shard 0\/2\)/],
      [{}, ['--shard-count', '3'], /--shard-count N needs JOB_COMPLETION_INDEX/],
      [{ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '2' }, [], /SLURM_ARRAY_TASK_ID='x' must be a non-negative integer/],
      [{ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '2' }, [], /SLURM_ARRAY_TASK_ID=4 of SLURM_ARRAY_TASK_COUNT=2 gives shard 4, outside 0\.\.1/],
      [{ JOB_COMPLETION_INDEX: '1' }, [], /JOB_COMPLETION_INDEX='1' is set: pass --shard-count N/],
      [{ AWS_BATCH_JOB_ARRAY_INDEX: '1', AWS_BATCH_JOB_ARRAY_SIZE: '-3' }, [], /AWS_BATCH_JOB_ARRAY_SIZE must be an integer in \[1, 100000\], got '-3'/],
    ];
    for (const [env, extra, msg] of cases) {
      const r = await withEnv(env, () => cli('run', spec, '--out', o, ...extra));
      expect(r.code, `${JSON.stringify(env)} ${extra.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(existsSync(o)).toBe(false);
  });

  it('--dry-run prints each shard\'s runs (index, arm, seed, steps); a Slurm task runs its shard into DIR without summaries', async () => {
    const dir = tmp();
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(twoArms()));
    const r = await cli('run', spec, '--dry-run', '--shard', '1/2');
    expect(r.code, r.stderr).toBe(0);
    // Arm a: 3 epochs × 3 steps = 9 per run; arm b (full batch): 3.
    expect(r.stdout.split('\n')).toEqual([
      expect.stringMatching(/^s: 4 runs, 24 steps, 2 shards \(longest first by steps/),
      // 0 (9 steps) to shard 0, 1 (9) to shard 1, 2 (3) to shard 0 (a tie: the lowest), 3 (3) to shard 1.
      'shard 0/2: 2 runs, 12 steps', '  0000  a  seed 0  9 steps', '  0002  b  seed 0  3 steps',
      'shard 1/2: 2 runs, 12 steps (this one: --shard 1/2)', '  0001  a  seed 1  9 steps', '  0003  b  seed 1  3 steps',
    ]);
    const whole = await cli('run', spec, '--dry-run');
    expect(whole.stdout.split('\n')[1]).toBe('shard 0/1: 4 runs, 24 steps');
    const out = join(dir, 'o');
    const s = await withEnv({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2' }, () => cli('run', spec, '--out', out, '--quiet', '--json'));
    expect(s.code, s.stderr).toBe(0);
    expect(s.json()).toMatchObject({ study: 's', out, shard: { index: 1, count: 2 }, runs: 2 });
    expect(readdirSync(join(out, 'runs')).sort()).toEqual(['0001.json', '0003.json']);
    expect(readdirSync(out).sort()).toEqual(['runs', 'shards', 'spec.json']);
  });
});

describe('contrastlab run: hostile specs and checkpoints', () => {
  /** Runs the CLI; expects exit 2 with one line on stderr matching `msg`. */
  async function refused(argv: string[], msg: RegExp): Promise<void> {
    const r = await cli(...argv);
    expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
    expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  }

  /**
   * As `refused`, for a study that fails once under way: its progress lines (the first is printed
   * at step 0) come before the one line of the error.
   */
  async function refusedMidRun(argv: string[], msg: RegExp): Promise<void> {
    const r = await cli(...argv);
    expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
    const lines = r.stderr.split('\n');
    expect(lines.length, r.stderr).toBeGreaterThan(1);
    for (const l of lines.slice(0, -1)) expect(l, r.stderr).toMatch(/^run s: \d+% \(\d+\/\d+ steps\), [^,]+ elapsed/);
    expect(lines.at(-1)).toMatch(msg);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  }

  it('a malformed spec: exit 2, one line, nothing created', async () => {
    const dir = tmp();
    const cases: [unknown, RegExp][] = [
      [twoArms({ figures: 'loss' }), /study\.figures must be an array/],
      [twoArms({ figures: [1, 2] }), /study\.figures\[0\] must be an object, got 1/],
      [twoArms({ sweeps: 'x' }), /study\.sweeps must be an array/],
      [twoArms({ sweeps: [3] }), /study\.sweeps\[0\] must be an object/],
      [twoArms({ thresholds: 'x' }), /study\.thresholds must be an array/],
      [twoArms({ thresholds: [1] }), /study\.thresholds\[0\] must be an object/],
      [twoArms({ gramFigures: 'x' }), /study\.gramFigures must be an array/],
      [twoArms({ gramFigures: [[1]] }), /study\.gramFigures\[0\] must be an object/],
      [{ ...arm, data: { kind: 'random-sphere', n: 1e9, d: 16 } }, /needs \d+(\.\d)? GiB, over the memory budget/],
      [{ ...arm, sampler: { kind: 'reshuffle', B: 9 } }, /experiment\.sampler\.B = 9 exceeds the data's N = 6/],
      [{ ...arm, seeds: [1e300] }, /experiment\.seeds\[0\] must be an integer of at most 9007199254740991, got 1e\+300/],
      [{ ...arm, optimiser: arm.optimizer }, /experiment\.optimiser is not a known key; did you mean 'optimizer'\?/],
      [twoArms({ figures: [{ name: 'x/y', title: 't', metric: 'loss', x: 'step' }] }), /figures\[0\]\.name must be a safe file name/],
      [twoArms({ figures: [{ name: '.x', title: 't', metric: 'loss', x: 'step' }] }), /figures\[0\]\.name must be a safe file name/],
      [twoArms({ figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', arms: ['a', 'c'] }] }), /figures\[0\]\.arms\[1\] names no arm/],
      [twoArms({ sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', series: { s: [{ arm: 'nope', x: 2 }] } }] }), /sweeps\[0\]\.series\.s\[0\]\.arm names no arm/],
      [twoArms({ thresholds: [{ metric: 'objective', below: 1 }] }), /thresholds\[0\]\.metric 'objective' is not logged/],
      [twoArms({ gapReference: 'c' }), /study\.gapReference names no arm/],
    ];
    for (const [k, [spec, msg]] of cases.entries()) {
      writeFileSync(join(dir, `s${k}.json`), JSON.stringify(spec));
      await refused(['run', join(dir, `s${k}.json`), '--out', join(dir, 'o', 'p')], msg);
    }
    writeFileSync(join(dir, 'deep.json'), `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    await refused(['run', join(dir, 'deep.json'), '--out', join(dir, 'o')], /spec file '.*deep\.json' nests 100000 levels deep, over the limit of 64/);
    mkdirSync(join(dir, 'folder.json'));
    await refused(['run', join(dir, 'folder.json'), '--out', join(dir, 'o')], /spec file '.*folder\.json' is a directory/);
    expect(existsSync(join(dir, 'o'))).toBe(false);
    // A byte-order mark is fine.
    writeFileSync(join(dir, 'bom.json'), `\ufeff${JSON.stringify(arm)}`);
    const ok = await cli('run', join(dir, 'bom.json'), '--out', join(dir, 'bom'));
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);

  it('a run that overflows exits 2 naming arm, seed, step and lr, and removes the folder (and parents) it created', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'spec.json'), JSON.stringify(twoArms({ experiments: [arm, { ...arm, name: 'b', optimizer: { kind: 'sgd', lr: 1e308 } }] })));
    await refusedMidRun(['run', join(dir, 'spec.json'), '--out', join(dir, 'new', 'out')], /arm 'b' seed 0 step 0: .*optimizer\.lr = 1e\+308 is too large/);
    expect(existsSync(join(dir, 'new'))).toBe(false);
    // --force: the old folder is set aside, not deleted, until the new study is complete; a
    // replacement that fails is removed and the old folder put back as it was.
    mkdirSync(join(dir, 'old'));
    writeFileSync(join(dir, 'old', 'mine.txt'), 'user data');
    await refusedMidRun(['run', join(dir, 'spec.json'), '--out', join(dir, 'old'), '--force'], /arm 'b' seed 0 step 0/);
    expect(readdirSync(join(dir, 'old'))).toEqual(['mine.txt']);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(arm));
    const ok = await cli('run', join(dir, 'ok.json'), '--out', join(dir, 'old'), '--force');
    expect(ok.code, ok.stderr).toBe(0);
    expect(readdirSync(join(dir, 'old'))).not.toContain('mine.txt');
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('--resume refuses another --dtype or --backend, a null or incomplete checkpoint and a truncated run record, touching nothing', async () => {
    const dir = tmp();
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(arm));
    const out = join(dir, 'o');
    expect((await cli('run', spec, '--out', out)).code).toBe(0);
    // Make it look interrupted in run 1 at step 0: its checkpoint, runs/0001.partial.json.
    rmSync(join(out, 'runs', '0001.json'));
    rmSync(join(out, 'final.json'));
    const ckPath = join(out, 'runs', '0001.partial.json');
    const { studyHash, runConfig, version } = JSON.parse(readFileSync(join(out, 'runs', '0000.json'), 'utf8'));
    const ck = { version, studyHash, runConfig, index: 1, state: encodeState(initialState(arm, 1)) };
    writeFileSync(ckPath, JSON.stringify(ck));
    const before = snapshot(out);
    const resume = (...extra: string[]) => ['run', spec, '--out', out, '--resume', ...extra];
    await refused(resume('--dtype', 'f32'), /was computed with backend cpu, dtype f64, blockSize \d+, but this invocation uses backend cpu, dtype f32, .*resume with the same --backend and --dtype/);
    await refused(resume('--backend', 'reference'), /was computed with backend cpu, .* but this invocation uses backend reference/);
    const variants: [(c: any) => unknown, RegExp][] = [
      [() => null, /0001\.partial\.json' content must be an object, got null/],
      [(c) => { delete c.state.params; }, /state\.params is missing/],
      [(c) => { c.state.step = 1e9; }, /state\.step must be an integer in \[0, 9\], got 1000000000/],
      [(c) => { c.state.step = -5; }, /state\.step must be an integer in \[0, 9\], got -5/],
      [(c) => { c.index = 0; }, /index is 0 but its file name gives 1/],
      [(c) => { c.studyHash = 'abc'; }, /0001\.partial\.json' is for another spec \(hash "abc"/],
    ];
    for (const [f, msg] of variants) {
      const c = JSON.parse(JSON.stringify(ck));
      const r = f(c);
      writeFileSync(ckPath, JSON.stringify(r === undefined ? c : r));
      await refused(resume(), msg);
    }
    writeFileSync(ckPath, JSON.stringify(ck));
    const run0 = join(out, 'runs', '0000.json');
    const text = readFileSync(run0, 'utf8');
    writeFileSync(run0, text.slice(0, text.length / 2));
    await refused(resume(), /run record '.*0000\.json' is not valid JSON/);
    writeFileSync(run0, text);
    expect(snapshot(out)).toEqual(before);
    const ok = await cli(...resume());
    expect(ok.code, ok.stderr).toBe(0);
  }, 60_000);
});

describe('contrastlab run --figure-size', () => {
  it('column figures are 3.25 in (234 units) wide with outlined text; a bad size is exit 2', async () => {
    const dir = tmp();
    const r = await cli('run', '--preset', 'rectangle', '--size', 'smoke', '--figure-size', 'column', '--quiet', '--out', join(dir, 'R'));
    expect(r.code, r.stderr).toBe(0);
    const svgs = readdirSync(join(dir, 'R')).filter((f) => f.endsWith('.svg'));
    expect(svgs.length).toBeGreaterThan(0);
    for (const f of svgs) {
      const svg = readFileSync(join(dir, 'R', f), 'utf8');
      expect(svg, f).toMatch(/<svg[^>]*\swidth="234"/);
      expect(svg, f).not.toMatch(/<text[\s>]/);
    }
    const bad = await cli('run', '--preset', 'rectangle', '--size', 'smoke', '--figure-size', 'a4', '--out', join(dir, 'S'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--figure-size must be one of column, page, got 'a4'/);
    expect(existsSync(join(dir, 'S'))).toBe(false);
  }, 300_000);
});
