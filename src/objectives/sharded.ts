/**
 * Sharded two-sided InfoNCE (THEORY 9.5): the gradient that K data-parallel workers compute when each
 * holds a contiguous shard of the N pairs and forms its local loss against the features gathered from
 * all shards (CLIP / open_clip's `local_loss` with `gather_with_grad`).
 *
 * Shards: I_1, …, I_K, contiguous, sizes ⌈N/K⌉ for the first N mod K and ⌊N/K⌋ for the rest.
 * Shard k's local loss, with S = U Vᵀ/τ, P the row softmax and Q the column softmax of S:
 *
 *   L_k = (1/(2N)) Σ_{i ∈ I_k} [(lse_row_i − S_ii) + (lse_col_i − S_ii)],   Σ_k L_k = L (THEORY 2.1)
 *
 * (1/(2N), not 1/(2n_k): with per-shard means, DDP's average over K equal shards is the same thing.)
 * ∂L_k/∂S_ij = [i ∈ I_k]·(P_ij − δ_ij)/(2N) + [j ∈ I_k]·(Q_ij − δ_ij)/(2N): shard k's row terms touch
 * every v_j, its column terms every u_i. With gather-with-grad the gathered copies carry their gradient
 * back to the shard that owns them (the backward of the all-gather is a reduce-scatter), so the rows
 * receive Σ_k ∂L_k = ∂L exactly. Without it (a plain all_gather, the copies detached) row i of shard m
 * receives only ∂L_m/∂(own rows); the part missing is exactly
 *
 *   D_U[i] = (1/(2Nτ)) Σ_{j ∉ I_m} Q_ij v_j,     D_V[j] = (1/(2Nτ)) Σ_{i ∉ I_m} P_ij u_i,
 *
 * the column-softmax (resp. row-softmax) terms in which the row appears as a NEGATIVE of another shard's
 * anchor; no positive term is ever missing (j ∉ I_m excludes j = i).
 *
 * The computation is float64, in plain loops (O(N²d)); it emulates the K workers one after the other.
 * `missingU/missingV` return D (computed from the same softmaxes), so callers can check
 * gradNoGather + D = grad.
 */
import { createReferenceBackend } from '../backend/reference.ts';
import { assertMatricesFit } from '../core/budget.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import { mutant } from '../core/mutants.ts';
import { assertPositiveInt } from '../core/validate.ts';
import { ConfigError } from '../core/errors.ts';
import { accurateSum, type MatrixLike, prepare } from './common.ts';

/** Only prepare's float64 conversion is used: no kernel of this backend runs. */
const F64 = createReferenceBackend({ dtype: 'f64' });

export interface ShardedOptions {
  /** Temperature τ > 0 (default 1). */
  readonly tau?: number;
  /** Number of shards K, 1 ≤ K ≤ N. */
  readonly shards: number;
  /** Whether the gathered features carry gradient back to the shards that own them (default true). */
  readonly gatherWithGrad?: boolean;
}

export interface ShardedResult {
  /** Σ_k L_k (= the global two-sided InfoNCE). */
  readonly value: number;
  /** The gradient each row's owner holds after the backward pass (float64). */
  readonly gradU: Matrix64;
  readonly gradV: Matrix64;
  /** L_k per shard. */
  readonly shardValues: Float64Array;
  /** Start index of each shard, and N at the end (length K + 1). */
  readonly bounds: Int32Array;
  /** D_U, D_V of the header: what a plain all_gather leaves out (zero for K = 1). */
  readonly missingU: Matrix64;
  readonly missingV: Matrix64;
}

/** Contiguous shard bounds: the first N mod K shards get one row more. */
export function shardBounds(n: number, k: number): Int32Array {
  const b = new Int32Array(k + 1);
  const base = Math.floor(n / k);
  const extra = n % k;
  for (let s = 0; s < k; s++) b[s + 1] = b[s]! + base + (s < extra ? 1 : 0);
  return b;
}

function logSumExp(x: Float64Array): number {
  let m = -Infinity;
  for (const v of x) m = Math.max(m, v);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  return m + Math.log(s);
}

export function shardedInfonceGrad(Uin: MatrixLike, Vin: MatrixLike, opts: ShardedOptions): ShardedResult {
  const op = 'shardedInfonceGrad';
  // The objectives' boundary checks (τ, shapes, finite entries), rows as contiguous float64.
  const p = prepare(op, Uin, Vin, { tau: opts.tau ?? 1, backend: F64 });
  const { n, d, tau } = p;
  const K = opts.shards;
  assertPositiveInt(op, 'shards', K);
  if (K > n) throw new ConfigError(op, `shards must be at most N = ${n}, got ${K}`);
  // S is materialised (n x n float64): refuse what does not fit the memory budget before allocating.
  assertMatricesFit(op, `the materialised S = UVᵀ/τ of the sharded emulation (N = ${n})`, n, n, 8);
  let withGrad = opts.gatherWithGrad ?? true;
  if (withGrad && mutant('gather-without-grad')) withGrad = false;
  const U = p.U.data;
  const V = p.V.data;

  // S = U Vᵀ/τ and its row / column softmaxes (every worker computes its rows / columns of these).
  const S = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += U[i * d + c]! * V[j * d + c]!;
      S[i * n + j] = s / tau;
    }
  }
  const lseRow = new Float64Array(n);
  const lseCol = new Float64Array(n);
  const buf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) buf[j] = S[i * n + j]!;
    lseRow[i] = logSumExp(buf);
    for (let j = 0; j < n; j++) buf[j] = S[j * n + i]!;
    lseCol[i] = logSumExp(buf);
  }
  const P = (i: number, j: number) => Math.exp(S[i * n + j]! - lseRow[i]!);
  const Q = (i: number, j: number) => Math.exp(S[i * n + j]! - lseCol[j]!);

  const bounds = shardBounds(n, K);
  const shardOf = new Int32Array(n);
  for (let s = 0; s < K; s++) for (let i = bounds[s]!; i < bounds[s + 1]!; i++) shardOf[i] = s;

  const gradU = zeros(n, d);
  const gradV = zeros(n, d);
  const missingU = zeros(n, d);
  const missingV = zeros(n, d);
  const shardValues = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const lo = bounds[k]!;
    const hi = bounds[k + 1]!;
    // The mistake 'shard-local-mean': 1/(2n_k) per shard, the shards then summed.
    const norm = mutant('shard-local-mean') ? 2 * (hi - lo) : 2 * n;
    const terms = new Float64Array(2 * (hi - lo));
    for (let i = lo; i < hi; i++) {
      terms[2 * (i - lo)] = lseRow[i]! - S[i * n + i]!;
      terms[2 * (i - lo) + 1] = lseCol[i]! - S[i * n + i]!;
    }
    shardValues[k] = accurateSum(terms) / norm;
    // ∂L_k/∂S_ij, divided by τ for the chain rule through S = UVᵀ/τ: c·(P_ij − δ_ij) for rows i ∈ I_k, c·(Q_ij − δ_ij) for columns j ∈ I_k.
    const c = 1 / (norm * tau);
    // Row terms of shard k: u_i (local) gets Σ_j (P_ij − δ_ij) v_j; v_j gets (P_ij − δ_ij) u_i (local if j ∈ I_k).
    for (let i = lo; i < hi; i++) {
      for (let j = 0; j < n; j++) {
        const g = c * (P(i, j) - (i === j ? 1 : 0));
        const local = shardOf[j] === k;
        for (let a = 0; a < d; a++) {
          gradU.data[i * d + a] += g * V[j * d + a]!; // u_i is shard k's own row
          const toV = g * U[i * d + a]!;
          if (local || withGrad) gradV.data[j * d + a] += toV; // into v_j: local, or through the gathered copy
          if (!local) missingV.data[j * d + a] += toV;
        }
      }
    }
    // Column terms of shard k: v_j (local) gets Σ_i (Q_ij − δ_ij) u_i; u_i gets (Q_ij − δ_ij) v_j.
    for (let j = lo; j < hi; j++) {
      for (let i = 0; i < n; i++) {
        const g = c * (Q(i, j) - (i === j ? 1 : 0));
        const local = shardOf[i] === k;
        for (let a = 0; a < d; a++) {
          gradV.data[j * d + a] += g * U[i * d + a]!;
          const toU = g * V[j * d + a]!;
          if (local || withGrad) gradU.data[i * d + a] += toU;
          if (!local) missingU.data[i * d + a] += toU;
        }
      }
    }
  }
  return { value: accurateSum(shardValues), gradU, gradV, shardValues, bounds, missingU, missingV };
}
