import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/experiments/presets.ts';
import { initialState } from '../../src/experiments/run.ts';
import type { ExperimentSpec } from '../../src/experiments/spec.ts';
import { encodeState } from '../../src/io/codec.ts';
import { cli, tmp } from './harness.ts';

const arm: ExperimentSpec = {
  name: 'a', data: { kind: 'random-sphere', n: 6, d: 5 }, objective: { name: 'infonce', tau: 0.5 }, parametrisation: 'projected',
  sampler: { kind: 'reshuffle', B: 2 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs: 3 }, seeds: [0, 1],
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
    writeFileSync(join(dir, 'spec.json'), spec.stdout);
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
    // Make it look interrupted in run 1 at step 0.
    rmSync(join(out, 'runs', '0001.json'));
    rmSync(join(out, 'final.json'));
    const ckPath = join(out, 'checkpoint.json');
    const ck = JSON.parse(readFileSync(ckPath, 'utf8'));
    ck.current = encodeState(initialState(arm, 1));
    writeFileSync(ckPath, JSON.stringify(ck));
    const before = snapshot(out);
    const resume = (...extra: string[]) => ['run', spec, '--out', out, '--resume', ...extra];
    await refused(resume('--dtype', 'f32'), /was computed with backend cpu, dtype f64, blockSize \d+, but this invocation uses backend cpu, dtype f32, .*resume with the same --backend and --dtype/);
    await refused(resume('--backend', 'reference'), /was computed with backend cpu, .* but this invocation uses backend reference/);
    const variants: [(c: any) => unknown, RegExp][] = [
      [() => null, /checkpoint\.json' content must be an object, got null/],
      [(c) => { delete c.current.params; }, /current\.params is missing/],
      [(c) => { c.current.step = 1e9; }, /current\.step must be an integer in \[0, 9\], got 1000000000/],
      [(c) => { c.current.step = -5; }, /current\.step must be an integer in \[0, 9\], got -5/],
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
