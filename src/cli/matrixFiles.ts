/**
 * Reading the user's arrays named on the command line (`--u U.npy`, `--labels y.npy`, ...): a
 * bounded read of a regular .npy file (io/read.ts), checked here so that every error names the
 * command, the flag and the path.
 */
import { ShapeError } from '../core/errors.ts';
import type { Matrix } from '../core/matrix.ts';
import { assertFiniteMatrix, assertNonEmpty } from '../core/validate.ts';
import { npyToMatrix, readNpyFileSync } from '../io/npy.ts';

/** An N x d embedding matrix: a 2-D array, at least one row, finite entries. */
export function readMatrixFlag(cmd: string, path: string, flag: string): Matrix {
  const op = `contrastlab ${cmd}: --${flag} file '${path}'`;
  const arr = readNpyFileSync(path, { what: `--${flag} file` });
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
