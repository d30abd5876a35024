/**
 * A user's own features as an encoder data set: `{ x: 'X.npy', labels?: 'y.npy', test?: t, seed? }`.
 *
 *   x        an N x p array (float64, float32, or integers read as float64), finite, N >= 1
 *   labels   optional integer labels of shape (N,) or (N, 1), each in 0 .. 2^31 − 1 (the checks of
 *            the CLI's --labels files, src/cli/matrixFiles.ts); classes K = 1 + the largest label
 *   test     held-out rows (default 0): the first `test` entries of a permutation of 0..N−1 drawn
 *            from Rng.fromSeed(seed) (seed default 0, independent of the run's seed); the training
 *            rows are the others. Both keep the file's row order.
 *
 * Paths are read as given: relative paths are relative to the working directory of the process
 * (the spec's folder plays no part). Only the files named are read. The arrays are read once per
 * process and path (keyed by the role, the resolved path, its size and modification time). The rows are used as
 * they are (no centring or scaling); the default augmentation is the vector one,
 * `{ noise: 0.2, mask: 0.2 }`, whose noise scale assumes rows of norm about 1.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, DomainError, ShapeError } from '../core/errors.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import { Rng } from '../core/random.ts';
import { assertFiniteMatrix } from '../core/validate.ts';
import { DTYPE_NAMES, intNpyToFloat64, type NpyArray, npyToMatrix, readNpyAnyFileSync } from '../io/npy.ts';
import { type Dataset, validateViewAugment, type ViewAugmentSpec } from './dataset.ts';

export interface NpyDataSpec {
  readonly x: string;
  readonly labels?: string;
  readonly test?: number;
  readonly seed?: number;
  readonly augment?: ViewAugmentSpec;
}

export interface NpyDataset extends Dataset {
  readonly kind: 'npy';
  readonly spec: NpyDataSpec;
}

const OP = "data 'npy'";

function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

const cache = new Map<string, { key: string; value: unknown }>();
function cached<T>(what: 'x' | 'labels', path: string, read: (abs: string) => T): T {
  const abs = resolve(path);
  const slot = `${what}:${abs}`;
  let key = '';
  try {
    const st = statSync(abs);
    key = `${st.size}:${st.mtimeMs}`;
  } catch {
    // readNpyAnyFileSync reports the missing file with its own message.
  }
  const hit = cache.get(slot);
  if (hit && key && hit.key === key) return hit.value as T;
  const value = read(abs);
  if (key) cache.set(slot, { key, value });
  return value;
}

/** The N x p feature matrix of `path` (see the module comment). */
export function readFeatures(path: string): Matrix64 {
  return cached('x', path, (abs) => {
    const where = `x file '${path}'`;
    const any = readNpyAnyFileSync(abs, { what: 'x file' });
    const arr: NpyArray = any.kind === 'float' ? any.array : { dtype: 'f64', shape: any.array.shape, data: intNpyToFloat64(any.array, `${OP}: ${where}`, 'x') };
    if (arr.shape.length !== 2) throw new ShapeError(OP, `${where}: must be a 2-D array (N rows x p columns), got shape ${shapeText(arr.shape)}`);
    if (arr.shape[0]! < 1 || arr.shape[1]! < 1) throw new ShapeError(OP, `${where}: needs at least one row and one column, got shape ${shapeText(arr.shape)}`);
    const m = npyToMatrix(arr);
    const X = zeros(m.rows, m.cols);
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) X.data[i * m.cols + j] = m.data[m.offset + i * m.rowStride + j * m.colStride]!;
    assertFiniteMatrix(`${OP}: ${where}`, 'x', X);
    return X;
  });
}

/** Integer class labels for `n` rows (the checks of the CLI's readLabelsFlag, messages naming the file). */
export function readLabels(path: string, n: number): Int32Array {
  const where = `labels file '${path}'`;
  const y = cached('labels', path, (abs) => {
    const any = readNpyAnyFileSync(abs, { what: 'labels file' });
    if (any.kind === 'float') {
      throw new ConfigError(OP, `${where}: labels must be an integer array (int32, int64, uint8), got ${DTYPE_NAMES[any.array.dtype]}`);
    }
    const { shape, data, dtype } = any.array;
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
      throw new ShapeError(OP, `${where}: labels must be a 1-D array of N labels (or N x 1), got shape ${shapeText(shape)}`);
    }
    const out = new Int32Array(shape[0]!);
    for (let i = 0; i < out.length; i++) {
      const v = data[i]!;
      if (v < 0) throw new DomainError(OP, `${where}: label ${v} at index ${i} is negative; labels must be class indices 0, 1, 2, ...`);
      if (v > 2147483647) throw new DomainError(OP, `${where}: label ${v} at index ${i} (${DTYPE_NAMES[dtype]}) is over 2147483647, the largest label accepted`);
      out[i] = Number(v);
    }
    return out;
  });
  if (y.length !== n) throw new ShapeError(OP, `${where} has ${y.length} label${y.length === 1 ? '' : 's'} but x has N = ${n} row${n === 1 ? '' : 's'}`);
  return y;
}

/** The shape (rows, columns) of the x file, for validation before a run. */
export function npyDataShape(spec: NpyDataSpec): { rows: number; p: number } {
  const X = readFeatures(spec.x);
  return { rows: X.rows, p: X.cols };
}

/** The data set of the module comment; `rng` (the run's data stream) gives only the fixed evaluation views. */
export function npyDataset(spec: NpyDataSpec, rng: Rng): NpyDataset {
  const all = readFeatures(spec.x);
  const N = all.rows;
  const p = all.cols;
  const yAll = spec.labels === undefined ? null : readLabels(spec.labels, N);
  const test = spec.test ?? 0;
  if (!Number.isSafeInteger(test) || test < 0) throw new DomainError(OP, `test must be an integer >= 0, got ${String(spec.test)}`);
  if (N - test < 2) throw new DomainError(OP, `test = ${test} leaves ${N - test} training row${N - test === 1 ? '' : 's'} of the x file's N = ${N}; training needs at least 2`);
  const seed = spec.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DomainError(OP, `seed must be an integer >= 0, got ${String(spec.seed)}`);
  const augment = spec.augment ?? { noise: 0.2, mask: 0.2 };
  validateViewAugment(OP, augment, p);
  const isTest = new Uint8Array(N);
  if (test > 0) {
    const perm = Rng.fromSeed(seed).permutation(N);
    for (let k = 0; k < test; k++) isTest[perm[k]!] = 1;
  }
  const X = zeros(N - test, p);
  const Xtest = zeros(test, p);
  const y = yAll ? new Int32Array(N - test) : null;
  const ytest = yAll ? new Int32Array(test) : null;
  let a = 0;
  let b = 0;
  for (let i = 0; i < N; i++) {
    const row = all.data.subarray(i * p, (i + 1) * p);
    if (isTest[i]) {
      Xtest.data.set(row, b * p);
      if (ytest) ytest[b] = yAll![i]!;
      b++;
    } else {
      X.data.set(row, a * p);
      if (y) y[a] = yAll![i]!;
      a++;
    }
  }
  let classes = 0;
  if (yAll) for (let i = 0; i < N; i++) classes = Math.max(classes, yAll[i]! + 1);
  return { kind: 'npy', spec, n: N - test, p, classes, X, y, Xtest, ytest, augment, evalViewState: rng.state() };
}
