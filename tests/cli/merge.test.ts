/**
 * contrastlab merge: shards run into separate folders or one shared folder, merged, give the bytes
 * of one machine running the whole study (figures included; run.json holds the time); a merge that
 * cannot be complete or consistent is refused with one line, exit 2, writing nothing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotDir } from '../helpers.ts';
import type { ExperimentSpec } from '../../src/experiments/spec.ts';
import { cli, tmp } from './harness.ts';

const arm = (name: string, extra: Partial<ExperimentSpec> = {}): ExperimentSpec => ({
  name, data: { kind: 'random-sphere', n: 6, d: 5 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 0.5 },
  sampler: { kind: 'reshuffle', B: 2 }, estimator: { kind: 'minibatch-infonce', tau: 0.5 }, optimizer: { kind: 'sgd', lr: 1 },
  budget: { epochs: 3 }, seeds: [0, 1], ...extra,
});
const study = {
  name: 's', description: 'd',
  experiments: [arm('a', { budget: { epochs: 20 } }), arm('b', { sampler: { kind: 'full' }, seeds: [0, 1, 2] }), arm('c', { sampler: { kind: 'fixed', B: 2 } })],
  figures: [{ name: 'loss', title: 'loss', metric: 'loss', x: 'epoch', logY: true }],
  gramFigures: [{ name: 'gram', title: 'gram', arms: ['a', 'c'] }],
};

const snapshot = snapshotDir;
const notRunJson = (r: string) => r === 'run.json' || r.startsWith('shards/');

async function ok(...argv: string[]) {
  const r = await cli(...argv);
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

async function refused(argv: string[], msg: RegExp): Promise<void> {
  const r = await cli(...argv);
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(2);
  expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(msg);
}

describe('contrastlab merge', () => {
  it('3 shards, separate folders or one shared folder, merged: the bytes of the single run (figures included)', async () => {
    const dir = tmp();
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(study));
    await ok('run', spec, '--out', join(dir, 'one'), '--quiet', '--workers', '1');
    const one = snapshot(join(dir, 'one'), notRunJson);
    expect(Object.keys(one)).toEqual(expect.arrayContaining(['trace.csv', 'summary.csv', 'final.json', 'summary.md', 'loss.svg', 'loss.png', 'gram.svg', 'runs/0006.json']));
    for (let i = 0; i < 3; i++) {
      const r = await ok('run', spec, '--out', join(dir, `sep${i}`), '--shard', `${i}/3`, '--quiet', '--workers', '2');
      expect(r.stdout).toMatch(new RegExp(`shard ${i}/3 \\(--shard ${i}/3\\): \\d runs in`));
      expect(existsSync(join(dir, `sep${i}`, 'trace.csv'))).toBe(false);
      await ok('run', spec, '--out', join(dir, 'shared'), '--quiet', '--workers', '1', '--shard', `${i}/3`);
    }
    const m1 = await ok('merge', join(dir, 'merged'), join(dir, 'sep0'), join(dir, 'sep1'), join(dir, 'sep2'));
    expect(m1.stdout).toMatch(/^merge s: 7 runs \(3 arms\)/);
    expect(snapshot(join(dir, 'merged'), notRunJson)).toEqual(one);
    // Into the first shard's folder, the others given as shard folders.
    await ok('merge', join(dir, 'sep0'), join(dir, 'sep1'), join(dir, 'sep2'));
    expect(snapshot(join(dir, 'sep0'), notRunJson)).toEqual(one);
    await ok('merge', join(dir, 'shared'), '--json');
    expect(snapshot(join(dir, 'shared'), notRunJson)).toEqual(one);
    // Identical copies of a run (a shard run twice, a folder given twice) are fine.
    await ok('merge', join(dir, 'shared'), join(dir, 'sep1'), join(dir, 'sep1'));
    expect(snapshot(join(dir, 'shared'), notRunJson)).toEqual(one);
  }, 300_000);

  it('refuses missing runs (named), another study, a differing copy, an unreadable file: one line, exit 2, nothing written', async () => {
    const dir = tmp();
    const spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify(study));
    for (const i of [0, 2]) await ok('run', spec, '--out', join(dir, `s${i}`), '--shard', `${i}/3`, '--quiet', '--workers', '1');
    const before = { s0: snapshot(join(dir, 's0')), s2: snapshot(join(dir, 's2')) };
    await refused(['merge', join(dir, 'm'), join(dir, 's0'), join(dir, 's2')], /\d of 7 runs are missing from .*: \d{4}\.json \(arm '\w' seed \d\)/);
    expect(existsSync(join(dir, 'm'))).toBe(false);
    // Shard 1 of another study.
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ ...study, name: 'other' }));
    await ok('run', join(dir, 'other.json'), '--out', join(dir, 'o1'), '--shard', '1/3', '--quiet', '--workers', '1');
    await refused(['merge', join(dir, 'm'), join(dir, 's0'), join(dir, 'o1'), join(dir, 's2')], /'.*o1' holds another study \(spec\.json hash/);
    // Shard 1 computed with another dtype.
    await ok('run', spec, '--out', join(dir, 'f32'), '--shard', '1/3', '--quiet', '--workers', '1', '--dtype', 'f32');
    await refused(['merge', join(dir, 'm'), join(dir, 's0'), join(dir, 'f32'), join(dir, 's2')], /was computed with another run configuration .*dtype f64/);
    // The right shard 1; then a differing copy of one of its runs in a fourth folder.
    await ok('run', spec, '--out', join(dir, 's1'), '--shard', '1/3', '--quiet', '--workers', '1');
    const [name] = readdirSync(join(dir, 's1', 'runs'));
    mkdirSync(join(dir, 'x', 'runs'), { recursive: true });
    const text = readFileSync(join(dir, 's1', 'runs', name!), 'utf8');
    writeFileSync(join(dir, 'x', 'runs', name!), text.replace(/}$/, ' }'));
    await refused(['merge', join(dir, 'm'), join(dir, 's0'), join(dir, 's1'), join(dir, 's2'), join(dir, 'x')], new RegExp(`is in '.*s1/runs/${name}' and '.*x/runs/${name}', which differ`));
    writeFileSync(join(dir, 'x', 'runs', name!), text.slice(0, 100));
    await refused(['merge', join(dir, 'm'), join(dir, 's0'), join(dir, 's1'), join(dir, 's2'), join(dir, 'x')], /run record '.*x\/runs\/\d{4}\.json' is not valid JSON/);
    rmSync(join(dir, 'x', 'runs', name!));
    writeFileSync(join(dir, 'x', 'runs', '0099.json'), '{}');
    await refused(['merge', join(dir, 'x'), join(dir, 's0')], /0099\.json' is not a run of this study \(it has 7 runs/);
    await refused(['merge', join(dir, 'nope')], /'.*nope' does not exist/);
    await refused(['merge'], /give the results folder DIR/);
    expect(existsSync(join(dir, 'm'))).toBe(false);
    expect(snapshot(join(dir, 's0'))).toEqual(before.s0);
    expect(snapshot(join(dir, 's2'))).toEqual(before.s2);
    // All there: merged.
    await ok('merge', join(dir, 'm'), join(dir, 's0'), join(dir, 's1'), join(dir, 's2'));
    expect(readdirSync(join(dir, 'm', 'runs'))).toHaveLength(7);
  }, 300_000);

  it('--help', async () => {
    const r = await ok('merge', '--help');
    expect(r.stdout).toMatch(/^contrastlab merge DIR \[SHARD_DIR\.\.\.\]/);
    expect((await ok('--help')).stdout).toMatch(/\n {2}merge {6}complete a study run in shards/);
  });
});
