/**
 * The float32 CPU backend satisfies flash-attention's rule (DESIGN; src/backend/tolerance.ts):
 *
 *   err(cpu_f32, ref_f64) ≤ 2·err(ref_f32, ref_f64) + floor,   floor = 4·ε32·(1 + max|S|),
 *
 * for every output of the pair softmax (row / column log-sum-exps, positives, both gradients), with
 * the contract's normwise error. ref_f32 is the same maths done naively in float32 (the reference
 * backend with every operation rounded to float32), ref_f64 the materialised float64 oracle; all
 * three see identical inputs (float32 values, held in float64 for the oracle), so input rounding
 * is charged to no one. The floor and the factor 2 are the contract suite's, reused from
 * src/backend/tolerance.ts (the header there derives them: ε32·max|S| is the error any float32
 * representation of S carries).
 *
 * Margin: min over instances and outputs of (bound − err)/bound, in (−∞, 1]; 1 means exact.
 * Instances as in blocked-equals-materialised.ts (exclusions, layouts, unit / Gaussian rows,
 * τ ∈ {1, 0.1, 0.01}: at 0.01 exp(S) overflows float32 without the max shift), at block sizes
 * 8, 16, 64 and 128 and N including 1, 2 and sizes that divide no block size.
 */
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { createReferenceBackend } from '../../src/backend/reference.ts';
import { f32RuleBound, maxAbsLogit, normwiseError, pairFloorF32 } from '../../src/backend/tolerance.ts';
import type { Kernels } from '../../src/backend/types.ts';
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import type { Rng } from '../../src/core/random.ts';
import { scatterChart } from '../../src/plot/charts.ts';
import { OUTPUTS, pairInstance, pairOutputs, type PairInstanceParams, randomParams } from './blocked-equals-materialised.ts';

const ref64 = createReferenceBackend({ dtype: 'f64' });
const ref32 = createReferenceBackend({ dtype: 'f32' });

export interface F32Case {
  readonly n: number;
  readonly d: number;
  readonly blockSize: number;
  readonly tau: number;
  readonly output: string;
  readonly error: number;
  readonly naiveError: number;
  readonly floor: number;
  readonly bound: number;
  /** (bound − error)/bound. */
  readonly margin: number;
}

/** One float32 instance at one block size: each output's error, the naive float32 error, and the rule's bound. */
export function f32RuleCase(rng: Rng, p: PairInstanceParams, blockSize: number, cpu32: { kernels: Kernels }): F32Case[] {
  const inst = pairInstance(rng, 'f32', p);
  const ref = pairOutputs(ref64.kernels, inst.U64, inst.V64, inst, null);
  // The float64 oracle's lse's feed every gradient computation (as in the contract).
  const lse = { lseRow: ref.lseRow, lseCol: ref.lseCol };
  const got = pairOutputs(cpu32.kernels, inst.U, inst.V, inst, lse);
  const naive = pairOutputs(ref32.kernels, inst.U, inst.V, inst, lse);
  const floor = pairFloorF32(maxAbsLogit(inst.U64, inst.V64, p.tau));
  return OUTPUTS.map(([name, sf], q) => {
    const error = normwiseError(got.outs[q]!, ref.outs[q]!, sf);
    const naiveError = normwiseError(naive.outs[q]!, ref.outs[q]!, sf);
    const bound = f32RuleBound(naiveError, floor);
    return { n: inst.U.rows, d: p.d, blockSize, tau: p.tau, output: name, error, naiveError, floor, bound, margin: (bound - error) / bound };
  });
}

const SIZES = {
  smoke: { ns: [1, 2, 3, 9, 17, 33, 47, 70], blockSizes: [8, 16, 64, 128], perCell: 4, dMax: 13 },
  full: { ns: [1, 2, 3, 5, 9, 15, 17, 23, 33, 47, 65, 70, 97, 131, 200, 257], blockSizes: [8, 16, 24, 64, 128, 256], perCell: 8, dMax: 13 },
} as const;

export const claim: Claim = {
  id: 'numerics.f32-within-rule',
  source: { paper: 'numerics', where: 'DESIGN (flash-attention\'s float32 rule), THEORY 1', tag: 'derived' },
  statement:
    'Every float32 pair-softmax output of the blocked CPU backend satisfies $\\mathrm{err}(\\mathrm{cpu}_{32}, \\mathrm{ref}_{64}) \\le 2\\,\\mathrm{err}(\\mathrm{ref}_{32}, \\mathrm{ref}_{64}) + 4\\,\\varepsilon_{32}\\,(1 + \\max|S|)$ (checked for every exclusion and layout of the pair softmax at $\\tau \\in \\{1, 0.1, 0.01\\}$, block sizes 8 to 128, unit and Gaussian rows).',
  assumptions: [
    'the contract suite\'s normwise error, factor 2 and floor (src/backend/tolerance.ts)',
    'ref_f32: the materialised reference backend with every operation rounded to float32; identical float32 inputs for all three',
    'exclusions none / positive / self-and-positive; layouts pairs, shifted, stacked; τ ∈ {1, 0.1, 0.01}; block sizes 8, 16, 64, 128 (full adds 24, 256)',
  ],
  kind: 'inequality',
  mutants: ['lse-no-max-shift', 'inv-tau-twice'],
  check(ctx: ClaimContext): Verdict {
    const { ns, blockSizes, perCell, dMax } = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    const cases: F32Case[] = [];
    const under = ctx.f32Backend;
    if (under) {
      // A backend under test (check --backend): its own tiling, the same instances.
      if (under.dtype !== 'f32') throw new Error(`the backend under test computes in ${under.dtype}, not float32`);
      ctx.progress(`${under.name} backend`);
      for (const n of ns) for (let q = 0; q < perCell * blockSizes.length; q++) cases.push(...f32RuleCase(rng, randomParams(rng, [n], dMax), under.blockSize, under));
    }
    for (const blockSize of under ? [] : blockSizes) {
      const cpu32 = createCpuBackend({ dtype: 'f32', blockSize });
      try {
        ctx.progress(`block size ${blockSize}`);
        for (const n of ns) for (let q = 0; q < perCell; q++) cases.push(...f32RuleCase(rng, randomParams(rng, [n], dMax), blockSize, cpu32));
      } finally {
        cpu32.dispose();
      }
    }
    const who = under ? `${under.name} backend${under.info.mode ? ` (${String(under.info.mode)}${under.info.glDriver ? `, ${String(under.info.glDriver)}` : ''})` : ''}` : 'float32 CPU backend';
    let margin = Infinity;
    let worst: F32Case | null = null;
    const perOutput: Record<string, number> = {};
    const perTau: Record<string, number> = {};
    for (const c of cases) {
      perOutput[c.output] = Math.min(perOutput[c.output] ?? Infinity, c.margin);
      perTau[String(c.tau)] = Math.min(perTau[String(c.tau)] ?? Infinity, c.margin);
      if (!(c.margin >= margin)) { margin = c.margin; worst = c; }
    }
    const pass = margin >= 0;
    const rows = cases.map((c) => ({ output: c.output, tau: String(c.tau), used: c.error / c.bound }));
    return {
      pass,
      margin,
      marginUnit: '(bound − err)/bound, min over instances and outputs',
      numbers: {
        comparisons: cases.length, instances: cases.length / OUTPUTS.length,
        worstMarginPerOutput: perOutput, worstMarginPerTau: perTau, worst,
        largestFractionOfBoundUsed: 1 - margin,
      },
      figures: [{
        name: 'numerics-f32-rule',
        spec: scatterChart({
          title: `${who} against the float32 rule`,
          subtitle: 'err(cpu_f32, ref_f64) / (2·err(ref_f32, ref_f64) + 4·ε32·(1 + max|S|)); below 1 = within the rule',
          x: { field: 'tau', title: 'τ', type: 'ordinal', order: ['1', '0.1', '0.01'] },
          y: { field: 'used', title: 'error / bound', domain: [0, Math.max(1, 1 - margin)] },
          series: 'output', rows,
        }),
      }],
      summary: pass
        ? `${who}: ${cases.length / OUTPUTS.length} float32 instances × 5 outputs, all within the rule; the worst used ${(100 * (1 - margin)).toFixed(1)}% of its bound (${worst!.output}, N = ${worst!.n}, T = ${worst!.blockSize}, τ = ${worst!.tau}).`
        : `${who}: rule violated: ${worst!.output} at N = ${worst!.n}, d = ${worst!.d}, T = ${worst!.blockSize}, τ = ${worst!.tau}: error ${worst!.error.toExponential(2)} > bound ${worst!.bound.toExponential(2)}.`,
    };
  },
};
