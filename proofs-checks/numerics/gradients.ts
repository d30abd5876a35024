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
 *
 * The sigmoid loss (SigLIP), L = (1/N) Σ_{i,j} sp(y_ij), sp(y) = log(1 + e^y), y_ij = −z_ij(t·s_ij + b),
 * z_ii = 1, z_ij = −1 (i ≠ j), s_ij = u_i·v_j the raw dot product; checked at t = 1/τ (τ of the
 * instance) and b drawn uniformly from [−12, 2] (SigLIP's initialisation b = −10 and b near 0).
 *
 * Truncation. s_ij(k) is quadratic in the step as above; M1 ≥ |s'|, M2 ≥ |s''| are taken with τ = 1
 * (raw dot products, all pairs of Z). y' = −z·t·s', y'' = −z·t·s'', y''' = 0, so |y'| ≤ t·M1,
 * |y''| ≤ t·M2. sp' = σ ∈ (0, 1), sp'' = σ(1 − σ) ≤ 1/4, |sp'''| = |σ(1 − σ)(1 − 2σ)| ≤ 1/(6√3) < 0.0963,
 * and (sp∘y)''' = sp'''·y'³ + 3·sp''·y'·y'', so each of the N² terms has third derivative at most
 * 0.0963·(t·M1)³ + 0.75·t²·M1·M2; the loss sums them and divides by N:
 *   |φ'''| ≤ B3 = N·(0.0963·(t·M1)³ + 0.75·t²·M1·M2).
 *
 * Rounding of the value (units of u = ε/2). With σ₁ = absLogitScale(Z, 1) (≥ every Σ_k |u_ik v_jk|)
 * and Y = t·σ₁ + |b| (≥ every |y_ij|). Every term sp(y_ij) is positive and Σ_ij sp(y_ij) = N·L, and
 * σ(y) ≤ sp(y) (w/(1 + w) ≤ log(1 + w) for w = e^y ≥ 0), so Σ_ij σ(y_ij) ≤ min(N², N·L):
 *   y_ij      the d-term dot product s (γ_d: d·u·σ₁, any order, FMA or not), fl(t·s) (u·t·σ₁),
 *             fl(t·s + b) (u·Y), the negation exact: off by at most (d + 2)·u·Y; sp' = σ, so
 *             sp(y_ij) moves by σ(y_ij)·(d + 2)·u·Y (to first order): Σ ≤ (d + 2)·u·Y·min(N², N·L);
 *   sp(y_ij)  its own evaluation, the kernel's max(y, 0) + log1p(e), e = exp(−|y|): exp (1 ulp = 2u
 *             relative; log1p' ≤ 1 and e/(1 + e) ≤ log1p(e), so ≤ 2u·log1p(e)), log1p
 *             (2u·log1p(e)), the addition (u·sp): ≤ 5u·sp(y_ij); Σ ≤ 5u·N·L;
 *   Σ         N² nonnegative terms summed in any order: recursive summation in any order (any tree)
 *             is off by at most (N² − 1)·u·Σ|terms| = (N² − 1)·u·N·L. The blocked CPU kernel
 *             (src/backend/cpu/sigmoid.ts) sums each tile row left to right (≤ T − 1 ≤ N − 1
 *             additions per term) and adds the row sums by Neumaier compensated summation
 *             (2u·|sum| + O(N²u²)·Σ|terms|): (N + 1 + O(N²u))·u·Σ|terms|, inside the any-order
 *             bound for every N ≥ 2;
 *   /N        u·L.
 * Hence |fl(L) − L| ≤ u·[(d + 2)·Y·min(N, L) + (5 + N² − 1 + 1)·L] + O(u²), and with the factor 2
 * for the second-order terms (2u = ε; L taken as the computed value, a first-order change):
 *   δf = ε·[(d + 2)·Y·min(N, L) + (N² + 5)·L]      (`sigmoidRoundingBound`).
 * The analytic side: ⟨∇L, D⟩ = (1/N) Σ_ij G_ij·s'_ij(0) with G_ij = t·h_ij, h_ij = −z_ij·σ(y_ij); y off
 * by (d + 2)·u·Y and σ 1/4-Lipschitz, σ's own evaluation e/(1 + e) or 1/(1 + e) (exp, add, divide:
 * ≤ 4u) and the product t·h (u): |ΔG_ij| ≤ t·u·((d + 2)·Y/4 + 5), worth N·t·M1·u·((d + 2)·Y/4 + 5);
 * the gemms G V and Gᵀ U (N-term sums, γ_N·Σ_j |G_ij||V_jk| per entry, |G| ≤ t) are worth
 * u·t·Σ_ij A_ij with A_ij = Σ_k (|du_ik·v_jk| + |u_ik·dv_jk|); the scaling by 1/N (u·Σ|g D|) and the
 * final 2nd-term dot product (2nd·u·Σ|g D|):
 *   δan = u·[N·t·M1·((d + 2)·Y/4 + 5) + t·Σ_ij A_ij + (2nd + 1)·Σ|g_i D_i|],
 * and the bound is assembled as above (k, (δf₊ + δf₋)/(2k), ε·|fd|, the perturbed inputs, δan).
 */
import { type Backend, createCpuBackend } from '../../src/backend/index.ts';
import type { Claim, ClaimContext, Verdict } from '../../src/claims/types.ts';
import { decadesBelow } from '../../src/claims/types.ts';
import { binomial } from '../../src/core/combinatorics.ts';
import { type Matrix64, zeros } from '../../src/core/matrix.ts';
import type { Rng } from '../../src/core/random.ts';
import { normalizeRows } from '../../src/core/sphere.ts';
import { evaluateObjective, OBJECTIVE_NAMES, type ObjectiveSpec } from '../../src/objectives/index.ts';
import { scatterChart } from '../../src/plot/charts.ts';

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

/**
 * Forward rounding bound of the sigmoid loss's value L (header): ε·[(d + 2)·Y·min(N, L) + (N² + 5)·L],
 * Y = t·σ₁ + |b| with σ₁ = absLogitScale(Z, 1), L the (computed, positive) value; ε the dtype's epsilon.
 */
export function sigmoidRoundingBound(n: number, d: number, Y: number, L: number, eps = EPS64): number {
  const l = Math.abs(L);
  return eps * ((d + 2) * Y * Math.min(n, l) + (n * n + 5) * l);
}

/** The specs checked on an N-row instance: every name of OBJECTIVE_NAMES, GCL with ε₀ = 0 and > 0, minibatch all and list, sigmoid at t = 1/τ. */
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
    // sigmoid: no τ; the scale t = 1/τ, the bias uniform in [−12, 2] (SigLIP's init −10, and near 0).
    { name: 'sigmoid', t: 1 / tau, b: -12 + 14 * rng.uniform() },
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

/** The largest step tried (the chosen step is far below); M1 includes the 2k·|DZ_a·DZ_z| term for k ≤ K_MAX. */
const K_MAX = 1e-3;

/**
 * M1 = max_{a,z} |DZ_a·Z_z| + |Z_a·DZ_z| + 2k_max·|DZ_a·DZ_z| ≥ |s'| and M2 = 2·max_{a,z} |DZ_a·DZ_z| ≥ |s''|
 * over all pairs of rows of Z (header), at τ = 1 (raw dot products).
 */
function lineDerivativeBounds(Z: Matrix64, DZ: Matrix64): { m1: number; m2: number } {
  const d = Z.cols;
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
      m1 = Math.max(m1, Math.abs(dz) + Math.abs(zd) + 2 * K_MAX * Math.abs(dd));
      m2 = Math.max(m2, Math.abs(dd));
    }
  }
  return { m1, m2: 2 * m2 };
}

/** Σ_i |g_i D_i|, Σ_i |g_i||x_i|, Σ_i |g_i||D_i| and ⟨g, D⟩ over both blocks. */
function gradientSums(g: { gradU: Matrix64 | null; gradV: Matrix64 | null }, U: Matrix64, V: Matrix64, DU: Matrix64, DV: Matrix64) {
  let analytic = 0;
  let gd = 0;
  let gx = 0;
  let gD = 0;
  for (let i = 0; i < U.data.length; i++) {
    analytic += g.gradU!.data[i]! * DU.data[i]! + g.gradV!.data[i]! * DV.data[i]!;
    gd += Math.abs(g.gradU!.data[i]! * DU.data[i]!) + Math.abs(g.gradV!.data[i]! * DV.data[i]!);
    gx += Math.abs(g.gradU!.data[i]!) * Math.abs(U.data[i]!) + Math.abs(g.gradV!.data[i]!) * Math.abs(V.data[i]!);
    gD += Math.abs(g.gradU!.data[i]!) * Math.abs(DU.data[i]!) + Math.abs(g.gradV!.data[i]!) * Math.abs(DV.data[i]!);
  }
  return { analytic, gd, gx, gD };
}

/** The sigmoid loss's check (header: B3, δf = `sigmoidRoundingBound`, δan). */
function checkSigmoidGradient(spec: ObjectiveSpec, U: Matrix64, V: Matrix64, DU: Matrix64, DV: Matrix64, backend: Backend): GradientCheck {
  const n = U.rows;
  const d = U.cols;
  const t = spec.t!;
  const b = spec.b!;
  const { m1: M1, m2: M2 } = lineDerivativeBounds(stack(U, V), stack(DU, DV));
  const B3 = n * (0.0963 * (t * M1) ** 3 + 0.75 * t * t * M1 * M2);
  const Y = (X: Matrix64, W: Matrix64) => t * absLogitScale(stack(X, W), 1) + Math.abs(b);
  const Y0 = Y(U, V);
  const r = evaluateObjective(spec, U, V, { backend });
  const df = sigmoidRoundingBound(n, d, Y0, r.value);
  const { analytic, gd, gx, gD } = gradientSums(r, U, V, DU, DV);
  // Σ_ij A_ij, A_ij = Σ_k |du_ik v_jk| + |u_ik dv_jk| (the gemms' rounding on the analytic side).
  let sumA = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < d; k++) sumA += Math.abs(DU.data[i * d + k]! * V.data[j * d + k]!) + Math.abs(U.data[i * d + k]! * DV.data[j * d + k]!);
    }
  }
  const dan = U64 * (n * t * M1 * ((d + 2) * Y0 / 4 + 5) + t * sumA + (2 * n * d + 1) * gd);
  const k = B3 > 0 ? Math.min(K_MAX, Math.cbrt((3 * (2 * df + U64 * gx)) / B3)) : K_MAX;
  const side = (s: number) => {
    const Us = axpy(U, s, DU);
    const Vs = axpy(V, s, DV);
    const value = evaluateObjective(spec, Us, Vs, { backend, grad: false }).value;
    return { value, df: sigmoidRoundingBound(n, d, Y(Us, Vs), value) };
  };
  const p = side(k);
  const m = side(-k);
  const fd = (p.value - m.value) / (2 * k);
  const bound = (k * k * B3) / 6
    + (p.df + m.df) / (2 * k) + EPS64 * Math.abs(fd)
    + (U64 * (gx + k * gD)) / k
    + dan;
  return { spec: specLabel(spec), n, d, tau: 1 / t, analytic, fd, error: Math.abs(analytic - fd), bound, step: k };
}

/** One objective at one point along one direction: the analytic directional derivative against the bounded central difference. */
export function checkGradient(spec: ObjectiveSpec, U: Matrix64, V: Matrix64, DU: Matrix64, DV: Matrix64, backend: Backend): GradientCheck {
  if (spec.name === 'sigmoid') return checkSigmoidGradient(spec, U, V, DU, DV, backend);
  const n = U.rows;
  const d = U.cols;
  const tau = spec.tau ?? 1;
  const Z = stack(U, V);
  const DZ = stack(DU, DV);
  const t = Math.max(1, tau);
  const { m1, m2 } = lineDerivativeBounds(Z, DZ);
  const M1 = m1 / tau;
  const M2 = m2 / tau;
  const B3 = t * (4.3 * M1 ** 3 + 6 * M1 * M2);
  const sigma = absLogitScale(Z, tau);
  const softmaxLen = spec.name === 'gcl-unimodal' ? 2 * n : n;
  const r = evaluateObjective(spec, U, V, { backend });
  const { analytic, gd, gx, gD } = gradientSums(r, U, V, DU, DV);
  const df = valueRoundingBound(d, softmaxLen, sigma, tau);
  const k = B3 > 0 ? Math.min(K_MAX, Math.cbrt((3 * (2 * df + U64 * gx)) / B3)) : K_MAX;
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
    'For every objective (infonce, infonce-uv, minibatch over all batches and over a list, gcl-bimodal and gcl-unimodal with ε₀ = 0 and ε₀ > 0, and the sigmoid loss $L = \\frac{1}{N}\\sum_{i,j} \\log\\left(1 + e^{-z_{ij}(t\\, u_i \\cdot v_j + b)}\\right)$ at $t = 1/\\tau$ and $b \\in [-12, 2]$), the analytic gradient agrees with central differences along random directions within the derived finite-difference error bound (checked at $N \\le 9$, $d \\le 6$ (smoke) or $N \\le 32$, $d \\le 16$ (full), $\\tau \\in [0.05, 2]$).',
  assumptions: [
    'blocked CPU backend, float64 (block size 128 and 8, alternating)',
    'N from 2 to 9 (smoke) or 32 (full), d from 1 to 6 or 16; τ log-uniform in [0.05, 2]; rows unit or Gaussian (sd 0.7); directions Gaussian',
    'sigmoid loss: t = 1/τ of the instance, b uniform in [−12, 2] (SigLIP\'s initialisation b = −10, and b near 0)',
    'bound: step-size truncation from a bound on the third derivative along the line, plus forward rounding bounds (derived in the file header, separately for the sigmoid loss)',
  ],
  kind: 'identity',
  // The kill matrix (npm run mutants): the gradient mutants of the softmax objectives. The sigmoid
  // mutants change the value and the gradient consistently (the gradient stays the derivative of the
  // mutated loss), so only the high-precision comparison of max-shift-at-tau-0.01 sees them.
  mutants: ['column-softmax-dropped', 'inv-tau-twice'],
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
