/**
 * cho.prop1.minibatch-and-full-differ — CHO's Proposition 1 as restated for this toolkit
 * ([fig][derived]; the statement below is THEORY 2.2/3's reading of it, not a quotation):
 *
 *  (a) Over a STRICT subset 𝔅 of the C(N,B) batches the mini-batch objective L_𝔅 and the
 *      full-batch objective L are different functions: there are configurations X1, X2 with
 *      L(X1) < L(X2) but L_𝔅(X1) > L_𝔅(X2) — no constant shift (or any increasing map) turns one
 *      into the other. X1 = a full-batch minimiser and X2 = a minimiser of L_𝔅, both found by
 *      projected GD (solveExact) from random starts, for two kinds of strict subset: a fixed
 *      disjoint partition (B | N) and all batches but one.
 *  (b) Over ALL C(N,B) batches (d ≥ N−1) the minimisers coincide — GD on L_all and on L from
 *      random starts end at the same Gram matrix (the ETF's) within the quadratic-model bounds
 *      of etf-optimal.ts — while the minimum VALUES differ: log(1+(B−1)e^{−N/((N−1)τ)}) against
 *      log(1+(N−1)e^{−N/((N−1)τ)}), and L_all − L is not even constant: its spread over random
 *      feasible points exceeds rounding.
 *
 * Each condition gives a room in decades (log10 of observed / allowance, or of bound / observed);
 * the margin is the smallest. Allowances: a difference of two evaluations gets the sum of their
 * rounding allowances (infonceRoundoff); a minimum value reached by GD gets the quadratic-model gap
 * bound g²/μ (convergenceBounds) on top. Convergence of every GD run to g ≤ 1e-9 is a gate.
 */
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { combinations } from '../../src/core/combinatorics.ts';
import type { Matrix64 } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { infonceLossAndGrad, minibatchLossAndGrad, type ObjectiveSpec } from '../../src/objectives/index.ts';
import { allBatchesInfonce, etfInfonce } from '../../src/optima/closedForms.ts';
import { simplexEtf } from '../../src/optima/etf.ts';
import { solveExact } from '../../src/solver/exact.ts';
import { scatterChart } from '../../src/plot/charts.ts';
import {
  CLOSED_FORM_REL_TOL, convergenceBounds, etfSpectralNorm, gramRoundoff, infonceRoundoff, maxRowDeviation, riemannianHessianSpectrum,
} from './etf-optimal.ts';

interface Setting {
  readonly n: number;
  readonly B: number;
  readonly d: number;
  readonly tau: number;
}

const SMOKE = { settings: [{ n: 4, B: 2, d: 3, tau: 1 }] as Setting[], seeds: 1, randomPoints: 40 };
const FULL = {
  settings: [{ n: 4, B: 2, d: 3, tau: 1 }, { n: 6, B: 2, d: 5, tau: 1 }, { n: 6, B: 3, d: 6, tau: 0.5 }, { n: 8, B: 4, d: 7, tau: 1 }] as Setting[],
  seeds: 2,
  randomPoints: 200,
};
const TOL = 1e-9;
const STEPS = 50000;

function log10Ratio(x: number, allowance: number): number {
  return x > 0 ? Math.log10(x / allowance) : -Infinity;
}

export const claim: Claim = {
  id: 'cho.prop1.minibatch-and-full-differ',
  source: { paper: 'CHO', where: 'Prop. 1 (as restated in THEORY 2.2/3; [fig][derived])', tag: 'derived' },
  statement: 'The mini-batch objective over a strict subset of the $\\binom{N}{B}$ batches and the full-batch objective order some pairs of configurations oppositely (so they differ by more than a constant); over all $\\binom{N}{B}$ batches ($d \\ge N-1$) their minimisers coincide (the ETF Gram) while their values, and their difference across configurations, do not (checked at $(N, B, d, \\tau) = (4, 2, 3, 1)$ (smoke) and up to $N = 8$ (full)).',
  assumptions: ['unit-norm rows', 'd ≥ N−1', 'B < N', "THEORY 2.2's average over batches (CHO's sum has the same minimisers and orderings)"],
  kind: 'counterexample',
  mutants: ['riemannian-projection-dropped'],
  explanation: "CHO's Proposition 1 wording was not available to this check; the statement is this toolkit's restatement (THEORY 2.2/3, tagged [fig][derived] there), not a quotation. "
    + 'Finding beyond it: even over ALL C(N,B) batches, where the minimisers coincide, the two objectives order about 1% of random pairs of configurations oppositely (numbers.results, orderReversalsAmongPairs).',
  check(ctx: ClaimContext): Verdict {
    const cfg = ctx.size === 'full' ? FULL : SMOKE;
    const backend = ctx.backend;
    const rng = ctx.rng('prop1');
    const rooms: { name: string; decades: number }[] = [];
    let gateFail = 0;
    const results: Record<string, unknown>[] = [];
    const scatterRows: Record<string, unknown>[] = [];

    for (const s of cfg.settings) {
      const { n, B, d, tau } = s;
      const allBatches = Array.from(combinations(n, B), (c) => Array.from(c));
      const full = (U: Matrix64, V: Matrix64) => infonceLossAndGrad(U, V, { tau, backend, grad: false }).value;
      const sub = (list: number[][]) => (U: Matrix64, V: Matrix64) => minibatchLossAndGrad(U, V, { tau, backend, grad: false, batches: { kind: 'list', batches: list } }).value;
      const lossAll = (U: Matrix64, V: Matrix64) => minibatchLossAndGrad(U, V, { tau, backend, grad: false, batches: { kind: 'all', B } }).value;
      const allowFull = (U: Matrix64, V: Matrix64, L: number) => infonceRoundoff(n, d, tau, maxRowDeviation(U, V), L);
      const allowSub = (U: Matrix64, V: Matrix64, L: number) => infonceRoundoff(B, d, tau, maxRowDeviation(U, V), L);
      const solve = (objective: ObjectiveSpec, r: Rng) => {
        const out = solveExact({ n, d, objective, steps: STEPS, lr: 1, tol: TOL, seed: r.nextU32(), backend, logEvery: STEPS });
        if (!out.converged) gateFail++;
        return out;
      };

      for (let seed = 0; seed < cfg.seeds; seed++) {
        ctx.progress(`N=${n} B=${B} d=${d} tau=${tau} seed ${seed}`);
        const X1 = solve({ name: 'infonce', tau }, rng);

        // (a) strict subsets: a random fixed partition (when B | N) and all batches but a random one.
        const subsets: { kind: string; list: number[][] }[] = [];
        if (n % B === 0) {
          const perm = Array.from(rng.permutation(n));
          subsets.push({ kind: 'partition', list: Array.from({ length: n / B }, (_, k) => perm.slice(k * B, (k + 1) * B)) });
        }
        const dropped = rng.int(allBatches.length);
        subsets.push({ kind: 'all-but-one', list: allBatches.filter((_, k) => k !== dropped) });
        for (const { kind, list } of subsets) {
          const X2 = solve({ name: 'minibatch', tau, batches: { kind: 'list', batches: list } }, rng);
          const Ls = sub(list);
          const f1 = full(X1.U, X1.V);
          const f2 = full(X2.U, X2.V);
          const s1 = Ls(X1.U, X1.V);
          const s2 = Ls(X2.U, X2.V);
          const dFull = f2 - f1; // > 0: the full batch prefers X1
          const dSub = s1 - s2; // > 0: the subset prefers X2
          const aFull = allowFull(X1.U, X1.V, f1) + allowFull(X2.U, X2.V, f2);
          const aSub = allowSub(X1.U, X1.V, s1) + allowSub(X2.U, X2.V, s2);
          const decades = Math.min(log10Ratio(dFull, aFull), log10Ratio(dSub, aSub));
          rooms.push({ name: `${kind} N=${n} B=${B} τ=${tau} seed ${seed}: order reversal`, decades });
          results.push({ ...s, seed, part: 'a', subset: kind, batches: list.length, ofAll: allBatches.length, fullAt: { X1: f1, X2: f2 }, subsetAt: { X1: s1, X2: s2 }, dFull, dSub, allowFull: aFull, allowSub: aSub, decades, converged: X2.converged });
          scatterRows.push({ subset: kind, setting: `N=${n}, B=${B}, τ=${tau}`, dFull, dSub });
        }

        // (b) all C(N,B) batches: same minimiser (Gram), different values.
        const Xa = solve({ name: 'minibatch', tau, batches: { kind: 'all', B } }, rng);
        const E = simplexEtf(n, d, { rng });
        const muFull = riemannianHessianSpectrum({ name: 'infonce', tau }, E, E, backend).mu;
        const muAll = riemannianHessianSpectrum({ name: 'minibatch', tau, batches: { kind: 'all', B } }, E, E, backend).mu;
        const gF = X1.trace[X1.trace.length - 1]!.gradNorm;
        const gA = Xa.trace[Xa.trace.length - 1]!.gradNorm;
        const bF = convergenceBounds(gF, muFull, etfSpectralNorm(n));
        const bA = convergenceBounds(gA, muAll, etfSpectralNorm(n));
        // ‖G_a − G_1‖ ≤ ‖G_a − G*‖ + ‖G* − G_1‖ ≤ bA.distance + bF.distance.
        let sq = 0;
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < n; j++) {
            let ga = 0;
            let g1 = 0;
            for (let k = 0; k < d; k++) {
              ga += Xa.U.data[i * d + k]! * Xa.V.data[j * d + k]!;
              g1 += X1.U.data[i * d + k]! * X1.V.data[j * d + k]!;
            }
            sq += (ga - g1) ** 2;
          }
        }
        const gramGap = Math.sqrt(sq);
        const gramBound = bA.distance + bF.distance + 2 * gramRoundoff(n, d);
        rooms.push({ name: `all N=${n} B=${B} τ=${tau} seed ${seed}: same Gram`, decades: decadesBelow(gramGap, gramBound) });
        const vA = lossAll(Xa.U, Xa.V);
        const vF = full(X1.U, X1.V);
        const cfA = allBatchesInfonce(n, B, tau);
        const cfF = etfInfonce(n, tau);
        // Values differ: vF − vA > 0 beyond what rounding and the distance from the exact minima could explain.
        const valueAllow = bF.gap + bA.gap + allowFull(X1.U, X1.V, vF) + allowSub(Xa.U, Xa.V, vA);
        rooms.push({ name: `all N=${n} B=${B} τ=${tau} seed ${seed}: values differ`, decades: log10Ratio(vF - vA, valueAllow) });
        // ... and each equals its own closed form (the difference is the closed-form difference).
        const cfAllow = valueAllow + CLOSED_FORM_REL_TOL * (cfA + cfF);
        const cfErr = Math.abs((vF - vA) - (cfF - cfA));
        rooms.push({ name: `all N=${n} B=${B} τ=${tau} seed ${seed}: difference = closed-form difference`, decades: decadesBelow(cfErr, cfAllow) });
        results.push({
          ...s, seed, part: 'b', gramGap, gramGapBound: gramBound, muFull, muAll, valueFull: vF, valueAll: vA,
          closedFull: cfF, closedAll: cfA, valueDifference: vF - vA, valueAllowance: valueAllow, converged: Xa.converged && X1.converged,
        });
      }

      // (b') L_all − L is not constant: its spread over random feasible points.
      const diffs: { f: number; a: number; allow: number }[] = [];
      for (let k = 0; k < cfg.randomPoints; k++) {
        const U = normalizeRows(rng.fillNormalMatrix(n, d));
        const V = k % 2 === 0 ? U : normalizeRows(rng.fillNormalMatrix(n, d));
        const f = full(U, V);
        const a = lossAll(U, V);
        diffs.push({ f, a, allow: allowFull(U, V, f) + allowSub(U, V, a) });
      }
      const ds = diffs.map((x) => x.a - x.f);
      const spread = Math.max(...ds) - Math.min(...ds);
      const spreadAllow = 2 * Math.max(...diffs.map((x) => x.allow));
      let reversals = 0;
      for (let p = 0; p < diffs.length; p++) {
        for (let q = p + 1; q < diffs.length; q++) if ((diffs[p]!.f - diffs[q]!.f) * (diffs[p]!.a - diffs[q]!.a) < 0) reversals++;
      }
      rooms.push({ name: `all N=${n} B=${B} τ=${tau}: L_all − L not constant`, decades: log10Ratio(spread, spreadAllow) });
      results.push({ ...s, part: "b'", randomPoints: diffs.length, spreadOfDifference: spread, spreadAllowance: spreadAllow, orderReversalsAmongPairs: reversals, pairs: (diffs.length * (diffs.length - 1)) / 2 });
    }

    let worst = rooms[0]!;
    for (const r of rooms) if (r.decades < worst.decades) worst = r;
    const margin = gateFail > 0 ? Math.min(worst.decades, -gateFail) : worst.decades;
    const figure = scatterChart({
      title: 'Prop. 1: order reversals between a strict subset and the full batch',
      subtitle: [
        'One point per run: x = L(X2) − L(X1) (full batch prefers X1), y = L_sub(X1) − L_sub(X2) (subset prefers X2);',
        'X1 = full-batch minimiser, X2 = subset minimiser (GD from random starts); both > 0 = reversed order',
      ],
      x: { field: 'dFull', title: 'full-batch loss difference L(X2) − L(X1)', scale: 'log' },
      y: { field: 'dSub', title: 'subset loss difference L_sub(X1) − L_sub(X2)', scale: 'log' },
      series: 'subset',
      seriesTitle: 'strict subset',
      rows: scatterRows,
    });
    return {
      pass: margin > 0,
      margin,
      marginUnit: 'decades (min over conditions of log10 observed/allowance or bound/observed); −(unconverged runs) if any',
      numbers: { rooms, worst, unconvergedRuns: gateFail, results },
      figures: [{ name: 'prop1-order-reversal', spec: figure }],
      summary: `Strict subsets (partition, all-but-one) reverse the full-batch order of their own minimiser and the full-batch minimiser in every run; over all C(N,B) batches GD ends at the same Gram matrix for both objectives while the values differ by the closed-form gap. `
        + `Tightest condition: ${worst.name} (${worst.decades.toFixed(2)} decades).`,
    };
  },
};
