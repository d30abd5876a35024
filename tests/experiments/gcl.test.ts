import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { train as runGclExperiment, type RunState as GclRunState } from '../../src/experiments/train.ts';
import type { ExperimentSpec as GclExperimentSpec } from '../../src/experiments/types.ts';
import { validateStudy, type StudySpec } from '../../src/experiments/spec.ts';
import { runStudy } from '../../src/experiments/study.ts';
import { decodeState, encodeState } from '../../src/io/codec.ts';

const backend = createCpuBackend();

const encoderArm: GclExperimentSpec = {
  name: 'SogCLR', data: { kind: 'synthetic-classes', n: 48, nTest: 16, p: 8, classes: 3, sigma: 0.5 },
  model: { kind: 'linear', d: 4 }, objective: { tau: 0.2 },
  estimator: { kind: 'sogclr', modality: 'unimodal', tau: 0.2, gamma: 0.9 }, sampler: { kind: 'reshuffle', B: 8 },
  optimizer: { kind: 'momentum', lr: 0.3, momentum: 0.9 }, budget: { epochs: 3 }, seeds: [0, 1],
};
const freeArm: GclExperimentSpec = {
  name: 'CLIP free', data: { kind: 'random-sphere', n: 20, d: 6 }, model: { kind: 'free' }, objective: { tau: 0.5, eps0: 0 },
  estimator: { kind: 'clip', tau: 0.5 }, sampler: { kind: 'reshuffle', B: 5 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs: 4 }, seeds: [3],
};

class Interrupt extends Error {}

describe('train (global-objective runs)', () => {
  it('are pure functions of (spec, seed) and log the exact F and downstream metrics', () => {
    const a = runGclExperiment(encoderArm, 0, { backend });
    const b = runGclExperiment(encoderArm, 0, { backend });
    expect(b.trace).toEqual(a.trace);
    expect(a.trace).toHaveLength(4);
    for (const k of ['objective', 'objectiveGradNorm', 'knn', 'probe', 'retrieval']) expect(typeof a.final[k as 'objective'], k).toBe('number');
    expect(runGclExperiment(encoderArm, 1, { backend }).final.objective).not.toBe(a.final.objective);
  });

  for (const spec of [encoderArm, freeArm, { ...encoderArm, name: 'full', estimator: { kind: 'exact' }, sampler: { kind: 'full' } } as GclExperimentSpec]) {
    it(`resume from a checkpoint equals the uninterrupted run (${spec.name})`, () => {
      const full = runGclExperiment(spec, spec.seeds[0]!, { backend });
      let saved: string | null = null;
      expect(() => runGclExperiment(spec, spec.seeds[0]!, {
        backend,
        onCheckpoint: (st) => {
          saved = JSON.stringify(encodeState(st));
          if (st.step >= 2) throw new Interrupt();
        },
      })).toThrow(Interrupt);
      const resumed = runGclExperiment(spec, spec.seeds[0]!, { backend, resume: decodeState(JSON.parse(saved!)) as GclRunState });
      expect(resumed.trace).toEqual(full.trace);
      expect(Array.from(resumed.U!.data)).toEqual(Array.from(full.U!.data));
    });
  }

  it('full-batch GD decreases the exact objective', () => {
    const r = runGclExperiment({ ...freeArm, estimator: { kind: 'exact' }, sampler: { kind: 'full' }, budget: { epochs: 30 } } as GclExperimentSpec, 3, { backend });
    expect(r.final.objective!).toBeLessThan(r.trace[0]!.objective!);
  });

  it('a study of gcl arms writes the gap to its reference arm; configuration errors come before any output', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contrastlab-gcl-'));
    const study: StudySpec = validateStudy(JSON.parse(JSON.stringify({
      name: 'g', description: 'd', gapReference: 'full',
      experiments: [{ ...encoderArm, name: 'full', estimator: { kind: 'exact' }, sampler: { kind: 'full' } }, encoderArm],
      sweeps: [{ name: 'sw', title: 'sw', metric: 'objectiveGap', xTitle: 'B', series: { SogCLR: [{ arm: 'SogCLR', x: 8 }] } }],
    })));
    const res = runStudy(study, { out: join(dir, 'o'), backend });
    const ref = res.records.find((r) => r.arm === 'full' && r.seed === 0)!;
    expect(ref.final.objectiveGap).toBe(0);
    expect(readFileSync(join(dir, 'o', 'summary.md'), 'utf8')).toMatch(/sw: final objectiveGap/);
    const bad = { ...study, experiments: [{ ...encoderArm, estimator: { kind: 'clip', tau: 0.2 } }] } as StudySpec;
    expect(() => runStudy(bad, { out: join(dir, 'bad'), backend })).toThrow(/bimodal but the model .* is unimodal/);
    expect(() => readFileSync(join(dir, 'bad', 'checkpoint.json'))).toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
});
