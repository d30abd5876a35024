/**
 * The blocked CPU backend's pair softmax equals the materialised reference backend in float64.
 *
 * Both compute, for S = U Vᵀ/τ, the row / column log-sum-exps and positives (pairLse) and the
 * gradients G V/τ, Gᵀ U/τ of Σ coefficients · softmax entries (pairSoftmaxGrad), see
 * src/backend/types.ts. The blocked backend never forms S: it streams T x T tiles with an online
 * max shift; the reference forms all of S and does a two-pass max-shifted log-sum-exp.
 *
 * Judged by the backend contract's float64 rule (src/backend/tolerance.ts, the same code the
 * contract tests use): normwise err(cpu_f64, ref_f64) ≤ 16·ε64·(1 + max|S|), scale max(1, max|R|)
 * for log-sum-exps and positives and max|R| for gradients. Rounding a logit by ε·|S| moves every
 * softmax entry by that much relative, so ε·max|S| is the conditioning floor; 16 leaves room for
 * the exp / log / scaling roundings and the reordered sums.
 *
 * Instances: every exclusion mode ('none', 'positive', 'self-and-positive'), the three layouts of
 * the contract (independent U, V with positive shift 0 or ⌊n/2⌋; stacked U = V = [X; Y] with shift
 * n/2, the unimodal GCL layout), unit or Gaussian rows, τ ∈ {1, 0.1, 0.01}, random subsets of the
 * coefficient vectors; shapes include N = 1, N = 2 and sizes that do not divide the block size,
 * at block sizes 8, 16, 24, 64 and 128 (several tiles per row for the small ones), d from 1 to 13
 * (not a multiple of the SIMD width in general).
 */
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { maxAbsLogit, normwiseError, pairToleranceF64 } from '../../src/backend/tolerance.ts';
import { pairInstance as basePairInstance, type PairInstance as BaseInstance, type PairInstanceParams } from '../../src/backend/instances.ts';
import type { Kernels, PairExclusion, PairGradCoefficients } from '../../src/backend/types.ts';
export type { PairInstanceParams } from '../../src/backend/instances.ts';
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { type DType, type Matrix, zeros } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { scatterChart } from '../../src/plot/charts.ts';
import { ratioDomain } from './gradients.ts';

export const EXCLUDES: readonly PairExclusion[] = ['none', 'positive', 'self-and-positive'];
export type Layout = 'pairs' | 'shifted' | 'stacked';
export const LAYOUTS: readonly Layout[] = ['pairs', 'shifted', 'stacked'];
export const TAUS = [1, 0.1, 0.01] as const;

export interface PairInstance extends BaseInstance {
  /** The same values in float64. */
  readonly U64: Matrix;
  readonly V64: Matrix;
}

function toF64(m: Matrix): Matrix {
  const out = zeros(m.rows, m.cols, 'f64');
  out.data.set(m.data);
  return out;
}

/** A pair-softmax instance in `dtype` (the contract's layouts, src/backend/instances.ts), with float64 copies. */
export function pairInstance(rng: Rng, dtype: DType, p: PairInstanceParams): PairInstance {
  const b = basePairInstance(rng, dtype, p);
  return { ...b, U64: toF64(b.U), V64: p.layout === 'stacked' ? toF64(b.U) : toF64(b.V) };
}

/** Random instance parameters with n drawn from `ns`. */
export function randomParams(rng: Rng, ns: readonly number[], dMax: number): PairInstanceParams {
  return {
    n: ns[rng.int(ns.length)]!,
    d: 1 + rng.int(dMax),
    tau: TAUS[rng.int(TAUS.length)]!,
    exclude: EXCLUDES[rng.int(EXCLUDES.length)]!,
    layout: LAYOUTS[rng.int(LAYOUTS.length)]!,
    kind: rng.uniform() < 0.5 ? 'unit' : 'gauss',
    coefMask: rng.int(8),
  };
}

/** Output names in the order `pairOutputs` returns them, with their normwise scale floors. */
export const OUTPUTS = [['lseRow', 1], ['lseCol', 1], ['positive', 1], ['gradU', 0], ['gradV', 0]] as const;

/** pairLse (rows and columns) and pairSoftmaxGrad with the given lse's; the five outputs as arrays. */
export function pairOutputs(
  kernels: Kernels,
  U: Matrix, V: Matrix, inst: PairInstance, lse: { lseRow: Float64Array | null; lseCol: Float64Array | null } | null,
): { outs: ArrayLike<number>[]; lseRow: Float64Array | null; lseCol: Float64Array | null } {
  const l = kernels.pairLse(U, V, inst.spec, { row: true, col: true });
  const coef: PairGradCoefficients = { ...inst.coef, lseRow: (lse ?? l).lseRow, lseCol: (lse ?? l).lseCol };
  const g = kernels.pairSoftmaxGrad(U, V, inst.spec, coef);
  return { outs: [l.lseRow!, l.lseCol!, l.positive, g.gradU.data, g.gradV.data], lseRow: l.lseRow, lseCol: l.lseCol };
}

const ref64 = createReferenceBackend({ dtype: 'f64' });

export interface BlockedCase {
  readonly n: number;
  readonly d: number;
  readonly blockSize: number;
  readonly tau: number;
  readonly exclude: PairExclusion;
  readonly layout: Layout;
  readonly output: string;
  readonly error: number;
  readonly tol: number;
}

/** One instance at one block size: the five outputs' errors against the reference and the tolerance. */
export function blockedVsReference(rng: Rng, p: PairInstanceParams, blockSize: number, cpu: { kernels: Kernels }): BlockedCase[] {
  const inst = pairInstance(rng, 'f64', p);
  const ref = pairOutputs(ref64.kernels, inst.U64, inst.V64, inst, null);
  // Same lse inputs to both gradient computations (the oracle's), as in the contract.
  const got = pairOutputs(cpu.kernels, inst.U, inst.V, inst, { lseRow: ref.lseRow, lseCol: ref.lseCol });
  const tol = pairToleranceF64(maxAbsLogit(inst.U64, inst.V64, p.tau));
  return OUTPUTS.map(([name, sf], q) => ({
    n: inst.U.rows, d: p.d, blockSize, tau: p.tau, exclude: p.exclude, layout: p.layout, output: name,
    error: normwiseError(got.outs[q]!, ref.outs[q]!, sf), tol,
  }));
}

const SIZES = {
  smoke: { ns: [1, 2, 3, 5, 9, 17, 23, 33, 47, 70, 131], blockSizes: [8, 16, 24, 64, 128], perCell: 4, dMax: 13 },
  full: { ns: [1, 2, 3, 5, 7, 9, 15, 17, 23, 31, 33, 47, 63, 65, 70, 97, 129, 131, 200, 257, 300], blockSizes: [8, 16, 24, 64, 128, 256], perCell: 10, dMax: 13 },
} as const;

export const claim: Claim = {
  id: 'numerics.blocked-equals-materialised',
  source: { paper: 'numerics', where: 'THEORY 1 (max-shifted, online log-sum-exp across tiles)', tag: 'derived' },
  statement:
    'The blocked CPU backend\'s pair softmax (row/column log-sum-exps, positives, and both gradients) equals the materialised reference backend in float64 within the contract tolerance $16\\,\\varepsilon_{64}\\,(1 + \\max|S|)$, for every block size and shape, including N = 1, N = 2 and N not divisible by the block size (checked at $\\tau \\in \\{1, 0.1, 0.01\\}$, d from 1 to 13, every exclusion and layout).',
  assumptions: [
    'the contract tests\' float64 rule and normwise error (src/backend/tolerance.ts)',
    'exclusions none / positive / self-and-positive; layouts pairs, shifted, stacked; τ ∈ {1, 0.1, 0.01}; unit or Gaussian rows; d from 1 to 13',
    'block sizes 8, 16, 24, 64, 128 (smoke; full adds 256) crossed with N in a list that includes 1, 2 and sizes that divide none of them',
  ],
  kind: 'identity',
  mutants: ['lse-no-max-shift', 'lse-f32-accumulation', 'inv-tau-twice'],
  check(ctx: ClaimContext): Verdict {
    const { ns, blockSizes, perCell, dMax } = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    const cases: BlockedCase[] = [];
    for (const blockSize of blockSizes) {
      const cpu = createCpuBackend({ dtype: 'f64', blockSize });
      try {
        ctx.progress(`block size ${blockSize}`);
        for (const n of ns) {
          for (let q = 0; q < perCell; q++) cases.push(...blockedVsReference(rng, randomParams(rng, [n], dMax), blockSize, cpu));
        }
      } finally {
        cpu.dispose();
      }
    }
    let margin = Infinity;
    let worst: BlockedCase | null = null;
    const perOutput: Record<string, number> = {};
    const perBlock: Record<string, number> = {};
    for (const c of cases) {
      const m = decadesBelow(c.error, c.tol);
      perOutput[c.output] = Math.min(perOutput[c.output] ?? Infinity, m);
      perBlock[String(c.blockSize)] = Math.min(perBlock[String(c.blockSize)] ?? Infinity, m);
      if (!(m >= margin)) { margin = m; worst = c; }
    }
    const pass = margin > 0;
    const rows = cases.map((c) => ({ blockSize: String(c.blockSize), ratio: Math.max(c.error, 1e-20) / c.tol, output: c.output }));
    return {
      pass,
      margin,
      marginUnit: 'decades below 16·ε64·(1 + max|S|) (min over instances and outputs)',
      numbers: {
        comparisons: cases.length, instances: cases.length / OUTPUTS.length,
        exactMatches: cases.filter((c) => c.error === 0).length,
        worstMarginPerOutput: perOutput, worstMarginPerBlockSize: perBlock, worst,
      },
      figures: [{
        name: 'numerics-blocked-equals-materialised',
        spec: scatterChart({
          title: 'Blocked CPU pair softmax vs materialised reference (float64)',
          subtitle: 'normwise error / contract tolerance 16·ε·(1 + max|S|); exact matches drawn at 1e-20',
          x: { field: 'blockSize', title: 'block size', type: 'ordinal', order: blockSizes.map(String) },
          y: { field: 'ratio', title: 'error / tolerance', scale: 'log', domain: ratioDomain(rows.map((r) => r.ratio)) },
          series: 'output', rows,
        }),
      }],
      summary: pass
        ? `${cases.length / OUTPUTS.length} instances × 5 outputs at block sizes ${blockSizes.join(', ')}: every output within the contract tolerance, worst ${margin.toFixed(2)} decades below it (${worst!.output}, N = ${worst!.n}, T = ${worst!.blockSize}, τ = ${worst!.tau}).`
        : `Outside the contract tolerance: ${worst!.output} at N = ${worst!.n}, d = ${worst!.d}, T = ${worst!.blockSize}, τ = ${worst!.tau}, ${worst!.exclude}/${worst!.layout}: error ${worst!.error.toExponential(2)} vs ${worst!.tol.toExponential(2)}.`,
    };
  },
};
