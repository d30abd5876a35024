import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matrix } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { npyToMatrix, parseNpy } from '../../src/io/npy.ts';
import { etfInfonce } from '../../src/optima/closedForms.ts';
import { startNumpy } from '../independent/numpy.ts';
import { gaussian, maxAbs, maxAbsDiff, unitRows } from '../helpers.ts';
import { cli, tmp, writeMatrix } from './harness.ts';

const readNpy = (p: string) => npyToMatrix(parseNpy(new Uint8Array(readFileSync(p))));

describe('contrastlab eval', () => {
  it('prints the required JSON fields and writes float64 gradients', async () => {
    const dir = tmp();
    const rng = Rng.fromSeed(1);
    const u = writeMatrix(join(dir, 'U.npy'), unitRows(rng, 6, 3));
    const v = writeMatrix(join(dir, 'V.npy'), unitRows(rng, 6, 3), 'f32');
    const r = await cli('eval', '--objective', 'infonce', '--u', u, '--v', v, '--tau', '0.5', '--grad-out', join(dir, 'g'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ objective: 'infonce', n: 6, d: 3, tau: 0.5 });
    expect(typeof j.value).toBe('number');
    expect(typeof j.gradNorm).toBe('number');
    const gU = parseNpy(new Uint8Array(readFileSync(join(dir, 'g', 'gradU.npy'))));
    expect(gU.dtype).toBe('f64');
    expect(gU.shape).toEqual([6, 3]);
  });

  it('V omitted means V = U; minibatch takes --batches or --all-batches', async () => {
    const dir = tmp();
    const U = unitRows(Rng.fromSeed(2), 5, 4);
    const u = writeMatrix(join(dir, 'U.npy'), U);
    const a = (await cli('eval', '--objective', 'infonce', '--u', u)).json();
    const b = (await cli('eval', '--objective', 'infonce', '--u', u, '--v', u)).json();
    expect(a.value).toBe(b.value);
    writeFileSync(join(dir, 'b.json'), JSON.stringify([[0, 1], [2, 3], [4, 0]]));
    const m = await cli('eval', '--objective', 'minibatch', '--u', u, '--batches', join(dir, 'b.json'));
    expect(m.code).toBe(0);
    const all = await cli('eval', '--objective', 'minibatch', '--u', u, '--all-batches', '2', '--dtype', 'f32');
    expect(all.code).toBe(0);
    expect(all.json().dtype).toBe('f32');
  });

  // One python process (startNumpy) answers all 32 cases: an interpreter and a numpy import per
  // case took ~5 s on an idle 2-core machine and far more under load.
  it('agrees with an independent numpy implementation of THEORY to 1e-10 relative (value and gradients)', async ({ skip }) => {
    const py = await startNumpy();
    if (!py) return skip('python3-numpy is not installed');
    try {
      const dir = tmp();
      // numpy draws the embeddings and writes real numpy .npy files (f8 and f4).
      await py.exec(`
import numpy as np, sys
rng = np.random.default_rng(5)
for name, n, d in [('A', 7, 5), ('B', 7, 5)]:
    x = rng.standard_normal((n, d)); np.save(sys.argv[1] + '/' + name + '.npy', x / np.linalg.norm(x, axis=1, keepdims=True) * 0.9)
np.save(sys.argv[1] + '/C.npy', rng.standard_normal((7, 5)))
`, [dir]);
      writeFileSync(join(dir, 'batches.json'), JSON.stringify([[0, 1, 2], [3, 4, 5], [6, 0, 3], [1, 5]]));
      const cases: [string, string[], string[]][] = [
        ['infonce', [], ['0', '-', '0']],
        ['infonce-uv', [], ['0', '-', '0']],
        ['gcl-bimodal', ['--eps0', '0'], ['0', '-', '0']],
        ['gcl-bimodal', ['--eps0', '0.25'], ['0.25', '-', '0']],
        ['gcl-unimodal', ['--eps0', '0'], ['0', '-', '0']],
        ['gcl-unimodal', ['--eps0', '0.1'], ['0.1', '-', '0']],
        ['minibatch', ['--batches', join(dir, 'batches.json')], ['0', join(dir, 'batches.json'), '0']],
        ['minibatch', ['--all-batches', '3'], ['0', '-', '3']],
      ];
      for (const tau of ['1', '0.1']) {
        for (const [obj, flags, pyArgs] of cases) {
          for (const [uName, vName] of [['A', 'B'], ['C', 'A']]) {
            const out = join(dir, `${obj}-${tau}-${flags.join('_').replace(/[^\w.]/g, '')}-${uName}`);
            const U = join(dir, `${uName}.npy`);
            const V = join(dir, `${vName}.npy`);
            const r = await cli('eval', '--objective', obj, '--u', U, '--v', V, '--tau', tau, ...flags, '--grad-out', out);
            expect(r.code, r.stderr).toBe(0);
            const ref = join(out, 'ref');
            mkdirSync(ref);
            const want = await py.request<{ value: number }>({ op: 'reference', argv: [obj, U, V, tau, pyArgs[0]!, pyArgs[1]!, pyArgs[2]!, ref] });
            const got = r.json();
            const label = `${obj} ${flags.join(' ')} tau=${tau} ${uName}${vName}`;
            expect(Math.abs((got.value as number) - want.value), label).toBeLessThanOrEqual(1e-10 * Math.abs(want.value));
            for (const g of ['gradU.npy', 'gradV.npy']) {
              const a = readNpy(join(out, g)).data;
              const b = readNpy(join(ref, g)).data;
              expect(maxAbsDiff(a, b), `${label} ${g}`).toBeLessThanOrEqual(1e-10 * maxAbs(b));
            }
          }
        }
      }
    } finally {
      await py.close();
    }
  }, 120_000);
});

describe('contrastlab optimum and solve', () => {
  it('optimum writes the ETF and prints its closed form; the kernel agrees', async () => {
    const dir = tmp();
    const r = await cli('optimum', '--kind', 'etf', '--n', '5', '--d', '6', '--tau', '0.5', '--out', join(dir, 'E.npy'));
    expect(r.code, r.stderr).toBe(0);
    const j = r.json();
    expect(j.closedForm).toBe(etfInfonce(5, 0.5));
    expect(Math.abs((j.evaluated as number) - (j.closedForm as number))).toBeLessThan(1e-14);
    expect(String(j.closedFormHighPrecision).slice(0, 12)).toBe(String(j.closedForm).slice(0, 12));
    expect(readNpy(join(dir, 'E.npy')).rows).toBe(5);
    const c = await cli('optimum', '--kind', 'cross-polytope', '--n', '6', '--d', '3', '--out', join(dir, 'C.npy'));
    expect(c.code, c.stderr).toBe(0);
  });

  it('solve reaches the ETF for d >= N-1 and writes U, V and the trace', async () => {
    const dir = tmp();
    const out = join(dir, 'run');
    const r = await cli('solve', '--n', '6', '--d', '8', '--seed', '3', '--steps', '4000', '--lr', '2', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json();
    expect(j.optimum).toBe('etf');
    expect(Math.abs(j.gap as number)).toBeLessThan(1e-10);
    expect(j.distance as number).toBeLessThan(1e-5);
    expect(readdirSync(out).sort()).toEqual(['U.npy', 'V.npy', 'summary.json', 'trace.csv', 'trace.jsonl']);
    expect(readFileSync(join(out, 'trace.csv'), 'utf8').split('\n')[0]).toBe('step,loss,gradNorm,gap,distance');
  });
});

describe('every CLI error path: one line on stderr, exit 2, nothing written', () => {
  const dir = tmp();
  const U = writeMatrix(join(dir, 'U.npy'), unitRows(Rng.fromSeed(4), 4, 3));
  const V5 = writeMatrix(join(dir, 'V5.npy'), unitRows(Rng.fromSeed(4), 5, 3));
  const nan = writeMatrix(join(dir, 'nan.npy'), matrix(new Float64Array([1, NaN, 0, 0, 1, 0]), 2, 3));
  writeFileSync(join(dir, 'trunc.npy'), readFileSync(U).subarray(0, 140));
  writeFileSync(join(dir, 'bad.json'), '[[0, 1], [2,');
  writeFileSync(join(dir, 'oob.json'), '[[0, 9]]');
  mkdirSync(join(dir, 'exists'));
  writeFileSync(join(dir, 'exists', 'keep.txt'), 'user data');
  writeFileSync(join(dir, 'taken.npy'), 'user data');
  const huge = writeMatrix(join(dir, 'huge.npy'), matrix(new Float64Array(12).fill(1e300), 4, 3));
  writeFileSync(join(dir, 'one.json'), '[[0, 1], [2]]');
  writeFileSync(join(dir, 'deep.json'), '['.repeat(100_000) + ']'.repeat(100_000));
  const cases: [string, string[], RegExp][] = [
    // issue 11: every one of these was exit 0 with a null value, exit 70 with a stack trace, or a wrong reading before
    ['a directory as --u', ['eval', '--objective', 'infonce', '--u', dir], /--u file '.*' is a directory; only regular files are read/],
    ['a device as --u', ['eval', '--objective', 'infonce', '--u', '/dev/zero'], /--u file '\/dev\/zero' is a character device/],
    ['hex --tau', ['eval', '--objective', 'infonce', '--u', U, '--tau', '0x10'], /--tau must be a decimal number, got '0x10'/],
    ['--tau 1e', ['eval', '--objective', 'infonce', '--u', U, '--tau', '1e'], /--tau must be a decimal number, got '1e'/],
    ['inputs near 1e300', ['eval', '--objective', 'infonce', '--u', huge, '--grad-out', join(dir, 'g')], /the value is NaN: the scale of S = UVᵀ\/τ .* exceeds the float64 range/],
    ['subnormal tau', ['eval', '--objective', 'gcl-bimodal', '--u', U, '--tau', '1e-310', '--grad-out', join(dir, 'g')], /tau = 1e-310 is so small that 1\/tau overflows float64/],
    ['bias with subnormal tau', ['bias', '--tau', '1e-310', '--n', '8', '--batch-sizes', '4', '--draws', '8'], /overflows float64/],
    ['optimum with subnormal tau', ['optimum', '--kind', 'etf', '--n', '4', '--d', '3', '--tau', '1e-310', '--out', join(dir, 'o.npy')], /overflows float64/],
    ['all batches of one', ['eval', '--objective', 'minibatch', '--u', U, '--all-batches', '1'], /--all-batches must be >= 2, got 1/],
    ['a listed batch of one', ['eval', '--objective', 'minibatch', '--u', U, '--batches', join(dir, 'one.json')], /batch 1 has 1 row; a batch needs at least 2/],
    ['batches nested 100000 deep', ['eval', '--objective', 'minibatch', '--u', U, '--batches', join(dir, 'deep.json')], /nests 100000 levels deep, over the limit of 64/],
    ['optimum with one point', ['optimum', '--kind', 'etf', '--n', '1', '--d', '3', '--out', join(dir, 'o.npy')], /--n must be >= 2, got 1/],
    ['optimum beyond the memory budget', ['optimum', '--kind', 'etf', '--n', '100000', '--d', '100000', '--out', join(dir, 'o.npy')], /needs 149\.0 GiB, over the memory budget/],
    ['solve beyond the memory budget', ['solve', '--n', '100000', '--d', '100000', '--out', join(dir, 's')], /needs .* GiB, over the memory budget/],
    ['check seed beyond 2^53', ['check', '--seed', '1e308'], /--seed must be an integer of at most 2\^53 - 1/],
    ['unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['unknown flag', ['eval', '--objective', 'infonce', '--u', U, '--bogus', '1'], /bogus/],
    ['missing objective', ['eval', '--u', U], /--objective is required/],
    ['bad objective', ['eval', '--objective', 'simclr', '--u', U], /--objective must be one of .* got 'simclr'/],
    ['missing file', ['eval', '--objective', 'infonce', '--u', join(dir, 'nope.npy')], /nope\.npy' does not exist/],
    ['tau <= 0', ['eval', '--objective', 'infonce', '--u', U, '--tau', '0'], /--tau must be > 0, got 0/],
    ['tau not a number', ['eval', '--objective', 'infonce', '--u', U, '--tau', 'abc'], /--tau must be a decimal number, got 'abc'/],
    ['mismatched shapes', ['eval', '--objective', 'infonce', '--u', U, '--v', V5], /U is 4x3 but V is 5x3/],
    ['NaN in embeddings', ['eval', '--objective', 'infonce', '--u', nan], /U\[0,1\] is NaN/],
    ['truncated npy', ['eval', '--objective', 'infonce', '--u', join(dir, 'trunc.npy')], /readNpy/],
    ['B > N', ['eval', '--objective', 'minibatch', '--u', U, '--all-batches', '5'], /B = 5 exceeds N = 4/],
    ['cap', ['eval', '--objective', 'minibatch', '--u', U, '--all-batches', '2', '--max-batches', '3'], /C\(4,2\) = 6 batches exceeds the cap of 3/],
    ['malformed batches JSON', ['eval', '--objective', 'minibatch', '--u', U, '--batches', join(dir, 'bad.json')], /not valid JSON/],
    ['batch index out of range', ['eval', '--objective', 'minibatch', '--u', U, '--batches', join(dir, 'oob.json')], /index 9, outside 0..3/],
    ['minibatch without batches', ['eval', '--objective', 'minibatch', '--u', U], /exactly one of --batches FILE or --all-batches B/],
    ['eps0 < 0', ['eval', '--objective', 'gcl-bimodal', '--u', U, '--eps0', '-1'], /--eps0 must be >= 0, got -1/],
    ['existing grad-out', ['eval', '--objective', 'infonce', '--u', U, '--grad-out', join(dir, 'exists')], /already exists; refusing to overwrite/],
    ['bad dtype', ['eval', '--objective', 'infonce', '--u', U, '--dtype', 'f16'], /--dtype must be one of f64, f32, got 'f16'/],
    ['optimum d too small', ['optimum', '--kind', 'etf', '--n', '5', '--d', '2', '--out', join(dir, 'o.npy')], /d >= 4, got d = 2/],
    ['optimum N != 2d', ['optimum', '--kind', 'cross-polytope', '--n', '5', '--d', '2', '--out', join(dir, 'o.npy')], /cross/],
    ['optimum existing out', ['optimum', '--kind', 'etf', '--n', '3', '--d', '2', '--out', join(dir, 'taken.npy')], /already exists/],
    ['solve missing n', ['solve', '--d', '3', '--out', join(dir, 's')], /--n and --d are required/],
    ['solve bad mode', ['solve', '--n', '3', '--d', '3', '--mode', 'sideways', '--out', join(dir, 's')], /--mode must be one of projected, reparam/],
    ['solve non-integer n', ['solve', '--n', '2.5', '--d', '3', '--out', join(dir, 's')], /--n must be an integer, got '2.5'/],
    ['solve existing out', ['solve', '--n', '3', '--d', '3', '--out', join(dir, 'exists')], /already exists/],
  ];
  for (const [label, argv, msg] of cases) {
    it(label, async () => {
      const before = readdirSync(dir).sort();
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(readdirSync(dir).sort()).toEqual(before);
      expect(readFileSync(join(dir, 'exists', 'keep.txt'), 'utf8')).toBe('user data');
      expect(readFileSync(join(dir, 'taken.npy'), 'utf8')).toBe('user data');
    });
  }
  it('--help works for every command', async () => {
    for (const c of ['eval', 'optimum', 'solve']) {
      const r = await cli(c, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`contrastlab ${c}`));
    }
    expect((await cli('--help')).code).toBe(0);
  });
  it('no leftover staging folders', () => {
    expect(readdirSync(dir).filter((f) => f.includes('staging') || f.endsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(dir, 's'))).toBe(false);
  });
});

void gaussian;
