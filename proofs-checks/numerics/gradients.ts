/**
 * Every objective's analytic gradient against central differences along random directions
 * (jax `check_grads` style), on the blocked CPU backend in float64.
 *
 * φ(t) = f(X + tD) with X = (U, V) and a random direction D = (DU, DV); the check compares
 * ⟨∇f(X), D⟩ with (φ(k) − φ(−k))/(2k), and the margin is in decades below the error bound derived here.
 *
 * Truncation. Every logit is quadratic in t: s(t) = s₀ + t·s₁ + t²·s₂ with, for rows a, z of
 * Z = [U; V] and of DZ = [DU; DV], s₁ = (DZ_a·Z_z + Z_a·DZ_z)/τ and s₂ = DZ_a·DZ_z/τ. On |t| ≤ k put
 *   M1 = max_{a,z} (|DZ_a·Z_z| + |Z_a·DZ_z| + 2k·|DZ_a·DZ_z|)/τ ≥ |s'|,   M2 = 2·max_{a,z} |DZ_a·DZ_z|/τ ≥ |s''|,
 * over all pairs of Z (this covers the U–V logits of infonce / minibatch / gcl-bimodal and every
 * pair of the stacked unimodal GCL). For L(t) = lse(s(t)) (over any subset of a row or column),
 *   L' = E[s'], L'' = Var(s') + E[s''], L''' = κ₃(s') + 3·Cov(s', s'')   (s''' = 0),
 * with |κ₃| ≤ E|s' − Es'|³ ≤ 2M1·Var ≤ 2M1³ and |Cov| ≤ √(Var s'·Var s'') ≤ M1·M2, so
 * |L'''| ≤ 2M1³ + 3M1M2; the positive logit s_ii has no third derivative. InfoNCE, its one-sided
 * form and the mini-batch average are averages of such terms. A GCL term is ψ(y) with
 * y = lse' − s_pos − log M and ψ(y) = log(ε₀ + e^y): ψ' = σ ∈ (0, 1], ψ'' = σ(1 − σ) ≤ 1/4,
 * |ψ'''| = |σ(1 − σ)(1 − 2σ)| ≤ 1/(6√3) < 0.0963, and |y'| ≤ 2M1, |y''| ≤ M1² + 2M2,
 * |y'''| ≤ 2M1³ + 3M1M2, so |(ψ∘y)'''| ≤ 0.0963·8M1³ + (3/4)·2M1·(M1² + 2M2) + 2M1³ + 3M1M2
 * < 4.3·M1³ + 6·M1M2; F carries a factor τ. Hence for every objective here
 *   |φ'''| ≤ B3 = max(1, τ)·(4.3·M1³ + 6·M1·M2),
 * and the central difference is off by at most k²·B3/6.
 *
 * Rounding (forward error, unit roundoff u = ε/2; counts in units of u). With σ = max_{a,z} Σ_k |z_ak z_zk|/τ
 * (≥ every |logit|), n the softmax length and K ≤ n the number of tiles a row or column is streamed in,
 * one term lse − s_pos of InfoNCE is off by at most
 *   (2d + 4)σ   both logits: a d-term dot product (γ_d) times fl(1/τ) (2 roundings), lse 1-Lipschitz
 *   + 4σ + 9    the shifted exponents S − M and M − m (tile max M, running max m: u·2σ each), their two
 *               exps (2 ulp ≤ 4u relative each) and the product (the kernels' one-exp-per-element path)
 *   + n + K     the n-term sum and the K tile merges
 *   + K(5 + 2σ) each merge's rescaling exp(m_old − m_new) (argument u·2σ, exp 4u, product u)
 *   + 4 log n + σ + 2σ   the log (relative 2u of log s ≤ log n), m + log s (u·|lse|), − s_pos (u·|term|)
 * and the compensated average adds u·|f| ≤ u·(2σ + log n): in all (2d + 13 + 2K)σ + n + 6K + 9 + 5 log n.
 * A GCL term log(ε₀ + e^y), y = lse' − s_pos − log M, adds u·log M and logEpsPlusExp's
 * u·(2σ + 2 log n + 4), and carries the factor τ. With K ≤ n, all of it is at most
 * u·[(2d + 2n + 15)σ + 7n + 13 + 7 log n]·max(1, τ) ≤
 *   δf = (2d + 4n + 16)·ε·(1 + σ)·max(1, τ)      (`valueRoundingBound`)
 * (σ: 2(2d + 4n + 16) ≥ 2d + 2n + 15; constants: 4d + 8n + 32 ≥ 7n + 13 + 7 log n for every n ≥ 1).
 * The same model with ε32 bounds the float32 backend, which accumulates in float32.
 * The central difference then carries (δf₊ + δf₋)/(2k) (σ taken at X ± kD), ε·|fd| for the
 * subtraction, and the rounding of the perturbed inputs fl(x ± kD) (each entry off by u·|x ± kD|),
 * worth, to first order, Σ_i |g_i|·u·(|x_i| + k|D_i|)·2/(2k); the analytic side ⟨∇f, D⟩ = φ'(0), a
 * softmax-weighted average of s₁ terms each ≤ 2M1 in size whose weights carry the relative error
 * of the log-sum-exps above, is good to
 *   δan = δf·2M1 + (2nd)·u·Σ|g_i D_i|       (the second part: the final n·d-term dot product).
 * The step k minimises k²B3/6 + (2δf + u·Σ|g||x|)/k: k = (3(2δf + u·Σ|g||x|)/B3)^{1/3} (at most 1e-3).
 *   bound = k²·B3/6 + (δf₊ + δf₋)/(2k) + ε·|fd| + u·Σ|g|(|x| + k|D|)/k + δan.
 */
import { type Backend, createCpuBackend } from '../../src/backend/index.ts';
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { binomial } from '../../src/core/combinatorics.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { evaluateObjective, OBJECTIVE_NAMES, type ObjectiveSpec } from '../../src/objectives/index.ts';
import { scatterChart } from '../../src/plot/index.ts';

const EPS64 = 2 ** -52;
const U64 = EPS64 / 2;

/** Z = [U; V] (2n x d). */
export function stack(U: Matrix64, V: Matrix64): Matrix64 {
  const Z = zeros(U.rows + V.rows, U.cols);
  Z.data.set(U.data, 0);
  Z.data.set(V.data, U.data.length);
  return Z;
}

/** σ = max over all row pairs of Z of Σ_k |z_ak z_zk| / τ (bounds every |logit| and the dot products' error scale). */
export function absLogitScale(Z: Matrix64, tau: number): number {
  const { rows, cols, data } = Z;
  let m = 0;
  for (let a = 0; a < rows; a++) {
    for (let z = a; z < rows; z++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += Math.abs(data[a * cols + k]! * data[z * cols + k]!);
      m = Math.max(m, s);
    }
  }
  return m / tau;
}

/**
 * Forward rounding bound of one objective value (header): (2d + 4n + 16)·ε·(1 + σ)·max(1, τ), with n the
 * longest softmax (2N for unimodal GCL), d the dimension and σ from `absLogitScale`; ε the dtype's epsilon.
 */
export function valueRoundingBound(d: number, n: number, sigma: number, tau: number, eps = EPS64): number {
  return (2 * d + 4 * n + 16) * eps * (1 + sigma) * Math.max(1, tau);
}

/** The specs checked on an N-row instance: every name of OBJECTIVE_NAMES, GCL with ε₀ = 0 and > 0, minibatch all and list. */
export function objectiveSpecs(rng: Rng, n: number, tau: number, maxAllBatches: number): ObjectiveSpec[] {
  // all-batches: the largest B ≥ 2 with C(N, B) ≤ maxAllBatches among a random pick and 2.
  const Bs = [2 + rng.int(Math.max(1, n - 1)), 2].filter((b) => b <= n && binomial(n, b) <= maxAllBatches);
  const B = Bs.length ? Bs[0]! : Math.min(2, n);
  // list: a few random batches of random sizes (2..N; a batch of one row has no negatives and is
  // refused), one of them a pair.
  const list: number[][] = [Array.from(rng.sample(n, Math.min(2, n)))];
  for (let q = 0; q < 3; q++) list.push(Array.from(rng.sample(n, Math.min(n, 2 + rng.int(Math.max(1, n - 1))))));
  const specs: ObjectiveSpec[] = [
    { name: 'infonce', tau },
    { name: 'infonce-uv', tau },
    { name: 'minibatch', tau, batches: { kind: 'all', B } },
    { name: 'minibatch', tau, batches: { kind: 'list', batches: list } },
    { name: 'gcl-bimodal', tau, eps0: 0 },
    { name: 'gcl-bimodal', tau, eps0: 0.3 },
    { name: 'gcl-unimodal', tau, eps0: 0 },
    { name: 'gcl-unimodal', tau, eps0: 1 / (2 * n - 2) },
  ];
  return specs;
}

export function specLabel(s: ObjectiveSpec): string {
  if (s.name === 'minibatch') return `minibatch(${s.batches!.kind})`;
  if (s.name.startsWith('gcl')) return `${s.name} ε₀${s.eps0 ? '>0' : '=0'}`;
  return s.name;
}

function axpy(X: Matrix64, a: number, D: Matrix64): Matrix64 {
  const out = zeros(X.rows, X.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = X.data[i]! + a * D.data[i]!;
  return out;
}

export interface GradientCheck {
  readonly spec: string;
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  readonly analytic: number;
  readonly fd: number;
  readonly error: number;
  readonly bound: number;
  readonly step: number;
}

/** One objective at one point along one direction: the analytic directional derivative against the bounded central difference. */
export function checkGradient(spec: ObjectiveSpec, U: Matrix64, V: Matrix64, DU: Matrix64, DV: Matrix64, backend: Backend): GradientCheck {
  const n = U.rows;
  const d = U.cols;
  const tau = spec.tau ?? 1;
  const Z = stack(U, V);
  const DZ = stack(DU, DV);
  const t = Math.max(1, tau);
  // M1, M2 over all pairs of Z (header), M1 including the 2k·|DZ_a·DZ_z| term for k ≤ 1e-3 (the step is far below).
  const kMax = 1e-3;
  let m1 = 0;
  let m2 = 0;
  const rows = Z.rows;
  for (let a = 0; a < rows; a++) {
    for (let z = 0; z < rows; z++) {
      let dz = 0;
      let zd = 0;
      let dd = 0;
      for (let k = 0; k < d; k++) {
        dz += DZ.data[a * d + k]! * Z.data[z * d + k]!;
        zd += Z.data[a * d + k]! * DZ.data[z * d + k]!;
        dd += DZ.data[a * d + k]! * DZ.data[z * d + k]!;
      }
      m1 = Math.max(m1, Math.abs(dz) + Math.abs(zd) + 2 * kMax * Math.abs(dd));
      m2 = Math.max(m2, Math.abs(dd));
    }
  }
  const M1 = m1 / tau;
  const M2 = (2 * m2) / tau;
  const B3 = t * (4.3 * M1 ** 3 + 6 * M1 * M2);
  const sigma = absLogitScale(Z, tau);
  const softmaxLen = spec.name === 'gcl-unimodal' ? 2 * n : n;
  const r = evaluateObjective(spec, U, V, { backend });
  let analytic = 0;
  let gd = 0;
  let gx = 0;
  let gD = 0;
  for (let i = 0; i < n * d; i++) {
    analytic += r.gradU!.data[i]! * DU.data[i]! + r.gradV!.data[i]! * DV.data[i]!;
    gd += Math.abs(r.gradU!.data[i]! * DU.data[i]!) + Math.abs(r.gradV!.data[i]! * DV.data[i]!);
    gx += Math.abs(r.gradU!.data[i]!) * Math.abs(U.data[i]!) + Math.abs(r.gradV!.data[i]!) * Math.abs(V.data[i]!);
    gD += Math.abs(r.gradU!.data[i]!) * Math.abs(DU.data[i]!) + Math.abs(r.gradV!.data[i]!) * Math.abs(DV.data[i]!);
  }
  const df = valueRoundingBound(d, softmaxLen, sigma, tau);
  const k = B3 > 0 ? Math.min(kMax, Math.cbrt((3 * (2 * df + U64 * gx)) / B3)) : kMax;
  // The perturbed inputs are fl(x ± kD); the quotient is over the nominal 2k, their rounding is in the bound.
  const side = (s: number) => {
    const Us = axpy(U, s, DU);
    const Vs = axpy(V, s, DV);
    const value = evaluateObjective(spec, Us, Vs, { backend, grad: false }).value;
    return { value, df: valueRoundingBound(d, softmaxLen, absLogitScale(stack(Us, Vs), tau), tau) };
  };
  const p = side(k);
  const m = side(-k);
  const fd = (p.value - m.value) / (2 * k);
  const bound = (k * k * B3) / 6
    + (p.df + m.df) / (2 * k) + EPS64 * Math.abs(fd)
    + (U64 * (gx + k * gD)) / k
    + df * 2 * M1 + 2 * n * d * U64 * gd;
  return { spec: specLabel(spec), n, d, tau, analytic, fd, error: Math.abs(analytic - fd), bound, step: k };
}

/** A log-axis domain holding every ratio and 1 (the bound). */
export function ratioDomain(ratios: readonly number[]): [number, number] {
  const lo = Math.min(...ratios.filter((x) => x > 0), 0.1);
  return [10 ** Math.floor(Math.log10(lo)), Math.max(1, 10 ** Math.ceil(Math.log10(Math.max(...ratios, 1))))];
}

function gaussian(rng: Rng, n: number, d: number, scale = 1): Matrix64 {
  const m = zeros(n, d);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}

const SIZES = {
  smoke: { instances: 60, nMax: 9, dMax: 6, maxAllBatches: 40 },
  full: { instances: 400, nMax: 32, dMax: 16, maxAllBatches: 2000 },
} as const;

export const claim: Claim = {
  id: 'numerics.gradients-match-finite-differences',
  source: { paper: 'numerics', where: 'THEORY 2 (every objective and its gradient)', tag: 'derived' },
  statement:
    'For every objective (infonce, infonce-uv, minibatch over all batches and over a list, gcl-bimodal and gcl-unimodal with ε₀ = 0 and ε₀ > 0), the analytic gradient agrees with central differences along random directions within the derived finite-difference error bound.',
  assumptions: [
    'blocked CPU backend, float64 (block size 128 and 8, alternating)',
    'N from 2 to 9 (smoke) or 32 (full), d from 1 to 6 or 16; τ log-uniform in [0.05, 2]; rows unit or Gaussian (sd 0.7); directions Gaussian',
    'bound: step-size truncation from a bound on the third derivative along the line, plus forward rounding bounds (derived in the file header)',
  ],
  kind: 'identity',
  check(ctx: ClaimContext): Verdict {
    const { instances, nMax, dMax, maxAllBatches } = SIZES[ctx.size];
    const rng = ctx.rng('instances');
    const small = createCpuBackend({ dtype: 'f64', blockSize: 8 });
    const results: GradientCheck[] = [];
    const covered = new Set<string>();
    try {
      for (let q = 0; q < instances; q++) {
        ctx.progress(`instance ${q + 1}/${instances}`);
        const n = 2 + rng.int(nMax - 1);
        const d = 1 + rng.int(dMax);
        const tau = Math.exp(Math.log(0.05) + rng.uniform() * Math.log(2 / 0.05));
        const unit = rng.uniform() < 0.5;
        const U = unit ? normalizeRows(gaussian(rng, n, d)) : gaussian(rng, n, d, 0.7);
        const V = unit ? normalizeRows(gaussian(rng, n, d)) : gaussian(rng, n, d, 0.7);
        const DU = gaussian(rng, n, d);
        const DV = gaussian(rng, n, d);
        const backend = q % 2 === 0 ? ctx.backend : small;
        for (const spec of objectiveSpecs(rng, n, tau, maxAllBatches)) {
          covered.add(spec.name);
          results.push(checkGradient(spec, U, V, DU, DV, backend));
        }
      }
    } finally {
      small.dispose();
    }
    const missing = OBJECTIVE_NAMES.filter((nm) => !covered.has(nm));
    let worst: GradientCheck | null = null;
    let margin = Infinity;
    const perSpec: Record<string, number> = {};
    for (const r of results) {
      const m = decadesBelow(r.error, r.bound);
      perSpec[r.spec] = Math.min(perSpec[r.spec] ?? Infinity, m);
      if (!(m >= margin)) { margin = m; worst = r; }
    }
    const pass = missing.length === 0 && margin > 0;
    const rows = results.map((r) => ({ objective: r.spec, ratio: Math.max(r.error, 1e-18) / r.bound }));
    return {
      pass,
      margin,
      marginUnit: 'decades below the FD error bound (min over objectives and instances)',
      numbers: { checks: results.length, missingObjectives: missing, worstMarginPerObjective: perSpec, worst },
      figures: [{
        name: 'numerics-gradients',
        spec: scatterChart({
          title: 'Analytic gradient vs central differences',
          subtitle: '|⟨∇f, D⟩ − central difference| / derived bound, one point per instance; below 1 = within the bound',
          x: { field: 'objective', title: 'objective', type: 'nominal' },
          y: { field: 'ratio', title: 'error / bound', scale: 'log', domain: ratioDomain(rows.map((r) => r.ratio)) },
          width: 980,
          series: 'objective', rows,
        }),
      }],
      summary: pass
        ? `${results.length} directional derivatives (${Object.keys(perSpec).length} objective variants) match central differences; worst ${margin.toFixed(2)} decades below the derived bound (${worst!.spec}, N = ${worst!.n}, d = ${worst!.d}, τ = ${worst!.tau.toPrecision(3)}).`
        : missing.length ? `Objectives not covered: ${missing.join(', ')}.` : `Worst mismatch ${margin.toFixed(2)} decades (${worst!.spec}, error ${worst!.error.toExponential(2)} vs bound ${worst!.bound.toExponential(2)}).`,
    };
  },
};
