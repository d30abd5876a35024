/**
 * The JSON Schema of study specs (schema/study.schema.json) and checkSchema (src/experiments/schema.ts).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { findPreset, PRESETS } from '../../src/experiments/presets/index.ts';
import { checkSchema } from '../../src/experiments/schema.ts';
import { expandStudy } from '../../src/experiments/studyLanguage.ts';
import { studySchema } from '../../src/experiments/studySchema.ts';

type Rec = Record<string, any>;
const root = new URL('../../', import.meta.url);
const fileSchema = JSON.parse(readFileSync(new URL('schema/study.schema.json', root), 'utf8'));
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
const study = expandStudy(findPreset('sogclr-small-batch')!.spec('smoke')) as Rec;
const cho = expandStudy(findPreset('cho-grid')!.spec('smoke')) as Rec;
const compact = findPreset('cho-grid')!.spec('smoke') as unknown as Rec;

/** checkSchema's one-line message for `v` (the test fails if `v` passes). */
function refusal(v: unknown, what?: string): string {
  try {
    checkSchema(v, what);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(v).slice(0, 80)} to be refused`);
}
/** The cho-grid smoke study with its first arm changed by `f`. */
function withArm(f: (e: Rec) => void, s: Rec = cho): Rec {
  const c = clone(s);
  f(c.experiments[0]);
  return c;
}

describe('the schema file', () => {
  it('is the schema built by studySchema.ts (regenerate with npm run schema)', () => {
    expect(fileSchema).toEqual(clone(studySchema()));
  });

  it('is a valid draft-07 schema that ajv compiles (its default strict mode)', () => {
    const Ajv = createRequire(import.meta.url)('ajv').default;
    const ajv = new Ajv({ strictTypes: false, allowUnionTypes: true });
    expect(ajv.validateSchema(fileSchema)).toBe(true);
    const validate = ajv.compile(fileSchema);
    // the top-level if/then/else picks the form, as an editor does
    expect(validate(cho)).toBe(true);
    expect(validate(compact)).toBe(true);
    expect(validate(cho.experiments[0])).toBe(true);
    expect(validate(withArm((e) => { e.sampler.kinf = 1; }))).toBe(false);
    expect(validate({ ...compact, grid: { 'sampler.kinf': [1] } })).toBe(false);
    expect(validate({ ...cho.experiments[0], smapler: 1 })).toBe(false);
    // a study of listed arms with a selecting figure is read as compact
    expect(validate({ name: 's', experiments: cho.experiments, figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', where: { 'data.n': 4 } }] })).toBe(true);
    expect(validate({ name: 's', experiments: cho.experiments, figures: [{ name: 'f', title: 't', metric: 'loss', x: 'step', wher: { 'data.n': 4 } }] })).toBe(false);
  });

  it('is shipped in the package and exported', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
    expect(pkg.files).toContain('schema');
    expect(pkg.exports['./schema/study.schema.json']).toBe('./schema/study.schema.json');
    expect(pkg.dependencies.ajv).toMatch(/^\^8\./);
  });

  it('describes every field (editors show the descriptions)', () => {
    const missing: string[] = [];
    const walk = (s: unknown, path: string): void => {
      if (s === null || typeof s !== 'object') return;
      const o = s as Rec;
      if (o.properties) {
        for (const [k, v] of Object.entries(o.properties as Rec)) {
          const hasDesc = (x: Rec): boolean => typeof x.description === 'string' || typeof x.$ref === 'string' || (Object.keys(x).length === 0);
          if (!hasDesc(v as Rec)) missing.push(`${path}.${k}`);
        }
      }
      for (const [k, v] of Object.entries(o)) if (!['enum', 'const', 'if'].includes(k)) walk(v, `${path}/${k}`);
    };
    walk(fileSchema.definitions, '#');
    expect(missing).toEqual([]);
  });
});

describe('checkSchema', () => {
  it('accepts every preset, compact and expanded, at both sizes, and each arm as a single experiment', () => {
    for (const p of PRESETS) {
      for (const size of ['full', 'smoke'] as const) {
        const c = p.spec(size);
        expect(() => checkSchema(c), `${p.name} ${size} compact`).not.toThrow();
        const s = expandStudy(c) as Rec;
        expect(() => checkSchema(s), `${p.name} ${size} expanded`).not.toThrow();
        for (const e of s.experiments) expect(() => checkSchema(e)).not.toThrow();
      }
    }
  });

  it('allows "$schema" at the top level only', () => {
    const $schema = './node_modules/contrastlab/schema/study.schema.json';
    expect(() => checkSchema({ $schema, ...cho })).not.toThrow();
    expect(() => checkSchema({ $schema, ...compact })).not.toThrow();
    expect(() => checkSchema({ $schema, ...cho.experiments[0] })).not.toThrow();
    expect(refusal(withArm((e) => { e.$schema = $schema; }))).toMatch(/study\.experiments\[0\]\.\$schema is not a valid key/);
  });

  it('refuses an unknown key, naming its path and the nearest valid key', () => {
    expect(refusal(withArm((e) => { e.sampler = { kinf: 'osgd', B: 2 }; })))
      .toBe("study spec: study.experiments[0].sampler.kinf is not a valid key; did you mean 'kind'?");
    expect(refusal({ ...cho, experimnts: [] })).toBe("study spec: study.experimnts is not a valid key; did you mean 'experiments'?");
    expect(refusal({ ...cho.experiments[0], smapler: 1 })).toBe("study spec: experiment.smapler is not a valid key; did you mean 'sampler'?");
    expect(refusal(withArm((e) => { e.optimizer.lrr = 1; }))).toMatch(/study\.experiments\[0\]\.optimizer\.lrr is not a valid key for kind 'sgd'; did you mean 'lr'\?/);
    expect(refusal(withArm((e) => { e.estimator = { kind: 'sogclr', modality: 'unimodal', tau: 0.1, gamma: 0.9, pitfalls: { sumStorge: true } }; }, study)))
      .toMatch(/study\.experiments\[0\]\.estimator\.pitfalls\.sumStorge is not a valid key; did you mean 'sumStorage'\?/);
    expect(refusal(withArm((e) => { e.sampler = { kind: 'full', B: 2 }; }))).toMatch(/sampler\.B is not a valid key for kind 'full'/);
    expect(refusal({ ...compact, grid: { ...compact.grid, 'sampler.kinf': ['osgd'] } }))
      .toBe("study spec: study.grid[\"sampler.kinf\"] names no key of an experiment; did you mean 'sampler.kind'?");
    expect(refusal({ ...compact, defaults: { ...compact.defaults, data: { kind: 'random-sphere', nn: 4 } } }))
      .toMatch(/study\.defaults\.data\.nn is not a valid key for kind 'random-sphere'; did you mean 'n'\?/);
    expect(refusal({ ...compact, figures: [{ ...compact.figures[0].figures[0], panels: { by: 'data.n', titel: 'N={data.n}' } }] }))
      .toMatch(/study\.figures\[0\]\.panels\.titel is not a valid key; did you mean 'title'\?/);
    expect(refusal({ ...compact, figures: [{ ...compact.figures[0].figures[0], forEach: 'sampler.kindd' }] }))
      .toMatch(/study\.figures\[0\]\.forEach names no key of an experiment: "sampler\.kindd"; did you mean 'sampler\.kind'\?/);
  });

  it('refuses wrong types, kinds and ranges with the path and the value', () => {
    expect(refusal(withArm((e) => { e.objective.tau = '1'; }))).toBe('study spec: study.experiments[0].objective.tau must be number, got "1"');
    expect(refusal(withArm((e) => { e.objective.tau = 0; }))).toBe('study spec: study.experiments[0].objective.tau must be > 0, got 0');
    expect(refusal(withArm((e) => { e.sampler.B = 1; }))).toMatch(/sampler\.B must be >= 2, got 1/);
    expect(refusal(withArm((e) => { e.sampler.B = 2.5; }))).toMatch(/sampler\.B must be integer, got 2\.5/);
    expect(refusal(withArm((e) => { e.sampler.kind = 'osgdd'; }))).toMatch(/sampler\.kind must be one of .*got "osgdd"; did you mean 'osgd'\?/);
    expect(refusal(withArm((e) => { e.budget = { epochs: 1, steps: 1 }; }))).toMatch(/budget must have exactly one of epochs or steps/);
    expect(refusal(withArm((e) => { e.seeds = [0, 0]; }))).toMatch(/seeds must NOT have duplicate items/);
    expect(refusal(withArm((e) => { e.metrics = ['los']; }))).toMatch(/metrics\[0\] must be one of .*got "los"; did you mean 'loss'\?/);
    expect(refusal(withArm((e) => { delete e.estimator; }))).toBe('study spec: study.experiments[0].estimator is required');
    expect(refusal(withArm((e) => { e.estimator = { kind: 'sogclr', modality: 'unimodal', tau: 0.1, gamma: 1.5 }; }, study))).toMatch(/estimator\.gamma must be <= 1, got 1\.5/);
    expect(refusal(withArm((e) => { e.data.augment.mask = 1; }, study))).toMatch(/data\.augment\.mask must be < 1, got 1/);
    expect(refusal(withArm((e) => { e.optimizer = { kind: 'momentum', lr: 0.5, momentum: 1 }; }))).toMatch(/optimizer\.momentum must be < 1, got 1/);
    expect(refusal({ ...cho, figures: [{ ...cho.figures[0], name: 'a/b' }] })).toMatch(/study\.figures\[0\]\.name must match pattern/);
    expect(refusal({ ...compact, defaults: { ...compact.defaults, objective: { tau: -1 } } })).toBe('study spec: study.defaults.objective.tau must be > 0, got -1');
    expect(refusal({ ...compact, defaults: { ...compact.defaults, seeds: { count: 0 } } })).toMatch(/study\.defaults\.seeds\.count must be >= 1, got 0/);
    expect(refusal({ ...compact, zip: 3 })).toMatch(/study\.zip must be object, got 3/);
    expect(refusal('x')).toBe('study spec: spec must be an object, got "x"');
  });

  it('compact defaults may be partial and use references; an expanded arm may not', () => {
    expect(() => checkSchema({ name: 's', defaults: { sampler: { B: 2 }, estimator: { kind: 'minibatch-infonce', tau: '$objective.tau' } }, grid: { 'sampler.kind': ['osgd'] } })).not.toThrow();
    expect(refusal(withArm((e) => { e.estimator.tau = '$objective.tau'; }))).toMatch(/estimator\.tau must be number, got "\$objective\.tau"/);
    expect(refusal(withArm((e) => { delete e.sampler.kind; }))).toMatch(/sampler\.kind is required/);
  });

  it('loads ajv only when a spec is checked', () => {
    const script = [
      "import { createRequire } from 'node:module';",
      'const req = createRequire(import.meta.url);',
      "const has = () => Object.keys(req.cache).some((k) => k.includes('/node_modules/ajv/'));",
      "const m = await import('./src/experiments/schema.ts');",
      'const before = has();',
      "try { m.checkSchema({ name: 1 }); } catch {}",
      'console.log(JSON.stringify({ before, after: has() }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', './node_modules/tsx/dist/esm/index.mjs', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ before: false, after: true });
  });
});
