/**
 * Helpers shared by the samplers: the uneven-N/B cut of an epoch order into batches, the batch
 * loss used to score batches, and the checks every `next` makes on its context and state.
 */
import type { Backend } from '../backend/types.ts';
import { DomainError, ShapeError } from '../core/errors.ts';
import { gatherRows, type Matrix } from '../core/matrix.ts';
import { infonceLossAndGrad } from '../objectives/infonce.ts';
import type { SamplerContext } from './types.ts';

/** ⌈a / b⌉ for positive integers. */
export function ceilDiv(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

/**
 * Batch j (0-based, j < ⌈N/B⌉) of an epoch order of N distinct rows, by the rule of types.ts:
 * rows order[jB .. jB+B) for every full batch; when B does not divide N the last batch holds the
 * r = N mod B leftover rows followed by the first B − r rows of the same order.
 */
export function batchOfOrder(order: ArrayLike<number>, B: number, j: number): Int32Array {
  const n = order.length;
  const out = new Int32Array(B);
  const start = j * B;
  if (start + B <= n) {
    for (let t = 0; t < B; t++) out[t] = order[start + t]!;
    return out;
  }
  const r = n - start;
  for (let t = 0; t < r; t++) out[t] = order[start + t]!;
  for (let t = r; t < B; t++) out[t] = order[t - r]!;
  return out;
}

/** All ⌈N/B⌉ batches of an epoch order (see `batchOfOrder`). */
export function cutIntoBatches(order: ArrayLike<number>, B: number): Int32Array[] {
  const nb = ceilDiv(order.length, B);
  const out: Int32Array[] = [];
  for (let j = 0; j < nb; j++) out.push(batchOfOrder(order, B, j));
  return out;
}

/**
 * The loss of one batch, L(U_b, V_b) of THEORY 2.1 on the B rows `rows` (two-sided InfoNCE, the
 * averaged-directions convention), computed by `infonceLossAndGrad` without the gradient. Every
 * loss-scoring sampler (OSGD, OSGD without replacement, approximate OSGD) scores with this.
 */
export function batchLoss(U: Matrix, V: Matrix, rows: ArrayLike<number>, tau: number, backend?: Backend): number {
  return infonceLossAndGrad(gatherRows(U, rows), gatherRows(V, rows), { tau, backend, grad: false }).value;
}

/** Plain JSON copy of a batch. */
export function toArray(b: ArrayLike<number>): number[] {
  return Array.from(b);
}

/** Throws unless the context's embeddings have the N rows the state was built for. */
export function assertContextRows(op: string, ctx: SamplerContext, n: number): void {
  if (ctx.U.rows !== n || ctx.V.rows !== n) {
    throw new ShapeError(op, `the sampler state is for N = ${n} rows but U is ${ctx.U.rows}x${ctx.U.cols} and V is ${ctx.V.rows}x${ctx.V.cols}`);
  }
}

/** Throws unless `state` is an object whose field `n` equals the sampler's N (a state from another run or sampler). */
export function assertStateN(op: string, state: unknown, n: number): void {
  const sn = (state as { n?: unknown } | null)?.n;
  if (sn !== n) throw new DomainError(op, `state is for N = ${String(sn)} but the sampler was built for N = ${n}`);
}

/** Throws unless `init` is asked for the N the sampler was built for. */
export function assertInitN(op: string, m: number, n: number): void {
  if (m !== n) throw new DomainError(op, `init(${m}) but the sampler was built for N = ${n}`);
}
