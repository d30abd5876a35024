/**
 * sog.small-batch-sogclr-beats-simclr — SOG's convergence theorems [unverified] and their synthetic
 * consequence (THEORY 5) [derived]:
 *   SOG Thm (SimCLR): E‖∇F‖² ≤ O(1/(ηT) + η + 1/B) — an error floor in 1/B;
 *   SOG Thm (SogCLR): ε-stationarity in a number of iterations that does not grow as B shrinks.
 *   Consequence on synthetic data: at small B, with the same B and epoch budget, SogCLR ends at a lower
 *   exact objective gap F − F* than SimCLR, and SimCLR's gap grows as B shrinks.
 * The theorems themselves are reconstructed and not checked against the paper text; what is checked is
 * the consequence, on the `sogclr-small-batch` study of src/experiments/presets/sogclr.ts (linear encoder on
 * synthetic classes, fixed training views so every method minimises the logged F, unimodal GCL with
 * τ = 0.1 and ε₀ = 0 evaluated exactly, SGD with momentum 0.9, lr 0.5 for every B; F* = the final F of
 * full-batch GD run long, per seed), run arm by arm through runGclExperiment with the preset's own
 * specs. Sizes: full = the preset's full setting (N = 1024, 30 epochs, 5 seeds, F* from 500 full-batch
 * steps), restricted to B ∈ {8, …, 128} (at B ≥ 256 every method has only 2–4 steps per epoch, which
 * the preset's README discusses separately); smoke = the preset's smoke setting (N = 256, 4 epochs,
 * B ∈ {8, 32}, F* from 40 steps) with 5 seeds instead of 2 so that the seed rule has something to
 * work with. Only the exact objective and ‖∇F‖ are logged (at the start and the end): logging does
 * not touch the run's random stream, so the trajectories are the preset's.
 *
 * Confidence rule over seeds, stated in advance (all comparisons paired by seed, so F* cancels):
 *  (i)  at every small B (smoke {8, 32}, full {8, 16, 32}), SogCLR's final F is below SimCLR's for EVERY seed;
 *  (ii) SimCLR's mean final gap is ordered in B: for consecutive sizes B < B', the mean over seeds of
 *       gap(B) − gap(B') exceeds 2 standard errors of those paired differences (sd/√seeds).
 * Margin, in standard errors of the paired differences: the smaller of min over (B, seed) of the
 * SogCLR-vs-SimCLR difference / its SE (> 0 iff every seed has SogCLR below), and min over consecutive
 * pairs of (mean/SE − 2).
 *
 * Decision (independent review): this claim still holds with SogCLR's γ forced to 1 (the moving
 * average off: DCL), so it detects SimCLR's ε₀ = 1/(2B−2), not the moving average. It is kept as it
 * is — a statement about SogCLR against SimCLR, which it does test — with its statement saying so; the
 * moving average is judged by the separate claim sog.annealed.sogclr-beats-dcl (SogCLR vs DCL with a
 * cosine-annealed step, where the plug-in's bias is no longer hidden by the constant step's noise),
 * which names the `sogclr-gamma-one` mutant. This claim names `eps0-ignored` (SimCLR's ε₀ treated as
 * 0 makes SimCLR the DCL estimator, which ends as low as SogCLR here: rule (i) fails).
 */
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { train as runGclExperiment } from '../../src/experiments/train.ts';
import type { ExperimentSpec as GclExperimentSpec } from '../../src/experiments/types.ts';
import { expandStudy } from '../../src/experiments/studyLanguage.ts';
import { findPreset } from '../../src/experiments/presets/index.ts';
import { stats } from '../../src/experiments/summary.ts';
import type { StudySpec } from '../../src/experiments/types.ts';
import { lineChartWithBands } from '../../src/plot/charts.ts';

const PRESET = 'sogclr-small-batch';
const REFERENCE = 'full-batch GD (reference)';
/** Rule (ii): the ordering must hold beyond this many standard errors of the paired differences. */
const Z_ORDER = 2;
const METHODS = ['SimCLR', 'DCL', 'SogCLR'] as const;

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Mean, sample sd and standard error of paired differences. */
function paired(d: readonly number[]): { mean: number; sd: number; se: number } {
  const s = stats(d);
  return { mean: s.mean, sd: s.sd, se: s.sd / Math.sqrt(d.length) };
}

export const claim: Claim = {
  id: 'sog.small-batch-sogclr-beats-simclr',
  source: { paper: 'SOG', where: 'Thm (SimCLR 1/B floor; SogCLR B-independent) [unverified]; synthetic consequence, THEORY 5 [derived]', tag: 'unverified' },
  statement: 'At small batch sizes, with a constant step and a short budget, SogCLR reaches a lower exact objective gap $F - F^*$ than SimCLR with the same B and epoch budget, and SimCLR\'s gap grows as B shrinks '
    + '(the synthetic consequence of SOG\'s theorems, which are themselves reconstructed and unverified; checked on sogclr-small-batch: momentum SGD lr 0.5 constant, smoke N = 256, 4 epochs, B ∈ {8, 32}; full N = 1024, 30 epochs, B ∈ {8, …, 128}). '
    + 'In this regime the gain comes from SimCLR\'s $\\varepsilon_0 = 1/(2B-2)$, not from the moving average: see sog.annealed.sogclr-beats-dcl for the latter.',
  assumptions: [
    `the '${PRESET}' study of src/experiments/presets/sogclr.ts: linear encoder (d = 16) on 8 synthetic classes in R^32, fixed training views, unimodal GCL τ = 0.1, ε₀ = 0, momentum SGD lr 0.5`,
    'full: N = 1024, 30 epochs, 5 seeds, B ∈ {8, 16, 32, 64, 128}, F* from 500 full-batch GD steps; smoke: N = 256, 4 epochs, 5 seeds, B ∈ {8, 32}, F* from 40 steps',
    'SogCLR γ = 0.9 (per-anchor u); SimCLR = plug-in with ε₀ = 1/(2B−2); DCL = plug-in with ε₀ = 0',
    'the preset\'s seeds 0–4 at both sizes (fixed: the verdict does not depend on the runner\'s --seed)',
  ],
  kind: 'inequality',
  mutants: ['eps0-ignored'],
  explanation: 'Measured caveats: DCL — the plug-in estimator of the same F (ε₀ = 0) — ends as low as SogCLR at every B, so here SimCLR\'s extra gap comes mostly '
    + 'from its B-dependent ε₀ = 1/(2B−2), i.e. from optimising a different objective, not from the Jensen bias of the plug-in gradient (which '
    + 'sog.plugin.biased-decreasing-in-b does resolve); at full size DCL is even slightly below SogCLR at every B (by ≤ 3e-4, under 3 SE each). '
    + 'With the step cosine-annealed over a long budget the plug-in\'s bias shows and DCL ends above SogCLR (sog.annealed.sogclr-beats-dcl). SogCLR\'s own gap also grows at small B (the noise floor of a constant step). With fresh augmentations in '
    + 'training (the sogclr-small-batch-augmented preset) every stochastic method shares a residual gap (about 0.024 at full size, as measured in the README) that hides the difference. '
    + 'B ≥ 256 is left out: with 2–4 steps per epoch every method is held back by the step count. The theorems are tagged [unverified]; the verdict is about the synthetic consequence.',
  check(ctx: ClaimContext): Verdict {
    const preset = findPreset(PRESET);
    if (!preset) throw new Error(`preset '${PRESET}' not found`);
    const study = expandStudy(preset.spec(ctx.size)) as StudySpec;
    const seeds = [0, 1, 2, 3, 4];
    const orderBs = ctx.size === 'smoke' ? [8, 32] : [8, 16, 32, 64, 128];
    const smallBs = ctx.size === 'smoke' ? [8, 32] : [8, 16, 32];
    const byName = new Map(study.experiments.map((e) => [e.name, e as GclExperimentSpec]));
    const arms = [REFERENCE, ...METHODS.flatMap((m) => orderBs.map((B) => `${m} B=${B}`))];
    const finalF = new Map<string, number[]>();
    const finalGrad = new Map<string, number[]>();
    for (const [k, name] of arms.entries()) {
      const e0 = byName.get(name);
      if (!e0) throw new Error(`arm '${name}' is not in the ${study.name} study`);
      // Only the exact F and ‖∇F‖, logged at the start and the end (logging draws nothing from the run's generator).
      const e: GclExperimentSpec = { ...e0, seeds, metrics: ['objective', 'objectiveGradNorm'], logEveryEpochs: (e0.budget as { epochs: number }).epochs };
      ctx.progress(`${name} (${k + 1}/${arms.length})`);
      const fs: number[] = [];
      const gs: number[] = [];
      for (const seed of seeds) {
        const r = runGclExperiment(e, seed, { backend: ctx.backend });
        fs.push(r.final.objective!);
        gs.push(r.final.objectiveGradNorm!);
      }
      finalF.set(name, fs);
      finalGrad.set(name, gs);
    }
    const Fstar = finalF.get(REFERENCE)!;
    const gap = (arm: string) => finalF.get(arm)!.map((f, s) => f - Fstar[s]!);

    let margin = Infinity;
    // (i) SogCLR below SimCLR, every seed, at the small sizes.
    const beats: Record<string, unknown>[] = [];
    for (const B of smallBs) {
      const d = gap(`SimCLR B=${B}`).map((x, s) => x - gap(`SogCLR B=${B}`)[s]!);
      const p = paired(d);
      const minOverSe = Math.min(...d) / p.se;
      margin = Math.min(margin, minOverSe);
      beats.push({ B, simclrMinusSogclr: d, ...p, minOverSE: minOverSe, everySeed: d.every((x) => x > 0) });
    }
    // (ii) SimCLR's gap ordered in B.
    const order: Record<string, unknown>[] = [];
    for (let k = 0; k + 1 < orderBs.length; k++) {
      const [B, B2] = [orderBs[k]!, orderBs[k + 1]!];
      const d = gap(`SimCLR B=${B}`).map((x, s) => x - gap(`SimCLR B=${B2}`)[s]!);
      const p = paired(d);
      const room = p.mean / p.se - Z_ORDER;
      margin = Math.min(margin, room);
      order.push({ B, B2, gapBMinusGapB2: d, ...p, zOverSE: p.mean / p.se, room });
    }
    // Caveat numbers: DCL against SogCLR, and every arm's gap and ‖∇F‖.
    const dclVsSog = orderBs.map((B) => ({ B, ...paired(gap(`DCL B=${B}`).map((x, s) => x - gap(`SogCLR B=${B}`)[s]!)) }));
    const table = METHODS.flatMap((m) => orderBs.map((B) => {
      const g = stats(gap(`${m} B=${B}`));
      return { method: m, B, gapMean: g.mean, gapSd: g.sd, gradNormMean: mean(finalGrad.get(`${m} B=${B}`)!) };
    }));
    const dclNoWorse = dclVsSog.every((r) => r.mean <= Z_ORDER * r.se);
    const pass = margin > 0;
    const figRows = table.map((r) => ({ series: r.method, B: r.B, gap: r.gapMean, lo: r.gapMean - r.gapSd, hi: r.gapMean + r.gapSd }));
    const at = (m: string, B: number) => table.find((r) => r.method === m && r.B === B)!;
    const Bmid = smallBs[smallBs.length - 1]!;
    return {
      pass, margin, marginUnit: 'standard errors of the paired (by seed) differences beyond the rule',
      numbers: {
        study: study.name, size: ctx.size, seeds, orderBs, smallBs, zOrder: Z_ORDER, Fstar,
        sogclrBelowSimclr: beats, simclrGapOrderedInB: order, dclMinusSogclr: dclVsSog, dclNoWorseThanSogclr: dclNoWorse, finalGaps: table,
      },
      figures: [{
        name: 'sog-small-batch-gap-vs-B',
        spec: lineChartWithBands({
          title: 'Final exact F − F* against B (same epoch budget)',
          subtitle: `${study.name}: N = ${(study.experiments[0]!.data as { n: number }).n}, ${seeds.length} seeds, band ± 1 sd`,
          x: { field: 'B', title: 'batch size B', scale: 'log2' }, y: { field: 'gap', title: 'F − F*', scale: 'log' },
          series: 'series', rows: figRows, points: true,
        }),
      }],
      summary: `SogCLR ends below SimCLR ${beats.every((b) => b.everySeed) ? 'for every seed' : 'NOT for every seed'} at B ∈ {${smallBs.join(', ')}} (at B = ${Bmid}: gap ${at('SogCLR', Bmid).gapMean.toFixed(4)} vs ${at('SimCLR', Bmid).gapMean.toFixed(4)}), `
        + `and SimCLR's gap ${order.every((o) => (o.room as number) > 0) ? 'grows as B shrinks beyond 2 SE at every step' : 'is NOT ordered in B beyond 2 SE at every step'} (${orderBs.map((B) => at('SimCLR', B).gapMean.toFixed(4)).join(' → ')} for B = ${orderBs.join(', ')}). `
        + `Caveat: DCL (ε₀ = 0) − SogCLR = ${dclVsSog.map((r) => `${r.mean.toExponential(1)} ± ${r.se.toExponential(1)}`).join(', ')} (B = ${orderBs.join(', ')}; mean ± SE): `
        + (dclNoWorse
          ? 'DCL, the plug-in estimator of the same F, is no worse than SogCLR beyond 2 SE, so the gain over SimCLR comes from SimCLR\'s ε₀ = 1/(2B−2), not from the moving average.'
          : 'DCL is worse than SogCLR beyond 2 SE at some B, so part of the gain is the moving average\'s.'),
    };
  },
};
