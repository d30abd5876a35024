/**
 * iSogCLR (robust GCL with a temperature per anchor; THEORY 5, arXiv 2305.11965).
 *
 * Objective, in THEORY 2.3's units (averaged over the 2N anchors):
 *   F(U, V, τ) = (1/(2N)) Σ_a [ τ_a·log(ε₀ + g_a(τ_a)) + τ_a·ρ ],   g_a(τ) = mean over a's negatives of e^{h_az/τ}
 * with h_az = a·z − a·p (cosine to the negative minus cosine to the positive). By the DRO duality
 * max_{p: KL(p‖unif) ≤ ρ} Σ p_z h_z = min_{τ ≥ 0} τ·log((1/m)Σ e^{h_z/τ}) + τρ, each anchor's term (ε₀ = 0)
 * is the worst case of its mean negative similarity over a KL ball of radius ρ.
 *
 * Step (a batch of B examples, 2B anchors): u_a tracks g_a(τ_a) by SogCLR's moving average
 * (movingAverage.ts, one slot per anchor); the embedding estimate is the gradient of
 *   F̂_b = (1/(2B)) Σ_a τ_a·ĝ_a(τ_a)/(ε₀ + u_a)              (u held fixed)
 * and each anchor's temperature takes one projected gradient step
 *   τ_a ← Π_[τmin, τmax]( τ_a − η_τ·[ log(ε₀ + u_a) − (ĝ_a/(ε₀ + u_a))·E_{softmax(h/τ_a)}[h/τ_a] + ρ ] )
 * whose bracket, at u = ĝ and ε₀ = 0, is ∂/∂τ [τ log ĝ(τ) + τρ] = ρ − KL(softmax(h/τ) ‖ uniform).
 * The τ gradient is the per-anchor one (not scaled by 1/(2N)): each τ_a appears in one term only.
 *
 * The kernel table has a single τ, so this estimator does its in-batch work directly in float64 on
 * the B×B (bimodal) or 2B×2B (unimodal) matrix of cosines, materialised: per-anchor temperatures,
 * small batches. Every exponential is max-shifted per anchor.
 *
 * State: owned by the caller and updated in place, the batch's 2B u slots and 2B temperatures only
 * (O(B) per step whatever N); `clone` gives a deep copy for snapshots.
 */
import { ConfigError, DomainError, ShapeError } from '../core/errors.ts';
import { type Matrix64, toContiguous, zeros } from '../core/matrix.ts';
import { logEpsPlusExp, toF64 } from '../objectives/common.ts';
import { surrogateWeights } from './batch.ts';
import { checkInput } from './input.ts';
import {
  checkMovingAverage, copyMovingAverage, initMovingAverage, type MovingAverageState, updateMovingAverage,
} from './movingAverage.ts';
import { type EstimatorSpec, gammaAt } from './spec.ts';
import type { Estimator, EstimatorInput, EstimatorOutput, Modality } from './types.ts';
import { mutant } from '../core/mutants.ts';

export type IsogclrSpec = Extract<EstimatorSpec, { kind: 'isogclr' }>;

export interface IsogclrState extends MovingAverageState {
  /** τ per anchor slot (length 2N: slot i first anchor of example i, N + i its second); `step` writes the batch's slots in place. */
  readonly tau: Float64Array;
}

/** τ·log((1/m) Σ_z e^{h_z/τ}) + τρ, max-shifted (the dual side of the DRO duality). */
export function robustDual(h: ArrayLike<number>, tau: number, rho: number): number {
  let mx = -Infinity;
  for (let z = 0; z < h.length; z++) mx = Math.max(mx, h[z]! / tau);
  let s = 0;
  for (let z = 0; z < h.length; z++) s += Math.exp(h[z]! / tau - mx);
  return tau * (mx + Math.log(s) - (mutant('robust-dual-no-log-m') ? 0 : Math.log(h.length))) + tau * rho;
}

/** ∂/∂τ of robustDual: ρ − KL(softmax(h/τ) ‖ uniform). */
export function robustDualTauGrad(h: ArrayLike<number>, tau: number, rho: number): number {
  const m = h.length;
  let mx = -Infinity;
  for (let z = 0; z < m; z++) mx = Math.max(mx, h[z]! / tau);
  let s = 0;
  let sh = 0;
  for (let z = 0; z < m; z++) {
    const e = Math.exp(h[z]! / tau - mx);
    s += e;
    sh += e * (h[z]! / tau);
  }
  const lse = mx + Math.log(s);
  // KL = Σ p (log p + log m) = E_p[h/τ] − lse + log m
  return rho - (sh / s - lse + Math.log(m));
}

/** A·Bᵀ for contiguous float64 matrices (r x d)·(c x d)ᵀ. */
function gramAB(A: Matrix64, Bm: Matrix64): Float64Array {
  const r = A.rows;
  const c = Bm.rows;
  const d = A.cols;
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += A.data[i * d + k]! * Bm.data[j * d + k]!;
      out[i * c + j] = s;
    }
  }
  return out;
}

/** G·Y (r x c)·(c x d) or Gᵀ·Y (transpose: G is c x r), float64. */
function gTimes(G: Float64Array, r: number, c: number, Y: Matrix64, transpose: boolean): Matrix64 {
  const d = Y.cols;
  const rows = transpose ? c : r;
  const out = zeros(rows, d);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const g = G[i * c + j]!;
      if (g === 0) continue;
      const dst = (transpose ? j : i) * d;
      const src = (transpose ? i : j) * d;
      for (let k = 0; k < d; k++) out.data[dst + k]! += g * Y.data[src + k]!;
    }
  }
  return out;
}

interface AnchorTerms {
  /** log ĝ_a(τ_a), length 2B. */
  readonly logG: Float64Array;
  /** E_{softmax(h/τ_a)}[h/τ_a], length 2B. */
  readonly meanH: Float64Array;
  /** softmax over each anchor's negatives, in the layout of the cosine matrix (bimodal: rows, cols). */
  readonly P: Float64Array[];
}

/** Per-anchor softmax statistics of h/τ_a over a's negatives, from the materialised cosine matrix C. */
function anchorTerms(modality: Modality, C: Float64Array, B: number, taus: Float64Array): AnchorTerms {
  const logG = new Float64Array(2 * B);
  const meanH = new Float64Array(2 * B);
  if (modality === 'bimodal') {
    const PR = new Float64Array(B * B);
    const PC = new Float64Array(B * B);
    const logM = Math.log(B - 1);
    for (let a = 0; a < 2 * B; a++) {
      const col = a >= B;
      const i0 = col ? a - B : a;
      const t = taus[a]!;
      const pos = C[i0 * B + i0]!;
      const at = (z: number) => (col ? C[z * B + i0]! : C[i0 * B + z]!) - pos;
      const P = col ? PC : PR;
      const idx = (z: number) => (col ? z * B + i0 : i0 * B + z);
      let mx = -Infinity;
      for (let z = 0; z < B; z++) if (z !== i0) mx = Math.max(mx, at(z) / t);
      let s = 0;
      let sh = 0;
      for (let z = 0; z < B; z++) {
        if (z === i0) continue;
        const e = Math.exp(at(z) / t - mx);
        P[idx(z)] = e;
        s += e;
        sh += e * (at(z) / t);
      }
      for (let z = 0; z < B; z++) if (z !== i0) P[idx(z)]! /= s;
      logG[a] = mx + Math.log(s) - logM;
      meanH[a] = sh / s;
    }
    return { logG, meanH, P: [PR, PC] };
  }
  const n2 = 2 * B;
  const PK = new Float64Array(n2 * n2);
  const logM = Math.log(2 * B - 2);
  for (let a = 0; a < n2; a++) {
    const p = (a + B) % n2;
    const t = taus[a]!;
    const pos = C[a * n2 + p]!;
    let mx = -Infinity;
    for (let z = 0; z < n2; z++) if (z !== a && z !== p) mx = Math.max(mx, (C[a * n2 + z]! - pos) / t);
    let s = 0;
    let sh = 0;
    for (let z = 0; z < n2; z++) {
      if (z === a || z === p) continue;
      const hz = (C[a * n2 + z]! - pos) / t;
      const e = Math.exp(hz - mx);
      PK[a * n2 + z] = e;
      s += e;
      sh += e * hz;
    }
    for (let z = 0; z < n2; z++) if (z !== a && z !== p) PK[a * n2 + z]! /= s;
    logG[a] = mx + Math.log(s) - logM;
    meanH[a] = sh / s;
  }
  return { logG, meanH, P: [PK] };
}

export function isogclrEstimator(spec: IsogclrSpec): Estimator<IsogclrState> {
  const op = 'isogclr';
  const modality: Modality = spec.modality ?? 'unimodal';
  const eps0 = spec.eps0 ?? 0;
  const { tau0, tauMin, tauMax, rho, tauLr } = spec;
  return {
    name: 'isogclr',
    modality,
    init(n: number): IsogclrState {
      if (!Number.isInteger(n) || n < 2) throw new ConfigError(op, `init needs N >= 2 examples, got ${n}`);
      return { ...initMovingAverage(n, false), tau: new Float64Array(2 * n).fill(tau0) };
    },
    step(input: EstimatorInput, state: IsogclrState): EstimatorOutput<IsogclrState> {
      checkMovingAverage(op, state, false);
      if (!(state.tau instanceof Float64Array) || state.tau.length !== 2 * state.n) {
        throw new ShapeError(op, `state.tau must be a Float64Array of 2N = ${2 * state.n} temperatures`);
      }
      const { U, V, B } = checkInput(op, input, state.n);
      const n = state.n;
      const index = input.index;
      const slot = (a: number) => (a < B ? index[a]! : n + index[a - B]!);
      const taus = new Float64Array(2 * B);
      for (let a = 0; a < 2 * B; a++) {
        const t = state.tau[slot(a)]!;
        if (!(t > 0 && Number.isFinite(t))) throw new DomainError(op, `state.tau[${slot(a)}] is ${t}; temperatures must be finite and > 0`);
        taus[a] = t;
      }
      const U64 = toF64(toContiguous(U, 'f64'));
      const V64 = toF64(toContiguous(V, 'f64'));
      let X: Matrix64;
      let C: Float64Array;
      if (modality === 'bimodal') {
        X = U64;
        C = gramAB(U64, V64);
      } else {
        X = zeros(2 * B, U.cols);
        X.data.set(U64.data, 0);
        X.data.set(V64.data, B * U.cols);
        C = gramAB(X, X);
      }
      const terms = anchorTerms(modality, C, B, taus);
      const gamma = gammaAt(spec.gamma, input.epoch);
      const logU = updateMovingAverage(state, index, terms.logG, gamma);
      const r = surrogateWeights(terms.logG, logU, eps0, 1); // ĝ_a/(ε₀ + u_a)
      const c = r.map((x) => x / (2 * B)); // ∂F̂/∂(softmax-weighted cosine), per anchor
      // τ steps, in place (the old τ_a of the batch are in taus).
      const tau = state.tau;
      for (let a = 0; a < 2 * B; a++) {
        const gTau = logEpsPlusExp(eps0, logU[a]!) - r[a]! * terms.meanH[a]! + rho;
        tau[slot(a)] = Math.min(tauMax, Math.max(tauMin, taus[a]! - tauLr * gTau));
      }
      // ∂F̂/∂C, then the chain rule through C = U Vᵀ (bimodal) or K = Z Zᵀ (unimodal).
      let gradU: Matrix64;
      let gradV: Matrix64;
      if (modality === 'bimodal') {
        const [PR, PC] = terms.P as [Float64Array, Float64Array];
        const G = new Float64Array(B * B);
        for (let i = 0; i < B; i++) {
          for (let j = 0; j < B; j++) G[i * B + j] = i === j ? -(c[i]! + c[B + i]!) : c[i]! * PR[i * B + j]! + c[B + j]! * PC[i * B + j]!;
        }
        gradU = gTimes(G, B, B, V64, false);
        gradV = gTimes(G, B, B, U64, true);
      } else {
        const n2 = 2 * B;
        const PK = terms.P[0]!;
        const G = new Float64Array(n2 * n2);
        for (let a = 0; a < n2; a++) {
          for (let z = 0; z < n2; z++) G[a * n2 + z] = c[a]! * PK[a * n2 + z]!;
          G[a * n2 + ((a + B) % n2)] = -c[a]!;
        }
        const gZ = gTimes(G, n2, n2, X, false);
        const gZt = gTimes(G, n2, n2, X, true);
        for (let k = 0; k < gZ.data.length; k++) gZ.data[k]! += gZt.data[k]!;
        const d = U.cols;
        gradU = zeros(B, d);
        gradV = zeros(B, d);
        gradU.data.set(gZ.data.subarray(0, B * d));
        gradV.data.set(gZ.data.subarray(B * d, 2 * B * d));
      }
      let value = 0;
      for (let a = 0; a < 2 * B; a++) value += taus[a]! * (logEpsPlusExp(eps0, terms.logG[a]!) + rho);
      return { gradU, gradV, state, batchValue: value / (2 * B) };
    },
    clone(state: IsogclrState): IsogclrState {
      return { ...copyMovingAverage(state), tau: state.tau.slice() };
    },
  };
}
