import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
/** Shared test helpers: seeded random matrices and a central-difference directional derivative. */
import { type Matrix64, zeros } from '../src/core/matrix.ts';
import { Rng } from '../src/core/random.ts';
import { normalizeRows } from '../src/core/sphere.ts';

export function gaussian(rng: Rng, n: number, d: number, scale = 1): Matrix64 {
  const m = zeros(n, d);
  for (let i = 0; i < m.data.length; i++) m.data[i] = scale * rng.normal();
  return m;
}

export function unitRows(rng: Rng, n: number, d: number): Matrix64 {
  return normalizeRows(gaussian(rng, n, d));
}

export function axpy(X: Matrix64, a: number, D: Matrix64): Matrix64 {
  const out = zeros(X.rows, X.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = X.data[i]! + a * D.data[i]!;
  return out;
}

export function dot(A: Matrix64, B: Matrix64): number {
  let s = 0;
  for (let i = 0; i < A.data.length; i++) s += A.data[i]! * B.data[i]!;
  return s;
}

/**
 * Central difference of f along (DU, DV): (f(x + hD) − f(x − hD)) / (2h). Its error is
 * O(h²·f''') + O(ε·|f|/h); h = 1e-5 balances them near 1e-10 for O(1) objectives.
 */
export function directional(f: (U: Matrix64, V: Matrix64) => number, U: Matrix64, V: Matrix64, DU: Matrix64, DV: Matrix64, h = 1e-5): number {
  return (f(axpy(U, h, DU), axpy(V, h, DV)) - f(axpy(U, -h, DU), axpy(V, -h, DV))) / (2 * h);
}

export function relErr(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-300, Math.abs(b));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** Every file under `dir` (but those `skip` names) with its bytes: to show a command left a folder as it was, or two folders equal. */
export function snapshotDir(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else if (!skip(`${rel}${e.name}`)) out[`${rel}${e.name}`] = readFileSync(join(d, e.name), 'base64');
    }
  };
  walk(dir, '');
  return out;
}
