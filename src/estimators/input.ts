/** Checks of an EstimatorInput at the estimators' public boundary. */
import { ConfigError, DomainError } from '../core/errors.ts';
import type { Matrix } from '../core/matrix.ts';
import { checkBatch } from './batch.ts';
import { checkIndex } from './movingAverage.ts';
import type { EstimatorInput } from './types.ts';

export function checkInput(op: string, input: EstimatorInput, n: number): { U: Matrix; V: Matrix; B: number } {
  if (input === null || typeof input !== 'object' || !input.backend?.kernels) {
    throw new ConfigError(op, 'input must be {U, V, index, epoch, step, backend}');
  }
  const { U, V } = input;
  checkBatch(op, U, V);
  checkIndex(op, input.index, U.rows, n);
  if (!Number.isInteger(input.epoch) || input.epoch < 0) throw new DomainError(op, `epoch must be an integer >= 0, got ${input.epoch}`);
  return { U, V, B: U.rows };
}
