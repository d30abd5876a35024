import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { train as runExperiment, totalSteps, type RunState } from '../../src/experiments/train.ts';
import { configHash, validateExperiment, validateStudy, type ExperimentSpec, type StudySpec } from '../../src/experiments/spec.ts';
import { runStudy } from '../../src/experiments/study.ts';
import { decodeState, encodeState } from '../../src/io/codec.ts';
import { ConfigError } from '../../src/core/errors.ts';

const backend = createCpuBackend();

const base: ExperimentSpec = {
  name: 'reshuffled', data: { kind: 'random-sphere', n: 6, d: 5 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 0.5 },
  estimator: { kind: 'minibatch-infonce', tau: 0.5 }, sampler: { kind: 'reshuffle', B: 2 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs: 12 }, seeds: [0, 1], logEvery: 2,
};

class Interrupt extends Error {}

describe('train (CHO runs)', () => {
  it('is a pure function of (spec, seed): bit-identical twice, different for another seed', () => {
    const a = runExperiment(base, 0, { backend });
    const b = runExperiment(base, 0, { backend });
    expect(b.trace).toEqual(a.trace);
    expect(Array.from(b.U!.data)).toEqual(Array.from(a.U!.data));
    expect(runExperiment(base, 1, { backend }).final.loss).not.toBe(a.final.loss);
  });

  for (const variant of [
    { label: 'projected SGD, reshuffle', spec: base },
    { label: 'reparametrised momentum, with replacement', spec: { ...base, model: { kind: 'free', parametrisation: 'reparam' }, sampler: { kind: 'with-replacement', B: 3 }, optimizer: { kind: 'momentum', lr: 0.5, momentum: 0.9 } } as ExperimentSpec },
    { label: 'adamw with warm-up cosine, OSGD', spec: { ...base, sampler: { kind: 'osgd', B: 2 }, optimizer: { kind: 'adamw', lr: 0.05, schedule: { kind: 'warmup-cosine', warmupSteps: 5 } } } as ExperimentSpec },
    { label: 'LARS, fixed partition', spec: { ...base, sampler: { kind: 'fixed', B: 3 }, optimizer: { kind: 'lars', lr: 1, weightDecay: 1e-4 } } as ExperimentSpec },
  ]) {
    it(`resumes from any checkpoint to the uninterrupted numbers (${variant.label})`, () => {
      const spec = { ...variant.spec, checkpointEvery: 1 };
      const full = runExperiment(spec, 0, { backend });
      const total = totalSteps(spec);
      for (const stopAt of [1, 7, 13, total - 1]) {
        let saved: string | null = null;
        expect(() => runExperiment(spec, 0, {
          backend,
          onCheckpoint: (st) => {
            // Round trip through the exact JSON codec, as a checkpoint file does.
            saved = JSON.stringify(encodeState(st));
            if (st.step === stopAt) throw new Interrupt();
          },
        })).toThrow(Interrupt);
        const st = decodeState(JSON.parse(saved!)) as RunState;
        // The exact codec restores every field of the matrices and typed arrays.
        const resumed = runExperiment(spec, 0, { backend, resume: st });
        expect(resumed.trace).toEqual(full.trace);
        expect(Array.from(resumed.U!.data)).toEqual(Array.from(full.U!.data));
      }
    });
  }

  it('refuses a checkpoint of another spec or seed', () => {
    let st: RunState | null = null;
    runExperiment(base, 0, { backend, onCheckpoint: (s) => { st ??= s; } });
    expect(() => runExperiment({ ...base, optimizer: { kind: 'sgd', lr: 2 } }, 0, { backend, resume: st! })).toThrow(/the resume state is for arm "reshuffled" seed 0 \(config "\w+"\), not 'reshuffled' seed 0 \(config \w+\)/);
    expect(() => runExperiment(base, 1, { backend, resume: st! })).toThrow(ConfigError);
  });
});

describe('runStudy', () => {
  const study: StudySpec = {
    name: 'tiny', description: 'two arms', experiments: [base, { ...base, name: 'full', sampler: { kind: 'full' }, budget: { epochs: 20 }, logEvery: 4 }],
    figures: [{ name: 'loss', title: 'loss', metric: 'loss', x: 'epoch' }], thresholds: [{ metric: 'distance', below: 0.5 }],
  };

  it('writes the outputs; a study interrupted mid-run resumes to the same files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'contrastlab-study-'));
    const a = join(dir, 'a');
    runStudy(study, { out: a, backend });
    for (const f of ['trace.csv', 'trace.jsonl', 'summary.csv', 'final.json', 'summary.md', 'spec.json', 'runs/0000.json']) expect(existsSync(join(a, f)), f).toBe(true);
    // A kill mid-run leaves the folder as it is on disk at that moment: copied here, because an
    // exception (any failure of a fresh study) removes the folder the study created.
    const b = join(dir, 'b');
    const killed = join(dir, 'killed');
    let logs = 0;
    expect(() => runStudy(study, {
      out: killed, backend, checkpointIntervalMs: 0,
      progress: { onLog: ({ runIndex, row }) => { if (runIndex === 2 && row.step >= 8 && ++logs) { cpSync(killed, b, { recursive: true }); throw new Interrupt(); } } },
    })).toThrow(Interrupt);
    expect(existsSync(killed)).toBe(false);
    expect(existsSync(join(b, 'runs', '0001.json')) && !existsSync(join(b, 'runs', '0002.json'))).toBe(true);
    expect(() => runStudy(study, { out: b, backend })).toThrow(/already exists/);
    runStudy(study, { out: b, backend, resume: true });
    for (const f of ['trace.csv', 'summary.csv']) expect(readFileSync(join(b, f), 'utf8'), f).toBe(readFileSync(join(a, f), 'utf8'));
    const fa = JSON.parse(readFileSync(join(a, 'final.json'), 'utf8'));
    const fb = JSON.parse(readFileSync(join(b, 'final.json'), 'utf8'));
    expect(fb.runs).toEqual(fa.runs);
    expect(fb.studyHash).toBe(fa.studyHash);
    expect(() => runStudy({ ...study, name: 'other' }, { out: b, backend, resume: true })).toThrow(/holds another study/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('spec validation names the path and the value', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not an object', 3, /spec must be an object, got 3/],
    ['bad sampler kind', { ...base, sampler: { kind: 'magic', B: 2 } }, /experiment.sampler.kind must be one of .* got 'magic'/],
    ['tau <= 0', { ...base, objective: { tau: 0 } }, /experiment.objective.tau must be > 0, got 0/],
    ['B not an integer', { ...base, sampler: { kind: 'reshuffle', B: 2.5 } }, /experiment.sampler.B must be an integer, got 2.5/],
    ['both budgets', { ...base, budget: { epochs: 1, steps: 2 } }, /exactly one of epochs or steps/],
    ['no seeds', { ...base, seeds: [] }, /experiment.seeds must be a non-empty array/],
    ['bad metric', { ...base, metrics: ['accuracy'] }, /experiment.metrics\[0\] must be one of/],
    ['lr negative', { ...base, optimizer: { kind: 'sgd', lr: -1 } }, /experiment.optimizer.lr must be > 0, got -1/],
  ];
  for (const [label, spec, msg] of cases) {
    it(label, () => {
      expect(() => validateStudy(spec)).toThrow(ConfigError);
      expect(() => validateStudy(spec)).toThrow(msg);
    });
  }
  it('a valid experiment passes; duplicate arm names do not; the config hash ignores key order', () => {
    expect(validateExperiment(JSON.parse(JSON.stringify(base))).name).toBe('reshuffled');
    expect(() => validateStudy({ name: 's', experiments: [base, base] })).toThrow(/repeats the arm name 'reshuffled'/);
    const reordered = Object.fromEntries(Object.entries(base).reverse());
    expect(configHash(reordered)).toBe(configHash(base));
  });
});
