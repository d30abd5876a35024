/**
 * An independent, naive SogCLR for the tests: materialised B×B (or 2B×2B) logits, u stored as plain
 * float64 numbers (no max shift), the surrogate's gradient written out entry by entry from THEORY 5.
 * Only for moderate τ (e^{2/τ} must fit in a double).
 */
import { type Matrix64, zeros } from '../../src/core/matrix.ts';

export interface NaiveOptions {
  modality: 'bimodal' | 'unimodal';
  tau: number;
  gamma: number;
  eps0: number;
  sharedU: boolean;
  sumStorage: boolean;
  batchFirstVisit: boolean;
}

export interface NaiveState {
  /** Key `${slot}` → u; absent means unvisited. Slots: shared ? i : (anchor 1: i, anchor 2: n + i). */
  u: Map<number, number>;
  n: number;
}

function dot(A: Matrix64, i: number, Bm: Matrix64, j: number): number {
  let s = 0;
  for (let k = 0; k < A.cols; k++) s += A.data[i * A.cols + k]! * Bm.data[j * Bm.cols + k]!;
  return s;
}

/** ĝ per anchor (anchor layout) and, for each anchor, its negatives' exp terms and positive entry. */
interface Anchor {
  g: number;
  neg: { r: number; c: number; e: number }[];
  pos: { r: number; c: number };
}

function anchors(o: NaiveOptions, U: Matrix64, V: Matrix64): { list: Anchor[]; C: number[][]; X: Matrix64; Y: Matrix64 } {
  const B = U.rows;
  const t = o.tau;
  if (o.modality === 'bimodal') {
    const C = Array.from({ length: B }, (_, i) => Array.from({ length: B }, (_, j) => dot(U, i, V, j)));
    const list: Anchor[] = [];
    for (let i = 0; i < B; i++) {
      const neg = [];
      for (let j = 0; j < B; j++) if (j !== i) neg.push({ r: i, c: j, e: Math.exp((C[i]![j]! - C[i]![i]!) / t) });
      list.push({ g: neg.reduce((s, x) => s + x.e, 0) / (B - 1), neg, pos: { r: i, c: i } });
    }
    for (let j = 0; j < B; j++) {
      const neg = [];
      for (let i = 0; i < B; i++) if (i !== j) neg.push({ r: i, c: j, e: Math.exp((C[i]![j]! - C[j]![j]!) / t) });
      list.push({ g: neg.reduce((s, x) => s + x.e, 0) / (B - 1), neg, pos: { r: j, c: j } });
    }
    return { list, C, X: U, Y: V };
  }
  const Z = zeros(2 * B, U.cols);
  Z.data.set(U.data, 0);
  Z.data.set(V.data, B * U.cols);
  const C = Array.from({ length: 2 * B }, (_, a) => Array.from({ length: 2 * B }, (_, z) => dot(Z, a, Z, z)));
  const list: Anchor[] = [];
  for (let a = 0; a < 2 * B; a++) {
    const p = a < B ? a + B : a - B;
    const neg = [];
    for (let z = 0; z < 2 * B; z++) if (z !== a && z !== p) neg.push({ r: a, c: z, e: Math.exp((C[a]![z]! - C[a]![p]!) / t) });
    list.push({ g: neg.reduce((s, x) => s + x.e, 0) / (2 * B - 2), neg, pos: { r: a, c: p } });
  }
  return { list, C, X: Z, Y: Z };
}

/** One SogCLR step: updates `st` in place and returns the gradient of the surrogate and the u's used. */
export function naiveStep(o: NaiveOptions, st: NaiveState, U: Matrix64, V: Matrix64, index: ArrayLike<number>): { gradU: Matrix64; gradV: Matrix64; uUsed: number[] } {
  const B = U.rows;
  const n = st.n;
  const { list, X, Y } = anchors(o, U, V);
  const slot = (a: number) => (o.sharedU ? index[a % B]! : a < B ? index[a]! : n + index[a - B]!);
  const fresh = Array.from({ length: 2 * B }, (_, a) => slot(a)).every((k) => !st.u.has(k));
  const uUsed: number[] = [];
  const old = new Map(st.u);
  for (let a = 0; a < 2 * B; a++) {
    const k = slot(a);
    const firstVisit = o.batchFirstVisit ? fresh : !old.has(k);
    const g = list[a]!.g;
    uUsed.push(firstVisit || o.gamma === 1 ? g : (1 - o.gamma) * (old.get(k) ?? 0) + o.gamma * g);
  }
  for (let a = 0; a < 2 * B; a++) {
    if (!o.sharedU) st.u.set(slot(a), uUsed[a]!);
    else if (a < B) st.u.set(slot(a), o.sumStorage ? uUsed[a]! + uUsed[a + B]! : (uUsed[a]! + uUsed[a + B]!) / 2);
  }
  // ∂F̂/∂(cosine) with F̂ = (τ/(2B)) Σ_a ĝ_a/(ε₀ + u_a):  ∂ĝ_a/∂C_rc = e/(τ m), ∂ĝ_a/∂C_pos = −ĝ_a/τ.
  const R = X.rows;
  const G = Array.from({ length: R }, () => new Array<number>(R).fill(0));
  for (let a = 0; a < 2 * B; a++) {
    const an = list[a]!;
    const m = an.neg.length;
    const coef = (o.tau / (2 * B)) / (o.eps0 + uUsed[a]!);
    for (const x of an.neg) G[x.r]![x.c]! += (coef * x.e) / (o.tau * m);
    G[an.pos.r]![an.pos.c]! -= (coef * an.g) / o.tau;
  }
  const d = U.cols;
  if (o.modality === 'bimodal') {
    const gradU = zeros(B, d);
    const gradV = zeros(B, d);
    for (let i = 0; i < B; i++) {
      for (let j = 0; j < B; j++) {
        for (let k = 0; k < d; k++) {
          gradU.data[i * d + k]! += G[i]![j]! * Y.data[j * d + k]!;
          gradV.data[j * d + k]! += G[i]![j]! * X.data[i * d + k]!;
        }
      }
    }
    return { gradU, gradV, uUsed };
  }
  const gZ = zeros(2 * B, d);
  for (let a = 0; a < 2 * B; a++) {
    for (let z = 0; z < 2 * B; z++) {
      const w = G[a]![z]! + G[z]![a]!;
      for (let k = 0; k < d; k++) gZ.data[a * d + k]! += w * X.data[z * d + k]!;
    }
  }
  const gradU = zeros(B, d);
  const gradV = zeros(B, d);
  gradU.data.set(gZ.data.subarray(0, B * d));
  gradV.data.set(gZ.data.subarray(B * d));
  return { gradU, gradV, uUsed };
}
