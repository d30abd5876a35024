/**
 * Reading the user's arrays named on the command line (`--u U.npy`, `--labels y.npy`, ...): a
 * bounded read of a regular .npy file (io/read.ts), checked here so that every error names the
 * command, the flag and the path.
 *
 * Embeddings may be float ('<f8', '<f4') or integer (quantised features: '<i8', '<i4', '|u1', ...;
 * converted to float64, an int64 beyond 2^53 in magnitude refused). Labels must be integers.
 */
import { ConfigError, DomainError, ShapeError } from '../core/errors.ts';
import type { Matrix } from '../core/matrix.ts';
import { assertFiniteMatrix, assertNonEmpty } from '../core/validate.ts';
import { DTYPE_NAMES, type NpyArray, intNpyToFloat64, npyToMatrix, readNpyAnyFileSync } from '../io/npy.ts';

/** An N x d embedding matrix: a 2-D array, at least one row, finite entries. Integer arrays are read as float64. */
export function readMatrixFlag(cmd: string, path: string, flag: string): Matrix {
  const op = `contrastlab ${cmd}: --${flag} file '${path}'`;
  const any = readNpyAnyFileSync(path, { what: `--${flag} file` });
  const arr: NpyArray = any.kind === 'float'
    ? any.array
    : { dtype: 'f64', shape: any.array.shape, data: intNpyToFloat64(any.array, op, flag.toUpperCase()) };
  let m: Matrix;
  try {
    m = npyToMatrix(arr);
  } catch (e) {
    throw new ShapeError(op, (e as Error).message.replace(/^npyToMatrix: /, '').replace(/, or pass \{ allow1d: true \}.*$/, ' (N rows x d columns)'));
  }
  assertNonEmpty(op, flag.toUpperCase(), m);
  assertFiniteMatrix(op, flag.toUpperCase(), m);
  return m;
}

function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/**
 * Class labels for the N rows of the embeddings: an integer array ('<i8', '<i4', '|u1', or the
 * other integer dtypes) of shape (n,) or (n, 1), every label in 0 .. 2^31 − 1.
 *
 * Refused, each with a one-line error naming the command, the flag and the path:
 *  - a float array (ConfigError): labels are class indices, and a float file is usually the wrong file;
 *  - another shape, or a length other than `n` (ShapeError, naming both lengths and `--${rowsFlag}`);
 *  - a negative label (DomainError, naming the value and its index). −1 is a common "unlabelled"
 *    marker; such points must be left out of the embeddings rather than kept with a label that no
 *    class-indexed computation can use;
 *  - a label over 2^31 − 1 (DomainError).
 */
export function readLabelsFlag(cmd: string, path: string, flag: string, n: number, rowsFlag = 'u'): Int32Array {
  const op = `contrastlab ${cmd}`;
  const where = `--${flag} file '${path}'`;
  const any = readNpyAnyFileSync(path, { what: `--${flag} file` });
  if (any.kind === 'float') {
    throw new ConfigError(op, `${where}: labels must be an integer array (int32, int64, uint8), got ${DTYPE_NAMES[any.array.dtype]} '${any.array.dtype === 'f64' ? '<f8' : '<f4'}'`);
  }
  const { shape, data, dtype } = any.array;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw new ShapeError(op, `${where}: labels must be a 1-D array of N = ${n} labels (or ${n} x 1), got shape ${shapeText(shape)}`);
  }
  const len = shape[0]!;
  if (len !== n) throw new ShapeError(op, `${where} has ${len} label${len === 1 ? '' : 's'} but --${rowsFlag} has N = ${n} row${n === 1 ? '' : 's'}`);
  const out = new Int32Array(len);
  for (let i = 0; i < len; i++) {
    const v = data[i]!;
    if (v < 0) {
      throw new DomainError(op, `${where}: label ${v} at index ${i} is negative; labels must be class indices 0, 1, 2, ... (leave unlabelled points out rather than marking them -1)`);
    }
    if (v > 2147483647) throw new DomainError(op, `${where}: label ${v} at index ${i} (${DTYPE_NAMES[dtype]}) is over 2147483647, the largest label accepted (int32)`);
    out[i] = Number(v);
  }
  return out;
}
