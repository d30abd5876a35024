/**
 * numerics.sharded-gather-with-grad — THEORY 9.5: data-parallel (sharded) two-sided InfoNCE.
 *
 * K workers hold contiguous shards I_1..I_K of the N pairs; shard k's local loss is its anchors' row
 * and column terms against the features gathered from all shards, normalised by 1/(2N), so that
 * Σ_k L_k = L (THEORY 2.1). With S = UVᵀ/τ, P its row softmax and Q its column softmax:
 *
 *   ∂L_k/∂S_ij = [i ∈ I_k](P_ij − δ_ij)/(2N) + [j ∈ I_k](Q_ij − δ_ij)/(2N).
 *
 * Gather WITH grad: the gathered copies send their gradient back to the owners, so every row receives
 * Σ_k ∂L_k = ∂L: the sharded gradient equals the global one (to rounding).
 * Gather WITHOUT grad: row i of shard m receives only ∂L_m/∂u_i, which lacks Σ_{k≠m} ∂L_k/∂u_i. Only
 * shard k's column terms with j ∈ I_k, j ∉ I_m touch u_i from outside, so the difference is exactly
 *
 *   ∇_{u_i}L − g_{u_i} = D_U[i] = (1/(2Nτ)) Σ_{j ∉ I_m} Q_ij v_j,
 *   ∇_{v_j}L − g_{v_j} = D_V[j] = (1/(2Nτ)) Σ_{i ∉ I_m} P_ij u_i      (j ∈ I_m),
 *
 * i.e. the terms in which the row is a NEGATIVE of another shard's anchor (never a positive: j ∉ I_m
 * excludes j = i). Expected size: under a uniformly random assignment of the rows to K equal shards of
 * n = N/K rows, each j ≠ i lies outside i's shard with probability (N − n)/(N − 1), so
 *
 *   E_assignment[D_U[i]] = ((N − n)/(N − 1)) · (1/(2Nτ)) Σ_{j≠i} Q_ij v_j
 *
 * (the same for D_V with P): a fraction (N−n)/(N−1) → (K−1)/K of the column-side negative terms
 * is lost. Averaged over all N! row orders (each a uniformly random equal-shard assignment) this
 * holds exactly, to rounding.
 *
 * Check (the library's `shardedInfonceGrad`, src/objectives/sharded.ts, against the library's
 * `infonceLossAndGrad`; D formed here, independently, from this file's own softmaxes):
 *   (a) gather with grad: sharded value and gradient = global (random shapes, K from 1 to N);
 *   (b) gather without grad: g + D = global gradient, and ‖D‖ is far above rounding for K > 1;
 *   (c) the expectation identity over all N! orders, at N = 6 (K = 2, 3) [+ N = 8, K = 2, 4 at full size].
 * Rounding allowance (u = 2^-53, R = max row norm): each S_ij is off by ≤ ΔS = (d+1)uR²/τ; a softmax
 * entry is off relatively by ≤ 2ΔS + (N+4)u; a gradient entry (1/(2Nτ)) Σ_j (coefficient)·v_jc sums
 * ≤ 2N terms whose coefficients add to ≤ N + 2 in absolute value, each carrying that relative error
 * plus (2N)u of summation: ≤ (R/(2Nτ))·(N+2)·(2ΔS + (3N + 4)u). Two implementations are compared:
 * twice that, and twice again for the exp/log ulps left out. Margin: decades of the worst error below it.
 */
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import { infonceLossAndGrad } from '../../src/objectives/infonce.ts';
import { shardBounds, shardedInfonceGrad } from '../../src/objectives/sharded.ts';
import { UNIT_ROUNDOFF } from '../cho/etf-optimal.ts';

/** Allowance for comparing two float64 computations of an InfoNCE gradient entry (header). */
export function shardGradTol(n: number, d: number, tau: number, R: number): number {
  const u = UNIT_ROUNDOFF;
  const dS = ((d + 1) * u * R * R) / tau;
  return 4 * (R / (2 * n * tau)) * (n + 2) * (2 * dS + (3 * n + 4) * u);
}

function maxRowNorm(...ms: Matrix64[]): number {
  let r = 0;
  for (const m of ms) {
    for (let i = 0; i < m.rows; i++) {
      let s = 0;
      for (let c = 0; c < m.cols; c++) s += m.data[i * m.cols + c]! ** 2;
      r = Math.max(r, Math.sqrt(s));
    }
  }
  return r;
}

/** Row and column softmaxes P, Q of S = UVᵀ/τ (float64, max-shifted), n x n row-major. */
export function softmaxes(U: Matrix64, V: Matrix64, tau: number): { P: Float64Array; Q: Float64Array } {
  const n = U.rows;
  const d = U.cols;
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let c = 0; c < d; c++) s += U.data[i * d + c]! * V.data[j * d + c]!;
    S[i * n + j] = s / tau;
  }
  const P = new Float64Array(n * n);
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < n; j++) m = Math.max(m, S[i * n + j]!);
    let z = 0;
    for (let j = 0; j < n; j++) z += Math.exp(S[i * n + j]! - m);
    for (let j = 0; j < n; j++) P[i * n + j] = Math.exp(S[i * n + j]! - m) / z;
  }
  for (let j = 0; j < n; j++) {
    let m = -Infinity;
    for (let i = 0; i < n; i++) m = Math.max(m, S[i * n + j]!);
    let z = 0;
    for (let i = 0; i < n; i++) z += Math.exp(S[i * n + j]! - m);
    for (let i = 0; i < n; i++) Q[i * n + j] = Math.exp(S[i * n + j]! - m) / z;
  }
  return { P, Q };
}

/** D_U, D_V of the header for the shard membership `shardOf` (rows i, j in different shards only). */
export function missingTerms(U: Matrix64, V: Matrix64, tau: number, shardOf: ArrayLike<number>): { DU: Matrix64; DV: Matrix64 } {
  const n = U.rows;
  const d = U.cols;
  const { P, Q } = softmaxes(U, V, tau);
  const c = 1 / (2 * n * tau);
  const DU = zeros(n, d);
  const DV = zeros(n, d);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (shardOf[i] === shardOf[j]) continue;
    for (let a = 0; a < d; a++) {
      DU.data[i * d + a] += c * Q[i * n + j]! * V.data[j * d + a]!;
      DV.data[j * d + a] += c * P[i * n + j]! * U.data[i * d + a]!;
    }
  }
  return { DU, DV };
}

function shardMembership(n: number, K: number): Int32Array {
  const b = shardBounds(n, K);
  const out = new Int32Array(n);
  for (let k = 0; k < K; k++) for (let i = b[k]!; i < b[k + 1]!; i++) out[i] = k;
  return out;
}

function maxAbsDiff(a: Float64Array, b: Float64Array, plus?: Float64Array): number {
  let m = 0;
  for (let t = 0; t < a.length; t++) m = Math.max(m, Math.abs(a[t]! + (plus ? plus[t]! : 0) - b[t]!));
  return m;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const x of a) m = Math.max(m, Math.abs(x));
  return m;
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

function permuteRows(X: Matrix64, perm: readonly number[]): Matrix64 {
  const d = X.cols;
  const out = zeros(X.rows, d);
  perm.forEach((src, dst) => out.data.set(X.data.subarray(src * d, (src + 1) * d), dst * d));
  return out;
}

const SIZES = {
  smoke: { instances: 40, nMax: 16, dMax: 8, expectation: [[6, 4, 2], [6, 3, 3]] as [number, number, number][] },
  full: { instances: 300, nMax: 64, dMax: 32, expectation: [[6, 4, 2], [6, 3, 3], [8, 5, 2], [8, 3, 4]] as [number, number, number][] },
} as const;

export const claim: Claim = {
  id: 'numerics.sharded-gather-with-grad',
  source: { paper: 'numerics', where: 'THEORY 9.5 (sharded gradients: gather with grad)', tag: 'derived' },
  statement: 'Splitting the two-sided InfoNCE over $K$ shards (local losses normalised by $1/(2N)$), the sum of the shards\' gradients with gather-with-grad equals the global gradient to rounding; without it each row lacks exactly $\\frac{1}{2N\\tau}\\sum_{j \\notin I_m} Q_{ij} v_j$ (resp. $\\frac{1}{2N\\tau}\\sum_{i \\notin I_m} P_{ij} u_i$), a fraction $\\frac{N-n}{N-1}$ of the column-side negative terms in expectation over the shard assignment; checked for $N \\le 16$, $d \\le 8$, $1 \\le K \\le N$ (smoke) and $N \\le 64$, $d \\le 32$ (full).',
  assumptions: [
    'float64; rows Gaussian (sd 1, not normalised) or unit; τ log-uniform in [0.05, 2]; contiguous shards, sizes differing by at most 1',
    'expectation: all N! row orders at N = 6 (K = 2, 3), and N = 8 (K = 2, 4) at full size',
    'rounding allowance derived in the file header',
  ],
  kind: 'identity',
  mutants: ['gather-without-grad', 'shard-local-mean'],
  check(ctx: ClaimContext): Verdict {
    const cfg = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    let worst = Infinity;
    let worstWhat = '';
    let minMissingOverTol = Infinity;
    const note = (m: number, what: string) => { if (!(m >= worst)) { worst = m; worstWhat = what; } };
    const rows: Record<string, unknown>[] = [];
    for (let q = 0; q < cfg.instances; q++) {
      ctx.progress(`instance ${q + 1}/${cfg.instances}`);
      const n = 2 + rng.int(cfg.nMax - 1);
      const d = 1 + rng.int(cfg.dMax);
      const K = q === 0 ? 1 : 1 + rng.int(n);
      const tau = Math.exp(Math.log(0.05) + rng.uniform() * Math.log(2 / 0.05));
      const U = rng.fillNormalMatrix(n, d);
      const V = rng.fillNormalMatrix(n, d);
      if (q % 2 === 1) for (const X of [U, V]) for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += X.data[i * d + c]! ** 2;
        for (let c = 0; c < d; c++) X.data[i * d + c] /= Math.sqrt(s);
      }
      const tol = shardGradTol(n, d, tau, maxRowNorm(U, V));
      const global = infonceLossAndGrad(U, V, { tau, backend: ctx.backend });
      const withG = shardedInfonceGrad(U, V, { tau, shards: K, gatherWithGrad: true });
      const without = shardedInfonceGrad(U, V, { tau, shards: K, gatherWithGrad: false });
      const { DU, DV } = missingTerms(U, V, tau, shardMembership(n, K));
      const eWith = Math.max(maxAbsDiff(withG.gradU.data, global.gradU!.data), maxAbsDiff(withG.gradV.data, global.gradV!.data));
      const eValue = Math.abs(withG.value - global.value) / (tol * n + Math.abs(global.value) * 8 * UNIT_ROUNDOFF * n);
      const eWithout = Math.max(maxAbsDiff(without.gradU.data, global.gradU!.data, DU.data), maxAbsDiff(without.gradV.data, global.gradV!.data, DV.data));
      const missing = Math.max(maxAbs(DU.data), maxAbs(DV.data));
      note(decadesBelow(eWith, tol), `with grad, N = ${n}, d = ${d}, K = ${K}`);
      note(decadesBelow(eValue, 1), `value, N = ${n}, K = ${K}`);
      note(decadesBelow(eWithout, tol), `without grad + D, N = ${n}, d = ${d}, K = ${K}`);
      if (K > 1) minMissingOverTol = Math.min(minMissingOverTol, missing / tol);
      rows.push({ n, d, K, tau, errWith: eWith, errWithoutPlusD: eWithout, missingMax: missing, tol });
    }
    // (c) the expectation over all row orders.
    const expectation: Record<string, unknown>[] = [];
    for (const [n, d, K] of cfg.expectation) {
      ctx.progress(`expectation N = ${n}, K = ${K}`);
      const tau = 0.5;
      const U = rng.fillNormalMatrix(n, d);
      const V = rng.fillNormalMatrix(n, d);
      const global = infonceLossAndGrad(U, V, { tau, backend: ctx.backend });
      const sumU = new Float64Array(n * d);
      const sumV = new Float64Array(n * d);
      const perms = permutations(n);
      for (const perm of perms) {
        const r = shardedInfonceGrad(permuteRows(U, perm), permuteRows(V, perm), { tau, shards: K, gatherWithGrad: false });
        // Row `dst` of the permuted problem is row perm[dst] of the original; D = global − g.
        perm.forEach((src, dst) => {
          for (let a = 0; a < d; a++) {
            sumU[src * d + a] += global.gradU!.data[src * d + a]! - r.gradU.data[dst * d + a]!;
            sumV[src * d + a] += global.gradV!.data[src * d + a]! - r.gradV.data[dst * d + a]!;
          }
        });
      }
      const nk = n / K;
      const frac = (n - nk) / (n - 1);
      const { DU, DV } = missingTerms(U, V, tau, new Int32Array(n).map((_, i) => i)); // every j ≠ i: all negatives
      let err = 0;
      for (let t = 0; t < n * d; t++) {
        err = Math.max(err, Math.abs(sumU[t]! / perms.length - frac * DU.data[t]!), Math.abs(sumV[t]! / perms.length - frac * DV.data[t]!));
      }
      const tol = 2 * shardGradTol(n, d, tau, maxRowNorm(U, V));
      note(decadesBelow(err, tol), `expectation, N = ${n}, K = ${K}`);
      expectation.push({ n, d, K, orders: perms.length, fraction: frac, maxError: err, tol });
    }
    const distinct = minMissingOverTol > 1e6;
    const pass = worst > 0 && distinct;
    return {
      pass,
      margin: worst,
      marginUnit: 'decades of the worst error below the rounding allowance',
      numbers: { instances: rows.length, worstAt: worstWhat, minMissingOverTol, expectation, sample: rows.slice(0, 10) },
      summary: pass
        ? `Gather-with-grad reproduces the global gradient, and the gradient without it plus the derived missing terms does too, on ${rows.length} instances (worst ${worst.toFixed(2)} decades below the allowance, at ${worstWhat}); the missing part is ≥ ${minMissingOverTol.toExponential(1)}× the allowance for K > 1, and its average over all row orders is (N−n)/(N−1) of the column-side negative terms (${expectation.map((e) => `N = ${e.n}, K = ${e.K}`).join('; ')}).`
        : distinct ? `Worst error ${(-worst).toFixed(2)} decades above the allowance at ${worstWhat}.` : `The missing part is not resolved above rounding (${minMissingOverTol.toExponential(2)}× the allowance).`,
    };
  },
};
