/**
 * sog.annealed.sogclr-beats-dcl — what SogCLR's moving average buys over the plug-in estimator of the
 * SAME objective (THEORY 5 [derived]; SOG's theorems [unverified]).
 *
 * Decision (review of sog.small-batch-sogclr-beats-simclr): that claim still held with SogCLR's γ
 * forced to 1 (the moving average off, i.e. DCL), because what separates SimCLR from SogCLR at a
 * constant step is SimCLR's ε₀ = 1/(2B−2), not the moving average; with a constant step DCL ends as
 * low as SogCLR (both sit at the step's noise floor, which hides the plug-in's bias). This claim
 * separates SogCLR from DCL (plug-in, ε₀ = 0) in the regime where the moving average matters: the step
 * cosine-annealed to 0 over a long budget, so that the noise vanishes and each method settles at its
 * own stationary point — DCL at that of the EXPECTED plug-in objective (biased by O(1/B): the Jensen
 * bias of sog.plugin.biased-decreasing-in-b), SogCLR near that of F (its u tracks g once the
 * parameters stop moving). The SimCLR comparison stays its own claim, unchanged.
 *
 * Setting: the `sogclr-annealed` preset (src/experiments/presets/sogclr.ts): linear encoder (d = 16) on 8
 * synthetic classes in R^32, fixed training views (every method minimises the logged F), unimodal GCL
 * τ = 0.1, ε₀ = 0 evaluated exactly at the end, momentum SGD (0.9) with lr 0.5 cosine-annealed to 0
 * (src/optim warmupCosine with warm-up 0), SogCLR γ = 0.9 (the preset's γ, not tuned here).
 * Sizes (chosen before the verdicts below were read, from the review's measurement that the effect
 * is ~6e-4 at B = 8 and ~2.4e-4 at B = 32 with 200–400 annealed epochs):
 *   smoke: N = 128, 100 epochs, B = 8, seeds 0–7 (≈ 5 s);
 *   full:  N = 256, 200 epochs, judged at B ∈ {8, 16}, B = 32 reported (the effect shrinks like 1/B
 *          while the end-of-run noise does not: at 5 seeds it is not resolved, see `explanation`).
 *
 * Confidence rule (stated in advance; comparisons paired by seed — same data, same initial encoder —
 * so F* cancels and none is computed): at every judged B, F_DCL − F_SogCLR > TIE for EVERY seed.
 * TIE = 1e-6 treats smaller differences as ties: F is O(1) and evaluated in float64 (rounding ~1e-14),
 * and the effect under test is ~1e-3 at B = 8, so 1e-6 separates "the estimators are the same" (the
 * `sogclr-gamma-one` mutant makes SogCLR exactly DCL: differences at rounding level) from the effect
 * by three decades either way.
 * Margin, in standard errors of the paired differences: min over judged (B, seed) of (d − TIE)/SE_B.
 */
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { train as runGclExperiment } from '../../src/experiments/train.ts';
import type { ExperimentSpec as GclExperimentSpec } from '../../src/experiments/types.ts';
import { expandStudy } from '../../src/experiments/studyLanguage.ts';
import { ANNEALED_SIZES, findPreset } from '../../src/experiments/presets/index.ts';
import { stats } from '../../src/experiments/summary.ts';
import type { StudySpec } from '../../src/experiments/types.ts';
import { lineChartWithBands } from '../../src/plot/charts.ts';

const PRESET = 'sogclr-annealed';
/** Differences of final F below this are ties (see the header: 1e-14 rounding ≪ 1e-6 ≪ the 1e-3 effect). */
const TIE = 1e-6;
/** The batch sizes judged per size; the preset's others are reported. */
const JUDGED = { smoke: [8], full: [8, 16] } as const;

export const claim: Claim = {
  id: 'sog.annealed.sogclr-beats-dcl',
  source: { paper: 'SOG', where: 'Thm (SogCLR: moving-average estimator, no 1/B bias) [unverified]; synthetic consequence, THEORY 5 [derived]', tag: 'unverified' },
  statement: 'With the step cosine-annealed to 0 over a long budget (momentum SGD, lr 0.5 → 0), at small B SogCLR ($\\gamma = 0.9$) ends at a lower exact objective $F$ than DCL, '
    + 'the plug-in estimator of the same $F$ ($\\varepsilon_0 = 0$), at every seed — the moving average removes the plug-in\'s bias that a decaying step no longer hides behind gradient noise '
    + '(checked on the sogclr-annealed study: smoke N = 128, 100 epochs, B = 8, 8 seeds; full N = 256, 200 epochs, B ∈ {8, 16} judged, 5 seeds).',
  assumptions: [
    `the '${PRESET}' study of src/experiments/presets/sogclr.ts: linear encoder (d = 16) on 8 synthetic classes in R^32, fixed training views, unimodal GCL τ = 0.1, ε₀ = 0`,
    'momentum 0.9, lr 0.5 cosine-annealed to 0 over the run (no warm-up); SogCLR γ = 0.9 per-anchor u; DCL = plug-in with ε₀ = 0',
    'paired by seed (same data and initial encoder), so F* cancels; seeds fixed (0–7 smoke, 0–4 full), independent of the runner\'s --seed',
    'smoke: N = 128, 100 epochs, B = 8; full: N = 256, 200 epochs, B ∈ {8, 16} judged and B = 32 reported',
  ],
  kind: 'inequality',
  mutants: ['sogclr-gamma-one'],
  explanation: 'Measured regime dependence (before this claim was written, same preset data and model, 5 seeds): with a constant step and a short budget DCL matches SogCLR within noise '
    + '(sog.small-batch-sogclr-beats-simclr: DCL − SogCLR ≤ 3e-4, under 3 SE, at N = 1024, 30 epochs). With the step annealed, DCL ends above SogCLR: at N = 256, 200 epochs, '
    + 'by 5e-4 to 1.3e-3 at B = 8 and 2e-4 to 8e-4 at B = 16 (every seed), by 2.4e-4 on average at B = 32 but with one seed of five below (−4.3e-4): the effect shrinks like 1/B and is '
    + 'not resolved at B = 32 with 5 seeds. Finding: at the preset\'s full N = 1024 with 200 annealed epochs the two are NOT separated at B = 8 (DCL − SogCLR from −5.2e-4 to +8.9e-5 over 5 seeds), nor with 400 epochs (−3.6e-4 to +8.6e-5): '
    + 'with N/B = 128 steps between two visits of an anchor the path noise exceeds the bias effect. The claim is stated for the sizes where it was checked. '
    + 'SogCLR at γ = 0.9 keeps most of the plug-in\'s variance in u (γ/(2−γ) ≈ 0.82 of it), so the expected gain is a fraction of the plug-in\'s own bias in F (≈ 5e-3 at B = 8 by the review\'s numpy estimate).',
  check(ctx: ClaimContext): Verdict {
    const preset = findPreset(PRESET);
    if (!preset) throw new Error(`preset '${PRESET}' not found`);
    const study = expandStudy(preset.spec(ctx.size)) as StudySpec;
    const z = ANNEALED_SIZES[ctx.size];
    const seeds = [...z.seeds];
    const judged: readonly number[] = JUDGED[ctx.size];
    const byName = new Map(study.experiments.map((e) => [e.name, e as GclExperimentSpec]));
    const finalF = new Map<string, number[]>();
    const arms = z.Bs.flatMap((B) => [`DCL B=${B}`, `SogCLR B=${B}`]);
    for (const [k, name] of arms.entries()) {
      const e0 = byName.get(name);
      if (!e0) throw new Error(`arm '${name}' is not in the ${study.name} study`);
      // Only the exact F, at the start and the end (logging draws nothing from the run's generator).
      const e: GclExperimentSpec = { ...e0, seeds, metrics: ['objective'], logEveryEpochs: (e0.budget as { epochs: number }).epochs };
      ctx.progress(`${name} (${k + 1}/${arms.length})`);
      finalF.set(name, seeds.map((seed) => runGclExperiment(e, seed, { backend: ctx.backend }).final.objective!));
    }
    let margin = Infinity;
    const rows = z.Bs.map((B) => {
      const d = finalF.get(`DCL B=${B}`)!.map((f, s) => f - finalF.get(`SogCLR B=${B}`)![s]!);
      const st = stats(d);
      const se = st.sd / Math.sqrt(d.length);
      const isJudged = judged.includes(B);
      const room = Math.min(...d.map((x) => (x - TIE) / se));
      if (isJudged) margin = Math.min(margin, Number.isFinite(room) ? room : -Infinity);
      return { B, judged: isJudged, dclMinusSogclr: d, mean: st.mean, sd: st.sd, se, everySeedAboveTie: d.every((x) => x > TIE), minOverSE: room };
    });
    const pass = margin > 0;
    const fmt = (r: (typeof rows)[number]) => `B = ${r.B}${r.judged ? '' : ' (reported)'}: ${r.mean.toExponential(1)} ± ${r.se.toExponential(1)} (min ${Math.min(...r.dclMinusSogclr).toExponential(1)})`;
    return {
      pass, margin: Number.isFinite(margin) ? margin : -1e9, marginUnit: 'standard errors of the paired (by seed) differences: min over judged (B, seed) of (F_DCL − F_SogCLR − 1e-6)/SE',
      numbers: { study: study.name, size: ctx.size, n: z.n, epochs: z.epochs, seeds, judgedBs: judged, tie: TIE, perB: rows },
      figures: [{
        name: 'sog-annealed-dcl-minus-sogclr',
        spec: lineChartWithBands({
          title: 'Final F_DCL − F_SogCLR against B, cosine-annealed step',
          subtitle: `${study.name}: N = ${z.n}, ${z.epochs} epochs, ${seeds.length} seeds, band ± 1 SE`,
          x: { field: 'B', title: 'batch size B', scale: 'log2' }, y: { field: 'd', title: 'F_DCL − F_SogCLR' },
          series: 'series', rows: rows.map((r) => ({ series: 'DCL − SogCLR', B: r.B, d: r.mean, lo: r.mean - r.se, hi: r.mean + r.se })), points: true,
        }),
      }],
      summary: `Cosine-annealed step, N = ${z.n}, ${z.epochs} epochs, ${seeds.length} seeds: DCL − SogCLR in final exact F (mean ± SE) ${rows.map(fmt).join('; ')}. `
        + (pass ? `SogCLR ends below DCL at every seed at every judged B (${judged.join(', ')}): the moving average, not only ε₀, separates them in this regime.`
          : 'SogCLR does NOT end below DCL at every seed at every judged B.'),
    };
  },
};
