/**
 * `contrastlab gradcheck` on gradients built independently in numpy (gradcheck_reference.py): a
 * K-worker training step written as such code is (per-worker local losses against gathered features,
 * back-propagation, all-reduce), each mistake made the way that code makes it, in float32 (as a
 * float32 training code computes it) and float64; plain numpy, materialised logits, no code shared.
 * Instance: N = 4096 clustered unit rows (12 centres of random sizes plus noise), d = 128, τ = 0.1,
 * K = 4. One python process builds every case; each test runs the CLI (--json) on its files.
 *
 * Each gradient must get its verdict, the matched candidate's residual must be within the tolerance
 * and every other candidate's residual at least 100x above it (the margins measured here are in
 * the header of src/analysis/gradcheck.ts).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { fromRows, type Matrix } from '../../src/core/matrix.ts';
import { cli, tmp, writeMatrix } from '../cli/harness.ts';
import { numpyOrSkip, pythonScript } from './numpy.ts';

const REFERENCE = join(dirname(fileURLToPath(import.meta.url)), 'gradcheck_reference.py');
const HAVE_NUMPY = numpyOrSkip();

interface Case {
  id: string;
  objective: 'infonce' | 'gcl-bimodal' | 'gcl-unimodal';
  dtype: 'f32' | 'f64';
  mistake: string;
  tau: number;
  eps0: number;
  shards: number;
  n: number;
  d: number;
  u: string;
  v: string;
  gu: string;
  gv: string;
}

/** The verdict each numpy case must get (the mistake's name; the all-reduce sum is 'scaled'). */
const EXPECTED: Record<string, { scale: number; detail?: RegExp }> = {
  global: { scale: 1 },
  scaled: { scale: 4, detail: /K = 4: an all-reduce sum/ },
  'local-without-gather-grad': { scale: 1 },
  'rank-offset': { scale: 1 },
  'summed-directions': { scale: 2 },
  'one-direction': { scale: 1, detail: /row direction only/ },
  'missing-inv-tau': { scale: 1 },
};

/** The cases gradcheck_reference.py builds (kept in step with its CASES list). */
const CASE_IDS = [
  'infonce-f32-global', 'infonce-f32-scaled', 'infonce-f32-local-without-gather-grad', 'infonce-f32-rank-offset',
  'infonce-f32-summed-directions', 'infonce-f32-one-direction', 'infonce-f32-missing-inv-tau', 'infonce-f64-global',
  'gcl-bimodal-f32-global', 'gcl-bimodal-f64-rank-offset', 'gcl-unimodal-f32-global', 'gcl-unimodal-f64-local-without-gather-grad',
];

describe.skipIf(!HAVE_NUMPY)('gradcheck on numpy-built K-worker gradients (N = 4096, d = 128, τ = 0.1, K = 4)', () => {
  let cases: Record<string, Case> = {};
  beforeAll(() => {
    const dir = tmp();
    const list = JSON.parse(pythonScript(REFERENCE, [dir])) as Case[];
    cases = Object.fromEntries(list.map((c) => [c.id, c]));
    expect(Object.keys(cases)).toEqual(CASE_IDS);
  }, 600_000);

  for (const id of CASE_IDS) {
    it(id, async () => {
      const c = cases[id]!;
      const r = await cli('gradcheck', '--u', c.u, '--v', c.v, '--grad-u', c.gu, '--grad-v', c.gv, '--objective', c.objective,
        '--tau', String(c.tau), ...(c.objective === 'infonce' ? [] : ['--eps0', String(c.eps0)]), '--shards', String(c.shards), '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const j = r.json() as Record<string, any>;
      const want = EXPECTED[c.mistake]!;
      expect(j.verdict).toBe(c.mistake);
      expect(j).toMatchObject({ objective: c.objective, n: c.n, d: c.d, tau: c.tau, eps0: c.eps0, shards: c.shards, gradDtype: c.dtype });
      expect(j.scale).toBeCloseTo(want.scale, 5);
      expect(j.residual).toBeLessThanOrEqual(j.tolerance);
      const matched = j.candidates.find((x: any) => x.name === c.mistake);
      expect(matched.matched).toBe(true);
      if (want.detail) expect(matched.detail).toMatch(want.detail);
      // Well separated: every other candidate (the global fit stands behind scaled and summed-directions) is far off.
      const same = ['global', 'scaled', 'summed-directions'].includes(c.mistake) ? ['global', 'scaled', 'summed-directions'] : [c.mistake];
      for (const x of j.candidates.filter((y: any) => !same.includes(y.name))) {
        expect(x.matched, x.name).toBe(false);
        expect(x.residual, x.name).toBeGreaterThan(100 * j.tolerance);
      }
      expect(j.candidates.filter((x: any) => x.matched).map((x: any) => x.name)).toEqual([c.mistake]);
    }, 600_000);
  }
});

describe('gradcheck: bad input is exit 2 with one line on stderr', () => {
  const dir = tmp();
  const rows = (n: number, d: number, f: (i: number, j: number) => number): Matrix =>
    fromRows(Array.from({ length: n }, (_, i) => Array.from({ length: d }, (_, j) => f(i, j))));
  const m = (n: number, d: number) => rows(n, d, (i, j) => Math.cos(1 + i * d + j));
  const u = writeMatrix(join(dir, 'u.npy'), m(4, 3));
  const v = writeMatrix(join(dir, 'v.npy'), m(4, 3));
  const g = writeMatrix(join(dir, 'g.npy'), m(4, 3));
  const wide = writeMatrix(join(dir, 'wide.npy'), m(4, 2));
  const nan = join(dir, 'nan.npy');
  writeMatrix(nan, rows(4, 3, (i, j) => (i === 2 && j === 1 ? NaN : 0.5)));
  const base = (over: Record<string, string>) => {
    const f = { u, v, 'grad-u': g, 'grad-v': g, objective: 'infonce', tau: '0.1', ...over };
    return Object.entries(f).flatMap(([k, x]) => [`--${k}`, x]);
  };
  const cases: [string, string[], RegExp][] = [
    ['mismatched shapes', base({ 'grad-v': wide }), /--u is 4x3 but --grad-v is 4x2/],
    ['a non-finite gradient entry', base({ 'grad-u': nan }), /NaN|finite/i],
    ['K not dividing N', [...base({}), '--shards', '3'], /--shards 3 does not divide N = 4/],
    ['a missing --tau', base({}).slice(0, -2), /--tau is required/],
    ['an unknown objective', base({ objective: 'sigmoid' }), /--objective must be one of/],
    ['--eps0 with infonce', [...base({}), '--eps0', '0.1'], /--eps0 applies to gcl/],
  ];
  for (const [what, argv, msg] of cases) {
    it(what, async () => {
      const r = await cli('gradcheck', ...argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^contrastlab gradcheck/);
      expect(r.stderr).toMatch(msg);
    });
  }
  it('--help prints the usage (exit 0)', async () => {
    const r = await cli('gradcheck', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^contrastlab gradcheck --u U.npy/);
  });
  it('a good small instance runs (exit 0, the table, and JSON)', async () => {
    const r = await cli('gradcheck', ...base({}), '--shards', '2');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^verdict: /);
    expect(r.stdout).toMatch(/local-without-gather-grad/);
    const j = await cli('gradcheck', ...base({}), '--shards', '2', '--json');
    expect(Object.keys(j.json())).toEqual(expect.arrayContaining(['verdict', 'scale', 'residual', 'tolerance', 'objective', 'n', 'd', 'tau', 'eps0', 'shards', 'gradDtype', 'candidates', 'notTested']));
  });
});
