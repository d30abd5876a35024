/**
 * cho.osgd.fewer-epochs-than-reshuffled — CHO Section 4 / THEORY 4 [derived]: ordered SGD (step on
 * the max-loss batch among all C(N,B)) reaches the neighbourhood of the optimum in fewer epochs than
 * SGD without replacement (random reshuffling).
 *
 * (a) THEORY 4's rectangle toy: N = 4, d = 2, B = 2, U = V = (±cos θ, ±sin θ) from θ₀ = 10°, τ = 1,
 *     projected SGD with lr 0.05 (the `rectangle` preset); epochs until every neighbour gap is
 *     within 0.5° of 90° (θ = π/4). The start is fixed, so OSGD (ties broken in lexicographic
 *     order) follows the same path for every seed; only reshuffling is random.
 * (b) CHO's synthetic grid (the `cho-grid` preset's settings): random Gaussian starts on the sphere,
 *     B = 2, τ = 1, lr 1 (CHO's 0.5 on their summed loss), projected; epochs until the distance to
 *     the optimal Gram matrix (ETF for d ≥ N−1, cross-polytope for N = 2d, matched exactly) is ≤ 1,
 *     at most 500 epochs (a run that never gets there counts as "later than every run that does":
 *     its time is censored at +∞, tied with the other censored runs).
 *
 * Confidence rule: per setting, an exact one-sided Mann–Whitney (Wilcoxon rank-sum) test of
 * "OSGD's epochs are stochastically smaller than reshuffled SGD's", with mid-ranks for ties and the
 * exact permutation distribution of the rank sum (no normal approximation: the samples are small and
 * heavily tied by censoring), at α = 0.01. The two arms use independent seeds, so the samples are
 * independent as the test assumes. The claim holds iff the test rejects at EVERY setting (an
 * intersection–union test: the conjunction keeps level α without a multiplicity correction). Why not
 * "OSGD's worst seed beats reshuffled's median": it ignores the sample sizes and gives no error rate;
 * the rank test uses every seed and says how unlikely the ordering is under "no difference".
 * Margin: min over settings of log10(α / p), in decades.
 *
 * Smoke size runs the rectangle and the grid settings (4,8), (8,4), (8,16) — a regression check of the
 * settings where the rule holds; it leaves out (4,2), which FAILS (see `explanation`), and the costly
 * N = 16 ones. Full size runs all six grid settings with 10 seeds per arm, as the preset, and its
 * verdict is failing because of (4,2).
 */
import type { Claim, ClaimContext, ClaimFigure, Verdict } from '../../src/claims/types.ts';
import { runExperiment } from '../../src/experiments/run.ts';
import type { ExperimentSpec } from '../../src/experiments/spec.ts';
import { stepsToThreshold } from '../../src/experiments/summary.ts';
import { panelGrid, scatterChart, type VegaLiteSpec } from '../../src/plot/index.ts';
import type { SamplerSpec } from '../../src/samplers/types.ts';

/**
 * Exact one-sided Mann–Whitney test of H1 "x tends to be smaller than y": p = P(T ≤ t) for the
 * mid-rank sum T of x under a uniformly random split of the pooled values into |x| and |y|
 * (the permutation null), computed exactly by dynamic programming over doubled mid-ranks (integers).
 * Infinities are allowed (censored values; equal infinities tie). Also returns U = #{x_i < y_j} +
 * ½#{x_i = y_j}.
 */
export function mannWhitneyLess(x: readonly number[], y: readonly number[]): { p: number; U: number; rankSum: number } {
  const n = x.length;
  const N = n + y.length;
  const all = [...x.map((v) => ({ v, g: 0 })), ...y.map((v) => ({ v, g: 1 }))].sort((a, b) => (a.v < b.v ? -1 : a.v > b.v ? 1 : 0));
  const r2 = new Int32Array(N); // doubled mid-ranks, in sorted order
  for (let a = 0; a < N;) {
    let b = a;
    while (b + 1 < N && all[b + 1]!.v === all[a]!.v) b++;
    for (let k = a; k <= b; k++) r2[k] = a + 1 + (b + 1); // (rank_a + rank_b), 1-based
    a = b + 1;
  }
  let t = 0;
  for (let k = 0; k < N; k++) if (all[k]!.g === 0) t += r2[k]!;
  let S = 0;
  for (let k = 0; k < N; k++) S += r2[k]!;
  // ways[k][s]: number of k-subsets of the items seen so far with doubled rank sum s.
  const ways: Float64Array[] = Array.from({ length: n + 1 }, () => new Float64Array(S + 1));
  ways[0]![0] = 1;
  for (let i = 0; i < N; i++) {
    const r = r2[i]!;
    for (let k = Math.min(i + 1, n); k >= 1; k--) {
      const to = ways[k]!;
      const from = ways[k - 1]!;
      for (let s = S - r; s >= 0; s--) if (from[s]! !== 0) to[s + r] += from[s]!;
    }
  }
  let total = 0;
  let below = 0;
  for (let s = 0; s <= S; s++) {
    total += ways[n]![s]!;
    if (s <= t) below += ways[n]![s]!;
  }
  let U = 0;
  for (const a of x) for (const b of y) U += a < b ? 1 : a === b ? 0.5 : 0;
  return { p: below / total, U, rankSum: t / 2 };
}

export const ALPHA = 0.01;

export interface Setting {
  readonly label: string;
  readonly base: Omit<ExperimentSpec, 'name' | 'sampler' | 'seeds'>;
  readonly metric: 'angleError' | 'distance';
  readonly below: number;
}

const rectangle: Setting = {
  label: 'rectangle θ₀=10°, lr 0.05',
  base: {
    data: { kind: 'rectangle', thetaDeg: 10 }, objective: { name: 'infonce', tau: 1 }, parametrisation: 'projected',
    optimizer: { kind: 'sgd', lr: 0.05 }, budget: { epochs: 5000 }, logEvery: 1, metrics: ['angleError'], stopWhen: { metric: 'angleError', below: 0.5 },
  },
  metric: 'angleError',
  below: 0.5,
};

export function grid(n: number, d: number): Setting {
  return {
    label: `N=${n}, d=${d} (${d >= n - 1 ? 'ETF' : 'cross-polytope'})`,
    base: {
      data: { kind: 'random-sphere', n, d }, objective: { name: 'infonce', tau: 1 }, parametrisation: 'projected',
      optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs: 500 }, metrics: ['distance'], stopWhen: { metric: 'distance', below: 1 },
    },
    metric: 'distance',
    below: 1,
  };
}

const SIZES = {
  smoke: { rectSeeds: 8, gridSeeds: 6, grid: [grid(4, 8), grid(8, 4), grid(8, 16)], floor: false },
  full: { rectSeeds: 40, gridSeeds: 10, grid: [grid(4, 8), grid(8, 4), grid(8, 16), grid(16, 8), grid(16, 32)], floor: true },
} as const;

export const ARMS: readonly { label: 'OSGD' | 'reshuffled'; sampler: SamplerSpec }[] = [
  { label: 'OSGD', sampler: { kind: 'osgd', B: 2 } },
  { label: 'reshuffled', sampler: { kind: 'reshuffle', B: 2 } },
];

interface ArmResult {
  readonly epochs: number[];
  /** Distance / angle error at the end of each run (at the threshold, or at the budget when censored). */
  readonly final: number[];
  /** Censored runs that ended with two rows coinciding in U and in V (to rounding): the OSGD trap, see the explanation. */
  readonly trapped: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}

/**
 * Whether two rows coincide in both U and V to rounding: every coordinate within 1e-12 (the trapped
 * runs measured here sit at 1e-16–1e-15, a few ulps; genuinely distinct rows differ by ≫ 1e-12).
 */
export function hasCoincidentPair(U: { data: Float64Array; rows: number; cols: number }, V: { data: Float64Array }): boolean {
  const { rows: n, cols: d } = U;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let same = true;
      for (let k = 0; k < d && same; k++) {
        same = Math.abs(U.data[i * d + k]! - U.data[j * d + k]!) <= 1e-12 && Math.abs(V.data[i * d + k]! - V.data[j * d + k]!) <= 1e-12;
      }
      if (same) return true;
    }
  }
  return false;
}

export const claim: Claim = {
  id: 'cho.osgd.fewer-epochs-than-reshuffled',
  source: { paper: 'CHO', where: 'Sec. 4 (OSGD), synthetic experiments; THEORY 4 rectangle toy', tag: 'derived' },
  statement: 'Ordered SGD (step on the max-loss batch) reaches the neighbourhood of the optimum in fewer epochs than reshuffled SGD: on the rectangle toy (within 0.5° of $\\theta = \\pi/4$) and on CHO\'s synthetic grid settings other than (N, d) = (4, 2) (B = 2, distance ≤ 1 to the optimal Gram matrix), by an exact one-sided Mann–Whitney test at α = 0.01 in every setting.',
  assumptions: [
    'projected SGD with a constant step: lr 0.05 (rectangle), lr 1 (grid; CHO\'s 0.5 on their summed loss)', 'τ = 1, B = 2, unit-norm rows',
    'independent seeds per arm; runs that never reach the threshold are censored at +∞ (rectangle budget 5000 epochs, grid 500)',
    'an epoch = N/B update steps for both methods',
    'the grid setting (4,2), where the statement fails, is the separate claim cho.osgd.coincident-row-trap (expected refuted)',
    'smoke size: rectangle + grid settings (4,8), (8,4), (8,16); full: the five grid settings, 10 seeds per arm',
  ],
  kind: 'convergence',
  explanation: 'Two measured findings. (1) Neighbourhood, not convergence: with a constant step neither method converges to the optimum itself. A two-point batch is minimised by '
    + 'antipodal points, so a pair step does not vanish at the optimum. OSGD ends in a limit cycle near it (rectangle at lr 0.05: angle error ~0.4° after 1000 epochs; 0.77° at lr 0.1 and '
    + '1.53° at lr 0.2 per the rectangle preset, never under 0.5° there; grid (8,16): distance ~0.5 after 500 epochs); reshuffled SGD fluctuates more widely and does not stay in the '
    + 'neighbourhood it once reached (rectangle: 5–11° after 1000 epochs although each run passed within 0.5° near epoch 550; grid (8,16): distance ~3 after 500 epochs). '
    + 'numbers.noiseFloor (full size) holds these end values. The claim is about reaching a neighbourhood first, which OSGD does. '
    + '(2) At the grid setting (N, d) = (4, 2) the statement does not hold: OSGD can freeze with two rows coinciding in U and V, where the max-loss batch has zero gradient. '
    + 'That setting is its own claim, cho.osgd.coincident-row-trap, marked expected refuted, with the mechanism. '
    + '(3) Finding at full size: at (N, d) = (16, 32) only 5 of 10 OSGD runs reach distance ≤ 1 within 500 epochs (reshuffled: 0 of 10), p = 0.016 > α, so the full-size '
    + 'verdict fails there. OSGD\'s constant-step noise floor at that setting (distance 1.07 ± 0.02 after 500 epochs in the cho-grid preset) sits at the fixed threshold of 1, '
    + 'which does not scale with N (a Frobenius distance over N² entries). The threshold was fixed before this run and is left as it is; the failure stays reported.',
  async check(ctx: ClaimContext): Promise<Verdict> {
    const sz = SIZES[ctx.size];
    const rng = ctx.rng('seeds');
    const settings: Record<string, unknown>[] = [];
    const panels: VegaLiteSpec[] = [];
    let margin = Infinity;
    let tightest = '';
    const all: Setting[] = [rectangle, ...sz.grid];
    for (const s of all) {
      const seeds = s === rectangle ? sz.rectSeeds : sz.gridSeeds;
      const res: Record<string, ArmResult> = {};
      for (const arm of ARMS) {
        ctx.progress(`${s.label}: ${arm.label}`);
        const epochs: number[] = [];
        const final: number[] = [];
        let trapped = 0;
        for (let k = 0; k < seeds; k++) {
          const seed = rng.nextU32();
          const spec = { ...s.base, name: arm.label, sampler: arm.sampler, seeds: [seed] } as ExperimentSpec;
          const r = runExperiment(spec, seed, { backend: ctx.backend });
          epochs.push(stepsToThreshold(r, s.metric, s.below)?.epoch ?? Infinity);
          final.push(r.final[s.metric]!);
          if (!r.stoppedEarly && hasCoincidentPair(r.U, r.V)) trapped++;
        }
        res[arm.label] = { epochs, final, trapped };
      }
      const o = res.OSGD!;
      const rs = res.reshuffled!;
      const test = mannWhitneyLess(o.epochs, rs.epochs);
      const dec = test.p > 0 ? Math.log10(ALPHA / test.p) : Infinity;
      if (!(dec >= margin)) {
        margin = dec;
        tightest = s.label;
      }
      const reached = (a: ArmResult) => a.epochs.filter(Number.isFinite).length;
      settings.push({
        setting: s.label, seedsPerArm: seeds, threshold: `${s.metric} ≤ ${s.below}`,
        osgd: { epochs: o.epochs, reached: reached(o), median: median(o.epochs), worst: Math.max(...o.epochs), trappedCoincidentPair: o.trapped, finalAtStop: o.final },
        reshuffled: { epochs: rs.epochs, reached: reached(rs), median: median(rs.epochs), best: Math.min(...rs.epochs), finalAtStop: rs.final },
        mannWhitney: { U: test.U, of: o.epochs.length * rs.epochs.length, osgdRankSum: test.rankSum, p: test.p, alpha: ALPHA, rejects: test.p <= ALPHA, decades: dec },
        osgdWorstBeatsReshuffledMedian: Math.max(...o.epochs) < median(rs.epochs),
      });
      const budget = 'epochs' in s.base.budget ? s.base.budget.epochs : Infinity;
      const rows = ARMS.flatMap((a) => res[a.label]!.epochs.map((e) => ({ method: a.label, epochs: Number.isFinite(e) ? e : budget })));
      const censored = rows.length - ARMS.reduce((acc, a) => acc + reached(res[a.label]!), 0);
      panels.push(scatterChart({
        title: s.label,
        subtitle: [`p = ${test.p.toExponential(1)} (one-sided exact Mann–Whitney)`, ...(censored > 0 ? [`${censored} run(s) never reached ${s.metric} ≤ ${s.below}: drawn at the budget, ${budget} epochs`] : [])],
        x: { field: 'method', title: 'method', type: 'nominal', order: ['OSGD', 'reshuffled'] },
        y: { field: 'epochs', title: 'epochs to threshold', scale: 'log' },
        series: 'method', seriesOrder: ['OSGD', 'reshuffled'], rows, width: 160, height: 200,
      }));
    }

    // The noise floor at a constant step (full size): the same runs without stopping.
    const floors: Record<string, unknown>[] = [];
    if (sz.floor) {
      for (const s of [rectangle, grid(8, 16)]) {
        for (const arm of ARMS) {
          ctx.progress(`noise floor ${s.label}: ${arm.label}`);
          const finals: number[] = [];
          for (let k = 0; k < 3; k++) {
            const seed = rng.nextU32();
            const base = s === rectangle ? { ...s.base, budget: { epochs: 1000 }, logEvery: 2 } : s.base;
            const { stopWhen: _drop, ...rest } = base;
            void _drop;
            const r = runExperiment({ ...rest, name: arm.label, sampler: arm.sampler, seeds: [seed] } as ExperimentSpec, seed, { backend: ctx.backend });
            finals.push(r.final[s.metric]!);
          }
          floors.push({ setting: s.label, method: arm.label, epochs: s === rectangle ? 1000 : 500, metric: s.metric, finalValues: finals });
        }
      }
    }

    const failing = settings.filter((r) => !(r.mannWhitney as { rejects: boolean }).rejects).map((r) => r.setting as string);
    const figures: ClaimFigure[] = [{ name: 'epochs-per-seed', spec: panelGrid(panels, { title: 'Epochs to the optimum neighbourhood, one point per seed', columns: Math.min(4, panels.length), independent: ['y'] }) }];
    const rect = settings[0]!;
    return {
      pass: margin > 0,
      margin,
      marginUnit: 'decades: min over settings of log10(α / p), exact one-sided Mann–Whitney, α = 0.01',
      numbers: { alpha: ALPHA, tightest, settings, noiseFloor: floors },
      figures,
      summary: `Rectangle: OSGD ${String((rect.osgd as { median: number }).median)} epochs (every seed), reshuffled median ${String((rect.reshuffled as { median: number }).median)}. `
        + `Grid: ${settings.slice(1).map((r) => `${String(r.setting)} OSGD median ${String((r.osgd as { median: number }).median)} (${String((r.osgd as { reached: number }).reached)}/${String(r.seedsPerArm)} reached) vs ${String((r.reshuffled as { median: number }).median)} (${String((r.reshuffled as { reached: number }).reached)}/${String(r.seedsPerArm)}), p ${((r.mannWhitney as { p: number }).p).toExponential(1)}`).join('; ')}. `
        + (failing.length === 0 ? `The test rejects at α = 0.01 in every setting (tightest: ${tightest}).` : `NOT significant at α = 0.01 in: ${failing.join(', ')}.`),
    };
  },
};
