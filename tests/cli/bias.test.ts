import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, tmp, writeMatrix } from './harness.ts';

describe('contrastlab bias', () => {
  it('--json prints one object with rows (B, biases, standard errors, variances) and the slope', async () => {
    const r = await cli('bias', '--n', '64', '--d', '8', '--batch-sizes', '4,8,16', '--draws', '200', '--seed', '2', '--json', '--quiet');
    expect(r.stderr).toBe(''); // --quiet: no progress lines
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const j = r.json();
    expect(j).toMatchObject({ estimatorSet: 'bimodal', n: 64, d: 8, tau: 0.1, eps0: 0, draws: 200, groups: 20, seed: 2 });
    const rows = j.rows as Record<string, number>[];
    expect(rows.map((x) => x.B)).toEqual([4, 8, 16]);
    for (const x of rows) {
      for (const k of ['pluginBias', 'pluginBiasSE', 'pluginVariance', 'sogclrBias', 'sogclrBiasSE', 'sogclrVariance', 'pluginRawBias', 'pluginNoise', 'sogclrBiasSq', 'sogclrBiasSqSE']) {
        expect(typeof x[k]).toBe('number');
        expect(Number.isFinite(x[k])).toBe(true);
      }
      expect(x.pluginVariance).toBeGreaterThan(0);
    }
    expect(j.slope === null || typeof j.slope === 'number').toBe(true);
    expect('slopeSE' in j).toBe(true);
  });

  it('prints a table by default; same seed, same numbers', async () => {
    const a = await cli('bias', '--n', '32', '--d', '4', '--batch-sizes', '4,8', '--draws', '40', '--estimator-set', 'unimodal');
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/unimodal GCL on seeded random unit rows, N = 32/);
    expect(a.stdout).toMatch(/plug-in bias ± SE/);
    const b = await cli('bias', '--n', '32', '--d', '4', '--batch-sizes', '4,8', '--draws', '40', '--estimator-set', 'unimodal');
    expect(b.stdout).toBe(a.stdout);
  });

  it('--u --v runs on the given embeddings: the same numbers as the library on them, and the seeded instance through files gives the seeded numbers', async () => {
    const { biasInstance, estimatorBias } = await import('../../src/analysis/bias.ts');
    const dir = tmp();
    const { U, V } = biasInstance(48, 6, 5);
    writeMatrix(join(dir, 'U.npy'), U);
    writeMatrix(join(dir, 'V.npy'), V);
    const r = await cli('bias', '--u', join(dir, 'U.npy'), '--v', join(dir, 'V.npy'), '--batch-sizes', '4,12', '--draws', '60', '--seed', '5', '--json', '--quiet');
    expect(r.code).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ n: 48, d: 6, instance: { u: join(dir, 'U.npy'), v: join(dir, 'V.npy') } });
    const lib = estimatorBias({ modality: 'bimodal', n: 48, d: 6, tau: 0.1, batchSizes: [4, 12], draws: 60, seed: 5 });
    const rows = j.rows as Record<string, number>[];
    expect(rows.map((x) => x.pluginBias)).toEqual(lib.rows.map((x) => x.plugin.bias));
    expect(rows.map((x) => x.sogclrVariance)).toEqual(lib.rows.map((x) => x.sogclr.variance));
    // A different instance gives different numbers.
    writeMatrix(join(dir, 'V2.npy'), biasInstance(48, 6, 6).V);
    const r2 = await cli('bias', '--u', join(dir, 'U.npy'), '--v', join(dir, 'V2.npy'), '--batch-sizes', '4,12', '--draws', '60', '--seed', '5', '--json', '--quiet');
    expect((r2.json().rows as Record<string, number>[])[0]!.pluginBias).not.toBe(rows[0]!.pluginBias);
    // Bad combinations: one line, exit 2.
    for (const [args, re] of [
      [['--u', join(dir, 'U.npy')], /--u and --v go together/],
      [['--u', join(dir, 'U.npy'), '--v', join(dir, 'V.npy'), '--n', '48'], /--n and --d cannot be given with --u/],
      [['--u', join(dir, 'U.npy'), '--v', join(dir, 'V.npy'), '--batch-sizes', '4,64'], /--batch-sizes entry 64 exceeds --n 48/],
    ] as const) {
      const b = await cli('bias', ...args, '--quiet');
      expect(b.code).toBe(2);
      expect(b.stderr.trim().split('\n')).toHaveLength(1);
      expect(b.stderr).toMatch(re);
    }
  });

  it.each([
    [['--batch-sizes', '4,80', '--n', '64'], /--batch-sizes entry 80 exceeds --n 64/],
    [['--batch-sizes', '1,4'], /must be >= 2/],
    [['--batch-sizes', '4,4'], /lists 4 twice/],
    [['--batch-sizes', '4,x'], /--batch-sizes entry must be a decimal number, got 'x'/],
    [['--batch-sizes', '4,'], /comma-separated/],
    [['--tau', '0'], /--tau must be > 0, got 0/],
    [['--tau', '-1'], /--tau must be > 0/],
    [['--eps0', '-0.5'], /--eps0 must be >= 0/],
    [['--draws', '3'], /--draws must be >= 4/],
    [['--n', '10.5'], /--n must be an integer/],
    [['--n', '1'], /--n must be >= 2/],
    [['--estimator-set', 'trimodal'], /--estimator-set must be one of bimodal, unimodal/],
    [['--bogus'], /Unknown option/],
    [['--seed', '-1'], /--seed must be >= 0/],
  ])('rejects %j with exit 2 and one line on stderr', async (args, msg) => {
    const r = await cli('bias', ...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^contrastlab bias: /);
    expect(r.stderr).toMatch(msg as RegExp);
  });

  it('--help prints the usage', async () => {
    const r = await cli('bias', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/contrastlab bias/);
  });
});
