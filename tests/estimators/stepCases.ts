/**
 * The step sequences of tests/estimators/inPlace.test.ts: every estimator kind and option that keeps
 * state, run over overlapping batches (first and repeated visits mixed, γ schedules crossing epochs),
 * with every number encoded bit for bit (float64 as hex of its 8 bytes).
 *
 * tests/estimators/fixtures/estimator-steps.json was recorded with these cases on the estimators as
 * they were before the in-place state contract (commit 9b17db1, each step copying its O(N) state):
 * the in-place estimators must reproduce it exactly. Regenerate it
 *   node --import ./node_modules/tsx/dist/esm/index.mjs tests/estimators/fixtures/record.ts
 * only when a change is meant to move the numbers, and say so in the commit.
 */
import { createCpuBackend } from '../../src/backend/index.ts';
import { gatherRows, type Matrix64 } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { type EstimatorSpec, makeEstimator } from '../../src/estimators/index.ts';
import { unitRows } from '../helpers.ts';

export const STEP_CASES: Record<string, EstimatorSpec> = {
  'sogclr bimodal': { kind: 'sogclr', modality: 'bimodal', tau: 0.3, gamma: 0.7, eps0: 0.05 },
  'sogclr unimodal cosine-γ': { kind: 'sogclr', modality: 'unimodal', tau: 0.2, gamma: { schedule: 'cosine', gammaMin: 0.3, epochs: 3 } },
  'sogclr bimodal sharedU': { kind: 'sogclr', modality: 'bimodal', tau: 0.25, gamma: 0.6, sharedU: true },
  'sogclr unimodal sharedU sumStorage': { kind: 'sogclr', modality: 'unimodal', tau: 0.25, gamma: 0.4, sharedU: true, pitfalls: { sumStorage: true } },
  'sogclr bimodal batchFirstVisit': { kind: 'sogclr', modality: 'bimodal', tau: 0.3, gamma: 0.5, pitfalls: { batchFirstVisit: true } },
  'sogclr bimodal τ = 0.005 (max shift)': { kind: 'sogclr', modality: 'bimodal', tau: 0.005, gamma: 0.9 },
  'isogclr unimodal': { kind: 'isogclr', tau0: 0.2, tauMin: 0.05, tauMax: 1, rho: 0.3, tauLr: 0.05, gamma: 0.8, eps0: 0.01 },
  'isogclr bimodal': { kind: 'isogclr', modality: 'bimodal', tau0: 0.15, tauMin: 0.05, tauMax: 1, rho: 0.5, tauLr: 0.1, gamma: 0.7 },
  'fastclip-v3 bimodal': { kind: 'fastclip-v3', tau0: 0.1, tauMin: 0.01, tauMax: 1, rho: 0.5, tauLr: 0.05, gamma: { schedule: 'cosine', gammaMin: 0.2, epochs: 2 } },
  'fastclip-v3 unimodal': { kind: 'fastclip-v3', modality: 'unimodal', tau0: 0.2, tauMin: 0.01, tauMax: 1, rho: 0.2, tauLr: 0.1, gamma: 0.8, eps0: 0.02 },
  'dcl unimodal': { kind: 'dcl', modality: 'unimodal', tau: 0.2 },
  clip: { kind: 'clip', tau: 0.2 },
};

export const STEP_N = 10;
export const STEP_B = 4;
export const STEP_COUNT = 9;

type Encoded = string | number | boolean | number[] | { [k: string]: Encoded };

/** float64 → 16 hex digits (little-endian bytes): -0, NaN payloads and the last ulp all show. */
export function hex64(x: number): string {
  return Buffer.from(new Float64Array([x]).buffer).toString('hex');
}

/** A state or output, bit for bit: Float64Array and numbers as hex, Int32Array as numbers. */
export function encodeBits(x: unknown): Encoded {
  if (x instanceof Float64Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
  if (x instanceof Int32Array) return Array.from(x);
  if (typeof x === 'number') return `f64:${hex64(x)}`;
  if (typeof x === 'boolean' || typeof x === 'string') return x;
  if (x !== null && typeof x === 'object') {
    const o: Record<string, Encoded> = {};
    for (const k of Object.keys(x).sort()) o[k] = encodeBits((x as Record<string, unknown>)[k]);
    return o;
  }
  throw new Error(`encodeBits: cannot encode ${String(x)}`);
}

export interface StepRecord {
  readonly index: number[];
  readonly gradU: Encoded;
  readonly gradV: Encoded;
  readonly batchValue: Encoded;
  /** The state right after the step. */
  readonly state: Encoded;
}

/**
 * Runs one case: STEP_COUNT steps over batches of STEP_B of STEP_N examples (epoch = ⌊t/3⌋), each
 * step's outputs and the state after it encoded as soon as the step returns.
 */
export function runStepCase(name: string, onStep?: (t: number, state: unknown) => void): StepRecord[] {
  const spec = STEP_CASES[name]!;
  const backend = createCpuBackend({ dtype: 'f64' });
  const rng = Rng.fromSeed(`estimator-steps ${name}`);
  const U = unitRows(rng, STEP_N, 5);
  const V = unitRows(rng, STEP_N, 5);
  const est = makeEstimator(spec);
  let state = est.init(STEP_N);
  const out: StepRecord[] = [];
  for (let t = 0; t < STEP_COUNT; t++) {
    const index = Int32Array.from(rng.sample(STEP_N, STEP_B));
    const o = est.step({ U: gatherRows(U, index) as Matrix64, V: gatherRows(V, index) as Matrix64, index, epoch: Math.floor(t / 3), step: t, backend }, state);
    out.push({ index: Array.from(index), gradU: encodeBits(o.gradU.data), gradV: encodeBits(o.gradV.data), batchValue: encodeBits(o.batchValue), state: encodeBits(o.state) });
    state = o.state;
    onStep?.(t, state);
  }
  return out;
}
