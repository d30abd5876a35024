/** From spec data to the objects a run uses: initial parameters, optimizer transform. */
import { ConfigError } from '../core/errors.ts';
import { type Matrix64, zeros } from '../core/matrix.ts';
import type { Rng } from '../core/random.ts';
import { normalizeRows } from '../core/sphere.ts';
import { adamw, lars, momentum, sgd, warmupCosine } from '../optim/transforms.ts';
import type { GradientTransformation, Schedule } from '../optim/types.ts';
import type { DataSpec, OptimizerSpec } from './types.ts';

type FreeData = Extract<DataSpec, { kind: 'random-sphere' | 'rectangle' }>;

/** Initial embeddings (unit rows): random-sphere draws U then V from `rng`; the rectangle is fixed. */
export function initialEmbeddings(data: FreeData, rng: Rng): { U: Matrix64; V: Matrix64 } {
  if (data.kind === 'rectangle') {
    const t = (data.thetaDeg * Math.PI) / 180;
    const c = Math.cos(t);
    const s = Math.sin(t);
    const R = zeros(4, 2);
    R.data.set([c, s, -c, s, -c, -s, c, -s]);
    const V = zeros(4, 2);
    V.data.set(R.data);
    return { U: R, V };
  }
  const U = normalizeRows(rng.fillNormalMatrix(data.n, data.d), 'initialEmbeddings', 'U');
  const V = normalizeRows(rng.fillNormalMatrix(data.n, data.d), 'initialEmbeddings', 'V');
  return { U, V };
}

/** The step size at each update step: constant, or warm-up then cosine decay over the run's steps. */
export function makeSchedule(spec: OptimizerSpec, totalSteps: number): Schedule {
  return !spec.schedule || spec.schedule.kind === 'constant'
    ? () => spec.lr
    : warmupCosine(spec.lr, spec.schedule.warmupSteps, totalSteps, spec.schedule.endLr ?? 0);
}

export function makeOptimizer(spec: OptimizerSpec, totalSteps: number): GradientTransformation<unknown> {
  const sched = makeSchedule(spec, totalSteps);
  switch (spec.kind) {
    case 'sgd':
      return sgd(sched) as GradientTransformation<unknown>;
    case 'momentum':
      return momentum(sched, spec.momentum ?? 0.9, spec.nesterov ?? false) as GradientTransformation<unknown>;
    case 'adamw':
      return adamw(sched, spec) as GradientTransformation<unknown>;
    case 'lars':
      return lars(sched, spec) as GradientTransformation<unknown>;
    default:
      throw new ConfigError('makeOptimizer', `unknown optimizer '${(spec as { kind: string }).kind}'`);
  }
}

/**
 * The rectangle toy's angle metric (THEORY 4): sort the four points by angle; the largest deviation
 * of a gap between neighbours from 90°, in degrees (0 exactly at the square, the optimum θ = π/4).
 */
export function rectangleAngleError(U: Matrix64): number {
  const a = Array.from({ length: U.rows }, (_, i) => Math.atan2(U.data[i * U.cols + 1]!, U.data[i * U.cols]!)).sort((x, y) => x - y);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const gap = i + 1 < a.length ? a[i + 1]! - a[i]! : a[0]! + 2 * Math.PI - a[i]!;
    worst = Math.max(worst, Math.abs((gap * 180) / Math.PI - 360 / a.length));
  }
  return worst;
}
