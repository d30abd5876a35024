/**
 * sog.sum-storage-pitfall — THEORY 5, implementation pitfalls: "storing u1 + u2 (sum) instead of the
 * mean — its fixed point inflates u by 2γ(1−γ)/(2γ−1) + γ and diverges for γ ≤ 1/2".
 *
 * The algebra (per the estimator's own derivation in src/estimators/sogclr.ts and the tests): with a
 * shared slot S per example and SOG's update, each anchor a ∈ {1, 2} of the example uses
 *   u_a = (1−γ)·S + γ·ĝ_a                       (its weight is ĝ_a/(ε₀ + u_a))
 * and the slot stores S' = (u_1 + u_2)/2 (correct) or S' = u_1 + u_2 (the pitfall):
 *   S' = 2(1−γ)·S + γ·(ĝ_1 + ĝ_2) = 2(1−γ)·S + 2γ·ḡ̂,    ḡ̂ = (ĝ_1 + ĝ_2)/2,
 * a linear recursion with factor ρ = 2(1−γ):
 *   γ > 1/2: ρ < 1, it contracts to S* = 2γ·ḡ/(2γ−1) (in expectation when ĝ is random, E ĝ_a = g_a);
 *   γ = 1/2: S_k = S_1 + (k−1)·ḡ, linear growth; γ < 1/2: ρ > 1, geometric growth (S_k − S* = ρ^{k−1}(S_1 − S*),
 *   S* < 0 then). First visit: S_1 = ĝ_1 + ĝ_2 = 2ḡ.
 * At S* the used values are u_a = (1−γ)·S* + γ·g_a, with mean over the two anchors
 *   ū = (1−γ)·2γḡ/(2γ−1) + γḡ = [2γ(1−γ)/(2γ−1) + γ]·ḡ = [(2γ − 2γ² + 2γ² − γ)/(2γ−1)]·ḡ = γ/(2γ−1)·ḡ.
 * So THEORY's factor 2γ(1−γ)/(2γ−1) + γ is right read as a multiplier on the u that ENTERS THE
 * WEIGHTS (view-averaged; exact per anchor when g_1 = g_2), and it equals γ/(2γ−1) (1.125 at γ = 0.9,
 * 3 at γ = 0.6); the STORED sum itself settles at 2γ/(2γ−1)·ḡ (the correct mean storage: ḡ, and its
 * used u's average ḡ). With ε₀ = 0 the weights — and the estimate's scale — shrink by (2γ−1)/γ.
 *
 * Checks, all through the real estimator (makeEstimator, sharedU, pitfalls.sumStorage):
 *  1. the algebraic identity 2γ(1−γ)/(2γ−1) + γ = γ/(2γ−1) on a grid of γ ∈ (1/2, 1], to rounding;
 *  2. fixed batch (the full data set, so ĝ = g exactly): stored S → 2γ/(2γ−1)·ḡ and ū = S*·½ → γ/(2γ−1)·ḡ
 *     for γ ∈ {0.55, 0.6, 0.75, 0.9}; the mean-storage control → ḡ; and the estimate at the fixed point
 *     equals surrogateGradient at exactly the used u's (so these are the u's in the weights);
 *  3. fixed batch, γ ∈ {0.5, 0.4, 0.3}: S_k follows the diverging closed form for k = 1..60 (and the
 *     mean-storage control stays at ḡ);
 *  4. random batches holding example 0, γ = 0.9 and 0.7: the mean of the stored sum over R runs is
 *     2γ/(2γ−1)·ḡ_0 within 4 standard errors (E ĝ_a = g_a conditionally on 0 ∈ b, so E S_k obeys the
 *     same recursion).
 * Margin: decades below the bound (the rounding bound for 1–3, 4 standard errors for 4), the worst check.
 */
import { decadesBelow, type Claim, type ClaimContext, type Verdict } from '../../src/claims/types.ts';
import { gatherRows, type Matrix64 } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import {
  anchorLogG, makeEstimator, type Modality, movingAverageLogU, type SogclrState, surrogateGradient,
} from '../../src/estimators/index.ts';
import type { Estimator } from '../../src/estimators/types.ts';

const U_ROUND = 2 ** -53;
const Z = 4;

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export const claim: Claim = {
  id: 'sog.sum-storage-pitfall',
  source: { paper: 'SOG', where: 'THEORY 5, implementation pitfalls (sum storage read in code [code]; fixed point [derived])', tag: 'derived' },
  statement: 'Storing $u_1 + u_2$ instead of their mean in SogCLR\'s shared u makes the stored value settle at $\\frac{2\\gamma}{2\\gamma-1}\\,\\bar g$ for $\\gamma > 1/2$, so the u entering the weights is '
    + 'inflated by $\\frac{2\\gamma(1-\\gamma)}{2\\gamma-1} + \\gamma = \\frac{\\gamma}{2\\gamma-1}$ (view-averaged), and makes it diverge for $\\gamma \\le 1/2$ (linearly at 1/2, geometrically below) (checked at $N = 5$ with the whole data set as the batch and at $N = 8$, $B = 4$, $\\tau = 0.5$, $\\gamma \\in \\{0.9, 0.7\\}$ for the fixed point and $\\gamma \\in \\{0.5, 0.4, 0.3\\}$ for the divergence).',
  assumptions: [
    'float64; SogCLR with sharedU and pitfalls.sumStorage (mean storage as the control), ε₀ = 0, both modalities',
    'fixed batch = the whole data set (N = 5, d = 3, τ = 0.5), so ĝ = g exactly; random batches of B = 4 of N = 8 holding example 0',
    'smoke: R = 500 random-batch runs per γ (0.9, 0.7) and modality; full: R = 8000',
  ],
  kind: 'identity',
  mutants: ['u-sum-storage', 'sogclr-gamma-one'],
  explanation: 'THEORY\'s "inflates u by 2γ(1−γ)/(2γ−1) + γ" is a multiplicative factor on the u used in the weights, averaged over the two views '
    + '(exact per anchor when g1 = g2); it simplifies to γ/(2γ−1). The stored sum is 2γ/(2γ−1)·ḡ, i.e. 2× that.',
  check(ctx: ClaimContext): Verdict {
    const backend = ctx.backend;
    const rng = ctx.rng('instances');
    let margin = Infinity;
    const out: Record<string, unknown>[] = [];
    const judge = (name: string, err: number, bound: number, extra: Record<string, unknown> = {}) => {
      const m = decadesBelow(err, bound);
      margin = Math.min(margin, m);
      out.push({ check: name, err, bound, decades: m, ...extra });
    };

    // 1. The identity of the two forms of the factor.
    let worstAlg = 0;
    for (let k = 1; k <= 1000; k++) {
      const gamma = 0.5 + k / 2000; // (1/2, 1]
      const a = (2 * gamma * (1 - gamma)) / (2 * gamma - 1) + gamma;
      const b = gamma / (2 * gamma - 1);
      worstAlg = Math.max(worstAlg, Math.abs(a - b) / b);
    }
    // Each form: ≤ 4 roundings, and a/(2γ−1) amplifies the rounding of 2γ−1 by γ/(2γ−1)·... relative 1 ulp;
    // 16 ulps relative covers both sides.
    judge('2γ(1−γ)/(2γ−1) + γ = γ/(2γ−1), γ ∈ (1/2, 1] (1000 values)', worstAlg, 16 * U_ROUND);

    // 2–3. Fixed full batch: ĝ = g exactly.
    const n = 5;
    const Uf = normalizeRows(rng.fillNormalMatrix(n, 3));
    const Vf = normalizeRows(rng.fillNormalMatrix(n, 3));
    const tau = 0.5;
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const fullInput = { U: Uf, V: Vf, index: all, epoch: 0, step: 0, backend };
    const fixedPoint: Record<string, unknown>[] = [];
    for (const modality of ['bimodal', 'unimodal'] as Modality[]) {
      const lg = anchorLogG(modality, Uf, Vf, { tau, backend });
      const gbar = Array.from({ length: n }, (_, i) => (Math.exp(lg[i]!) + Math.exp(lg[n + i]!)) / 2);
      for (const gamma of [0.55, 0.6, 0.75, 0.9]) {
        const rho = 2 * (1 - gamma);
        // Iterate until the transient ρ^k·|S_1 − S*| is below 1e-18 relative.
        const K = Math.ceil(-18 / Math.log10(rho)) + 1;
        for (const sumStorage of [true, false]) {
          const est = makeEstimator({ kind: 'sogclr', modality, tau, gamma, eps0: 0, sharedU: true, pitfalls: { sumStorage } }) as Estimator<SogclrState>;
          let st = est.init(n);
          for (let k = 0; k < K; k++) st = est.step(fullInput, st).state;
          const S = movingAverageLogU(st).map(Math.exp);
          let errS = 0;
          let logSMax = 0;
          const used = new Float64Array(2 * n);
          for (let i = 0; i < n; i++) {
            // Fixed point of the stored value: sum 2γ/(2γ−1)·ḡ; mean storage (S' = (1−γ)S + γḡ): ḡ.
            const Sstar = sumStorage ? ((2 * gamma) / (2 * gamma - 1)) * gbar[i]! : gbar[i]!;
            errS = Math.max(errS, Math.abs(S[i]! - Sstar) / Sstar);
            logSMax = Math.max(logSMax, Math.abs(Math.log(S[i]!)), Math.abs(lg[i]!), Math.abs(lg[n + i]!));
            // The u's the next step's weights will use, from the MEASURED stored value (SOG's update).
            used[i] = (1 - gamma) * S[i]! + gamma * Math.exp(lg[i]!);
            used[n + i] = (1 - gamma) * S[i]! + gamma * Math.exp(lg[n + i]!);
          }
          // Rounding: u is stored as (s, b) with log u = b + log s and updated in log space (log1p, two
          // additions, logaddexp, exp, log); each addition of log-magnitudes up to L = max |log u|, |log ĝ|
          // rounds log u by ≤ u·(L + 1), i.e. u by that relative amount: per step ≤ (8 + 4L)·u relative.
          // The contraction ρ accumulates these into ≤ (8 + 4L)·u/(1 − ρ); the transient is ≤ 1e-18 by
          // the choice of K. Mean storage contracts with factor (1−γ) < ρ; the same bound covers it.
          const boundS = ((8 + 4 * logSMax) * U_ROUND) / (1 - rho) + 1e-18;
          judge(`${modality} γ = ${gamma}: stored ${sumStorage ? 'sum → 2γ/(2γ−1)·ḡ' : 'mean → ḡ'}`, errS, boundS, { K });
          // The used u's average: ū = S*·½ (sum) and the factor γ/(2γ−1) against the mean-storage ū = ḡ.
          let errFactor = 0;
          for (let i = 0; i < n; i++) {
            const ubar = (used[i]! + used[n + i]!) / 2;
            const factor = sumStorage ? gamma / (2 * gamma - 1) : 1;
            errFactor = Math.max(errFactor, Math.abs(ubar - factor * gbar[i]!) / (factor * gbar[i]!));
          }
          judge(`${modality} γ = ${gamma}: used ū = ${sumStorage ? 'γ/(2γ−1)' : '1'}·ḡ`, errFactor, boundS + 8 * U_ROUND);
          // The estimate at the fixed point is SogCLR's surrogate at exactly these used u's.
          const o = est.step(fullInput, st);
          const r = surrogateGradient(modality, Uf, Vf, { tau, backend, logU: used.map(Math.log) });
          const scale = Math.max(maxAbs(r.gradU.data), maxAbs(r.gradV.data));
          let errG = 0;
          for (let t = 0; t < r.gradU.data.length; t++) {
            errG = Math.max(errG, Math.abs(o.gradU.data[t]! - r.gradU.data[t]!), Math.abs(o.gradV.data[t]! - r.gradV.data[t]!));
          }
          // The weights ĝ/u inherit u's relative error (boundS + 8u) plus a few roundings; the kernels are
          // the same calls on the same operands. The gradient's terms are up to (2N + 4)/(2N)·max w
          // against entries of size `scale`; a factor 4 for the cancellation there.
          judge(`${modality} γ = ${gamma}: ${sumStorage ? 'sum' : 'mean'} storage estimate = surrogate at the used u's`, errG / scale, 4 * (boundS + 16 * U_ROUND));
          if (sumStorage) {
            fixedPoint.push({
              modality, gamma, storedOverGbar: S[0]! / gbar[0]!, storedPredicted: (2 * gamma) / (2 * gamma - 1),
              usedMeanOverGbar: (used[0]! + used[n]!) / 2 / gbar[0]!, usedPredicted: gamma / (2 * gamma - 1),
              theoryForm: (2 * gamma * (1 - gamma)) / (2 * gamma - 1) + gamma,
            });
          }
        }
      }
      // 3. Divergence for γ ≤ 1/2 (and the mean-storage control stays bounded).
      for (const gamma of [0.5, 0.4, 0.3]) {
        const rho = 2 * (1 - gamma);
        const est = makeEstimator({ kind: 'sogclr', modality, tau, gamma, eps0: 0, sharedU: true, pitfalls: { sumStorage: true } }) as Estimator<SogclrState>;
        const ctl = makeEstimator({ kind: 'sogclr', modality, tau, gamma, eps0: 0, sharedU: true }) as Estimator<SogclrState>;
        let st = est.init(n);
        let sc = ctl.init(n);
        let errDiv = 0;
        let errCtl = 0;
        let boundDiv = 0;
        const K = 60;
        for (let k = 1; k <= K; k++) {
          st = est.step(fullInput, st).state;
          sc = ctl.step(fullInput, sc).state;
          const S = movingAverageLogU(st).map(Math.exp);
          const C = movingAverageLogU(sc).map(Math.exp);
          for (let i = 0; i < n; i++) {
            const g = gbar[i]!;
            // S_1 = 2ḡ; S_k = S* + ρ^{k−1}(2ḡ − S*), S* = 2γḡ/(2γ−1); at γ = 1/2: S_k = (k+1)·ḡ.
            const want = gamma === 0.5 ? (k + 1) * g : (2 * gamma * g) / (2 * gamma - 1) + rho ** (k - 1) * (2 * g - (2 * gamma * g) / (2 * gamma - 1));
            errDiv = Math.max(errDiv, Math.abs(S[i]! - want) / want);
            errCtl = Math.max(errCtl, Math.abs(C[i]! - g) / g);
          }
          // An expanding recursion (ρ ≥ 1) carries every earlier step's rounding (relative to S_j)
          // forward unshrunk relative to S_k; each step's rounding is ≤ (8 + 4L_k)·u relative with
          // L_k = |log S_k| (log-space storage, as above), so after k steps ≤ (8 + 4L_k)·u·(k + 1).
          const Lk = Math.max(...Array.from(S, (x) => Math.abs(Math.log(x))), ...Array.from(lg, Math.abs));
          boundDiv = Math.max(boundDiv, (8 + 4 * Lk) * U_ROUND * (k + 1));
        }
        const S60 = movingAverageLogU(st).map(Math.exp);
        judge(`${modality} γ = ${gamma}: stored sum follows the diverging closed form, k = 1..${K}`, errDiv, boundDiv, { S60OverGbar: S60[0]! / gbar[0]! });
        // Mean storage with ĝ = g: the first visit stores ḡ and every update keeps it (a few roundings each).
        const L = Math.max(...Array.from(lg, Math.abs));
        judge(`${modality} γ = ${gamma}: mean-storage control stays at ḡ, k = 1..${K}`, errCtl, (8 + 4 * L) * U_ROUND * (K + 1));
      }
    }

    // 4. Random batches holding example 0.
    const R = ctx.size === 'smoke' ? 500 : 8000;
    const N = 8;
    const B = 4;
    const U = normalizeRows(rng.fillNormalMatrix(N, 4));
    const V = normalizeRows(rng.fillNormalMatrix(N, 4));
    const randomRows: Record<string, unknown>[] = [];
    for (const modality of ['bimodal', 'unimodal'] as Modality[]) {
      const lg = anchorLogG(modality, U, V, { tau, backend });
      const gbar0 = (Math.exp(lg[0]!) + Math.exp(lg[N]!)) / 2;
      for (const gamma of [0.9, 0.7]) {
        ctx.progress(`random batches, ${modality}, γ = ${gamma}`);
        const rho = 2 * (1 - gamma);
        // E S_k − S* = ρ^{k−1}(2ḡ − S*) (S_1 = ĝ_1 + ĝ_2): K visits put the transient below 1e-9·ḡ, under
        // a thousandth of the standard error (≥ 1e-3·ḡ at R ≤ 8000 here).
        const K = 1 + Math.ceil(Math.log(1e-9 / Math.abs(2 - (2 * gamma) / (2 * gamma - 1))) / Math.log(rho));
        const est = makeEstimator({ kind: 'sogclr', modality, tau, gamma, eps0: 0, sharedU: true, pitfalls: { sumStorage: true } }) as Estimator<SogclrState>;
        const r: Rng = rng.split();
        const xs = new Float64Array(R);
        for (let run = 0; run < R; run++) {
          let st = est.init(N);
          for (let k = 0; k < K; k++) {
            const index = Int32Array.from([0, ...Array.from(r.sample(N - 1, B - 1), (x) => x + 1)]);
            st = est.step({ U: gatherRows(U, index) as Matrix64, V: gatherRows(V, index) as Matrix64, index, epoch: 0, step: k, backend }, st).state;
          }
          xs[run] = Math.exp(movingAverageLogU(st)[0]!);
        }
        const m = xs.reduce((s, x) => s + x, 0) / R;
        const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (R - 1));
        const se = sd / Math.sqrt(R);
        const want = ((2 * gamma) / (2 * gamma - 1)) * gbar0;
        // 4 SE: two-sided normal tail 6.3e-5 per check (R ≥ 1000, the mean is close to normal), 4 checks.
        judge(`random batches, ${modality}, γ = ${gamma}: mean stored sum = 2γ/(2γ−1)·ḡ_0`, Math.abs(m - want), Z * se, { R, K, mean: m, want, se });
        randomRows.push({ modality, gamma, meanOverGbar: m / gbar0, predicted: (2 * gamma) / (2 * gamma - 1), seOverGbar: se / gbar0,
          zIfTwiceGbar: Math.abs(m - 2 * gbar0) / se });
      }
    }
    const pass = margin > 0;
    const worst = out.reduce((a, c) => ((c.decades as number) < (a.decades as number) ? c : a));
    return {
      pass, margin, marginUnit: 'decades below the bound (rounding bound for the deterministic checks, 4 standard errors for the random batches); worst check',
      numbers: { checks: out, fixedPoint, randomBatches: randomRows, worst },
      summary: `${pass ? '' : 'NOT HELD (see the worst check). '}Through the estimator's own state update: the stored sum settles at 2γ/(2γ−1)·ḡ (γ = 0.55–0.9), the used u's average γ/(2γ−1)·ḡ = [2γ(1−γ)/(2γ−1) + γ]·ḡ `
        + `(e.g. ×${(0.9 / 0.8).toFixed(3)} at γ = 0.9, ×3 at γ = 0.6), the estimate is the surrogate at those u's; for γ ≤ 1/2 it follows the diverging closed form; `
        + `random batches ${randomRows.length && out.filter((c) => String(c.check).startsWith('random')).every((c) => (c.decades as number) > 0) ? 'agree' : 'do NOT agree'} within ${Z} SE. Worst check: ${worst.check} (${(worst.decades as number).toFixed(2)} decades).`,
    };
  },
};
