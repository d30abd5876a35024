/**
 * Helpers shared by the samplers: the uneven-N/B cut of an epoch order into batches, the batch
 * loss used to score batches, and the checks every `next` makes on its context and state.
 */
import type { Backend } from '../backend/types.ts';
import { binomial, combinations } from '../core/combinatorics.ts';
import { DomainError, ShapeError } from '../core/errors.ts';
import { gatherRows, type Matrix } from '../core/matrix.ts';
import { infonceLossAndGrad } from '../objectives/infonce.ts';
import type { BatchSequence, SamplerContext } from './types.ts';

/** Smallest batch a sampler forms: a batch of one row has no negatives (its loss is identically 0). */
export const MIN_BATCH = 2;

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
  if (ctx.n !== undefined) {
    if (ctx.n !== n) throw new ShapeError(op, `the sampler state is for N = ${n} rows but the context has N = ${ctx.n}`);
    return;
  }
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

/**
 * All C(N,B) B-subsets of 0..N−1 in lexicographic order, enumerated on demand (never stored):
 * iteration yields fresh arrays; `at(i)` unranks the i-th subset (combinatorial number system).
 */
export class AllBatches implements BatchSequence {
  readonly length: number;
  constructor(readonly n: number, readonly B: number) {
    this.length = binomial(n, B);
  }

  *[Symbol.iterator](): Iterator<Int32Array> {
    for (const c of combinations(this.n, this.B)) yield c.slice();
  }

  at(i: number): Int32Array | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) return undefined;
    const { n, B } = this;
    const out = new Int32Array(B);
    let r = i;
    let x = 0;
    for (let t = 0; t < B; t++) {
      // Skip the subsets whose t-th element is x: there are C(n − x − 1, B − t − 1) of them.
      for (let c = binomial(n - x - 1, B - t - 1); c <= r; c = binomial(n - x - 1, B - t - 1)) {
        r -= c;
        x++;
      }
      out[t] = x++;
    }
    return out;
  }
}

// ---- state checks (a state read from a checkpoint) ----

function fail(op: string, field: string, msg: string, got: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(got) ?? String(got);
  } catch {
    shown = String(got);
  }
  throw new DomainError(op, `state.${field} ${msg}, got ${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}`);
}

/** `state` is an object; returns it. Its `n` must be the sampler's N. */
export function stateObject(op: string, state: unknown, n: number): Record<string, unknown> {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw new DomainError(op, `state must be an object, got ${JSON.stringify(state)}`);
  assertStateN(op, state, n);
  return state as Record<string, unknown>;
}

/** An integer field in [lo, hi]. */
export function stateInt(op: string, s: Record<string, unknown>, field: string, lo: number, hi: number): number {
  const v = s[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(op, field, `must be an integer in [${lo}, ${hi}]`, v);
  return v;
}

/** Distinct integers in 0..n−1 (`exact`: all n of them, a permutation). */
export function stateRows(op: string, v: unknown, field: string, n: number, exact: boolean): number[] {
  if (!Array.isArray(v)) fail(op, field, `must be an array of row indices`, v);
  const seen = new Uint8Array(n);
  for (const i of v) {
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= n || seen[i]) fail(op, field, `must hold distinct row indices in 0..${n - 1}`, v);
    seen[i] = 1;
  }
  if (exact && v.length !== n) fail(op, field, `must be a permutation of 0..${n - 1}`, v);
  return v as number[];
}

/** A queue of batches (each B distinct rows) with the index of the next one. */
export function stateQueue(op: string, s: Record<string, unknown>, n: number, B: number, maxLength: number): void {
  const q = s.queue;
  if (!Array.isArray(q) || q.length > maxLength) fail(op, 'queue', `must be an array of at most ${maxLength} batches`, q);
  q.forEach((b, k) => {
    stateRows(op, b, `queue[${k}]`, n, false);
    if ((b as number[]).length !== B) fail(op, `queue[${k}]`, `must have B = ${B} rows`, b);
  });
  stateInt(op, s, 'next', 0, q.length);
}
