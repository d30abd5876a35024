/** Binomial coefficients and lazy enumeration of k-subsets (used for the all-batches objective). */
import { CapExceededError, DomainError } from './errors.ts';

/** C(n, k) as a float64 (exact up to 2^53, then rounded; Infinity past the float range). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  k = Math.min(k, n - k);
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return Math.round(c);
}

/** Default cap on the number of batches an exhaustive method may enumerate. */
export const DEFAULT_MAX_BATCHES = 1_000_000;

export function assertBatchCount(op: string, n: number, k: number, cap: number): number {
  const c = binomial(n, k);
  if (c > cap) {
    throw new CapExceededError(op, `C(${n},${k}) = ${c} batches exceeds the cap of ${cap} (raise maxBatches to allow it)`);
  }
  return c;
}

/**
 * All k-subsets of 0..n-1 in lexicographic order, one at a time. The yielded array is reused:
 * copy it if it must outlive the next iteration.
 */
export function* combinations(n: number, k: number): Generator<Int32Array> {
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || n < 0) {
    throw new DomainError('combinations', `need integers n >= 0, k >= 0, got n = ${n}, k = ${k}`);
  }
  if (k > n) return;
  const c = new Int32Array(k);
  for (let i = 0; i < k; i++) c[i] = i;
  for (;;) {
    yield c;
    let i = k - 1;
    while (i >= 0 && c[i] === n - k + i) i--;
    if (i < 0) return;
    c[i]!++;
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1]! + 1;
  }
}
