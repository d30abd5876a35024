import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../../src/backend/index.ts';
import { zeros } from '../../src/core/matrix.ts';
import { Rng } from '../../src/core/random.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { downstreamMetrics } from '../../src/analysis/downstream.ts';
import { checkSchema } from '../../src/experiments/schema.ts';
import { validateStudy } from '../../src/experiments/spec.ts';
import { defaultMetrics, train } from '../../src/experiments/train.ts';
import type { ExperimentSpec } from '../../src/experiments/types.ts';
import { linearEncoder, mlpEncoder } from '../../src/models/index.ts';

const mnistArm: ExperimentSpec = {
  name: 'mnist mlp', data: { kind: 'mnist', train: 256, test: 128 }, model: { kind: 'mlp', hidden: 64, d: 16 }, objective: { tau: 0.5 },
  sampler: { kind: 'reshuffle', B: 64 }, estimator: { kind: 'sogclr', modality: 'unimodal', tau: 0.5, gamma: 0.9 },
  optimizer: { kind: 'adamw', lr: 0.003 }, budget: { epochs: 2 }, seeds: [0],
};

describe('encoder data kinds in the experiment spec', () => {
  it('a tiny MNIST spec with an MLP passes the schema and validation and trains end to end (deterministic)', () => {
    checkSchema(mnistArm, 'spec');
    validateStudy(mnistArm);
    expect(defaultMetrics(mnistArm)).toEqual(['objective', 'objectiveGradNorm', 'batchValue', 'knn', 'probe', 'retrieval']);
    const a = train(mnistArm, 0);
    expect(a.steps).toBe(8);
    expect(a.trace.map((r) => r.step)).toEqual([0, 4, 8]);
    for (const r of a.trace) {
      expect(r.objective).toBeTypeOf('number');
      expect(r.knn).toBeGreaterThan(0.2); // chance is 0.1: raw digits are already well separated
      expect(r.probe).toBeGreaterThan(0.2);
    }
    expect(a.final.objective!).toBeLessThan(a.trace[0]!.objective!);
    const b = train(mnistArm, 0);
    expect(b.trace).toEqual(a.trace);
  }, 15_000);

  it('the schema knows the new kinds and the image augmentation', () => {
    const aug = { kind: 'image', height: 28, width: 28, crop: { minScale: 0.6 }, translate: 2, erase: { p: 0.5, minScale: 0.02, maxScale: 0.2 }, noise: 0.1 };
    expect(() => checkSchema({ ...mnistArm, data: { kind: 'mnist', train: 256, test: 128, seed: 3, augment: aug } }, 'spec')).not.toThrow();
    expect(() => checkSchema({ ...mnistArm, data: { kind: 'mnist', train: 256, test: 128, augment: { ...aug, crop: null, erase: null } } }, 'spec')).not.toThrow();
    expect(() => checkSchema({ ...mnistArm, data: { kind: 'mnist', train: 256, test: 128, augment: { ...aug, flip: true } } }, 'spec')).toThrow(/flip/);
    expect(() => checkSchema({ ...mnistArm, data: { kind: 'mnist', train: 256, test: 128, x: 'X.npy' } }, 'spec')).toThrow(/x/);
    expect(() => checkSchema({ ...mnistArm, data: { kind: 'npy', x: 'X.npy', labels: 'y.npy', test: 10 } }, 'spec')).not.toThrow();
    expect(() => checkSchema({ ...mnistArm, data: { kind: 'npy', labels: 'y.npy' } }, 'spec')).toThrow(/x/);
  });

  it('synthetic-classes keeps the vector augmentation only', () => {
    const arm = { ...mnistArm, data: { kind: 'synthetic-classes', n: 64, nTest: 16, p: 784, classes: 4, sigma: 0.3, augment: { kind: 'image', height: 28, width: 28, crop: null, translate: 1, erase: null, noise: 0 } } };
    expect(() => validateStudy(arm)).toThrow(/'image' applies to data 'mnist' and 'npy'/);
  });

  it('encoders and downstream metrics take any Dataset (a hand-made one here)', () => {
    const X = zeros(12, 3);
    const Xtest = zeros(6, 3);
    const r = Rng.fromSeed(1);
    for (const M of [X, Xtest]) for (let i = 0; i < M.data.length; i++) M.data[i] = r.normal();
    const data: Dataset = {
      kind: 'custom', n: 12, p: 3, classes: 2, X, y: Int32Array.from({ length: 12 }, (_, i) => i % 2), Xtest, ytest: Int32Array.from({ length: 6 }, (_, i) => i % 2),
      augment: { noise: 0.1, mask: 0 }, evalViewState: Rng.fromSeed(2).state(),
    };
    for (const model of [linearEncoder(data, 2), mlpEncoder(data, 4, 2)]) {
      const params = model.init(Rng.fromSeed(3));
      const out = model.forward(params, Int32Array.of(0, 3, 5), Rng.fromSeed(4), defaultBackend());
      expect([out.U.rows, out.U.cols]).toEqual([3, 2]);
      const dm = downstreamMetrics(model, params, data);
      expect(dm.knn).toBeGreaterThanOrEqual(0);
      expect(dm.chance.accuracy).toBe(0.5);
    }
    const unlabelled: Dataset = { ...data, y: null, ytest: null, classes: 0 };
    const m = linearEncoder(unlabelled, 2);
    const p = m.init(Rng.fromSeed(3));
    expect(() => downstreamMetrics(m, p, unlabelled)).toThrow(/has no labels/);
    expect(downstreamMetrics(m, p, unlabelled, undefined, {}, ['retrieval']).retrieval).toBeGreaterThanOrEqual(0);
  });
});
