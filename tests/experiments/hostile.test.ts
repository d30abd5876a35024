/**
 * Hostile specs and checkpoints: everything wrong with a spec is found before the first step (one
 * ConfigError naming the path), a fresh study that fails leaves nothing behind, and a resume checks
 * every field of what it reads (and the backend configuration) before using it.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../src/backend/cpu/index.ts';
import { CapExceededError, ConfigError, ContrastlabError, DomainError, NonFiniteError } from '../../src/core/errors.ts';
import { assertFiniteParams, assertFiniteRow } from '../../src/experiments/guard.ts';
import { PRESETS } from '../../src/experiments/presets/index.ts';
import { expandStudy } from '../../src/experiments/studyLanguage.ts';
import { checkRunRecord, initialState, train as runExperiment, train as runGclExperiment, type RunState } from '../../src/experiments/train.ts';
import { configHash, type ExperimentSpec, type StudySpec, validateExperiment as validateGclExperiment, validateStudy } from '../../src/experiments/spec.ts';
import { runStudy } from '../../src/experiments/study.ts';
import { encodeState } from '../../src/io/codec.ts';

const backend = createCpuBackend();
const root = mkdtempSync(join(tmpdir(), 'contrastlab-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;
const fresh = () => join(root, `d${counter++}`);

const base: ExperimentSpec = {
  name: 'a', data: { kind: 'random-sphere', n: 6, d: 5 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 0.5 },
  estimator: { kind: 'minibatch-infonce', tau: 0.5 }, sampler: { kind: 'reshuffle', B: 2 }, optimizer: { kind: 'sgd', lr: 1 }, budget: { epochs: 12 }, seeds: [0, 1], logEvery: 2,
};
const gclArm = {
  name: 'g', data: { kind: 'synthetic-classes', n: 24, nTest: 8, p: 6, classes: 3, sigma: 0.5 },
  model: { kind: 'linear', d: 4 }, objective: { tau: 0.2 }, estimator: { kind: 'sogclr', modality: 'unimodal', tau: 0.2, gamma: 0.9 }, sampler: { kind: 'reshuffle', B: 6 },
  optimizer: { kind: 'momentum', lr: 0.3, momentum: 0.9 }, budget: { epochs: 2 }, seeds: [0],
};
const study = (extra: Record<string, unknown> = {}): Record<string, unknown> =>
  JSON.parse(JSON.stringify({ name: 's', description: 'd', experiments: [base, { ...base, name: 'b', sampler: { kind: 'full' } }], ...extra }));
/** A deep copy of `x` with `edit` applied. */
function edited<T>(x: T, edit: (y: any) => void): T {
  const y = JSON.parse(JSON.stringify(x));
  edit(y);
  return y;
}
const refused = (spec: unknown, msg: RegExp, cls: typeof ContrastlabError = ConfigError) => {
  expect(() => validateStudy(spec)).toThrow(cls);
  expect(() => validateStudy(spec)).toThrow(msg);
};

describe('the shipped presets', () => {
  for (const p of PRESETS) {
    for (const size of ['smoke', 'full'] as const) {
      it(`${p.name} (${size}) round-trips through validateStudy as JSON, same hash`, () => {
        const spec = validateStudy(expandStudy(p.spec(size)));
        const parsed = JSON.parse(JSON.stringify(spec));
        const v = validateStudy(parsed);
        expect(v).toEqual(spec);
        expect(configHash(v)).toBe(configHash(spec));
      });
    }
  }
  it('cover both papers and the two together', () => expect(['cho-grid', 'sogclr-small-batch', 'two-papers'].every((n) => PRESETS.some((p) => p.name === n))).toBe(true));
});

describe('unknown or misspelt keys are refused, naming the path and the nearest key', () => {
  const cases: [string, unknown, RegExp][] = [
    ['experiment', edited(study(), (s) => { s.experiments[0].optimiser = s.experiments[0].optimizer; delete s.experiments[0].optimizer; }),
      /study\.experiments\[0\]\.optimiser is not a known key; did you mean 'optimizer'\?/],
    ['study', edited(study(), (s) => { s.figurse = []; }), /study\.figurse is not a known key; did you mean 'figures'\?/],
    ['study experiments', { name: 's', experimnts: [base] }, /study\.experimnts is not a known key; did you mean 'experiments'\?/],
    ['single experiment', edited(base, (e) => { e.seed = [0]; }), /experiment\.seed is not a known key; did you mean 'seeds'\?/],
    ['data', edited(study(), (s) => { s.experiments[0].data.nn = 6; }), /study\.experiments\[0\]\.data\.nn is not a known key; did you mean 'n'\?/],
    ['objective', edited(study(), (s) => { s.experiments[0].objective.temperature = 1; }), /objective\.temperature is not a known key; expected one of tau, kind, eps0/],
    ['sampler', edited(study(), (s) => { s.experiments[0].sampler.b = 2; }), /sampler\.b is not a known key; did you mean 'B'\?/],
    ['sampler key of another kind', edited(study(), (s) => { s.experiments[0].sampler.maxBatches = 5; }), /sampler\.maxBatches is not a known key/],
    ['optimizer', edited(study(), (s) => { s.experiments[0].optimizer.moment = 0.9; }), /optimizer\.moment is not a known key; did you mean 'momentum'\?/],
    ['optimizer key of another kind', edited(study(), (s) => { s.experiments[0].optimizer.b1 = 0.9; }), /optimizer\.b1 is not a known key/],
    ['schedule', edited(study(), (s) => { s.experiments[0].optimizer.schedule = { kind: 'warmup-cosine', warmupStep: 3 }; }), /schedule\.warmupStep is not a known key; did you mean 'warmupSteps'\?/],
    ['budget', edited(study(), (s) => { s.experiments[0].budget = { epoch: 3 }; }), /budget\.epoch is not a known key; did you mean 'epochs'\?/],
    ['stopWhen', edited(study(), (s) => { s.experiments[0].stopWhen = { metric: 'loss', belw: 1 }; }), /stopWhen\.belw is not a known key; did you mean 'below'\?/],
    ['figure', study({ figures: [{ name: 'f', title: 't', metrc: 'loss', x: 'step' }] }), /study\.figures\[0\]\.metrc is not a known key; did you mean 'metric'\?/],
    ['panel', study({ figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', panels: [{ title: 'p', arm: ['a'] }] }] }), /panels\[0\]\.arm is not a known key; did you mean 'arms'\?/],
    ['sweep', study({ sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', serie: {} }] }), /study\.sweeps\[0\]\.serie is not a known key; did you mean 'series'\?/],
    ['sweep point', study({ sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', series: { s: [{ arm: 'a', X: 1 }] } }] }), /series\.s\[0\]\.X is not a known key; did you mean 'x'\?/],
    ['threshold', study({ thresholds: [{ metric: 'loss', bellow: 1 }] }), /study\.thresholds\[0\]\.bellow is not a known key; did you mean 'below'\?/],
    ['gram figure', study({ gramFigures: [{ name: 'g', title: 't', arm: ['a'] }] }), /study\.gramFigures\[0\]\.arm is not a known key; did you mean 'arms'\?/],
    ['gcl model', { name: 's', experiments: [edited(gclArm, (e) => { e.model.dd = 4; })] }, /study\.experiments\[0\]\.model\.dd is not a known key; did you mean 'd'\?/],
    ['gcl estimator', { name: 's', experiments: [edited(gclArm, (e) => { e.estimator.gama = 0.9; })] }, /study\.experiments\[0\]\.estimator\.gama is not a known key; did you mean 'gamma'\?/],
    ['gcl augment', { name: 's', experiments: [edited(gclArm, (e) => { e.data.augment = { noise: 0.1, maks: 0.1 }; })] }, /data\.augment\.maks is not a known key; did you mean 'mask'\?/],
    ['exact gradient on batches', { name: 's', experiments: [edited(gclArm, (e) => { e.estimator = { kind: 'exact' }; })] }, /estimator\.kind 'exact' is the gradient of the objective on all N examples; it needs sampler 'full'/],
    ['an old-style key', edited(study(), (s) => { s.experiments[0].parametrisation = 'projected'; }), /study\.experiments\[0\]\.parametrisation is not a known key/],
  ];
  for (const [label, spec, msg] of cases) it(label, () => refused(spec, msg));
  it('a misspelt value gets a suggestion too', () => {
    refused(edited(study(), (s) => { s.experiments[0].sampler.kind = 'reshufle'; }), /sampler\.kind must be one of .*got 'reshufle'; did you mean 'reshuffle'\?/);
  });
});

describe('the whole spec is checked before any run', () => {
  it('study fields of the wrong type', () => {
    for (const k of ['figures', 'sweeps', 'thresholds', 'gramFigures']) {
      refused(study({ [k]: 'loss' }), new RegExp(`study\\.${k} must be an array`));
      refused(study({ [k]: [1, 2] }), new RegExp(`study\\.${k}\\[0\\] must be an object, got 1`));
    }
    refused(study({ figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', arms: 'a' }] }), /figures\[0\]\.arms must be a non-empty array of arm names/);
    refused(study({ sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', series: [1] }] }), /sweeps\[0\]\.series must be an object of series/);
    refused(study({ notes: 3 }), /study\.notes must be a string/);
  });

  it('names of arms and metrics that do not exist', () => {
    refused(study({ figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', arms: ['a', 'c'] }] }), /figures\[0\]\.arms\[1\] names no arm of this study: 'c'/);
    refused(study({ figures: [{ name: 'f', title: 't', metric: 'accuracy', x: 'step' }] }), /figures\[0\]\.metric must be one of/);
    refused(study({ figures: [{ name: 'f', title: 't', metric: 'objective', x: 'step' }] }), /figures\[0\]\.metric 'objective' is not logged by any arm of the figure/);
    refused(study({ figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', panels: [{ title: 'p', arms: ['a'] }, { title: 'q', arms: ['bb'] }] }] }),
      /panels\[1\]\.arms\[0\] names no arm of this study: 'bb'; did you mean 'b'\?/);
    refused(study({ sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', series: { s: [{ arm: 'zz', x: 2 }] } }] }), /sweeps\[0\]\.series\.s\[0\]\.arm names no arm/);
    refused(study({ sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', series: { s: [{ arm: 'a', x: 2 }] }, referenceArm: 'c' }] }), /sweeps\[0\]\.referenceArm names no arm/);
    refused(study({ sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', logX: true, series: { s: [{ arm: 'a', x: 0 }] } }] }), /x must be > 0 on a log x axis/);
    refused(study({ thresholds: [{ metric: 'angleError', below: 1 }] }), /thresholds\[0\]\.metric 'angleError' is not logged by any arm of the study/);
    refused(study({ gramFigures: [{ name: 'g', title: 't', arms: ['a', 'a'] }] }), /gramFigures\[0\]\.arms\[1\] repeats the arm 'a'/);
    refused({ name: 's', experiments: [base, gclArm], gramFigures: [{ name: 'g', title: 't', arms: ['a', 'g'] }] },
      /gramFigures\[0\]\.arms\[1\] 'g' trains an encoder; a Gram figure shows the final embeddings, which only free-embedding runs record/);
    refused(study({ gapReference: 'nope' }), /study\.gapReference names no arm of this study: 'nope'/);
    refused(study({ gapReference: 'a' }), /study\.gapReference 'a' does not log objective/);
    refused(edited(study(), (s) => { s.experiments[0].stopWhen = { metric: 'angleError', below: 1 }; }), /stopWhen\.metric 'angleError' is not logged by this experiment/);
    refused(edited(study(), (s) => { s.experiments[0].metrics = ['knn']; }), /metrics\[0\] 'knn' needs data 'synthetic-classes'/);
    refused(edited(study(), (s) => { s.experiments[0].metrics = ['objectiveGap']; }), /metrics\[0\] 'objectiveGap' is derived by the study/);
    refused(edited(study(), (s) => { s.experiments[0].data = { kind: 'random-sphere', n: 5, d: 2 }; s.experiments[0].metrics = ['distance']; }), /'distance' needs free embeddings with a known optimum/);
  });

  it('figure names are safe, distinct file names', () => {
    for (const bad of ['a/b', '.hidden', '../x', '', 'x'.repeat(101), 'a b', 'a\nb']) {
      refused(study({ figures: [{ name: bad, title: 't', metric: 'loss', x: 'step' }] }), /figures\[0\]\.name must be a safe file name/);
    }
    refused(study({ gramFigures: [{ name: 'x/y', title: 't', arms: ['a'] }] }), /gramFigures\[0\]\.name must be a safe file name/);
    refused(study({ figures: [{ name: 'Loss', title: 't', metric: 'loss', x: 'step' }], gramFigures: [{ name: 'loss', title: 't', arms: ['a'] }] }),
      /gramFigures\[0\]\.name 'loss' is also the name of study\.figures\[0\]\.name/);
  });

  it('batch sizes against the data, seeds, step sizes and builders', () => {
    refused(edited(study(), (s) => { s.experiments[0].sampler.B = 9; }), /study\.experiments\[0\]\.sampler\.B = 9 exceeds the data's N = 6/);
    refused(edited(study(), (s) => { s.experiments[0].sampler.B = 1; }), /sampler\.B must be >= 2 \(a batch of one row has no negatives\)/);
    refused(edited(study(), (s) => { s.experiments[0].sampler = { kind: 'approx-osgd', B: 2, k: 2, q: 3 }; }), /sampler: makeSampler\(approx-osgd\): q must be an integer in 1\.\.k = 2, got 3/, DomainError);
    refused(edited(study(), (s) => { s.experiments[0].seeds = [1e300]; }), /seeds\[0\] must be an integer of at most 9007199254740991, got 1e\+300/);
    refused(edited(study(), (s) => { s.experiments[0].seeds = [0, 0]; }), /seeds\[1\] repeats the seed 0/);
    refused(edited(study(), (s) => { s.experiments[0].seeds = [-1]; }), /seeds\[0\] must be >= 0/);
    refused(edited(study(), (s) => { s.experiments[0].optimizer.lr = 1e309; }), /optimizer\.lr must be a finite number/);
    refused(edited(study(), (s) => { s.experiments[0].optimizer = { kind: 'adamw', lr: 0.1, b1: 1 }; }), /optimizer\.b1 must be < 1, got 1/);
    refused(edited(study(), (s) => { s.experiments[0].optimizer.schedule = { kind: 'warmup-cosine', warmupSteps: 1000 }; }), /optimizer: warmupCosine: total must be an integer >= warmup = 1000, got 36/);
    refused(edited(study(), (s) => { s.experiments[0].budget = { epochs: 1e300 }; }), /budget\.epochs must be an integer of at most/);
    refused({ name: 's', experiments: [edited(gclArm, (e) => { e.sampler.B = 30; })] }, /sampler\.B = 30 exceeds the data's N = 24/);
    refused({ name: 's', experiments: [edited(gclArm, (e) => { e.estimator = { kind: 'clip', tau: 0.2 }; })] }, /estimator is bimodal but the model 'linear' is unimodal/);
    refused({ name: 's', experiments: [edited(gclArm, (e) => { e.model = { kind: 'free' }; })] }, /model\.kind 'free' needs data 'random-sphere' or 'rectangle'/);
    refused({ name: 's', experiments: [edited(gclArm, (e) => { e.metrics = ['angleError']; })] }, /metrics\[0\] 'angleError' is the rectangle toy's metric/);
    refused({ name: 's', experiments: [edited(gclArm, (e) => { e.sampler = { kind: 'ncb', B: 2 }; })] }, /sampler\.kind 'ncb' takes all C\(N,B\) batches in one step; estimator 'sogclr' .* needs one batch per step/);
    refused(edited(study(), (s) => { s.experiments[1].kind = 'cho'; }), /experiments\[1\]\.kind is not a known key/);
  });

  it('sizes beyond the memory budget are refused before anything is allocated, naming the size', () => {
    refused(edited(base, (e) => { e.data.n = 1e9; e.data.d = 16; }), /experiment: one run's data, embeddings, gradients and optimizer state \(N = 1000000000, d = 16; .* float64\) needs .* over the memory budget/, CapExceededError);
    refused({ name: 's', experiments: [edited(gclArm, (e) => { e.data.n = 1e9; e.sampler.B = 8; })] }, /one run's data, embeddings.*N = 1000000000.*over the memory budget/, CapExceededError);
    refused(edited(base, (e) => { e.data.n = 300000; e.sampler = { kind: 'spectral', B: 2 }; }), /spectral clustering of 300000 rows .* over the memory budget/, CapExceededError);
  });

  it('deep or cyclic values in a spec give a one-line error, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    refused({ ...study(), figures: deep }, /study\.figures\[0\] must be an object, got \[array\]/);
    const cyclic: Record<string, unknown> = { kind: 'random-sphere', d: 5 };
    cyclic.n = cyclic;
    refused({ ...base, data: cyclic }, /experiment\.data\.n must be a finite number, got \{object\}/);
  });
});

class Interrupt extends Error {}

/** A study folder as a kill at run 1, step 4 leaves it (runs/0000.json finished, runs/0001.partial.json the run in progress). */
function interrupted(spec: StudySpec): string {
  const killed = fresh();
  const out = fresh();
  expect(() => runStudy(spec, {
    out: killed, backend, checkpointIntervalMs: 0,
    progress: { onLog: ({ runIndex, row }) => { if (runIndex === 1 && row.step >= 4) { cpSync(killed, out, { recursive: true }); throw new Interrupt(); } } },
  })).toThrow(Interrupt);
  return out;
}

describe('failures clean up what the invocation created', () => {
  const tiny = validateStudy(study());

  it('a fresh study that fails during a run is removed, with the parents it created; a non-finite step names arm, seed, step and lr', () => {
    const parent = fresh();
    const out = join(parent, 'x', 'y');
    const bad = validateStudy(edited(study(), (s) => { s.experiments[1].optimizer.lr = 1e308; }));
    expect(() => runStudy(bad, { out, backend })).toThrow(/arm 'b' seed 0 step 0: .*likely cause: the step size optimizer\.lr = 1e\+308 is too large/);
    expect(existsSync(parent)).toBe(false);
  });

  it('a non-finite parameter or metric is caught where it appears (guards), also in global-objective runs', () => {
    const place = { arm: 'x', seed: 3, optimizer: { kind: 'sgd', lr: 2 } as const };
    expect(() => assertFiniteParams(place, 7, { W: { data: Float64Array.of(1, NaN), rows: 1, cols: 2, rowStride: 2, colStride: 1, offset: 0 } }))
      .toThrow(/arm 'x' seed 3 step 7: the update made W\[0,1\] = NaN; likely cause: the step size optimizer\.lr = 2 is too large/);
    expect(() => assertFiniteParams(place, 7, { U: { data: Float64Array.of(1e300, 1e300), rows: 1, cols: 2, rowStride: 2, colStride: 1, offset: 0 } }))
      .toThrow(/row 0 of U so large that its norm overflows/);
    expect(() => assertFiniteRow(place, { step: 4, epoch: 1, loss: Infinity })).toThrow(NonFiniteError);
    expect(() => assertFiniteRow(place, { step: 4, epoch: 1, loss: Infinity })).toThrow(/arm 'x' seed 3 step 4: loss is Infinity/);
    const g = validateGclExperiment(edited(gclArm, (e) => { e.optimizer = { kind: 'sgd', lr: 1e308 }; }));
    expect(() => runGclExperiment(g, 0, { backend })).toThrow(/arm 'g' seed 0 step 0: .*optimizer\.lr = 1e\+308 is too large/);
  });

  it('a resumed study that fails removes nothing', () => {
    const out = interrupted(tiny);
    const before = readFileSync(join(out, 'runs', '0001.partial.json'), 'utf8');
    expect(() => runStudy(tiny, { out, backend, resume: true, progress: { onLog: () => { throw new Interrupt(); } } })).toThrow(Interrupt);
    expect(readFileSync(join(out, 'runs', '0001.partial.json'), 'utf8')).toBe(before);
    expect(existsSync(join(out, 'runs', '0000.json'))).toBe(true);
    runStudy(tiny, { out, backend, resume: true }); // and it still resumes
  });

  it('refusing an existing folder leaves it alone', () => {
    const out = fresh();
    runStudy(tiny, { out, backend });
    expect(() => runStudy(tiny, { out, backend })).toThrow(/already exists/);
    expect(existsSync(join(out, 'final.json'))).toBe(true);
  });
});

describe('--resume checks the checkpoint and the run records against the spec and the backend', () => {
  const spec = validateStudy(study());
  const pristine = interrupted(spec);
  const copy = () => {
    const out = fresh();
    cpSync(pristine, out, { recursive: true });
    return out;
  };
  const edit = (out: string, file: string, f: (o: any) => unknown) => {
    const p = join(out, file);
    const o = JSON.parse(readFileSync(p, 'utf8'));
    const replaced = f(o);
    writeFileSync(p, JSON.stringify(replaced === undefined ? o : replaced));
  };
  const resumeFails = (file: string, f: (o: any) => unknown, msg: RegExp) => {
    const out = copy();
    edit(out, file, f);
    const before = readFileSync(join(out, file), 'utf8');
    expect(() => runStudy(spec, { out, backend, resume: true })).toThrow(ConfigError);
    expect(() => runStudy(spec, { out, backend, resume: true })).toThrow(msg);
    expect(readFileSync(join(out, file), 'utf8')).toBe(before);
  };

  it('the pristine copy resumes', () => {
    expect(JSON.parse(readFileSync(join(pristine, 'runs', '0001.partial.json'), 'utf8')).state.step).toBe(4);
    runStudy(spec, { out: copy(), backend, resume: true });
  });

  it('another dtype, backend or block size is refused, naming both', () => {
    const out = copy();
    expect(() => runStudy(spec, { out, backend: createCpuBackend({ dtype: 'f32' }), resume: true }))
      .toThrow(/0000\.json' was computed with backend cpu, dtype f64, blockSize \d+, but this invocation uses backend cpu, dtype f32/);
    expect(() => runStudy(spec, { out, backend: createCpuBackend({ blockSize: 64 }), resume: true })).toThrow(/blockSize 64; resume with the same --backend/);
  });

  const W = 'runs/0001.partial.json';
  const cases: [string, string, (o: any) => unknown, RegExp][] = [
    ['null checkpoint', W, () => null, /0001\.partial\.json' content must be an object, got null/],
    ['an older version', W, (o) => { o.version = 1; delete o.runConfig; }, /version is 1; this contrastlab writes version 3/],
    ['no run configuration', W, (o) => { delete o.runConfig; }, /runConfig must be an object/],
    ['step -5', W, (o) => { o.state.step = -5; }, /state\.step must be an integer in \[0, 36\], got -5/],
    ['step "x"', W, (o) => { o.state.step = 'x'; }, /state\.step must be an integer in \[0, 36\], got "x"/],
    ['step 1e9', W, (o) => { o.state.step = 1e9; }, /state\.step must be an integer in \[0, 36\], got 1000000000/],
    ['step not the optimizer count', W, (o) => { o.state.step = 6; }, /state\.opt\.count is 4 but one optimizer update per step gives 6/],
    ['totalSteps', W, (o) => { o.state.totalSteps = 99; }, /state\.totalSteps is 99 but the spec gives 36/],
    ['no params', W, (o) => { delete o.state.params; }, /state\.params is missing/],
    ['params of another shape', W, (o) => { o.state.params.U.rows = 5; }, /state\.params\.U must be a 6x5 matrix, got 5x5/],
    ['params truncated', W, (o) => { o.state.params.V.data.$f64 = 'AAAAAAAAAAA='; }, /state\.params\.V\.data must be a Float64Array of length 30/],
    ['an optimizer state of another optimizer', W, (o) => { o.state.opt = { count: 4, m: o.state.params }; }, /state\.opt\.m is not a field of this state/],
    ['a sampler state out of range', W, (o) => { o.state.sampler.next = 7; }, /state\.sampler is not valid: .*state\.next must be an integer in \[0, 2\], got 7/],
    ['a sampler order that is not a permutation', W, (o) => { o.state.sampler.order = [0, 0, 1, 2, 3, 4]; o.state.sampler.next = 1; }, /state\.sampler is not valid: .*state\.order must hold distinct/],
    ['an rng state', W, (o) => { o.state.rng = { words: [1, 2, 3], spare: null }; }, /state\.rng is not valid: .*four uint32/],
    ['trace rows out of order', W, (o) => { o.state.trace.reverse(); }, /state\.trace\[1\]\.step must be an integer in \[\d+, 4\]/],
    ['a trace row of another metric', W, (o) => { o.state.trace[0].objective = 1; }, /state\.trace\[0\]\.objective is not a field of this state/],
    ['a wrong epoch', W, (o) => { o.state.trace[1].epoch = 7; }, /state\.trace\[1\]\.epoch must be step \/ 3/],
    ['a run of another arm', W, (o) => { o.state.arm = 'zz'; }, /is for arm "zz" seed 1 \(config "\w+"\), not 'a' seed 1/],
    ['the checkpoint of another run', W, (o) => { o.index = 0; }, /index is 0 but its file name gives 1/],
    ['done too early', W, (o) => { o.state.done = true; }, /state\.done is true at step 4 of 36 without an early stop/],
  ];
  for (const [label, file, f, msg] of cases) it(label, () => resumeFails(file, f, msg));

  it('a truncated runs/0000.json', () => {
    const out = copy();
    const p = join(out, 'runs', '0000.json');
    writeFileSync(p, readFileSync(p, 'utf8').slice(0, 100));
    expect(() => runStudy(spec, { out, backend, resume: true })).toThrow(/run record '.*0000\.json' is not valid JSON/);
  });

  const R = 'runs/0000.json';
  const recordCases: [string, (o: any) => void, RegExp][] = [
    ['another index', (o) => { o.index = 3; }, /0000\.json' index is 3 but its file name gives 0/],
    ['another arm', (o) => { o.record.arm = 'b'; }, /record\.arm is "b" but the spec gives "a"/],
    ['no U', (o) => { delete o.record.U; }, /record\.U is missing/],
    ['a final row that is not the last', (o) => { o.record.final = o.record.trace[0]; }, /record\.final must be the last row/],
    ['too few steps', (o) => { o.record.steps = 3; }, /record\.epochs is 12 but steps \/ steps per epoch gives 1/],
    ['another spec', (o) => { o.studyHash = 'ffff'; }, /is for another spec/],
  ];
  for (const [label, f, msg] of recordCases) it(`runs/0000.json: ${label}`, () => resumeFails(R, f, msg));

  it('a study keeps the embeddings in the run files of free arms only; a run file with the wrong choice is refused', () => {
    const out = fresh();
    runStudy({ name: 's', experiments: [base, gclArm] } as unknown as StudySpec, { out, backend });
    const file = (i: number) => JSON.parse(readFileSync(join(out, 'runs', `000${i}.json`), 'utf8'));
    const free = file(0);
    const enc = file(2);
    expect(free.record.arm === 'a' && 'U' in free.record && 'V' in free.record).toBe(true);
    expect(enc.record.arm === 'g' && !('U' in enc.record) && !('V' in enc.record)).toBe(true);
    // train() itself keeps them unless told not to.
    const spec = gclArm as unknown as ExperimentSpec;
    expect(runGclExperiment(spec, 0, { backend }).U!.rows).toBe(24);
    const rec = runGclExperiment(spec, 0, { backend, recordEmbeddings: false });
    expect('U' in rec || 'V' in rec).toBe(false);
    expect(() => checkRunRecord(spec, 0, { ...rec, U: { rows: 24, cols: 4 } }, undefined, false)).toThrow(/record\.U is not a field of this state/);
    expect(() => checkRunRecord(spec, 0, rec)).toThrow(/record\.U is missing/);
  });

  it('train checks a state handed to it too (no hang at step 1e9, no wrong numbers at step -5)', () => {
    let st: RunState | null = null;
    runExperiment(base, 0, { backend, onCheckpoint: (s) => { st ??= s; } });
    expect(() => runExperiment(base, 0, { backend, resume: { ...st!, step: 1e9 } })).toThrow(/the resume state state\.step must be an integer in \[0, 36\], got 1000000000/);
    expect(() => runExperiment(base, 0, { backend, resume: { ...st!, step: -5 } })).toThrow(ConfigError);
    expect(() => runExperiment(base, 0, { backend, resume: {} as RunState })).toThrow(/the resume state state\.arm is missing/);
    expect(encodeState(initialState(base, 0))).toBeTruthy();
  });
});
