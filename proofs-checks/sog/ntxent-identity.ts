/**
 * sog.ntxent-equals-gcl-plugin — THEORY 2.3: SimCLR's NT-Xent on a batch of B examples (2B views)
 * times τ equals the unimodal GCL computed on that batch with ε₀ = 1/(2B−2), plus τ·log(2B−2).
 *
 * Derivation: for anchor a with positive p and the 2B−2 negatives z of the batch,
 *   ℓ_a = −log[e^{s_ap} / (e^{s_ap} + Σ_z e^{s_az})] = log(1 + Σ_z e^{s_az − s_ap})
 *       = log(2B−2) + log(1/(2B−2) + ĝ_a),    ĝ_a = (1/(2B−2)) Σ_z e^{s_az − s_ap},
 * so τ·(1/(2B)) Σ_a ℓ_a = (τ/(2B)) Σ_a log(ε₀ + ĝ_a) + τ·log(2B−2) with ε₀ = 1/(2B−2).
 *
 * NT-Xent is written here from its textbook definition (Chen et al. 2020, SimCLR, eq. 1): 2B views in
 * the paper's interleaved order (views 2k and 2k+1 are the two views of example k), cosine similarity
 * of raw (unnormalised) vectors, ℓ(i, j) = −log(exp(sim_ij/τ) / Σ_{k≠i} exp(sim_ik/τ)), the loss the
 * mean of ℓ(2k, 2k+1) and ℓ(2k+1, 2k) over the batch — literal exps, no max shift, no shared code with
 * the library. The library side: gclUnimodalLossAndGrad on the normalised rows (U = first views,
 * V = second views) and the SimCLR estimator's batchValue on the same batch.
 */
import { decadesBelow, type Claim, type ClaimContext, type Verdict } from '../../src/claims/types.ts';
import { gatherRows, type Matrix64 } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { makeEstimator } from '../../src/estimators/index.ts';
import { gclUnimodalLossAndGrad } from '../../src/objectives/gcl.ts';

/** Unit roundoff of float64. */
const U_ROUND = 2 ** -53;

/** Textbook NT-Xent of the 2B views `z` (interleaved: z[2k], z[2k+1] are example k's views), raw vectors. */
function ntXentTextbook(z: number[][], tau: number): { loss: number; maxTerm: number } {
  const m = z.length;
  const norm = z.map((x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0)));
  const sim = (i: number, j: number) => {
    let s = 0;
    for (let k = 0; k < z[i]!.length; k++) s += z[i]![k]! * z[j]![k]!;
    return s / (norm[i]! * norm[j]!);
  };
  const ell = (i: number, j: number) => {
    let den = 0;
    for (let k = 0; k < m; k++) if (k !== i) den += Math.exp(sim(i, k) / tau);
    return -Math.log(Math.exp(sim(i, j) / tau) / den);
  };
  let total = 0;
  let maxTerm = 0;
  for (let k = 0; k < m / 2; k++) {
    const a = ell(2 * k, 2 * k + 1);
    const b = ell(2 * k + 1, 2 * k);
    total += a + b;
    maxTerm = Math.max(maxTerm, Math.abs(a), Math.abs(b));
  }
  return { loss: total / m, maxTerm };
}

export const claim: Claim = {
  id: 'sog.ntxent-equals-gcl-plugin',
  source: { paper: 'SOG', where: 'THEORY 2.3 (exact identities)', tag: 'derived' },
  statement: 'For every batch $b$ of $B$ examples, $\\tau \\cdot \\text{NT-Xent}(b) = \\mathrm{GCL}_{\\mathrm{uni}}\\big(b;\\ \\varepsilon_0 = \\tfrac{1}{2B-2}\\big) + \\tau \\log(2B-2)$: SimCLR is the plug-in mini-batch GCL with a $B$-dependent $\\varepsilon_0$ (checked at $\\tau \\in [0.02, 2]$, $B \\le 48$, $d \\le 48$).',
  assumptions: [
    'float64; NT-Xent with cosine similarity on raw Gaussian vectors (the library side sees the normalised rows)',
    'τ log-uniform in [0.02, 2] (the literal exps of the textbook form stay below e^{100}, far from float64 overflow)',
    'B ∈ [2, 48], d ∈ [1, 48], random batches of a random data set',
  ],
  kind: 'identity',
  mutants: ['eps0-ignored', 'simclr-eps0-clip-count'],
  check(ctx: ClaimContext): Verdict {
    const rng: Rng = ctx.rng('batches');
    const count = ctx.size === 'smoke' ? 200 : 3000;
    const backend = ctx.backend;
    let worstMargin = Infinity;
    let worst: Record<string, number> | null = null;
    let maxAbsErrGcl = 0;
    let maxAbsErrEstimator = 0;
    for (let t = 0; t < count; t++) {
      const d = 1 + rng.int(48);
      const n = 2 + rng.int(63); // data set of N ∈ [2, 64] examples
      const B = 2 + rng.int(Math.min(n, 48) - 1); // B ∈ [2, min(N, 48)]
      const tau = Math.exp(Math.log(0.02) + rng.uniform() * Math.log(2 / 0.02));
      const X1 = rng.fillNormalMatrix(n, d); // raw first views
      const X2 = rng.fillNormalMatrix(n, d); // raw second views
      const index = rng.sample(n, B);
      const z: number[][] = [];
      for (const i of index) {
        z.push(Array.from(X1.data.subarray(i * d, (i + 1) * d)));
        z.push(Array.from(X2.data.subarray(i * d, (i + 1) * d)));
      }
      const nt = ntXentTextbook(z, tau);
      const U = normalizeRows(gatherRows(X1, index)) as Matrix64;
      const V = normalizeRows(gatherRows(X2, index)) as Matrix64;
      const logM = Math.log(2 * B - 2);
      const gcl = gclUnimodalLossAndGrad(U, V, { tau, eps0: 1 / (2 * B - 2), backend, grad: false }).value + tau * logM;
      const est = makeEstimator({ kind: 'simclr', tau });
      const viaEst = est.step({ U, V, index, epoch: 0, step: 0, backend }, est.init(n)).batchValue + tau * logM;
      const lhs = tau * nt.loss;
      // Rounding bound for |lhs − rhs|, both sides computed independently. Each side: the similarity
      // s = sim/τ carries an absolute error ≤ (d + 4)·u/τ (a d-term dot product and the normalisation),
      // which becomes a relative error of each exp and so an absolute error of the log-sum-exp; the
      // sum over ≤ 2B − 1 terms adds (2B)·u relative, the log and the final mean over 2B terms add
      // (2B + 2)·u·max|ℓ|. Times τ: ≤ [(d + 4)·2 + τ·(4B + 2)·max|ℓ|]·u per side (the factor 2 for
      // s_ap and the shift inside ℓ), and τ·log(2B−2) one rounding more. Both sides, and a factor 2 for
      // exp/log's own (≤ 1 ulp) roundings: bound = 4·[2(d + 4) + τ(4B + 2)(max|ℓ| + 1)]·u.
      const bound = 4 * (2 * (d + 4) + tau * (4 * B + 2) * (nt.maxTerm + 1)) * U_ROUND;
      const errG = Math.abs(lhs - gcl);
      const errE = Math.abs(lhs - viaEst);
      maxAbsErrGcl = Math.max(maxAbsErrGcl, errG);
      maxAbsErrEstimator = Math.max(maxAbsErrEstimator, errE);
      const m = Math.min(decadesBelow(errG, bound), decadesBelow(errE, bound));
      if (m < worstMargin) {
        worstMargin = m;
        worst = { B, d, tau, tauNtXent: lhs, gclPlusLog: gcl, estimatorPlusLog: viaEst, errGcl: errG, errEstimator: errE, bound };
      }
      if (t % 100 === 0) ctx.progress(`batch ${t + 1}/${count}`);
    }
    const pass = worstMargin > 0;
    return {
      pass, margin: worstMargin, marginUnit: 'decades below the rounding bound (worst batch)',
      numbers: { batches: count, maxAbsErrGcl, maxAbsErrEstimator, worstBatch: worst },
      summary: `Over ${count} random batches τ·NT-Xent (textbook form) matches unimodal GCL with ε₀ = 1/(2B−2) plus τ·log(2B−2) to ${maxAbsErrGcl.toExponential(1)} `
        + `(SimCLR estimator's batch value: ${maxAbsErrEstimator.toExponential(1)}); worst batch ${Math.abs(worstMargin).toFixed(2)} decades ${pass ? 'below' : 'ABOVE'} the rounding bound.`,
    };
  },
};
