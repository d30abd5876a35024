/**
 * siglip.similarity-gap-bound — THEORY 9.4 (Lee, Lim, Lee & Sohn, ICML 2025): for unit rows,
 *
 *   E[s_pos] ≤ 1 + E[s_neg] + 1/(N−1),
 *   E[s_pos] = P̄ = (1/N) Σ_i u_i·v_i,   E[s_neg] = Q̄ = (1/(N(N−1))) Σ_{i≠j} u_i·v_j.
 *
 * Proof (Cauchy–Schwarz; a = Σ_i u_i, c = Σ_j v_j):
 *   (1) Σ_{i,j} u_i·v_j = a·c = N P̄ + N(N−1) Q̄.
 *   (2) a·c = (‖a + c‖² − ‖a − c‖²)/4 ≥ −‖a − c‖²/4.
 *   (3) ‖a − c‖² = ‖Σ_i (u_i − v_i)‖² ≤ N Σ_i ‖u_i − v_i‖² = N Σ_i (2 − 2 u_i·v_i) = 2N²(1 − P̄)
 *       (Cauchy–Schwarz on the N summands; unit rows).
 *   So N P̄ + N(N−1) Q̄ ≥ −N²(1 − P̄)/2, i.e. Q̄ ≥ [(N−2) P̄ − N]/(2(N−1)), and
 *       P̄ − Q̄ ≤ N(1 + P̄)/(2(N−1))   (the sharper intermediate bound, also checked)
 *             ≤ N/(N−1) = 1 + 1/(N−1)   (P̄ ≤ 1).
 * Equality in the last step needs P̄ = 1, i.e. u_i = v_i for all i; then (3) is an equality (all
 * u_i − v_i = 0) and (2) needs a + c = 2a = 0. So equality holds EXACTLY when u_i = v_i and Σ_i u_i = 0
 * — the simplex ETF is one case, but so is any centred tied configuration: antipodal pairs ±x_k (N even,
 * any d ≥ 1), a regular N-gon in the plane, the union of two smaller ETFs. (For d = 1 and N odd no
 * equality case exists: ±1 entries cannot sum to 0.)
 *
 * The same bound is what places the sigmoid loss's minimiser in the double-constant family
 * (siglip.double-constant-optimal): the family attains the minimal Q̄ for each P̄.
 *
 * Check, through the library's `similarityStats` (src/analysis/similarity.ts):
 *   - random instances (independent and tied rows, d from 1 up), the slack ≥ −tol;
 *   - adversarial instances: projected gradient ascent of P̄ − Q̄ (a bilinear function of (U, V)) on the
 *     product of spheres from random starts; it climbs to the equality set, where the slack is ~0;
 *   - constructed equality cases: |slack| ≤ tol;
 *   - the intermediate bound, slack ≥ −tol, on all of them.
 * Rounding allowance tol (unit roundoff u = 2^-53): each u_i·v_i is a d-term dot product of rows that
 * are unit to within rowDev, so it is off by ≤ (d+2)u + 2·rowDev from the exact value at exactly unit
 * rows; P̄ and Q̄ are compensated means of such (Q̄ via (Σu)·(Σv) − Σ u_i·v_i, whose rounding relative
 * to N(N−1) is ≤ (N + d + 2)u/(N−1)·(1 + ‖a‖‖c‖/N)); the slack adds four numbers (compensated). Hence
 * tol = 8(N + d + 4)·u + 8·rowDev (a factor 2 over the sum of the pieces). Margin: decades of the worst
 * violation (of the inequality, or of equality at the equality cases) below tol.
 */
import { similarityStats } from '../../src/analysis/similarity.ts';
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { simplexEtf } from '../../src/optima/etf.ts';
import { maxRowDeviation, UNIT_ROUNDOFF } from '../cho/etf-optimal.ts';

export function similarityTol(n: number, d: number, rowDev: number): number {
  return 8 * (n + d + 4) * UNIT_ROUNDOFF + 8 * rowDev;
}

/** Rows of X normalised; a row that the step sent (numerically) to 0 keeps its previous value. */
function renormalise(X: Matrix64, prev: Matrix64): Matrix64 {
  const d = X.cols;
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += X.data[i * d + c]! ** 2;
    if (!(s > 1e-24)) for (let c = 0; c < d; c++) X.data[i * d + c] = prev.data[i * d + c]!;
  }
  return normalizeRows(X);
}

/** Projected gradient ascent of f = P̄ − Q̄ on the product of spheres (rows renormalised after each step). */
export function ascendGap(U0: Matrix64, V0: Matrix64, steps: number, lr: number): { U: Matrix64; V: Matrix64 } {
  const n = U0.rows;
  const d = U0.cols;
  let U = U0;
  let V = V0;
  const a = 1 / n;
  const b = 1 / (n * (n - 1));
  for (let s = 0; s < steps; s++) {
    // ∂f/∂u_i = v_i/N − (Σv − v_i)/(N(N−1));  ∂f/∂v_j = u_j/N − (Σu − u_j)/(N(N−1)).
    const su = new Float64Array(d);
    const sv = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) { su[c] += U.data[i * d + c]!; sv[c] += V.data[i * d + c]!; }
    const XU = zeros(n, d);
    const XV = zeros(n, d);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < d; c++) {
        const u = U.data[i * d + c]!;
        const v = V.data[i * d + c]!;
        XU.data[i * d + c] = u + lr * ((a + b) * v - b * sv[c]!);
        XV.data[i * d + c] = v + lr * ((a + b) * u - b * su[c]!);
      }
    }
    U = renormalise(XU, U);
    V = renormalise(XV, V);
  }
  return { U, V };
}

function unitRows(rng: Rng, n: number, d: number): Matrix64 {
  return normalizeRows(rng.fillNormalMatrix(n, d));
}

function stackRows(...ms: Matrix64[]): Matrix64 {
  const d = ms[0]!.cols;
  const out = zeros(ms.reduce((s, m) => s + m.rows, 0), d);
  let off = 0;
  for (const m of ms) { out.data.set(m.data, off); off += m.data.length; }
  return out;
}

/** The constructed equality cases (u_i = v_i, Σ u_i = 0) at (n, d), where they exist. */
export function equalityCases(rng: Rng, n: number, d: number): { name: string; U: Matrix64 }[] {
  const out: { name: string; U: Matrix64 }[] = [];
  if (d >= n - 1) out.push({ name: 'simplex ETF', U: simplexEtf(n, d, { rng }) });
  if (n % 2 === 0) {
    const X = unitRows(rng, n / 2, d);
    const U = zeros(n, d);
    for (let k = 0; k < n / 2; k++) for (let c = 0; c < d; c++) { U.data[2 * k * d + c] = X.data[k * d + c]!; U.data[(2 * k + 1) * d + c] = -X.data[k * d + c]!; }
    out.push({ name: 'antipodal pairs', U });
  }
  if (d >= 2 && n >= 3) {
    const U = zeros(n, d);
    const phase = 2 * Math.PI * rng.uniform();
    for (let i = 0; i < n; i++) { U.data[i * d] = Math.cos(phase + (2 * Math.PI * i) / n); U.data[i * d + 1] = Math.sin(phase + (2 * Math.PI * i) / n); }
    out.push({ name: 'regular polygon', U });
  }
  if (n >= 5 && d >= n - 3) {
    const k = Math.floor(n / 2);
    out.push({ name: 'two ETFs', U: stackRows(simplexEtf(k, d, { rng }), simplexEtf(n - k, d, { rng })) });
  }
  return out;
}

const SIZES = {
  smoke: { shapes: [[2, 1], [3, 1], [3, 2], [4, 3], [5, 2], [6, 4], [8, 3], [8, 8]] as [number, number][], random: 100, ascents: 3, steps: 400 },
  full: { shapes: [[2, 1], [3, 1], [3, 2], [4, 1], [4, 3], [5, 2], [6, 4], [7, 6], [8, 3], [8, 8], [10, 4], [12, 16], [16, 5]] as [number, number][], random: 1000, ascents: 10, steps: 2000 },
} as const;

export const claim: Claim = {
  id: 'siglip.similarity-gap-bound',
  source: { paper: 'SigLIP', where: 'THEORY 9.4 (Lee, Lim, Lee & Sohn, ICML 2025: the similarity bound)', tag: 'proved' },
  statement: 'For unit rows, $\\mathbb{E}[s_{pos}] \\le 1 + \\mathbb{E}[s_{neg}] + \\frac{1}{N-1}$, with equality exactly when $u_i = v_i$ for all $i$ and $\\sum_i u_i = 0$ (the ETF, antipodal pairs, a regular polygon, two ETFs); checked on random, gradient-ascent and constructed equality instances with $2 \\le N \\le 8$, $1 \\le d \\le 8$ (smoke) or $N \\le 16$, $d \\le 16$ (full).',
  assumptions: [
    'float64; unit rows (normalised Gaussian, independent or tied; gradient ascent of the gap from random starts; constructed equality cases)',
    'also checked: the sharper intermediate bound $\\bar P - \\bar Q \\le N(1+\\bar P)/(2(N-1))$ of the proof',
    'rounding allowance 8(N + d + 4)u + 8·rowDev (file header)',
  ],
  kind: 'inequality',
  mutants: ['sneg-includes-diagonal'],
  check(ctx: ClaimContext): Verdict {
    const cfg = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    let worstViolation = 0; // max over instances of max(0, −slack/tol), of either bound
    let worstEquality = 0; // max over equality cases of |slack|/tol
    let minRandomSlack = Infinity;
    let minAscentSlack = Infinity;
    let instances = 0;
    const eqRows: Record<string, unknown>[] = [];
    const judge = (U: Matrix64, V: Matrix64) => {
      const st = similarityStats(U, V);
      const tol = similarityTol(U.rows, U.cols, maxRowDeviation(U, V));
      const sharp = (U.rows * (1 + st.meanPositive)) / (2 * (U.rows - 1)) - (st.meanPositive - st.meanNegative);
      worstViolation = Math.max(worstViolation, -st.boundSlack / tol, -sharp / tol);
      instances++;
      return { st, tol };
    };
    for (const [n, d] of cfg.shapes) {
      ctx.progress(`N = ${n}, d = ${d}`);
      for (let q = 0; q < cfg.random; q++) {
        const U = unitRows(rng, n, d);
        const V = q % 2 === 0 ? unitRows(rng, n, d) : U;
        minRandomSlack = Math.min(minRandomSlack, judge(U, V).st.boundSlack);
      }
      for (let q = 0; q < cfg.ascents; q++) {
        const r = ascendGap(unitRows(rng, n, d), unitRows(rng, n, d), cfg.steps, 0.25 * n);
        minAscentSlack = Math.min(minAscentSlack, judge(r.U, r.V).st.boundSlack);
      }
      for (const e of equalityCases(rng, n, d)) {
        const { st, tol } = judge(e.U, e.U);
        worstEquality = Math.max(worstEquality, Math.abs(st.boundSlack) / tol);
        eqRows.push({ case: e.name, n, d, slack: st.boundSlack, tol });
      }
    }
    // Both worst ratios are relative to tol: decades below 1.
    const mIneq = decadesBelow(worstViolation, 1);
    const mEq = decadesBelow(worstEquality, 1);
    const margin = Math.min(mIneq, mEq);
    const pass = margin > 0 && eqRows.length > 0;
    return {
      pass,
      margin,
      marginUnit: 'decades of the worst violation (inequality, or equality at the equality cases) below the rounding allowance',
      numbers: { instances, minRandomSlack, minAscentSlack, worstViolationOverTol: worstViolation, worstEqualityOverTol: worstEquality, equalityCases: eqRows },
      summary: pass
        ? `${instances} instances: no violation of the bound or of the intermediate bound beyond rounding (smallest slack: random ${minRandomSlack.toExponential(2)}, gradient ascent ${minAscentSlack.toExponential(2)}); ${eqRows.length} constructed equality cases (u_i = v_i, Σu_i = 0) meet it with |slack| ≤ ${worstEquality.toFixed(2)}·tol.`
        : `Violation ${worstViolation.toExponential(2)}·tol of the bound, or an equality case off by ${worstEquality.toExponential(2)}·tol.`,
    };
  },
};
