/** Checks at the public boundary. Kernels below the op layer trust their inputs. */
import { DomainError, NonFiniteError, ShapeError, ZeroRowError } from './errors.ts';
import { type Matrix, shapeStr } from './matrix.ts';

export function assertFiniteMatrix(op: string, name: string, m: Matrix): void {
  for (let i = 0; i < m.rows; i++) {
    const base = m.offset + i * m.rowStride;
    for (let j = 0; j < m.cols; j++) {
      const x = m.data[base + j * m.colStride]!;
      if (!Number.isFinite(x)) {
        throw new NonFiniteError(op, `${name}[${i},${j}] is ${x}; embeddings must be finite`);
      }
    }
  }
}

export function assertSameShape(op: string, aName: string, a: Matrix, bName: string, b: Matrix): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new ShapeError(op, `${aName} is ${shapeStr(a)} but ${bName} is ${shapeStr(b)}`);
  }
}

export function assertNonEmpty(op: string, name: string, m: Matrix): void {
  if (m.rows < 1 || m.cols < 1) throw new ShapeError(op, `${name} is ${shapeStr(m)}; need at least one row and one column`);
}

export function assertTau(op: string, tau: number): void {
  if (!Number.isFinite(tau) || tau <= 0) throw new DomainError(op, `tau must be a finite number > 0, got ${tau}`);
}

export function assertPositiveInt(op: string, name: string, x: number, min = 1): void {
  if (!Number.isInteger(x) || x < min) throw new DomainError(op, `${name} must be an integer >= ${min}, got ${x}`);
}

export function assertGamma(op: string, gamma: number): void {
  if (!Number.isFinite(gamma) || gamma <= 0 || gamma > 1) throw new DomainError(op, `gamma must be in (0, 1], got ${gamma}`);
}

export function assertNonNegative(op: string, name: string, x: number): void {
  if (!Number.isFinite(x) || x < 0) throw new DomainError(op, `${name} must be a finite number >= 0, got ${x}`);
}

/** A batch needs B >= 2: with one example the anchor has no negative and every contrastive loss is 0. */
export function assertBatchSize(op: string, B: number, N: number): void {
  if (!Number.isInteger(B) || B < 2) throw new DomainError(op, `batch size B must be an integer >= 2 (a batch of one has no negatives), got ${B}`);
  if (B > N) throw new DomainError(op, `batch size B = ${B} exceeds N = ${N}`);
}

/** Throws ZeroRowError naming the first row whose norm is zero (rows that are about to be normalised). */
export function assertNoZeroRows(op: string, name: string, m: Matrix): void {
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    const base = m.offset + i * m.rowStride;
    for (let j = 0; j < m.cols; j++) s += Math.abs(m.data[base + j * m.colStride]!);
    if (s === 0) throw new ZeroRowError(op, `${name} row ${i} is all zeros and cannot be normalised`);
  }
}
