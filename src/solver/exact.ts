/**
 * The exact solver: full-batch gradient descent on the product of unit spheres (THEORY 6).
 *
 *   projected:      U ← normalize(U − η ∂L/∂U)                 (normalise after each step; CHO's code)
 *   reparametrised: X ← X − η ∂L/∂X,  U = normalize(X),  ∂L/∂X = (I − ûûᵀ) ∂L/∂U / ‖x‖
 *                   (the effective step shrinks as η/‖x‖² when ‖x‖ grows)
 * It stops when the Riemannian gradient norm ‖(grad_R U, grad_R V)‖_F ≤ tol or after `steps` steps.
 * Each trace row holds the loss, the Riemannian gradient norm and, where a known optimum exists
 * for the objective and shape, the gap to its closed-form value and the distance ‖UVᵀ − G*‖_F.
 */
import type { Backend } from '../backend/types.ts';
import { ConfigError, NonFiniteError } from '../core/errors.ts';
import { frobeniusNorm, type Matrix, type Matrix64, zeros } from '../core/matrix.ts';
import { Rng } from '../core/random.ts';
import { normalizeRows, rowNorms, tangentProject } from '../core/sphere.ts';
import { assertFiniteMatrix, assertNonNegative, assertPositiveInt, assertSameShape, assertTau } from '../core/validate.ts';
import { evaluateObjective, type ObjectiveSpec } from '../objectives/index.ts';
import { knownOptimum, type KnownOptimum } from '../optima/known.ts';

export type SphereMode = 'projected' | 'reparam';

export interface ExactSolverOptions {
  readonly n: number;
  readonly d: number;
  /** Objective to minimise (default two-sided InfoNCE at τ = 1). */
  readonly objective?: ObjectiveSpec;
  readonly steps?: number;
  readonly lr?: number;
  readonly mode?: SphereMode;
  /** Stop when the Riemannian gradient norm falls to this (default 1e-9). */
  readonly tol?: number;
  readonly seed?: number;
  /** Starting point (default: Gaussian rows from `seed`, normalised; V drawn independently). */
  readonly init?: { readonly U: Matrix; readonly V: Matrix };
  readonly backend?: Backend;
  /** Record every k-th step in the trace (the first and last steps are always recorded). */
  readonly logEvery?: number;
  /** Called after every recorded step (progress reporting). */
  readonly onStep?: (row: TraceRow) => void;
}

export interface TraceRow {
  readonly step: number;
  readonly loss: number;
  readonly gradNorm: number;
  /** loss − closed-form optimum value, where a known optimum exists. */
  readonly gap?: number;
  /** ‖UVᵀ − G*‖_F to the optimal Gram set, where a known optimum exists. */
  readonly distance?: number;
}

export interface ExactSolverResult {
  readonly U: Matrix64;
  readonly V: Matrix64;
  readonly trace: TraceRow[];
  readonly steps: number;
  /** The Riemannian gradient norm reached `tol` at a point that has not collapsed. */
  readonly converged: boolean;
  /**
   * Every row of U, and every row of V, is the same point: a stationary point of maximal loss
   * (the gradient vanishes there), typically reached by a step size far too large.
   */
  readonly collapsed: boolean;
  readonly optimum: KnownOptimum | null;
}

/** All rows equal to within `tol` (Euclidean). */
function allRowsEqual(m: Matrix64, tol = 1e-6): boolean {
  for (let i = 1; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) s += (m.data[i * m.cols + j]! - m.data[j]!) ** 2;
    if (s > tol * tol) return false;
  }
  return true;
}

export function solveExact(opts: ExactSolverOptions): ExactSolverResult {
  const op = 'solveExact';
  const { n, d } = opts;
  assertPositiveInt(op, 'n', n, 2); // one pair has no negatives: the loss is identically 0
  assertPositiveInt(op, 'd', d);
  const objective: ObjectiveSpec = opts.objective ?? { name: 'infonce', tau: 1 };
  assertTau(op, objective.tau ?? 1);
  const steps = opts.steps ?? 2000;
  assertPositiveInt(op, 'steps', steps, 0);
  const lr = opts.lr ?? 1;
  if (!Number.isFinite(lr) || lr <= 0) throw new ConfigError(op, `lr must be a finite number > 0, got ${lr}`);
  const mode = opts.mode ?? 'projected';
  if (mode !== 'projected' && mode !== 'reparam') throw new ConfigError(op, `mode must be 'projected' or 'reparam', got '${String(mode)}'`);
  const tol = opts.tol ?? 1e-9;
  assertNonNegative(op, 'tol', tol);
  const logEvery = opts.logEvery ?? 1;
  assertPositiveInt(op, 'logEvery', logEvery);

  let XU: Matrix64;
  let XV: Matrix64;
  if (opts.init) {
    for (const [name, m] of [['init.U', opts.init.U], ['init.V', opts.init.V]] as const) {
      if (m.rows !== n || m.cols !== d) throw new ConfigError(op, `${name} is ${m.rows}x${m.cols}, expected ${n}x${d}`);
      assertFiniteMatrix(op, name, m);
    }
    assertSameShape(op, 'init.U', opts.init.U, 'init.V', opts.init.V);
    XU = normalizeRows(opts.init.U, op, 'init.U');
    XV = normalizeRows(opts.init.V, op, 'init.V');
  } else {
    const rng = Rng.fromSeed(opts.seed ?? 0);
    XU = normalizeRows(rng.split().fillNormalMatrix(n, d), op, 'U');
    XV = normalizeRows(rng.split().fillNormalMatrix(n, d), op, 'V');
  }

  const optimum = knownOptimum(objective, n, d);
  const trace: TraceRow[] = [];
  const evalOpts = { backend: opts.backend };
  let converged = false;
  let step = 0;
  let U = XU;
  let V = XV;
  for (;;) {
    U = mode === 'projected' ? XU : normalizeRows(XU, op, 'U');
    V = mode === 'projected' ? XV : normalizeRows(XV, op, 'V');
    const r = evaluateObjective(objective, U, V, evalOpts);
    const gU = tangentProject(U, r.gradU!);
    const gV = tangentProject(V, r.gradV!);
    const gradNorm = frobeniusNorm(gU, gV);
    const stationary = gradNorm <= tol;
    const last = stationary || step === steps;
    if (step % logEvery === 0 || last) {
      const row: TraceRow = optimum
        ? { step, loss: r.value, gradNorm, gap: r.value - optimum.value, distance: optimum.distance(U, V) }
        : { step, loss: r.value, gradNorm };
      trace.push(row);
      opts.onStep?.(row);
    }
    if (last) break;
    if (mode === 'projected') {
      XU = normalizeRows(axpy(XU, -lr, r.gradU!, step), op, 'U');
      XV = normalizeRows(axpy(XV, -lr, r.gradV!, step), op, 'V');
    } else {
      XU = axpy(XU, -lr, scaleRows(gU, rowNorms(XU)), step);
      XV = axpy(XV, -lr, scaleRows(gV, rowNorms(XV)), step);
    }
    step++;
  }
  const collapsed = n > 1 && allRowsEqual(U) && allRowsEqual(V);
  converged = trace[trace.length - 1]!.gradNorm <= tol && !collapsed;
  return { U, V, trace, steps: step, converged, collapsed, optimum };
}

/** X + a·G; an overflow (a step so large that a coordinate is not finite) is a NonFiniteError. */
function axpy(X: Matrix64, a: number, G: Matrix, step: number): Matrix64 {
  const out = zeros(X.rows, X.cols);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < X.cols; j++) {
      const x = X.data[i * X.cols + j]! + a * G.data[G.offset + i * G.rowStride + j * G.colStride]!;
      if (!Number.isFinite(x)) throw new NonFiniteError('solveExact', `step ${step}: the update x - lr·grad overflowed at row ${i} (lr = ${-a}); use a smaller step size`);
      out.data[i * X.cols + j] = x;
    }
  }
  return out;
}

/** Row i of G divided by norms[i] (the 1/‖x‖ of the reparametrised chain rule). */
function scaleRows(G: Matrix64, norms: Float64Array): Matrix64 {
  const out = zeros(G.rows, G.cols);
  for (let i = 0; i < G.rows; i++) {
    for (let j = 0; j < G.cols; j++) out.data[i * G.cols + j] = G.data[i * G.cols + j]! / norms[i]!;
  }
  return out;
}
