/**
 * The compact study language (src/experiments/studyLanguage.ts) and the presets written in it.
 *
 * The presets' expansion is compared with fixtures/preset-arms.json: the arms, figures, sweeps and
 * notes of every old preset (the builders removed with the old runners) at both sizes, each arm mapped to the
 * unified experiment spec (by a script kept in git history, commit 9463e80), so that the new loop runs exactly the
 * old studies.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { ANNEALED_SIZES, APPROX_OSGD, findPreset, PRESETS } from '../../src/experiments/presets/index.ts';
import { checkSchema } from '../../src/experiments/schema.ts';
import { deepMerge, expandStudy, isCompactStudy } from '../../src/experiments/studyLanguage.ts';

type Rec = Record<string, any>;
const fixture = JSON.parse(readFileSync(new URL('./fixtures/preset-arms.json', import.meta.url), 'utf8')) as Record<string, { description: string; study: Rec }>;
const SIZES = ['full', 'smoke'] as const;
const expand = (v: unknown) => expandStudy(v) as Rec;
const names = (v: unknown) => (expand(v).experiments as Rec[]).map((e) => e.name);
const fails = (v: unknown) => {
  try {
    expandStudy(v);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

/** A small free-embedding arm's defaults (CHO's setting). */
const base = {
  data: { kind: 'random-sphere', n: 4, d: 2 }, model: { kind: 'free', parametrisation: 'projected' }, objective: { tau: 1 },
  sampler: { kind: 'reshuffle', B: 2 }, estimator: { kind: 'minibatch-infonce', tau: 1 }, optimizer: { kind: 'sgd', lr: 1 },
  budget: { epochs: 3 }, seeds: [0],
};

describe('presets in the compact language', () => {
  it('every old preset is there, with the same description', () => {
    const old = Object.keys(fixture).map((k) => k.split('/')[0]);
    for (const name of new Set(old)) {
      const p = findPreset(name!);
      expect(p, name).toBeDefined();
      expect(p!.description).toBe(fixture[`${name}/full`]!.description);
    }
    expect(PRESETS.map((p) => p.name)).toEqual([...new Set(old), 'two-papers', 'mnist-batch-size', 'mnist-batch-selection']);
  });

  for (const key of Object.keys(fixture)) {
    it(`${key} expands to exactly the old study (arms, figures, sweeps, notes)`, () => {
      const [name, size] = key.split('/') as [string, 'full' | 'smoke'];
      const compact = findPreset(name)!.spec(size);
      expect(isCompactStudy(compact)).toBe(true);
      const study = expand(compact);
      const old = fixture[key]!.study;
      expect((study.experiments as Rec[]).map((e) => e.name)).toEqual((old.experiments as Rec[]).map((e) => e.name));
      expect(study.experiments).toEqual(old.experiments);
      expect(study).toEqual(old);
      // key order of the study and of every arm (what --expand prints) follows the spec's order
      expect(Object.keys(study)).toEqual(Object.keys(old));
    });
  }

  it('every preset, compact and expanded, at both sizes, passes the schema', () => {
    for (const p of PRESETS) {
      for (const size of SIZES) {
        const compact = p.spec(size);
        expect(() => checkSchema(compact), `${p.name} ${size} compact`).not.toThrow();
        expect(() => checkSchema(expand(compact)), `${p.name} ${size} expanded`).not.toThrow();
      }
    }
  });

  it('the compact spec is plain JSON and much shorter than the expanded one', () => {
    for (const p of PRESETS) {
      for (const size of SIZES) {
        const compact = p.spec(size);
        expect(JSON.parse(JSON.stringify(compact))).toEqual(compact);
      }
    }
    const cho = findPreset('cho-grid')!.spec('full');
    const lines = (x: unknown) => JSON.stringify(x, null, 2).split('\n').length;
    expect(lines(cho)).toBeLessThan(200);
    expect(lines(expand(cho))).toBeGreaterThan(10 * lines(cho));
  });

  it('the example in docs/study-language.md is cho-grid (less its description and notes) and passes the schema', () => {
    const md = readFileSync(new URL('../../docs/study-language.md', import.meta.url), 'utf8');
    const doc = JSON.parse(md.split('```json').at(-1)!.split('```')[0]!);
    expect(() => checkSchema(doc)).not.toThrow();
    const { description: _d, notes: _n, ...cho } = expand(findPreset('cho-grid')!.spec('full'));
    expect(expand(doc)).toEqual(cho);
  });

  it('ANNEALED_SIZES is still exported and drives sogclr-annealed', () => {
    for (const size of SIZES) {
      const s = expand(findPreset('sogclr-annealed')!.spec(size));
      expect(s.experiments).toHaveLength(2 * ANNEALED_SIZES[size].Bs.length);
      expect(s.experiments[0].seeds).toEqual([...ANNEALED_SIZES[size].seeds]);
      expect(s.experiments[0].data.n).toBe(ANNEALED_SIZES[size].n);
    }
  });
});

describe('two-papers', () => {
  for (const size of SIZES) {
    it(`${size}: SimCLR, DCL, SogCLR × B × {reshuffled, approx-OSGD, spectral}, the reference, figures and sweeps naming its arms`, () => {
      const s = expand(findPreset('two-papers')!.spec(size));
      const Bs = size === 'full' ? [8, 32, 128] : [8, 32];
      const arms = s.experiments as Rec[];
      expect(arms).toHaveLength(1 + 3 * Bs.length * 3);
      expect(arms[0]!.name).toBe(s.gapReference);
      expect(arms[0]!.estimator).toEqual({ kind: 'exact' });
      expect(arms[0]!.sampler).toEqual({ kind: 'full' });
      expect(arms[1]!.name).toBe('SimCLR B=8 reshuffled');
      expect(arms.at(-1)!.name).toBe(`SogCLR B=${Bs.at(-1)} spectral`);
      const reshuffled = arms.find((a) => a.name === 'SogCLR B=8 reshuffled')!;
      const approx = arms.find((a) => a.name === 'SogCLR B=8 approx-OSGD')!;
      expect(approx.sampler).toEqual({ kind: 'approx-osgd', B: 8, k: APPROX_OSGD.k, q: APPROX_OSGD.q });
      // the same number of update steps as the reshuffled arm: a period is q/k of an epoch
      expect(approx.budget.epochs * APPROX_OSGD.q / APPROX_OSGD.k).toBe(reshuffled.budget.epochs);
      for (const a of arms.slice(1)) {
        const steps = Math.ceil(a.data.n / a.sampler.B);
        expect(steps % APPROX_OSGD.k, `${a.name}: k divides ⌈N/B⌉`).toBe(0);
        expect(a.estimator.kind === 'sogclr' ? a.estimator.gamma : 0.9).toBe(0.9);
        expect(a.model).toEqual({ kind: 'linear', d: 16, trainViews: 'fixed' });
        expect(a.objective).toEqual({ kind: 'gcl', tau: 0.1, eps0: 0 });
        expect(a.seeds.length).toBeGreaterThanOrEqual(size === 'full' ? 5 : 2);
      }
      if (size === 'full') expect(arms[1]!.data).toEqual({ kind: 'synthetic-classes', n: 1024, nTest: 256, p: 32, classes: 8, sigma: 3, augment: { noise: 0.2, mask: 0.2 } });
      const armNames = new Set(arms.map((a) => a.name));
      const used = [
        ...(s.figures as Rec[]).flatMap((f) => (f.panels as Rec[]).flatMap((p) => p.arms)),
        ...(s.sweeps as Rec[]).flatMap((w) => Object.values(w.series as Record<string, Rec[]>).flat().map((p) => p.arm)),
      ];
      for (const n of used) expect(armNames.has(n), n).toBe(true);
      expect((s.figures as Rec[]).map((f) => f.name)).toEqual(['SimCLR', 'DCL', 'SogCLR'].flatMap((m) => ['objectiveGap', 'probe', 'knn'].map((x) => `${x}-${m}`)));
      expect(Object.keys(s.sweeps[0].series)).toHaveLength(9);
      expect(s.sweeps[0].series['SogCLR approx-OSGD']).toEqual(Bs.map((B) => ({ arm: `SogCLR B=${B} approx-OSGD`, x: B })));
    });
  }
});

describe('arms: defaults, grid, zip', () => {
  it('grid: the cartesian product, keys in the order written, the first varying slowest', () => {
    const s = { name: 's', defaults: base, grid: { 'data.n': [4, 8], 'sampler.kind': ['osgd', 'reshuffle', 'fixed'] }, names: 'N={data.n} {sampler.kind}' };
    expect(names(s)).toEqual(['N=4 osgd', 'N=4 reshuffle', 'N=4 fixed', 'N=8 osgd', 'N=8 reshuffle', 'N=8 fixed']);
    const swapped = { ...s, grid: { 'sampler.kind': ['osgd', 'reshuffle', 'fixed'], 'data.n': [4, 8] } };
    expect(names(swapped)).toEqual(['N=4 osgd', 'N=8 osgd', 'N=4 reshuffle', 'N=8 reshuffle', 'N=4 fixed', 'N=8 fixed']);
    const arms = expand(s).experiments as Rec[];
    expect(arms[3]!.data).toEqual({ kind: 'random-sphere', n: 8, d: 2 });
    expect(arms[3]!.sampler).toEqual({ kind: 'osgd', B: 2 });
  });

  it('zip: the keys take their i-th values together (not a product), and zip varies slower than the grid', () => {
    const s = { name: 's', defaults: base, zip: { 'data.n': [4, 8, 16], 'data.d': [2, 16, 32] }, grid: { 'model.parametrisation': ['projected', 'reparam'] } };
    const arms = expand(s).experiments as Rec[];
    expect(arms.map((a) => a.name)).toEqual(['4 2 projected', '4 2 reparam', '8 16 projected', '8 16 reparam', '16 32 projected', '16 32 reparam']);
    expect(arms.map((a) => [a.data.n, a.data.d])).toEqual([[4, 2], [4, 2], [8, 16], [8, 16], [16, 32], [16, 32]]);
  });

  it('a list of zip groups is the product of the groups, in order', () => {
    const s = {
      name: 's', defaults: base,
      zip: [{ 'data.n': [4, 8], 'data.d': [2, 4] }, { 'optimizer.lr': [1, 0.5], 'budget.epochs': [10, 20] }],
      names: 'N={data.n},d={data.d} lr={optimizer.lr} E={budget.epochs}',
    };
    expect(names(s)).toEqual(['N=4,d=2 lr=1 E=10', 'N=4,d=2 lr=0.5 E=20', 'N=8,d=4 lr=1 E=10', 'N=8,d=4 lr=0.5 E=20']);
  });

  it('defaults are deep-merged under explicit arms; an object of another kind replaces; explicit arms come first', () => {
    const s = {
      name: 's', defaults: { ...base, optimizer: { kind: 'momentum', lr: 0.5, momentum: 0.9 } },
      experiments: [
        { name: 'wide', data: { d: 8 }, optimizer: { lr: 0.1 } },
        { name: 'full', sampler: { kind: 'full' } },
      ],
      grid: { 'sampler.B': [2, 4] }, names: 'B={sampler.B}',
    };
    const arms = expand(s).experiments as Rec[];
    expect(arms.map((a) => a.name)).toEqual(['wide', 'full', 'B=2', 'B=4']);
    expect(arms[0]!.data).toEqual({ kind: 'random-sphere', n: 4, d: 8 });
    expect(arms[0]!.optimizer).toEqual({ kind: 'momentum', lr: 0.1, momentum: 0.9 });
    expect(arms[1]!.sampler).toEqual({ kind: 'full' });
    expect(arms[3]!.sampler).toEqual({ kind: 'reshuffle', B: 4 });
    expect(arms[3]!.seeds).toEqual([0]);
    expect(deepMerge({ a: { kind: 'x', p: 1 }, b: 1 }, { a: { kind: 'y' } })).toEqual({ a: { kind: 'y' }, b: 1 });
    expect(deepMerge({ a: { kind: 'x', p: 1 } }, { a: { q: 2 } })).toEqual({ a: { kind: 'x', p: 1, q: 2 } });
  });

  it('a grid value replaces the whole object at its key (even of the same kind); defaults are not changed by expansion', () => {
    const defaults = { ...JSON.parse(JSON.stringify(base)), optimizer: { kind: 'momentum', lr: 0.5, momentum: 0.9 } };
    const copy = JSON.parse(JSON.stringify(defaults));
    const s = { name: 's', defaults, grid: { sampler: [{ kind: 'full' }, { kind: 'osgd', B: 2 }], optimizer: [{ kind: 'momentum', lr: 0.1 }] } };
    const arms = expand(s).experiments as Rec[];
    expect(arms.map((a) => a.sampler)).toEqual([{ kind: 'full' }, { kind: 'osgd', B: 2 }]);
    expect(arms[0]!.optimizer).toEqual({ kind: 'momentum', lr: 0.1 });
    expect(arms.map((a) => a.name)).toEqual(['full momentum', 'osgd momentum']);
    expect(defaults).toEqual(copy);
  });

  it('a label map applies to keys that are not axes too (names, where, series)', () => {
    const s = {
      name: 's', defaults: base, grid: { 'sampler.kind': ['osgd', 'reshuffle'] }, names: '{sampler.kind} {model.parametrisation}',
      labels: { 'model.parametrisation': { projected: 'P' } },
      sweeps: [{ name: 'w', title: 'w', metric: 'loss', xTitle: 'B', series: { by: 'model.parametrisation', x: 'sampler.B' } }],
    };
    const study = expand(s);
    expect(study.experiments.map((a: Rec) => a.name)).toEqual(['osgd P', 'reshuffle P']);
    expect(Object.keys(study.sweeps[0].series)).toEqual(['P']);
  });

  it('labels: inline {label, value, with}, a label map, a labelled value without value leaves the key unset', () => {
    const s = {
      name: 's', defaults: base,
      grid: {
        'sampler.kind': [{ label: 'approx', value: 'approx-osgd', with: { 'sampler.k': 2, 'sampler.q': 1 } }, 'osgd'],
        'estimator.tau': [{ label: 'default τ' }, 0.5],
      },
      labels: { 'sampler.kind': { osgd: 'OSGD' } },
    };
    const arms = expand(s).experiments as Rec[];
    expect(arms.map((a) => a.name)).toEqual(['approx default τ', 'approx 0.5', 'OSGD default τ', 'OSGD 0.5']);
    expect(arms[0]!.sampler).toEqual({ kind: 'approx-osgd', B: 2, k: 2, q: 1 });
    expect(arms[0]!.estimator.tau).toBe(1);
    expect(arms[3]!.sampler).toEqual({ kind: 'osgd', B: 2 });
  });

  it('references "$key" resolve to the arm\'s value; seeds {count}; tags are not written into arms', () => {
    const s = {
      name: 's', defaults: { ...base, estimator: { kind: 'minibatch-infonce', tau: '$objective.tau' }, seeds: { count: 3 } },
      zip: { 'objective.tau': [0.1, 1], '@t': ['cold', 'warm'] }, names: '{@t} τ={estimator.tau}',
    };
    const arms = expand(s).experiments as Rec[];
    expect(arms.map((a) => a.name)).toEqual(['cold τ=0.1', 'warm τ=1']);
    expect(arms.map((a) => a.estimator.tau)).toEqual([0.1, 1]);
    expect(arms[0]!.seeds).toEqual([0, 1, 2]);
    expect(JSON.stringify(arms)).not.toContain('@t');
    expect(Object.keys(arms[0]!)).toEqual(['name', 'data', 'model', 'objective', 'sampler', 'estimator', 'optimizer', 'budget', 'seeds']);
  });
});

describe('figures, sweeps and Gram figures', () => {
  const s = {
    name: 's', defaults: base,
    experiments: [{ name: 'ref', sampler: { kind: 'full' } }],
    zip: { 'data.n': [4, 8], 'data.d': [2, 8], '@opt': ['cross', 'ETF'] },
    grid: { 'model.parametrisation': ['projected', 'reparam'], 'sampler.kind': ['osgd', 'reshuffle'] },
    names: 'N={data.n} {model.parametrisation} {sampler.kind}',
  };
  // the explicit arm 'ref' (sampler full) is an arm like the others: selections leave it out by `where`
  const batched = { 'sampler.kind': ['osgd', 'reshuffle'] };
  it('forEach, where, limit; panels by a key with values and include; figure groups keep their order', () => {
    const study = expand({
      ...s,
      figures: [
        { name: 'all', title: 'All', metric: 'loss', x: 'epoch' },
        { name: 'd-{model.parametrisation}', title: 'T {model.parametrisation}', metric: 'loss', x: 'step', forEach: 'model.parametrisation', where: batched, panels: { by: ['data.n', 'data.d'], title: 'N={data.n} ({@opt})', include: ['ref'] } },
        { forEach: 'model.parametrisation', figures: [{ name: 'a-{model.parametrisation}', title: 'a', metric: 'loss', x: 'step' }, { name: 'b-{model.parametrisation}', title: 'b', metric: 'loss', x: 'step' }] },
        { name: 'osgd', title: 'o', metric: 'loss', x: 'step', where: { 'sampler.kind': 'osgd', '@opt': 'ETF' } },
        { name: 'p', title: 'p', metric: 'loss', x: 'step', panels: { by: 'data.n', values: [8], title: 'N={data.n}' } },
      ],
      gramFigures: [{ name: 'g-{data.n}', title: 'N={data.n}', where: { 'model.parametrisation': 'projected', ...batched }, forEach: 'data.n', limit: 1 }],
    });
    const f = study.figures as Rec[];
    expect(f.map((x) => x.name)).toEqual(['all', 'd-projected', 'd-reparam', 'a-projected', 'b-projected', 'a-reparam', 'b-reparam', 'osgd', 'p']);
    expect(f[0]).toEqual({ name: 'all', title: 'All', metric: 'loss', x: 'epoch' });
    expect(f[1]).toEqual({
      name: 'd-projected', title: 'T projected', metric: 'loss', x: 'step',
      panels: [{ title: 'N=4 (cross)', arms: ['ref', 'N=4 projected osgd', 'N=4 projected reshuffle'] }, { title: 'N=8 (ETF)', arms: ['ref', 'N=8 projected osgd', 'N=8 projected reshuffle'] }],
    });
    expect(f[3]).toEqual({ name: 'a-projected', title: 'a', metric: 'loss', x: 'step' });
    expect(f[7]!.arms).toEqual(['N=8 projected osgd', 'N=8 reparam osgd']);
    expect(f[8]!.panels).toEqual([{ title: 'N=8', arms: ['N=8 projected osgd', 'N=8 projected reshuffle', 'N=8 reparam osgd', 'N=8 reparam reshuffle'] }]);
    expect(study.gramFigures).toEqual([{ name: 'g-4', title: 'N=4', arms: ['N=4 projected osgd', 'N=4 projected reshuffle'] }]);
  });

  it('sweeps: one series per label of `by`, x from a key; a named single series; written-out series pass through', () => {
    const study = expand({
      ...s,
      sweeps: [
        { name: 'w', title: 'w', metric: 'loss', xTitle: 'N', series: { by: 'sampler.kind', x: 'data.n', where: { 'model.parametrisation': 'projected', ...batched } } },
        { name: 'v', title: 'v', metric: 'loss', xTitle: 'N', series: { name: 'all {model.parametrisation}', x: 'data.n', where: { 'model.parametrisation': 'reparam', 'sampler.kind': 'osgd' } } },
        { name: 'u', title: 'u', metric: 'loss', xTitle: 'N', series: { mine: [{ arm: 'ref', x: 1 }] } },
      ],
    });
    // x is the arm's value, not its label
    const labelled = expand({
      name: 's', defaults: base, grid: { 'sampler.B': [{ label: 'small', value: 2 }, { label: 'large', value: 4 }] },
      sweeps: [{ name: 'w', title: 'w', metric: 'loss', xTitle: 'B', series: { name: 'all', x: 'sampler.B' } }],
    });
    expect(labelled.sweeps[0].series).toEqual({ all: [{ arm: 'small', x: 2 }, { arm: 'large', x: 4 }] });
    expect(study.sweeps[0].series).toEqual({
      osgd: [{ arm: 'N=4 projected osgd', x: 4 }, { arm: 'N=8 projected osgd', x: 8 }],
      reshuffle: [{ arm: 'N=4 projected reshuffle', x: 4 }, { arm: 'N=8 projected reshuffle', x: 8 }],
    });
    expect(study.sweeps[1].series).toEqual({ 'all reparam': [{ arm: 'N=4 reparam osgd', x: 4 }, { arm: 'N=8 reparam osgd', x: 8 }] });
    expect(study.sweeps[2].series).toEqual({ mine: [{ arm: 'ref', x: 1 }] });
  });
});

describe('pass-through and errors', () => {
  it('an expanded study and a single experiment pass through; "$schema" is dropped', () => {
    const study = expand(findPreset('rectangle')!.spec('smoke'));
    expect(isCompactStudy(study)).toBe(false);
    expect(expandStudy(study)).toBe(study);
    const one = { name: 'one', ...base };
    expect(expandStudy(one)).toBe(one);
    expect(expandStudy({ $schema: './x.json', ...one })).toEqual(one);
    const compact = { $schema: './x.json', ...findPreset('rectangle')!.spec('smoke') };
    expect(expand(compact)).toEqual(study);
  });

  it('a study with listed arms and selecting figures or sweeps is compact too', () => {
    const arms = [{ name: 'a', ...base }, { name: 'b', ...base, sampler: { kind: 'osgd', B: 2 } }];
    const s = { name: 's', experiments: arms, figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', where: { 'sampler.kind': 'osgd' } }] };
    expect(isCompactStudy(s)).toBe(true);
    expect(expand(s)).toEqual({ name: 's', experiments: arms, figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', arms: ['b'] }] });
    const w = { name: 's', experiments: arms, sweeps: [{ name: 'w', title: 't', metric: 'loss', xTitle: 'B', series: { by: 'sampler.kind', x: 'sampler.B' } }] };
    expect(isCompactStudy(w)).toBe(true);
    expect(expand(w).sweeps[0].series).toEqual({ reshuffle: [{ arm: 'a', x: 2 }], osgd: [{ arm: 'b', x: 2 }] });
    expect(() => checkSchema(s)).not.toThrow();
    expect(() => checkSchema(w)).not.toThrow();
  });

  it('one-line ConfigErrors naming the path, the value and the nearest key', () => {
    expect(fails({ name: 's', defaults: base, grid: { 'sampler.kinf': ['osgd'] } }))
      .toMatch(/study\.grid\["sampler\.kinf"\] names no key of an experiment: "sampler\.kinf"; did you mean 'sampler\.kind'\?/);
    expect(fails({ name: 's', defaults: base, grdi: {}, grid: { 'data.n': [4] } })).toMatch(/study\.grdi is not a valid key; did you mean 'grid'\?/);
    expect(fails({ name: 's', defaults: base, zip: { 'data.n': [4, 8], 'data.d': [2] } })).toMatch(/study\.zip\["data\.d"\] has 1 values but data\.n has 2/);
    expect(fails({ name: 's', defaults: base, grid: { 'data.n': [4, 4] } })).toMatch(/is named '4', like .*; arm names must be distinct/);
    expect(fails({ name: 's', defaults: { ...base, estimator: { kind: 'minibatch-infonce', tau: '$objective.tua' } }, grid: { 'data.n': [4] } }))
      .toMatch(/estimator\.tau refers to no key of an experiment: "\$objective\.tua"; did you mean '\$objective\.tau'\?/);
    expect(fails({ name: 's', defaults: base, grid: { 'data.n': [4] }, names: 'N={data.nn}' })).toMatch(/study\.names \(the placeholder \{data\.nn\}\) names no key .*did you mean 'data\.n'/);
    expect(fails({ name: 's', defaults: base, grid: { 'data.n': [4] }, figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', where: { 'data.n': 5 } }] }))
      .toMatch(/study\.figures\[0\]\.where selects no arm: \{"data\.n":5\}/);
    expect(fails({ name: 's', defaults: base, grid: { 'data.n': [4], sampler: [{ kind: 'osgd', B: 2 }] }, zip: { 'data.n': [8] } })).toMatch(/repeats the key 'data\.n'/);
    expect(fails({ name: 's', defaults: { ...base, seeds: { count: 0 } }, grid: { 'data.n': [4] } })).toMatch(/seeds\.count must be an integer >= 1, got 0/);
    expect(fails({ name: 's', defaults: base, grid: { 'data.n': [] } })).toMatch(/study\.grid\["data\.n"\] must be a non-empty array of values, got \[\]/);
  });
});
