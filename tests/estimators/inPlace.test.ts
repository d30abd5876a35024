/**
 * The in-place state contract (src/estimators/types.ts): `step` updates the caller's state for the
 * batch's anchors only and returns that same object; `clone` is a deep copy; and the numbers are
 * those of the estimators before the change (each step copying its state), bit for bit, over
 * sequences of steps (fixture recorded from those estimators, see stepCases.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/index.ts';
import { gatherRows, type Matrix64 } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import { type EstimatorSpec, makeEstimator } from '../../src/estimators/index.ts';
import { unitRows } from '../helpers.ts';
import { runStepCase, STEP_CASES, STEP_COUNT, type StepRecord } from './stepCases.ts';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/estimator-steps.json', import.meta.url), 'utf8')) as Record<string, StepRecord[]>;
const be = createCpuBackend({ dtype: 'f64' });

describe('in-place estimators reproduce the copying ones bit for bit (fixture)', () => {
  it('the fixture covers every case, and each case changes its state across the run', () => {
    expect(Object.keys(fixture).sort()).toEqual(Object.keys(STEP_CASES).sort());
    for (const [name, recs] of Object.entries(fixture)) {
      expect(recs).toHaveLength(STEP_COUNT);
      const spec = STEP_CASES[name]!;
      if (spec.kind !== 'dcl' && spec.kind !== 'clip') expect(new Set(recs.map((r) => JSON.stringify(r.state))).size, name).toBe(STEP_COUNT);
    }
  });

  it.each(Object.keys(STEP_CASES))('%s: gradients, batch value and state after each step', (name) => {
    const got = runStepCase(name);
    const want = fixture[name]!;
    for (let t = 0; t < STEP_COUNT; t++) {
      expect(got[t]!.index, `${name} step ${t} batch`).toEqual(want[t]!.index);
      expect(got[t]!.gradU, `${name} step ${t} gradU`).toBe(want[t]!.gradU);
      expect(got[t]!.gradV, `${name} step ${t} gradV`).toBe(want[t]!.gradV);
      expect(got[t]!.batchValue, `${name} step ${t} batchValue`).toBe(want[t]!.batchValue);
      expect(got[t]!.state, `${name} step ${t} state`).toEqual(want[t]!.state);
    }
  });
});

describe('the in-place state contract', () => {
  const N = 12;
  const rng0 = Rng.fromSeed('in-place contract');
  const U = unitRows(rng0, N, 4);
  const V = unitRows(rng0, N, 4);
  const input = (idx: number[], step = 0) => {
    const index = Int32Array.from(idx);
    return { U: gatherRows(U, index) as Matrix64, V: gatherRows(V, index) as Matrix64, index, epoch: 0, step, backend: be };
  };
  /** Every array of a state, flattened with its key, for slot-by-slot comparisons. */
  const arrays = (s: unknown): Record<string, number[]> => {
    const o: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(s as Record<string, unknown>)) if (ArrayBuffer.isView(v)) o[k] = Array.from(v as Float64Array);
    return o;
  };

  it.each(Object.entries(STEP_CASES))('%s: step returns the state it was given, touches only the batch\'s slots; clone is deep', (_, spec: EstimatorSpec) => {
    const est = makeEstimator(spec);
    const state = est.init(N);
    est.step(input([0, 1, 2, 3]), state);
    const before = est.clone(state);
    expect(before).not.toBe(state);
    expect(before).toEqual(state);
    const batch = [2, 5, 7, 11];
    const o = est.step(input(batch, 1), state);
    expect(o.state).toBe(state);
    // Slots of the batch: i and N + i (per anchor) or i (shared u); every other slot keeps its bits.
    const a0 = arrays(before);
    const a1 = arrays(state);
    for (const k of Object.keys(a0)) {
      const m = a0[k]!.length;
      const inBatch = (j: number) => batch.includes(j % N) && (m === 2 * N || m === N);
      for (let j = 0; j < m; j++) if (!inBatch(j)) expect(Object.is(a1[k]![j], a0[k]![j]), `${k}[${j}]`).toBe(true);
    }
    if (spec.kind === 'sogclr' || spec.kind === 'isogclr' || spec.kind === 'fastclip-v3') expect(state).not.toEqual(before);
    // The clone is unaffected by further steps, and stepping the clone replays the step.
    const replay = est.step(input(batch, 1), before);
    expect(replay.state).toEqual(state);
    expect(replay.gradU).toEqual(o.gradU);
    est.step(input([0, 4, 8, 9], 2), state);
    expect(replay.state).not.toBe(state);
    if (spec.kind === 'sogclr' || spec.kind === 'isogclr' || spec.kind === 'fastclip-v3') expect(replay.state).not.toEqual(state);
  });
});
