/**
 * The computations behind CHO's Figure 1, as library functions (the notebooks only plot them):
 *
 * - (a) `lossAlongRotation`: objectives evaluated along a one-parameter rotation of one embedding
 *   (u_i, or u_i and v_i together) in a coordinate plane, starting from given embeddings — e.g. the
 *   regular N-gon (`regularPolygon`), a common stationary point of the full-batch InfoNCE and of the
 *   mini-batch objective over all C(N,B) batches at d = 2 (THEORY 3, caveats).
 * - (b) `minimiserEndPoints`: projected gradient descent (`solveExact`) on several objectives from one
 *   seeded start, with the end points' Gram matrices U Vᵀ (`gramMatrix`), full-batch losses and
 *   distances to the simplex-ETF Gram matrix.
 *
 * @example
 *   const P = regularPolygon(10);
 *   const rows = lossAlongRotation({ U: P, row: 0, anglesDeg: { from: -180, to: 180, count: 181 },
 *     objectives: [{ label: 'full batch', spec: { name: 'infonce', tau: 1 } },
 *                  { label: 'all C(N,2) batches', spec: { name: 'minibatch', tau: 1, batches: { kind: 'all', B: 2 } } }] });
 */
import type { Backend } from '../backend/types.ts';
import { ConfigError, DomainError } from '../core/errors.ts';
import { get, type Matrix, type Matrix64, toContiguous, zeros } from '../core/matrix.ts';
import { assertPositiveInt } from '../core/validate.ts';
import { evaluateObjective, type ObjectiveSpec } from '../objectives/index.ts';
import { etfInfonce } from '../optima/closedForms.ts';
import { gramDistance } from '../optima/gramDistance.ts';
import { solveExact, type SphereMode } from '../solver/exact.ts';

/** The regular N-gon in R^d (first two coordinates; the others 0): row i = (cos 2πi/N, sin 2πi/N, 0, …). */
export function regularPolygon(n: number, d = 2): Matrix64 {
  const op = 'regularPolygon';
  assertPositiveInt(op, 'n', n);
  assertPositiveInt(op, 'd', d);
  if (d < 2) throw new DomainError(op, `d must be >= 2, got ${d}`);
  const P = zeros(n, d);
  for (let i = 0; i < n; i++) {
    P.data[i * d] = Math.cos((2 * Math.PI * i) / n);
    P.data[i * d + 1] = Math.sin((2 * Math.PI * i) / n);
  }
  return P;
}

/** U Vᵀ (N x M, float64). */
export function gramMatrix(U: Matrix, V: Matrix): Matrix64 {
  if (U.cols !== V.cols) throw new ConfigError('gramMatrix', `U is ${U.rows}x${U.cols} but V is ${V.rows}x${V.cols}: the column counts differ`);
  const G = zeros(U.rows, V.rows);
  for (let i = 0; i < U.rows; i++) {
    for (let j = 0; j < V.rows; j++) {
      let s = 0;
      for (let k = 0; k < U.cols; k++) s += get(U, i, k) * get(V, j, k);
      G.data[i * V.rows + j] = s;
    }
  }
  return G;
}

export interface LabelledObjective {
  /** The series name in the output rows (e.g. 'full batch'). */
  readonly label: string;
  readonly spec: ObjectiveSpec;
}

export interface RotationSliceOptions {
  /** The embeddings at angle 0 (N x d, d >= 2). */
  readonly U: Matrix;
  /** Default: V = U. */
  readonly V?: Matrix;
  /** The example whose embedding rotates (default 0). */
  readonly row?: number;
  /** 'both' (default): u_row and v_row rotate together; 'u': u_row only. */
  readonly views?: 'both' | 'u';
  /** The two coordinates spanning the rotation plane (default [0, 1]). */
  readonly plane?: readonly [number, number];
  /** Angles in degrees: a list, or `count` evenly spaced values from `from` to `to` (both included). */
  readonly anglesDeg: readonly number[] | { readonly from: number; readonly to: number; readonly count: number };
  readonly objectives: readonly LabelledObjective[];
  readonly backend?: Backend;
}

export type RotationSliceRow = {
  readonly angleDeg: number;
  readonly objective: string;
  readonly value: number;
  /** value − the objective's value at angle 0 (the given embeddings). */
  readonly change: number;
};

function angleList(op: string, a: RotationSliceOptions['anglesDeg']): number[] {
  if (Array.isArray(a)) {
    if (a.length === 0) throw new ConfigError(op, 'anglesDeg is empty');
    for (const x of a) if (!Number.isFinite(x)) throw new DomainError(op, `angles must be finite, got ${x}`);
    return [...a];
  }
  const { from, to, count } = a as { from: number; to: number; count: number };
  assertPositiveInt(op, 'anglesDeg.count', count);
  if (!(Number.isFinite(from) && Number.isFinite(to))) throw new DomainError(op, `anglesDeg.from/to must be finite, got ${from}, ${to}`);
  if (count === 1) return [from];
  return Array.from({ length: count }, (_, k) => from + ((to - from) * k) / (count - 1));
}

/** A copy of X with row r rotated by θ in the plane (p, q) of coordinates. */
function rotateRow(X: Matrix64, r: number, p: number, q: number, theta: number): Matrix64 {
  const Y = { ...X, data: Float64Array.from(X.data) } as Matrix64;
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const a = X.data[r * X.cols + p]!;
  const b = X.data[r * X.cols + q]!;
  Y.data[r * X.cols + p] = c * a - s * b;
  Y.data[r * X.cols + q] = s * a + c * b;
  return Y;
}

/**
 * Each objective along the rotation of one embedding by each angle (CHO Fig. 1(a)); one row per
 * (angle, objective), angles in the order given. Rows are used as given (not normalised; a rotation
 * keeps unit rows unit).
 */
export function lossAlongRotation(o: RotationSliceOptions): RotationSliceRow[] {
  const op = 'lossAlongRotation';
  const U = toContiguous(o.U, 'f64') as Matrix64;
  const V = toContiguous(o.V ?? o.U, 'f64') as Matrix64;
  if (U.rows !== V.rows || U.cols !== V.cols) throw new ConfigError(op, `U is ${U.rows}x${U.cols} but V is ${V.rows}x${V.cols}`);
  const row = o.row ?? 0;
  if (!(Number.isInteger(row) && row >= 0 && row < U.rows)) throw new DomainError(op, `row must be an integer in [0, ${U.rows - 1}], got ${row}`);
  const [p, q] = o.plane ?? [0, 1];
  for (const c of [p, q]) if (!(Number.isInteger(c) && c >= 0 && c < U.cols)) throw new DomainError(op, `plane coordinates must be integers in [0, ${U.cols - 1}], got ${c}`);
  if (p === q) throw new DomainError(op, `plane needs two different coordinates, got [${p}, ${q}]`);
  const views = o.views ?? 'both';
  if (views !== 'both' && views !== 'u') throw new ConfigError(op, `views must be 'both' or 'u', got '${String(views)}'`);
  if (!Array.isArray(o.objectives) || o.objectives.length === 0) throw new ConfigError(op, 'objectives is empty');
  const angles = angleList(op, o.anglesDeg);
  const opts = { backend: o.backend, grad: false };
  const base = o.objectives.map((ob) => evaluateObjective(ob.spec, U, V, opts).value);
  const rows: RotationSliceRow[] = [];
  for (const deg of angles) {
    const theta = (deg * Math.PI) / 180;
    const Ur = rotateRow(U, row, p, q, theta);
    const Vr = views === 'both' ? rotateRow(V, row, p, q, theta) : V;
    o.objectives.forEach((ob, k) => {
      const value = evaluateObjective(ob.spec, Ur, Vr, opts).value;
      rows.push({ angleDeg: deg, objective: ob.label, value, change: value - base[k]! });
    });
  }
  return rows;
}

export interface EndPointOptions {
  readonly n: number;
  readonly d: number;
  /** Seed of the common random start (solveExact's generator). */
  readonly seed: number;
  /** One end point per arm, each from the same start. */
  readonly arms: readonly LabelledObjective[];
  /** Gradient steps (default 3000) and step size (default 1), projected by default. */
  readonly steps?: number;
  readonly lr?: number;
  readonly mode?: SphereMode;
  /** Riemannian gradient norm at which a run stops (default 1e-9). */
  readonly tol?: number;
  /** τ of the full-batch InfoNCE reported at every end point (default 1). */
  readonly tau?: number;
  readonly backend?: Backend;
}

export interface EndPoint {
  readonly label: string;
  readonly spec: ObjectiveSpec;
  readonly U: Matrix64;
  readonly V: Matrix64;
  /** U Vᵀ at the end. */
  readonly gram: Matrix64;
  /** The arm's own objective at the end and its Riemannian gradient norm. */
  readonly objectiveValue: number;
  readonly gradNorm: number;
  readonly steps: number;
  readonly converged: boolean;
  /** Full-batch two-sided InfoNCE (τ = `tau`) at the end, and minus its simplex-ETF value (THEORY 3). */
  readonly fullBatchLoss: number;
  readonly fullBatchGap: number;
  /** ‖U Vᵀ − G_ETF‖_F. */
  readonly etfDistance: number;
}

/** Gradient descent on each arm's objective from one seeded start (CHO Fig. 1(b)); the end points. */
export function minimiserEndPoints(o: EndPointOptions): EndPoint[] {
  const op = 'minimiserEndPoints';
  if (!Array.isArray(o.arms) || o.arms.length === 0) throw new ConfigError(op, 'arms is empty');
  const tau = o.tau ?? 1;
  return o.arms.map((arm) => {
    const r = solveExact({
      n: o.n, d: o.d, seed: o.seed, objective: arm.spec, steps: o.steps ?? 3000, lr: o.lr ?? 1, mode: o.mode ?? 'projected',
      tol: o.tol ?? 1e-9, backend: o.backend, logEvery: Number.MAX_SAFE_INTEGER,
    });
    const last = r.trace[r.trace.length - 1]!;
    const full = evaluateObjective({ name: 'infonce', tau }, r.U, r.V, { backend: o.backend, grad: false }).value;
    return {
      label: arm.label, spec: arm.spec, U: r.U, V: r.V, gram: gramMatrix(r.U, r.V),
      objectiveValue: last.loss, gradNorm: last.gradNorm, steps: r.steps, converged: r.converged,
      fullBatchLoss: full, fullBatchGap: full - etfInfonce(o.n, tau), etfDistance: gramDistance(r.U, r.V, 'etf').distance,
    };
  });
}
