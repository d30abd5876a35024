/**
 * Spectral batch selection (CHO Algorithm 1; THEORY 4): partition the N rows into ⌈N/B⌉ batches of
 * exactly B rows whose members have a high pairwise affinity, i.e. high-loss batches, since
 *   L(U_b, V_b) ≥ Σ_{i<j∈b} W_ij / (2B(B−1))     (two-sided InfoNCE, averaged directions)
 * with equality at a batch ETF.
 *
 *   1. affinity  W = A + Aᵀ,  A_ij = log(1+(B−1)e^{S_ij−S_ii}) + log(1+(B−1)e^{S_ji−S_ii}),  S = U Vᵀ/τ
 *      (spectral/affinity.ts; stable softplus form);
 *   2. spectral embedding of the similarity exp(W) with the normalised Laplacian: the K = ⌈n/B⌉ top
 *      eigenvectors Z of M = D^{-1/2} exp(W) D^{-1/2} (no self-loops), computed with per-row
 *      max-shifted log-degrees so exp(W) never overflows (exp(W − c) only rescales the similarity and
 *      leaves M unchanged; see spectral/affinity.ts). Solver: ml-matrix's dense symmetric
 *      eigen-decomposition, or thick-restart block Lanczos on a stored or streamed M (spectral/eigen.ts);
 *   3. the embedding rows: CHO's code calls scikit-learn's spectral_embedding(norm_laplacian=True,
 *      drop_first=False), which returns D^{-1/2} Z (the random-walk eigenvectors; all K columns,
 *      the trivial one included) and does NOT row-normalise as Ng–Jordan–Weiss do. The default
 *      `embedding: 'cho'` follows that (D^{-1/2} is applied up to a global factor, to which k-means
 *      is invariant); `'njw'` row-normalises Z instead;
 *   4. k-means with k-means++ seeding, best of 10 (scikit-learn's KMeans defaults that CHO's
 *      `sc_even` uses; spectral/kmeans.ts);
 *   5. the balanced assignment: every centre receives exactly B rows, minimising the total squared
 *      distance from the points to their centres, solved exactly as a min-cost flow
 *      (spectral/balanced.ts). CHO's code runs scipy's linear_sum_assignment on `cdist` distances
 *      (Euclidean, not squared) to the centres each repeated B times; `assignmentCost: 'euclidean'`
 *      reproduces that objective.
 *
 * Grouped variant (CHO's code for large N): with `groupSize` = k·B < N, the rows are shuffled with
 * the Rng and cut into consecutive groups of groupSize rows (the last group holds the rest), and each
 * group is clustered independently (K = groupSize/B clusters).
 *
 * Uneven N/B (the rule of src/samplers/types.ts: ⌈N/B⌉ batches of exactly B, the last one topped up).
 * With r = N mod B ≠ 0 the group holding the remainder (the only group, or the last one) is
 * clustered into ⌈n_g/B⌉ centres; the centre whose k-means cluster is smallest (ties: lowest index)
 * gets capacity r, every other centre capacity B, and the assignment is exact for these capacities.
 * That cluster's r rows become the LAST batch, topped up with the first B − r rows of this
 * selection's order (the first rows of batch 0), so every row is used at least once and every batch
 * has B distinct rows.
 *
 * Randomness: the group shuffle, the Lanczos start blocks and the k-means seedings all come from
 * `opts.rng` (one child generator per group), so a call is a pure function of its inputs and the
 * generator's state; same seed, same batches, bit for bit on the CPU backend.
 */
import { defaultBackend } from '../backend/index.ts';
import type { Backend } from '../backend/types.ts';
import { CapExceededError, ConfigError, DomainError } from '../core/errors.ts';
import { type Matrix, type Matrix64, gatherRows, toContiguous } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import { assertBatchSize, assertFiniteMatrix, assertNonEmpty, assertPositiveInt, assertSameShape, assertTau } from '../core/validate.ts';
import {
  type AffinityProblem, denseAffinity, denseNormalizedAffinity, logDegrees, logitDiagonal, materializedOperator, streamingOperator,
} from './spectral/affinity.ts';
import { balancedAssignment } from './spectral/balanced.ts';
import { denseTopEigenpairs, type EigenResult, lanczosTopEigenpairs } from './spectral/eigen.ts';
import { kmeans } from './spectral/kmeans.ts';
import { float64Backend } from './spectral/linalg.ts';
import { mutant } from '../core/mutants.ts';

/** `solver: 'auto'` uses the dense eigen-decomposition up to this many rows (per group), Lanczos above. */
export const SPECTRAL_DENSE_MAX_N = 400;
/** Lanczos stores M (N² float64) up to this many rows (32 MiB) and streams it above. */
export const SPECTRAL_MATERIALIZE_MAX_N = 2048;
/** `spectralAffinity` and `solver: 'dense'` refuse N above this (the dense W takes N² float64 = 128 MiB here). */
export const SPECTRAL_AFFINITY_MAX_N = 4096;
/** `lanczos.operator: 'materialized'` refuses N above this (N² float64 = 512 MiB). */
export const SPECTRAL_MATERIALIZE_CAP_N = 8192;

export interface SpectralLanczosOptions {
  /** Residual tolerance ‖M y − θ y‖ for the K Ritz pairs (‖M‖ ≤ 1; default 1e-6). */
  readonly tol?: number;
  /** Cap on operator applications (block products) per group (default 150). */
  readonly maxApplications?: number;
  /** Block size (default min(K, 32)). */
  readonly blockSize?: number;
  /** Basis size before a thick restart (default max(2K + 2p, K + 4p)). */
  readonly maxBasis?: number;
  /** Store M (N x N) or stream it from U, V per application; 'auto' stores it up to SPECTRAL_MATERIALIZE_MAX_N rows. */
  readonly operator?: 'auto' | 'materialized' | 'streaming';
}

export interface SpectralOptions {
  /** Temperature: S = U Vᵀ / τ. */
  readonly tau: number;
  /** Batch size B in 2..N (a batch of one row has no negatives); K = ⌈N / B⌉ clusters. */
  readonly B: number;
  /** k-means++ seeding, Lanczos start vectors, the group shuffle. */
  readonly rng: Rng;
  /** Backend for the blocked affinity products (default: the float64 CPU backend). */
  readonly backend?: Backend;
  /** CHO's grouped variant: cluster disjoint groups of groupSize = k·B rows independently (rows shuffled into groups with rng). */
  readonly groupSize?: number;
  /** Eigen-solver: 'dense' (ml-matrix), 'lanczos' (block Lanczos), 'auto' = dense for ≤ SPECTRAL_DENSE_MAX_N rows per group (default). */
  readonly solver?: 'dense' | 'lanczos' | 'auto';
  /** Embedding rows: 'cho' = D^{-1/2} Z as scikit-learn / CHO (default), 'njw' = Z row-normalised. */
  readonly embedding?: 'cho' | 'njw';
  /** Balanced-assignment cost: 'squared' distance (default) or 'euclidean' (CHO's cdist). */
  readonly assignmentCost?: 'squared' | 'euclidean';
  /** k-means seedings per group, best inertia wins (default 10, CHO's / scikit-learn's n_init). */
  readonly kmeansRestarts?: number;
  /** Lanczos settings. */
  readonly lanczos?: SpectralLanczosOptions;
}

/** What happened in one group (diagnostics for benchmarks and notebooks). */
export interface SpectralGroupInfo {
  /** Rows in the group. */
  readonly rows: number;
  /** K = ⌈rows / B⌉ (1 means no clustering was needed). */
  readonly clusters: number;
  readonly solver: 'dense' | 'lanczos' | 'none';
  /** For Lanczos: whether M was stored or streamed. */
  readonly operator: 'materialized' | 'streaming' | null;
  /** The K top eigenvalues of M (descending). */
  readonly eigenvalues: Float64Array;
  /** max_k ‖M z_k − λ_k z_k‖. */
  readonly maxResidual: number;
  readonly eigenConverged: boolean;
  /** Operator applications (Lanczos). */
  readonly applications: number;
  readonly kmeansInertia: number;
  readonly kmeansIterations: number;
  /** Optimal value of the balanced assignment (in the chosen cost). */
  readonly assignmentCost: number;
  readonly augmentations: number;
}

export interface SpectralResult {
  /** ⌈N/B⌉ batches of B distinct rows; the topped-up one (if any) last. */
  readonly batches: Int32Array[];
  readonly groups: SpectralGroupInfo[];
  /** Uneven N/B: the last batch's r leftover rows and its B − r top-up rows. */
  readonly toppedUp: { readonly leftover: number; readonly topUp: number } | null;
}

function iota(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

interface GroupOutcome {
  /** Full batches (local row indices). */
  readonly full: Int32Array[];
  /** The short cluster (fewer than B rows), if any. */
  readonly short: Int32Array | null;
  readonly info: SpectralGroupInfo;
}

function trivialInfo(n: number): SpectralGroupInfo {
  return {
    rows: n, clusters: 1, solver: 'none', operator: null, eigenvalues: new Float64Array(0), maxResidual: 0, eigenConverged: true,
    applications: 0, kmeansInertia: 0, kmeansIterations: 0, assignmentCost: 0, augmentations: 0,
  };
}

/** Clusters one group (rows of Ug, Vg: float64, contiguous) into ⌈n/B⌉ balanced clusters. */
function clusterGroup(Ug: Matrix64, Vg: Matrix64, opts: SpectralOptions, be: Backend, la: Backend, rng: Rng): GroupOutcome {
  const n = Ug.rows;
  const B = opts.B;
  const K = Math.ceil(n / B);
  const r = n % B;
  if (K === 1) return n === B ? { full: [iota(n)], short: null, info: trivialInfo(n) } : { full: [], short: iota(n), info: trivialInfo(n) };

  const prob: AffinityProblem = {
    n, U: toContiguous(Ug, be.dtype), V: toContiguous(Vg, be.dtype), sDiag: logitDiagonal(Ug, Vg, opts.tau), tau: opts.tau, B, be, la,
  };
  const solverOpt = opts.solver ?? 'auto';
  const solver = solverOpt === 'auto' ? (n <= SPECTRAL_DENSE_MAX_N ? 'dense' : 'lanczos') : solverOpt;
  const lz = opts.lanczos ?? {};
  const opChoice = lz.operator ?? 'auto';
  const materialize = solver === 'dense' || opChoice === 'materialized' || (opChoice === 'auto' && n <= SPECTRAL_MATERIALIZE_MAX_N);
  if (solver === 'dense' && n > SPECTRAL_AFFINITY_MAX_N) {
    throw new CapExceededError('spectralBatches', `solver 'dense' on ${n} rows (per group) exceeds ${SPECTRAL_AFFINITY_MAX_N}: an O(N³) decomposition of an N x N matrix; use 'lanczos' or groupSize`);
  }
  if (materialize && n > SPECTRAL_MATERIALIZE_CAP_N) {
    throw new CapExceededError('spectralBatches', `lanczos.operator 'materialized' on ${n} rows (per group) exceeds ${SPECTRAL_MATERIALIZE_CAP_N} (N² float64 = ${((n * n * 8) / 2 ** 30).toFixed(1)} GiB); use 'streaming' or groupSize`);
  }
  let ell: Float64Array;
  let M: Matrix64 | null = null;
  if (materialize) ({ M, ell } = denseNormalizedAffinity(prob));
  else ell = logDegrees(prob);
  let eig: EigenResult;
  let operator: 'materialized' | 'streaming' | null = null;
  if (solver === 'dense') {
    eig = denseTopEigenpairs(M!, K, la);
  } else {
    const op = M ? materializedOperator(M, la) : streamingOperator(prob, ell);
    operator = op.kind;
    // D^{1/2}·1 is the top eigenvector of M (eigenvalue 1): start the Krylov basis with it.
    let lmax = -Infinity;
    for (let i = 0; i < n; i++) lmax = Math.max(lmax, ell[i]!);
    const start = new Float64Array(n);
    for (let i = 0; i < n; i++) start[i] = Math.exp((ell[i]! - lmax) / 2);
    // Defaults by cost model: a stored M makes a block product cheap (small blocks, fewer
    // matrix-vector products, occasional Rayleigh–Ritz); a streamed M makes every application a
    // full affinity pass (large blocks, a convergence check after each).
    const stored = op.kind === 'materialized';
    const p = lz.blockSize ?? (stored ? Math.min(K, 8) : Math.min(K, 32));
    eig = lanczosTopEigenpairs(op, K, {
      rng, la, start, tol: lz.tol ?? 1e-6, maxApplications: lz.maxApplications ?? (stored ? 400 : 150), blockSize: p,
      maxBasis: lz.maxBasis ?? (stored ? 3 * K + 2 * p : Math.max(2 * K + 2 * p, K + 4 * p)),
      rayleighRitzEvery: stored ? 8 : 1,
    });
  }

  // The embedding (n x K).
  const Y = new Float64Array(n * K);
  const Z = eig.vectors.data;
  if ((opts.embedding ?? 'cho') === 'cho') {
    let lmin = Infinity;
    for (let i = 0; i < n; i++) lmin = Math.min(lmin, ell[i]!);
    for (let i = 0; i < n; i++) {
      const f = Math.exp(-(ell[i]! - lmin) / 2); // D^{-1/2} up to the global factor e^{lmin/2}
      for (let k = 0; k < K; k++) Y[i * K + k] = f * Z[i * K + k]!;
    }
  } else {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += Z[i * K + k]! ** 2;
      const f = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let k = 0; k < K; k++) Y[i * K + k] = f * Z[i * K + k]!;
    }
  }

  const km = kmeans(Y, n, K, K, { rng, la, nInit: opts.kmeansRestarts ?? 10 });
  const capacity = new Int32Array(K).fill(B);
  let shortCentre = -1;
  if (r > 0) {
    const counts = new Int32Array(K);
    for (let i = 0; i < n; i++) counts[km.labels[i]!]++;
    shortCentre = 0;
    for (let c = 1; c < K; c++) if (counts[c]! < counts[shortCentre]!) shortCentre = c;
    capacity[shortCentre] = r;
  }
  const euclid = opts.assignmentCost === 'euclidean';
  const cost = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < K; c++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (Y[i * K + k]! - km.centers[c * K + k]!) ** 2;
      cost[i * K + c] = euclid ? Math.sqrt(s) : s;
    }
  }
  const bal = mutant('spectral-unbalanced') ? unbalancedAssignment(km.labels, n) : balancedAssignment(cost, n, K, capacity);
  const members: number[][] = Array.from({ length: K }, () => []);
  for (let i = 0; i < n; i++) members[bal.assignment[i]!]!.push(i);
  const full: Int32Array[] = [];
  let short: Int32Array | null = null;
  for (let c = 0; c < K; c++) {
    if (c === shortCentre) short = Int32Array.from(members[c]!);
    else full.push(Int32Array.from(members[c]!));
  }
  let maxResidual = 0;
  for (const x of eig.residuals) maxResidual = Math.max(maxResidual, x);
  return {
    full, short,
    info: {
      rows: n, clusters: K, solver, operator, eigenvalues: eig.values, maxResidual, eigenConverged: eig.converged,
      applications: eig.applications, kmeansInertia: km.inertia, kmeansIterations: km.iterations,
      assignmentCost: bal.cost, augmentations: bal.augmentations,
    },
  };
}

/** Mutant 'spectral-unbalanced' (src/core/mutants.ts): the k-means clusters used as batches, whatever their sizes. */
function unbalancedAssignment(labels: ArrayLike<number>, n: number): { assignment: Int32Array; cost: number; augmentations: number } {
  return { assignment: Int32Array.from({ length: n }, (_, i) => labels[i]!), cost: Number.NaN, augmentations: 0 };
}

function validate(op: string, U: Matrix, V: Matrix, opts: SpectralOptions): void {
  if (typeof opts !== 'object' || opts === null) throw new ConfigError(op, 'options {tau, B, rng} are required');
  assertNonEmpty(op, 'U', U);
  assertSameShape(op, 'U', U, 'V', V);
  assertFiniteMatrix(op, 'U', U);
  assertFiniteMatrix(op, 'V', V);
  assertTau(op, opts.tau);
  assertBatchSize(op, opts.B, U.rows);
  if (!opts.rng || typeof opts.rng.split !== 'function') throw new ConfigError(op, 'rng (an Rng) is required');
  if (opts.groupSize !== undefined) {
    assertPositiveInt(op, 'groupSize', opts.groupSize);
    if (opts.groupSize % opts.B !== 0) throw new DomainError(op, `groupSize must be a multiple k·B of B = ${opts.B}, got ${opts.groupSize}`);
  }
  const oneOf = (name: string, v: unknown, allowed: readonly string[]) => {
    if (v !== undefined && !allowed.includes(v as string)) throw new ConfigError(op, `${name} must be one of ${allowed.join(' | ')}, got ${String(v)}`);
  };
  oneOf('solver', opts.solver, ['dense', 'lanczos', 'auto']);
  oneOf('embedding', opts.embedding, ['cho', 'njw']);
  oneOf('assignmentCost', opts.assignmentCost, ['squared', 'euclidean']);
  oneOf('lanczos.operator', opts.lanczos?.operator, ['auto', 'materialized', 'streaming']);
  if (opts.kmeansRestarts !== undefined) assertPositiveInt(op, 'kmeansRestarts', opts.kmeansRestarts);
}

/**
 * Spectral batch selection with diagnostics; see the file comment. `spectralBatches` returns only
 * the batches.
 */
export function spectralBatchesWithInfo(U: Matrix, V: Matrix, opts: SpectralOptions): SpectralResult {
  const op = 'spectralBatches';
  validate(op, U, V, opts);
  const N = U.rows;
  const B = opts.B;
  const be = opts.backend ?? defaultBackend();
  const la = float64Backend(be);
  const Uf = toContiguous(U, 'f64') as Matrix64;
  const Vf = toContiguous(V, 'f64') as Matrix64;
  const G = opts.groupSize;
  const groups: Int32Array[] = [];
  if (G !== undefined && G < N) {
    const perm = opts.rng.permutation(N);
    for (let g0 = 0; g0 < N; g0 += G) groups.push(perm.slice(g0, Math.min(N, g0 + G)));
  } else {
    groups.push(iota(N));
  }
  const batches: Int32Array[] = [];
  const infos: SpectralGroupInfo[] = [];
  let short: Int32Array | null = null;
  for (const rows of groups) {
    const grng = opts.rng.split();
    const whole = rows.length === N;
    const Ug = whole ? Uf : (gatherRows(Uf, rows, 'f64') as Matrix64);
    const Vg = whole ? Vf : (gatherRows(Vf, rows, 'f64') as Matrix64);
    const out = clusterGroup(Ug, Vg, opts, be, la, grng);
    for (const b of out.full) batches.push(b.map((i) => rows[i]!).sort());
    if (out.short) short = out.short.map((i) => rows[i]!).sort();
    infos.push(out.info);
  }
  let toppedUp: SpectralResult['toppedUp'] = null;
  if (short) {
    const r = short.length;
    const last = new Int32Array(B);
    last.set(short, 0);
    last.set(batches[0]!.subarray(0, B - r), r);
    batches.push(last);
    toppedUp = { leftover: r, topUp: B - r };
  }
  return { batches, groups: infos, toppedUp };
}

/**
 * ⌈N/B⌉ batches of exactly B distinct rows chosen by CHO's spectral clustering (see the file
 * comment); every row is in at least one batch, and when B ∤ N the last batch is the topped-up one.
 *
 * Example: spectralBatches(U, V, { tau: 0.1, B: 32, rng: Rng.fromSeed(1), groupSize: 1280 }).
 */
export function spectralBatches(U: Matrix, V: Matrix, opts: SpectralOptions): Int32Array[] {
  return spectralBatchesWithInfo(U, V, opts).batches;
}

/**
 * CHO's affinity W = A + Aᵀ as a dense N x N float64 matrix (W_ii = 4·log B), computed in tiles
 * with the stable softplus form. For small N (tests, notebooks): N ≤ SPECTRAL_AFFINITY_MAX_N.
 *
 * Example: for a batch ETF (u_i = v_i, B points, u_i·u_j = −1/(B−1)),
 *   Σ_{i<j} W_ij / (2B(B−1)) = log(1 + (B−1)·exp(−B/((B−1)τ))) = L(U, V).
 */
export function spectralAffinity(U: Matrix, V: Matrix, tau: number, B: number): Matrix64 {
  const op = 'spectralAffinity';
  assertNonEmpty(op, 'U', U);
  assertSameShape(op, 'U', U, 'V', V);
  assertFiniteMatrix(op, 'U', U);
  assertFiniteMatrix(op, 'V', V);
  assertTau(op, tau);
  assertPositiveInt(op, 'B', B);
  if (U.rows > SPECTRAL_AFFINITY_MAX_N) {
    throw new CapExceededError(op, `N = ${U.rows} rows exceeds ${SPECTRAL_AFFINITY_MAX_N}; the dense N x N affinity is for small N (spectralBatches streams it)`);
  }
  const be = defaultBackend();
  const Uf = toContiguous(U, 'f64');
  const Vf = toContiguous(V, 'f64');
  return denseAffinity({ n: U.rows, U: Uf, V: Vf, sDiag: logitDiagonal(Uf, Vf, tau), tau, B, be, la: be });
}
