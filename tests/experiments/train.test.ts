/**
 * The one training loop against the two runners it replaced: the same numbers, bit for bit, where
 * the maths is the same (golden traces recorded from the old CHO and SOG runners on rectangle,
 * cho-grid and sogclr-small-batch cells, tests/experiments/fixtures/golden-old-runners.json), and
 * the combinations that are not defined refused with a reason.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultBackend } from '../../src/backend/index.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { validateExperiment } from '../../src/experiments/spec.ts';
import { initialState, train, type RunState } from '../../src/experiments/train.ts';
import type { ExperimentSpec } from '../../src/experiments/types.ts';

interface Golden {
  preset: string; size: string; arm: string; seed: number; steps: number; trace: Record<string, number>[];
  U: number[]; Usha: string; Vsha: string; spec: ExperimentSpec;
}
const golden: Golden[] = JSON.parse(readFileSync(new URL('./fixtures/golden-old-runners.json', import.meta.url), 'utf8'));
const sha = (a: Float64Array) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const backend = defaultBackend();

describe('train reproduces the two old runners bit for bit', () => {
  for (const g of golden) {
    it(`${g.preset} / ${g.arm} (seed ${g.seed})`, () => {
      validateExperiment(g.spec);
      const r = train(g.spec, g.seed, { backend });
      expect(r.steps).toBe(g.steps);
      expect(r.trace).toEqual(g.trace);
      expect(Array.from(r.U!.data.slice(0, 32))).toEqual(g.U);
      expect(sha(r.U!.data)).toBe(g.Usha);
      expect(sha(r.V!.data)).toBe(g.Vsha);
    });
  }
});

describe('train: state, checkpoints and resume', () => {
  const sog = golden.find((g) => g.arm === 'SogCLR B=8' && g.preset === 'sogclr-small-batch')!;
  it('a run resumed from a mid-run checkpoint gives the uninterrupted numbers, and the checkpoint is a copy', () => {
    const states: RunState[] = [];
    const full = train(sog.spec, sog.seed, { backend, onCheckpoint: (s) => states.push(s) });
    const mid = states[1]!;
    expect(mid.step).toBeGreaterThan(0);
    const before = JSON.stringify(mid.trace);
    const est = (mid.estimator as { s: Float64Array }).s.slice();
    const resumed = train(sog.spec, sog.seed, { backend, resume: mid });
    expect(resumed.trace).toEqual(full.trace);
    expect(sha(resumed.U!.data)).toBe(sha(full.U!.data));
    // the resumed state is not modified by the run that continues from it
    expect(JSON.stringify(mid.trace)).toBe(before);
    expect((mid.estimator as { s: Float64Array }).s).toEqual(est);
  });
  it('the loop donates its optimizer state but never a checkpoint\'s: resuming twice from one AdamW checkpoint gives the same bits', () => {
    const spec: ExperimentSpec = {
      name: 'mlp adamw', data: { kind: 'synthetic-classes', n: 24, nTest: 8, p: 6, classes: 3, sigma: 0.5 },
      model: { kind: 'mlp', hidden: 5, d: 4 }, objective: { tau: 0.2 }, estimator: { kind: 'sogclr', modality: 'unimodal', tau: 0.2, gamma: 0.9 },
      sampler: { kind: 'reshuffle', B: 6 }, optimizer: { kind: 'adamw', lr: 0.05, weightDecay: 0.01 }, budget: { epochs: 3 }, seeds: [0], checkpointEvery: 3,
    };
    validateExperiment(spec);
    const states: RunState[] = [];
    const full = train(spec, 0, { backend, onCheckpoint: (s) => states.push(s) });
    const mid = states[1]!;
    const before = JSON.stringify(mid.opt, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v));
    const a = train(spec, 0, { backend, resume: mid });
    const b = train(spec, 0, { backend, resume: mid });
    expect(JSON.stringify(mid.opt, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v))).toBe(before);
    expect(sha(a.U!.data)).toBe(sha(full.U!.data));
    expect(sha(b.U!.data)).toBe(sha(full.U!.data));
    expect(b.trace).toEqual(full.trace);
  });
  it('SogCLR on free embeddings with plain SGD takes the row-sparse path and resumes to the same bits', () => {
    const spec: ExperimentSpec = {
      name: 'sog free', data: { kind: 'random-sphere', n: 40, d: 6 }, model: { kind: 'free' }, objective: { tau: 0.2 },
      sampler: { kind: 'reshuffle', B: 8 }, estimator: { kind: 'sogclr', modality: 'bimodal', tau: 0.2, gamma: 0.9 },
      optimizer: { kind: 'sgd', lr: 0.5 }, budget: { epochs: 6 }, seeds: [3], checkpointEvery: 7,
    };
    validateExperiment(spec);
    const states: RunState[] = [];
    const full = train(spec, 3, { backend, onCheckpoint: (s) => states.push(s) });
    expect(full.final.objective).toBeLessThan(full.trace[0]!.objective!);
    const resumed = train(spec, 3, { backend, resume: states[2]! });
    expect(sha(resumed.U!.data)).toBe(sha(full.U!.data));
    expect(resumed.trace).toEqual(full.trace);
    // every row stays a unit vector (projected)
    for (let i = 0; i < 40; i++) {
      let s = 0;
      for (let j = 0; j < 6; j++) s += full.U!.data[i * 6 + j]! ** 2;
      expect(Math.abs(s - 1)).toBeLessThan(1e-12);
    }
  });
  it('initial state: free embeddings from the first stream, so every arm of a seed starts at the same U, V', () => {
    const a = golden.find((g) => g.arm === 'N=4,d=2 projected reshuffled')!.spec;
    const b = { ...a, sampler: { kind: 'osgd' as const, B: 2 }, estimator: { kind: 'dcl' as const, modality: 'bimodal' as const, tau: 1 } };
    const sa = initialState(a, 5);
    const sb = initialState(b, 5);
    expect(sha(sa.params.U!.data)).toBe(sha(sb.params.U!.data));
  });
});

describe('train: the papers combined', () => {
  const base = golden.find((g) => g.arm === 'SogCLR B=8' && g.preset === 'sogclr-small-batch')!.spec;
  for (const sampler of [{ kind: 'osgd-without-replacement', B: 4 }, { kind: 'approx-osgd', B: 8, k: 8, q: 2 }, { kind: 'spectral', B: 8 }, { kind: 'with-replacement', B: 8 }] as const) {
    it(`SogCLR with an encoder and ${sampler.kind} batches runs and lowers F`, () => {
      const small = { ...base, data: { ...base.data, n: sampler.kind === 'osgd-without-replacement' ? 12 : 64 }, sampler, budget: { epochs: 3 }, metrics: ['objective'] } as ExperimentSpec;
      if (sampler.kind === 'osgd-without-replacement') Object.assign(small, { sampler: { ...sampler, maxBatches: 1000 } });
      validateExperiment(small);
      const r = train(small, 0, { backend });
      expect(r.final.objective).toBeLessThan(r.trace[0]!.objective!);
    });
  }
  it('minibatch-infonce with an encoder (CHO objective on the two views) runs', () => {
    // InfoNCE is F/τ up to a constant: its gradient is 1/τ times larger, so the step is τ times smaller.
    const spec = { ...base, estimator: { kind: 'minibatch-infonce', tau: 0.1 }, optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 }, sampler: { kind: 'approx-osgd', B: 8, k: 4, q: 1 }, metrics: ['loss', 'objective'] } as ExperimentSpec;
    validateExperiment(spec);
    const r = train(spec, 1, { backend });
    expect(r.final.loss).toBeLessThan(r.trace[0]!.loss!);
  });
  it('OSGD scores batches with the trained objective: SogCLR and CHO pick different batches on the same embeddings', () => {
    const spec: ExperimentSpec = {
      name: 'x', data: { kind: 'random-sphere', n: 7, d: 3 }, model: { kind: 'free' }, objective: { tau: 0.5 },
      sampler: { kind: 'osgd', B: 3 }, estimator: { kind: 'sogclr', modality: 'bimodal', tau: 0.5, gamma: 1, eps0: 0.5 },
      optimizer: { kind: 'sgd', lr: 0.3 }, budget: { steps: 6 }, seeds: [0], logEvery: 1, metrics: ['objective'],
    };
    const cho = { ...spec, estimator: { kind: 'minibatch-infonce', tau: 0.5 } } as ExperimentSpec;
    const a = train(spec, 0, { backend });
    const b = train(cho, 0, { backend });
    expect(sha(a.U!.data)).not.toBe(sha(b.U!.data));
  });
});

describe('train: combinations that are not defined are refused with a reason', () => {
  const base = golden.find((g) => g.arm === 'SogCLR B=8' && g.preset === 'sogclr-small-batch')!.spec;
  const cases: [string, Partial<ExperimentSpec>, RegExp][] = [
    ['a bimodal estimator on an encoder', { estimator: { kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9 } }, /is bimodal but the model 'linear' is unimodal/],
    ['exact without the full sampler', { estimator: { kind: 'exact' } }, /needs sampler 'full'/],
    ['SogCLR with NcB', { data: { kind: 'random-sphere', n: 6, d: 3 }, model: { kind: 'free' }, sampler: { kind: 'ncb', B: 2 }, estimator: { kind: 'sogclr', modality: 'bimodal', tau: 0.1, gamma: 0.9 } }, /needs one batch per step/],
    ['free embeddings on inputs', { model: { kind: 'free' } }, /'free' needs data 'random-sphere' or 'rectangle'/],
    ['an encoder on free data', { data: { kind: 'random-sphere', n: 6, d: 3 } }, /'linear' needs data 'synthetic-classes'/],
    ['the rectangle metric elsewhere', { metrics: ['angleError'] }, /rectangle toy's metric/],
    ['a misspelt key', { estimatr: {} } as never, /did you mean 'estimator'/],
  ];
  for (const [what, patch, re] of cases) {
    it(what, () => {
      expect(() => validateExperiment({ ...base, ...patch })).toThrow(ConfigError);
      expect(() => validateExperiment({ ...base, ...patch })).toThrow(re);
    });
  }
});
