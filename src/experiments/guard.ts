/**
 * Non-finite values during a run. A step size too large for the problem (or a temperature too
 * small) makes the parameters or a logged metric overflow; the run stops there with a
 * NonFiniteError naming the arm, the seed, the step and the likely cause, instead of writing
 * NaN traces or failing later in an unrelated place.
 */
import { ContrastlabError, NonFiniteError, ZeroRowError } from '../core/errors.ts';
import type { Matrix } from '../core/matrix.ts';
import type { OptimizerSpec } from './spec.ts';

export interface RunPlace {
  readonly arm: string;
  readonly seed: number;
  readonly optimizer: OptimizerSpec;
}

function where(p: RunPlace, step: number): string {
  return `arm '${p.arm}' seed ${p.seed} step ${step}`;
}

function cause(p: RunPlace): string {
  const sched = p.optimizer.schedule && p.optimizer.schedule.kind !== 'constant' ? ` (peak of its ${p.optimizer.schedule.kind} schedule)` : '';
  return `likely cause: the step size optimizer.lr = ${p.optimizer.lr}${sched} is too large for this problem; lower it`;
}

/**
 * Throws NonFiniteError unless every entry of every matrix of `params` (just updated at `step`) is
 * finite and so is every row's squared norm (a row whose norm overflows would normalise to zeros).
 */
export function assertFiniteParams(p: RunPlace, step: number, params: Readonly<Record<string, Matrix>>): void {
  for (const [name, m] of Object.entries(params)) {
    for (let i = 0; i < m.rows; i++) {
      let ss = 0;
      for (let j = 0; j < m.cols; j++) {
        const x = m.data[m.offset + i * m.rowStride + j * m.colStride]!;
        if (!Number.isFinite(x)) throw new NonFiniteError('run', `${where(p, step)}: the update made ${name}[${i},${j}] = ${x}; ${cause(p)}`);
        ss += x * x;
      }
      if (!Number.isFinite(ss)) throw new NonFiniteError('run', `${where(p, step)}: the update made row ${i} of ${name} so large that its norm overflows; ${cause(p)}`);
    }
  }
}

/** Throws NonFiniteError unless every logged value of `row` is finite. */
export function assertFiniteRow(p: RunPlace, row: Readonly<Record<string, number>>): void {
  for (const [k, v] of Object.entries(row)) {
    if (!Number.isFinite(v)) throw new NonFiniteError('run', `${where(p, row.step!)}: ${k} is ${v}; ${cause(p)}`);
  }
}

/**
 * Runs one step's work; a non-finite value (or a row that lost its norm) detected inside it is
 * re-raised naming the arm, seed and step.
 */
export function atStep<T>(p: RunPlace, step: number, work: () => T): T {
  try {
    return work();
  } catch (e) {
    if (e instanceof NonFiniteError || e instanceof ZeroRowError) {
      const Cls = e.constructor as new (op: string, message: string) => ContrastlabError;
      const msg = e.op === 'run' ? e.message.slice('run: '.length) : e.message;
      throw new Cls('run', `${where(p, step)}: ${msg}; ${cause(p)}`);
    }
    throw e;
  }
}
