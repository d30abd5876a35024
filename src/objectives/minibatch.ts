/**
 * The mini-batch objective over a batch set (THEORY 2.2, CHO):
 *   L_𝔅(U,V) = (1/|𝔅|) Σ_{b∈𝔅} L(U_b, V_b),   L the two-sided InfoNCE of 2.1 on the B rows of b.
 * 𝔅 is an explicit list of batches or all C(N,B) batches, enumerated lazily (never stored), with a
 * cap on their number. CHO's paper writes the sum; the average has the same minimisers.
 */
import { assertBatchCount, combinations, DEFAULT_MAX_BATCHES } from '../core/combinatorics.ts';
import { ConfigError, ShapeError } from '../core/errors.ts';
import { gatherRows, zeros } from '../core/matrix.ts';
import { assertBatchSize } from '../core/validate.ts';
import { type LossAndGrad, type ObjectiveOptions, prepare, checkedResult } from './common.ts';
import type { MatrixLike } from './common.ts';
import { infonceLossAndGrad } from './infonce.ts';

export type BatchSet = { readonly kind: 'list'; readonly batches: ReadonlyArray<ArrayLike<number>> } | { readonly kind: 'all'; readonly B: number };

export interface MinibatchOptions extends ObjectiveOptions {
  readonly batches: BatchSet;
  /** Cap on the number of batches enumerated for `kind: 'all'` (default 1,000,000). */
  readonly maxBatches?: number;
}

/** Checks an explicit batch list: non-empty, each batch of at least 2 rows (one row has no negatives), indices in range, no repeats within a batch. */
export function validateBatchList(op: string, batches: ReadonlyArray<ArrayLike<number>>, n: number): void {
  if (batches.length === 0) throw new ConfigError(op, 'the batch list is empty');
  batches.forEach((b, k) => {
    if (b.length < 2) throw new ShapeError(op, `batch ${k} has ${b.length} row${b.length === 1 ? '' : 's'}; a batch needs at least 2 (a batch of one has no negatives)`);
    const seen = new Set<number>();
    for (let t = 0; t < b.length; t++) {
      const i = b[t]!;
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new ShapeError(op, `batch ${k} has index ${i}, outside 0..${n - 1}`);
      if (seen.has(i)) throw new ShapeError(op, `batch ${k} repeats index ${i}`);
      seen.add(i);
    }
  });
}

export function minibatchLossAndGrad(U: MatrixLike, V: MatrixLike, opts: MinibatchOptions): LossAndGrad {
  const op = 'minibatch';
  const p = prepare(op, U, V, opts);
  const { n, d } = p;
  const bs = opts.batches;
  let iter: Iterable<ArrayLike<number>>;
  let count: number;
  if (bs.kind === 'all') {
    assertBatchSize(op, bs.B, n);
    count = assertBatchCount(op, n, bs.B, opts.maxBatches ?? DEFAULT_MAX_BATCHES);
    iter = combinations(n, bs.B);
  } else {
    validateBatchList(op, bs.batches, n);
    count = bs.batches.length;
    iter = bs.batches;
  }
  const gradU = p.grad ? zeros(n, d) : null;
  const gradV = p.grad ? zeros(n, d) : null;
  let sum = 0;
  let comp = 0; // Neumaier compensation over the batch losses
  const inner = { tau: p.tau, backend: p.backend, grad: p.grad };
  for (const b of iter) {
    const r = infonceLossAndGrad(gatherRows(p.U, b), gatherRows(p.V, b), inner);
    const t = sum + r.value;
    comp += Math.abs(sum) >= Math.abs(r.value) ? sum - t + r.value : r.value - t + sum;
    sum = t;
    if (gradU && gradV) {
      for (let k = 0; k < b.length; k++) {
        const row = b[k]! * d;
        for (let j = 0; j < d; j++) {
          gradU.data[row + j]! += r.gradU!.data[k * d + j]! / count;
          gradV.data[row + j]! += r.gradV!.data[k * d + j]! / count;
        }
      }
    }
  }
  return checkedResult(op, p, { value: (sum + comp) / count, gradU, gradV });
}
