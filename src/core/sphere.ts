/** Geometry of the unit sphere, row-wise: normalisation and the Riemannian (tangent) gradient. */
import { ZeroRowError } from './errors.ts';
import { type Matrix, type Matrix64, toContiguous, zeros } from './matrix.ts';
import { mutant } from './mutants.ts';

export function rowNorms(X: Matrix): Float64Array {
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    const b = X.offset + i * X.rowStride;
    for (let j = 0; j < X.cols; j++) {
      const x = X.data[b + j * X.colStride]!;
      s += x * x;
    }
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** x_i / ‖x_i‖ for every row; a zero row is an error naming the row. */
export function normalizeRows(X: Matrix, op = 'normalizeRows', name = 'X'): Matrix64 {
  const n = rowNorms(X);
  const out = zeros(X.rows, X.cols);
  for (let i = 0; i < X.rows; i++) {
    if (!(n[i]! > 0)) throw new ZeroRowError(op, `${name} row ${i} has norm ${n[i]} and cannot be normalised`);
    const b = X.offset + i * X.rowStride;
    for (let j = 0; j < X.cols; j++) out.data[i * X.cols + j] = X.data[b + j * X.colStride]! / n[i]!;
  }
  return out;
}

/**
 * Riemannian gradient on the product of spheres: the row-wise projection of the Euclidean gradient G
 * onto the tangent space at x̂_i = x_i/‖x_i‖:  g_i − (g_i·x̂_i) x̂_i.
 */
export function tangentProject(X: Matrix, G: Matrix): Matrix64 {
  if (mutant('riemannian-projection-dropped')) return toContiguous(G, 'f64') as Matrix64;
  const n = rowNorms(X);
  const out = zeros(G.rows, G.cols);
  for (let i = 0; i < X.rows; i++) {
    const bx = X.offset + i * X.rowStride;
    const bg = G.offset + i * G.rowStride;
    const inv = n[i]! > 0 ? 1 / n[i]! : 0;
    let dot = 0;
    for (let j = 0; j < X.cols; j++) dot += G.data[bg + j * G.colStride]! * X.data[bx + j * X.colStride]! * inv;
    for (let j = 0; j < X.cols; j++) {
      out.data[i * X.cols + j] = G.data[bg + j * G.colStride]! - dot * X.data[bx + j * X.colStride]! * inv;
    }
  }
  return out;
}
