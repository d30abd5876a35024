/**
 * `contrastlab diagnose` against an independent numpy computation (diagnose_reference.py: float64,
 * S = UVᵀ/τ materialised, max-shifted log-sum-exps written in numpy, no code shared).
 *
 * Compared (the exact, non-sampled quantities): the three objective values, Euclidean and Riemannian
 * gradient norms, bounds and gaps; the per-anchor arrays; the hardest anchors and their nearest
 * negatives; the similarity statistics and the bound's lhs / rhs / slack; the row-norm report; with
 * labels the exact false-negative quantities per B and the class sizes. The sampled parts (bias draws,
 * batch hardness, kNN / linear probe on a seeded split) are not recomputed; only their internal
 * identities are checked.
 *
 * Tolerances: float64 files run float64 kernels and are judged at |a − b| ≤ 1e-10·(|b| + 1) (the
 * blocked passes and numpy's dense sums differ by rounding only, ~1e-13). float32 files run the f32
 * kernels: S_ij is formed in float32 (relative rounding ~6e-8, times |S| ≤ 1/τ = 10) and accumulated in
 * float32, so the objective quantities are judged at 1e-5·(|b| + 1) (they agree to ~2e-6 here); the
 * similarity statistics and nearest negatives are computed in float64 from the (exactly widened)
 * float32 entries and stay at the float64 tolerance. Hardest anchors: the order itself under float64
 * kernels; under float32 kernels near-ties may swap, so only the losses are compared.
 *
 * A test must be able to fail: 'mutants are detected' runs the library under the named mistakes that
 * reach these passes and asserts the comparison fails where it should.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnose } from '../../src/analysis/diagnose.ts';
import { readLabelsFlag, readMatrixFlag } from '../../src/cli/matrixFiles.ts';
import { type MutantId, withMutantAsync } from '../../src/core/mutants.ts';
import { diagnosisJson } from '../../src/cli/commands/diagnose.ts';
import { cli, tmp } from '../cli/harness.ts';
import { numpyOrSkip, PythonSession } from './numpy.ts';

const REFERENCE = join(dirname(fileURLToPath(import.meta.url)), 'diagnose_reference.py');
const HAVE_NUMPY = numpyOrSkip();

interface Files { u: string; v: string; labels: string }
interface Instance {
  kind: 'clustered' | 'nonunit';
  n: number;
  d: number;
  k: number;
  seed: number;
  dtype: 'f64' | 'f32';
  tau: number;
  eps0: number;
  batchSizes: number[];
}

/** A diagnosis as JSON (the CLI's document, or the library's result through diagnosisJson), or numpy's answer. */
type J = Record<string, any>;

const F64 = { rtol: 1e-10, atol: 1e-10 };
const F32 = { rtol: 1e-5, atol: 1e-5 };

let py: PythonSession | undefined;
let root = '';

async function make(name: string, inst: Instance): Promise<Files> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return py!.request<Files>({ op: 'make', dir, kind: inst.kind, n: inst.n, d: inst.d, k: inst.k, seed: inst.seed, dtype: inst.dtype });
}

async function reference(f: Files, inst: Instance, labels: boolean): Promise<J> {
  return py!.request<J>({
    op: 'reference', u: f.u, v: f.v, labels: labels ? f.labels : null, tau: inst.tau, eps0: inst.eps0,
    batchSizes: inst.batchSizes, hardest: 10, neighbours: 5, unitTolerance: 1e-4,
  });
}

async function viaCli(f: Files, inst: Instance, labels: boolean): Promise<J> {
  const r = await cli('diagnose', '--u', f.u, '--v', f.v, ...(labels ? ['--labels', f.labels] : []), '--tau', String(inst.tau), '--eps0', String(inst.eps0),
    '--batch-sizes', inst.batchSizes.join(','), '--draws', '8', '--json', '--quiet', '--threads', '1', '--no-spectral');
  if (r.code !== 0) throw new Error(`diagnose exited ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe('');
  return r.json();
}

async function viaLibrary(f: Files, inst: Instance, labels: boolean): Promise<J> {
  const U = readMatrixFlag('diagnose', f.u, 'u');
  const V = readMatrixFlag('diagnose', f.v, 'v');
  const y = labels ? readLabelsFlag('diagnose', f.labels, 'labels', U.rows) : null;
  const r = await diagnose(U, V, { tau: inst.tau, eps0: inst.eps0, batchSizes: inst.batchSizes, labels: y, draws: 8, threads: 1, skipSpectral: true, dtype: inst.dtype });
  return diagnosisJson(r) as J;
}

/**
 * Every disagreement between the toolkit's diagnosis `got` and numpy's `ref` (empty when they agree).
 * `tol` judges the kernel-dependent quantities; the ones computed in float64 whatever the kernels
 * (bounds, similarities, nearest negatives, label arithmetic) are judged at F64.
 */
function compare(got: J, ref: J, tol: { rtol: number; atol: number }): string[] {
  const bad: string[] = [];
  const near = (what: string, a: unknown, b: number, t = tol) => {
    if (typeof a !== 'number' || !(Math.abs(a - b) <= t.atol + t.rtol * Math.abs(b))) bad.push(`${what}: toolkit ${a}, numpy ${b}`);
  };
  const same = (what: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) bad.push(`${what}: toolkit ${JSON.stringify(a)}, numpy ${JSON.stringify(b)}`);
  };
  same('n, d', [got.n, got.d], [ref.n, ref.d]);
  // rows
  same('nonUnitU', got.rows.nonUnitU, ref.rows.nonUnitU);
  same('nonUnitV', got.rows.nonUnitV, ref.rows.nonUnitV);
  near('minNorm', got.rows.minNorm, ref.rows.minNorm, F64);
  near('maxNorm', got.rows.maxNorm, ref.rows.maxNorm, F64);
  // objectives
  same('objective names', got.objectives.map((o: J) => o.name), ref.objectives.map((o: J) => o.name));
  ref.objectives.forEach((r: J, i: number) => {
    const o = got.objectives[i] ?? {};
    near(`${r.name} value`, o.value, r.value);
    near(`${r.name} gradNorm`, o.gradNorm, r.gradNorm);
    near(`${r.name} riemannianGradNorm`, o.riemannianGradNorm, r.riemannianGradNorm);
    if (r.bound === null) {
      same(`${r.name} bound`, o.bound, null);
      same(`${r.name} gap`, o.gap, null);
    } else {
      near(`${r.name} bound`, o.bound?.value, r.bound, F64);
      same(`${r.name} bound attained`, o.bound?.attained, r.attained);
      near(`${r.name} gap`, o.gap, r.gap, { rtol: tol.rtol, atol: tol.atol * (1 + Math.abs(r.value)) });
    }
  });
  // per-anchor arrays
  for (const key of ['infonceRow', 'infonceCol', 'logG1', 'logG2', 'logGu', 'logGv']) {
    const a = got.anchors[key] as number[];
    const b = ref.anchors[key] as number[];
    if (a.length !== b.length) bad.push(`${key}: length ${a.length}, numpy ${b.length}`);
    let worst = -1;
    let excess = 0;
    for (let i = 0; i < b.length; i++) {
      const e = Math.abs(a[i]! - b[i]!) / (tol.atol + tol.rtol * Math.abs(b[i]!));
      if (!(e <= 1) && !(e <= excess)) {
        excess = Number.isNaN(e) ? Infinity : e;
        worst = i;
      }
    }
    if (worst >= 0) bad.push(`${key}[${worst}]: toolkit ${a[worst]}, numpy ${b[worst]}`);
  }
  // hardest anchors: with float64 kernels the order itself; with float32 kernels near-ties may swap,
  // so the reported losses must be numpy's top losses and each index's own numpy loss.
  const gh = got.anchors.hardest as J[];
  const rh = ref.anchors.hardest as J[];
  if (gh.length !== rh.length) bad.push(`hardest: ${gh.length} anchors, numpy ${rh.length}`);
  if (tol === F64) same('hardest indices', gh.map((h) => h.index), rh.map((h) => h.index));
  const rowsRef = ref.anchors.infonceRow as number[];
  const colsRef = ref.anchors.infonceCol as number[];
  gh.forEach((h, t) => {
    near(`hardest[${t}].loss (numpy's ${t}-th largest)`, h.loss, rh[t]?.loss ?? NaN);
    near(`hardest[${t}].loss (anchor ${h.index})`, h.loss, (rowsRef[h.index]! + colsRef[h.index]!) / 2);
    const rn = tol === F64 ? rh[t]!.nearestNegatives : null;
    if (rn) {
      same(`hardest[${t}] nearest negatives`, h.nearestNegatives.map((x: J) => x.index), rn.map((x: J) => x.index));
      h.nearestNegatives.forEach((x: J, q: number) => near(`hardest[${t}] negative ${q} similarity`, x.similarity, rn[q]?.similarity ?? NaN, F64));
    }
  });
  // similarities (float64 from the rows, whatever the kernels)
  const gs = got.similarity;
  const rs = ref.similarity;
  near('positive mean', gs.positive.mean, rs.positive.mean, F64);
  near('positive variance', gs.positive.variance, rs.positive.variance, F64);
  near('negative mean', gs.negative.mean, rs.negative.mean, F64);
  near('negative variance', gs.negative.variance, rs.negative.variance, F64);
  near('bound lhs', gs.bound.lhs, rs.bound.lhs, F64);
  near('bound rhs', gs.bound.rhs, rs.bound.rhs, F64);
  near('bound slack', gs.bound.slack, rs.bound.slack, F64);
  same('bound applies', gs.bound.applies, rs.bound.applies);
  same('bound holds', gs.bound.holds, rs.bound.slack >= -1e-12);
  // labels: exact false-negative arithmetic per B
  if (ref.falseNegatives) {
    same('classes', got.labels?.classes, ref.labels.classes);
    same('class sizes', got.labels?.classSizes, ref.labels.classSizes);
    ref.falseNegatives.forEach((r: J, i: number) => {
      const b = got.batchSizes[i];
      same(`B[${i}]`, b?.B, r.B);
      near(`B = ${r.B} expectedPerAnchor`, b?.falseNegatives?.expectedPerAnchor, r.expectedPerAnchor, F64);
      near(`B = ${r.B} probabilityAtLeastOne`, b?.falseNegatives?.probabilityAtLeastOne, r.probabilityAtLeastOne, F64);
    });
  } else {
    for (const b of got.batchSizes) same(`B = ${b.B} falseNegatives`, b.falseNegatives, null);
  }
  return bad;
}

/** The sampled parts are not recomputed; their reported differences must be those of their parts. */
function sampledIdentities(got: J): void {
  const inf = got.objectives.find((o: J) => o.name === 'infonce').value as number;
  const gcl = got.objectives.find((o: J) => o.name === 'gcl-bimodal').value as number;
  for (const b of got.batchSizes) {
    expect(b.infonceGap).toBe(inf - b.infonceMinibatch.mean);
    expect(b.jensenGap.value).toBe(gcl - b.gclMinibatch.mean);
    expect(b.gclMinibatch.count).toBe(8);
    expect(b.hardness.spectral).toBeNull();
    // A reshuffled epoch's mean batch loss is a mean of infonce losses of ⌈N/B⌉ batches: ≥ 0.
    expect(b.hardness.random.mean).toBeGreaterThanOrEqual(0);
    expect(b.hardness.random.count).toBe(Math.ceil(got.n / b.B));
  }
}

const CLUSTERED_CLI: Instance = { kind: 'clustered', n: 400, d: 32, k: 6, seed: 11, dtype: 'f64', tau: 0.1, eps0: 0.05, batchSizes: [16, 64] };
const CLUSTERED_LIB: Instance = { kind: 'clustered', n: 300, d: 16, k: 4, seed: 12, dtype: 'f64', tau: 0.5, eps0: 0, batchSizes: [8, 32, 300] };
const CLUSTERED_LIB2: Instance = { kind: 'clustered', n: 600, d: 48, k: 10, seed: 13, dtype: 'f64', tau: 0.5, eps0: 0.05, batchSizes: [128] };
const NONUNIT: Instance = { kind: 'nonunit', n: 300, d: 24, k: 5, seed: 14, dtype: 'f64', tau: 0.1, eps0: 0.05, batchSizes: [32] };
const F32_CLI: Instance = { kind: 'clustered', n: 500, d: 40, k: 8, seed: 15, dtype: 'f32', tau: 0.1, eps0: 0.05, batchSizes: [64] };

describe.skipIf(!HAVE_NUMPY)('diagnose against numpy (float64, S materialised)', () => {
  beforeAll(async () => {
    py = await PythonSession.start(REFERENCE);
    root = tmp();
  });
  afterAll(async () => {
    await py?.close();
  });

  it('clustered, N = 400, d = 32, tau = 0.1, eps0 = 0.05, int64 labels, through the CLI', async () => {
    const f = await make('a', CLUSTERED_CLI);
    const [ref, got] = await Promise.all([reference(f, CLUSTERED_CLI, true), viaCli(f, CLUSTERED_CLI, true)]);
    expect(ref.rows.nonUnitU + ref.rows.nonUnitV).toBe(0);
    expect(compare(got, ref, F64)).toEqual([]);
    sampledIdentities(got);
  });

  it('clustered, N = 300, d = 16, tau = 0.5, eps0 = 0, labels, B up to N, through the library', async () => {
    const f = await make('b', CLUSTERED_LIB);
    const [ref, got] = await Promise.all([reference(f, CLUSTERED_LIB, true), viaLibrary(f, CLUSTERED_LIB, true)]);
    expect(compare(got, ref, F64)).toEqual([]);
    // B = N: every batch is the whole set, so an anchor has a same-label negative unless its class is a singleton.
    expect(got.batchSizes[2].falseNegatives.probabilityAtLeastOne).toBeCloseTo(1, 12);
    sampledIdentities(got);
  });

  it('clustered, N = 600, d = 48, 10 classes, tau = 0.5, eps0 = 0.05, through the library', async () => {
    const f = await make('c', CLUSTERED_LIB2);
    const [ref, got] = await Promise.all([reference(f, CLUSTERED_LIB2, true), viaLibrary(f, CLUSTERED_LIB2, true)]);
    expect(compare(got, ref, F64)).toEqual([]);
  });

  it('rows not unit length (norms 0.5..10, S up to ~1000): bounds null, nonUnit counted, values still exact', async () => {
    const f = await make('d', NONUNIT);
    const [ref, got] = await Promise.all([reference(f, NONUNIT, false), viaCli(f, NONUNIT, false)]);
    expect(ref.rows.nonUnitU).toBeGreaterThan(250);
    expect(ref.rows.maxNorm).toBeGreaterThan(8);
    expect(got.objectives.every((o: J) => o.bound === null && o.gap === null)).toBe(true);
    expect(got.similarity.bound.applies).toBe(false);
    expect(got.labels).toBeNull();
    expect(compare(got, ref, F64)).toEqual([]);
  });

  it('float32 files run the f32 kernels and agree to float32 rounding (through the CLI)', async () => {
    const f = await make('e', F32_CLI);
    const [ref, got] = await Promise.all([reference(f, F32_CLI, true), viaCli(f, F32_CLI, true)]);
    expect(got.dtype).toBe('f32');
    expect(compare(got, ref, F32)).toEqual([]);
    // ... and they are f32 results: at the float64 tolerance they would not all agree.
    expect(compare(got, ref, F64).length).toBeGreaterThan(0);
  });

  describe('mutants are detected', () => {
    // The library's named mistakes that reach diagnose's exact passes, on the non-unit instance
    // (large S: an unshifted log-sum-exp overflows, and diagnose refuses the NaN) with eps0 = 0.05.
    // Each must be reached and must make the comparison with numpy fail where named.
    const cases: Array<[MutantId, RegExp]> = [
      ['lse-no-max-shift', /infonce value|infonceRow|infonce: the value is NaN/],
      ['eps0-ignored', /gcl-bimodal value/],
      ['sneg-includes-diagonal', /negative mean/],
      ['inv-tau-twice', /infonce gradNorm/],
      ['column-softmax-dropped', /infonce gradNorm/],
      ['riemannian-projection-dropped', /infonce riemannianGradNorm/],
      ['lse-f32-accumulation', /infonce/],
    ];
    let f: Files;
    let ref: J;
    beforeAll(async () => {
      f = await make('m', NONUNIT);
      ref = await reference(f, NONUNIT, false);
    });
    for (const [id, what] of cases) {
      it(`${id}`, async () => {
        const { result, reached } = await withMutantAsync(id, () => viaLibrary(f, NONUNIT, false).catch((e: Error) => ({ error: e.message }) as J));
        expect(reached.has(id)).toBe(true);
        const bad = result.error ? [result.error as string] : compare(result, ref, F64);
        expect(bad.join('\n')).toMatch(what);
      });
    }
  });

  describe('bad input through the CLI: exit 2, one stderr line, no stack', () => {
    let b: Record<string, string>;
    beforeAll(async () => {
      const dir = join(root, 'bad');
      mkdirSync(dir, { recursive: true });
      b = await py!.request<Record<string, string>>({ op: 'bad', dir, n: 20, d: 4 });
    });
    const cases: Array<[string, (b: Record<string, string>) => string[], RegExp]> = [
      ['labels of the wrong length', (b) => ['--u', b.U!, '--labels', b.labels_short!], /19 labels.*N = 20/],
      ['labels as float64', (b) => ['--u', b.U!, '--labels', b.labels_f64!], /labels must be an integer array/],
      ['U and V of different shapes', (b) => ['--u', b.U!, '--v', b.V_short!], /20 x 4.*19 x 4/],
      ['a non-finite entry', (b) => ['--u', b.U_nan!], /finite|NaN/i],
      ['a batch size > N', (b) => ['--u', b.U!, '--batch-sizes', '4,21'], /21.*N = 20/],
    ];
    for (const [name, args, msg] of cases) {
      it(name, async () => {
        const r = await cli('diagnose', ...args(b), '--tau', '0.5', '--json', '--quiet', '--threads', '1', '--no-spectral', '--draws', '4');
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr.split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^contrastlab diagnose/);
        expect(r.stderr).toMatch(msg);
        expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
      });
    }
  });
});
