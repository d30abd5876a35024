/**
 * cho.osgd.rectangle-at-cho-step — the rectangle arm of cho.osgd.fewer-epochs-than-reshuffled at CHO's
 * step (lr 1 in the toolkit's averaged convention; CHO's 0.5 on their summed loss): refuted here.
 *
 * Decision (independent review): the rectangle arm of the OSGD claim passed only because of its step,
 * lr 0.05, where OSGD's limit cycle (angle error 0.385° at every step of the cycle) sits just under the
 * 0.5° threshold. At CHO's step the same toy is judged here with a criterion that cannot hide a limit
 * cycle — the first epoch in which EVERY step ends with the angle error ≤ 0.5° (the maximum over the
 * epoch) — and OSGD loses: its cycle has angle error 7.38° at every step, so it never gets there,
 * while reshuffled SGD, which fluctuates widely (1°–60° late in a run), passes through whole epochs
 * within 0.5° (measured: epochs 42–625 in 5 seeds). With the old first-logged-step criterion the
 * outcome is the same (reshuffled ≈ 40–300 epochs, OSGD never). Split off as its own claim, expected
 * refuted; the OSGD claim states the step.
 *
 * Mechanism: a two-point batch is minimised by antipodal points, so at the square (θ = π/4) the
 * max-loss pair's gradient does not vanish; OSGD keeps stepping on the pair with the smallest gap and
 * overshoots by an amount that grows with the step (0.385° at lr 0.05, 0.77° at 0.1, 1.53° at 0.2,
 * 7.38° at 1): a limit cycle around the square, not convergence to it.
 *
 * Judge (refutation reproduced): the exact one-sided Mann–Whitney test of "OSGD needs fewer epochs"
 * (osgd-faster.ts) does NOT reject at α = 0.01, OSGD's last epoch has angle error above 0.5° (its limit
 * cycle is outside the neighbourhood), and reshuffled SGD reaches the neighbourhood in at least one
 * run (so the loss is OSGD's, not a tie of two arms that never arrive).
 * Signed margin: log10(p / α) (> 0 when the speed-up is not significant); −1 if OSGD ends inside the
 * neighbourhood or reshuffled SGD never reaches it.
 * Mutants: `reshuffle-reuses-first-epoch` (a fixed partition: reshuffled SGD converges to antipodal
 * pairs, never the square) must make the check fail (reshuffled never reaches).
 */
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { ALPHA, ARMS, mannWhitneyLess, median, rectangle, runToThreshold } from './osgd-faster.ts';

/** CHO's step in the toolkit's averaged convention; the budget: 1000 epochs (reshuffled reached within 625 in every measured run). */
const LR = 1;
const EPOCHS = 1000;
const SEEDS = { smoke: 6, full: 20 } as const;

export const claim: Claim = {
  id: 'cho.osgd.rectangle-at-cho-step',
  source: { paper: 'CHO', where: 'Sec. 4 (OSGD) at CHO\'s step; THEORY 4 rectangle toy', tag: 'derived' },
  statement: 'On the rectangle toy at CHO\'s step (N = 4, d = 2, B = 2, τ = 1, θ₀ = 10°, projected SGD with lr 1 in the averaged convention), ordered SGD reaches the first epoch whose every step ends '
    + 'within 0.5° of $\\theta = \\pi/4$ in fewer epochs than reshuffled SGD (exact one-sided Mann–Whitney, α = 0.01; budget 1000 epochs).',
  assumptions: [
    'projected SGD with a constant step lr 1; OSGD ties broken in lexicographic order (its path is the same for every seed)',
    'criterion: the maximum of the angle error over an epoch\'s two steps ≤ 0.5°; runs that never reach it within 1000 epochs are censored at +∞',
    'independent seeds per arm: 6 (smoke), 20 (full)',
  ],
  kind: 'counterexample',
  expected: 'refuted',
  mutants: ['reshuffle-reuses-first-epoch'],
  explanation: 'Measured: OSGD ends in a limit cycle whose angle error is 7.38° at every step (the max-loss pair is stepped on and overshoots the square by an amount that grows with the step), '
    + 'so it never gets within 0.5°, while reshuffled SGD passes through whole epochs within 0.5° (first such epoch 42–625 in 5 seeds). OSGD is therefore not faster here; '
    + 'at lr 0.05 (cycle 0.385°) it is (cho.osgd.fewer-epochs-than-reshuffled). The speed-up of THEORY 4\'s rectangle toy depends on the step being small enough for the cycle to fit in the neighbourhood.',
  check(ctx: ClaimContext): Verdict {
    const s = rectangle(LR, EPOCHS);
    const rng = ctx.rng('seeds');
    const epochs: Record<string, number[]> = { OSGD: [], reshuffled: [] };
    const lastEpochMax: Record<string, number[]> = { OSGD: [], reshuffled: [] };
    for (const arm of ARMS) {
      ctx.progress(`rectangle lr ${LR}: ${arm.label}`);
      for (let k = 0; k < SEEDS[ctx.size]; k++) {
        const r = runToThreshold(s, arm.sampler, rng.nextU32(), ctx.backend);
        epochs[arm.label]!.push(r.epochs);
        lastEpochMax[arm.label]!.push(r.final);
      }
    }
    const test = mannWhitneyLess(epochs.OSGD!, epochs.reshuffled!);
    const reverse = mannWhitneyLess(epochs.reshuffled!, epochs.OSGD!);
    const reached = (xs: number[]) => xs.filter(Number.isFinite).length;
    const notSignificant = test.p > ALPHA;
    const osgdCycle = Math.min(...lastEpochMax.OSGD!);
    const osgdOutside = reached(epochs.OSGD!) === 0 && osgdCycle > s.below;
    const reshuffledArrives = reached(epochs.reshuffled!) > 0;
    const pass = notSignificant && osgdOutside && reshuffledArrives;
    const margin = osgdOutside && reshuffledArrives ? Math.log10(test.p / ALPHA) : -1;
    return {
      pass,
      margin,
      marginUnit: 'decades: log10(p / α) of the speed-up test (> 0: not significant, the refutation holds); −1 if OSGD ends inside 0.5° or reshuffled never arrives',
      numbers: {
        lr: LR, budgetEpochs: EPOCHS, seedsPerArm: SEEDS[ctx.size], alpha: ALPHA, threshold: `max over an epoch of the angle error ≤ ${s.below}°`,
        speedUpTest: { p: test.p, U: test.U }, reverseTestReshuffledFaster: { p: reverse.p, U: reverse.U },
        osgd: { epochs: epochs.OSGD, reached: reached(epochs.OSGD!), lastEpochMaxAngleError: lastEpochMax.OSGD },
        reshuffled: { epochs: epochs.reshuffled, reached: reached(epochs.reshuffled!), median: median(epochs.reshuffled!), lastEpochMaxAngleError: lastEpochMax.reshuffled },
      },
      summary: `At lr ${LR}, OSGD reached an epoch within 0.5° in ${reached(epochs.OSGD!)}/${SEEDS[ctx.size]} runs (its last epoch: angle error ${osgdCycle.toFixed(2)}°, a limit cycle), reshuffled SGD in `
        + `${reached(epochs.reshuffled!)}/${SEEDS[ctx.size]} (median ${median(epochs.reshuffled!)} epochs); speed-up test p = ${test.p.toExponential(2)} (α = ${ALPHA}): `
        + `${notSignificant ? 'not significant' : 'significant'}; reshuffled faster: p = ${reverse.p.toExponential(2)}.`,
    };
  },
};
