/**
 * The compact study language: a study written as defaults, a grid and zipped keys, expanded into
 * the StudySpec of types.ts (every arm listed, figures and sweeps naming arms).
 *
 *   {
 *     "name": "cho-grid", "description": "...",
 *     "defaults": { "data": { "kind": "random-sphere" }, "model": { "kind": "free" }, ..., "seeds": { "count": 10 } },
 *     "zip":  { "data.n": [4, 4, 8], "data.d": [2, 8, 4], "@optimum": ["cross-polytope", "ETF", "cross-polytope"] },
 *     "grid": { "model.parametrisation": ["projected", "reparam"], "sampler": [{ "kind": "fixed", "B": 2 }, ...] },
 *     "labels": { "sampler": { "reshuffle": "reshuffled", "osgd": "OSGD" } },
 *     "names": "N={data.n},d={data.d} {model.parametrisation} {sampler}",
 *     "figures": [{ "name": "distance-{model.parametrisation}", "forEach": "model.parametrisation", ...,
 *                   "panels": { "by": ["data.n", "data.d"], "title": "N={data.n}, d={data.d} ({@optimum})" } }]
 *   }
 *
 * Arms. Each arm is `defaults`, then one value of every axis set into it, then its references
 * resolved. The axes are the zip groups (each group one axis: its keys take their i-th values
 * together; `zip` may be one group or a list), then the grid keys, in the order written; the first
 * axis varies slowest. A key is a dotted path into the experiment ("sampler.B") or a tag ("@optimum":
 * not written into the arm, only used by names, titles and `where`). Setting a key replaces the
 * value there (an object value replaces the whole object). A value may be labelled,
 * `{"label": "OSGD", "value": {...}, "with": {"sampler.k": 4}}`: the label is used in names,
 * `with` sets other keys too, and without `value` the key itself is left unset. Explicit
 * `experiments` (each with a name) are deep-merged onto the defaults and listed before the grid's
 * arms; deep merging replaces an object whose `kind` differs instead of merging into it.
 * A string "$dotted.key" is a reference to that key's value in the same arm (e.g. an estimator's
 * "tau": "$objective.tau"). Seeds may be written {"count": k} for 0..k−1.
 *
 * Labels. The label of an arm for a key is the label of the axis value that set it; otherwise the
 * arm's value there: a string or number as written, an object by its `kind`, mapped through
 * `labels[key]` ({"value's label": "shown label"}). Templates (`names`, figure names and titles,
 * panel titles, series names) replace "{key}" by that label. Without `names` an arm is named by the
 * labels of its axis values joined by spaces.
 *
 * Selections (figures, gramFigures, sweeps). `where: {key: v | [v, ...]}` keeps the arms whose value
 * at key equals v (or whose label is v); `forEach: key | [keys]` makes one figure per distinct
 * label (in arm order; `limit` keeps the first few); figure `panels: {by, title, values?, include?,
 * where?}` one panel per label of `by` (arms lacking the key are left out; `include` arms are put
 * first in every panel); sweep `series: {by?, name?, x, where?}` one series per label of `by`, with
 * x the arm's number at key `x`. A figure, Gram figure or sweep written out in full passes through.
 *
 * Errors are one-line ConfigErrors naming the path and the value, and for an unknown key the nearest
 * valid one.
 */
import { ConfigError } from '../core/errors.ts';
import { keyPath, nearest } from '../estimators/spec.ts';
import { COMPACT_KEYS, DEFINITIONS, experimentPaths, REF_PATTERN, TAG_PATTERN, type Json } from './studySchema.ts';

const OP = 'study spec';

type Obj = { [k: string]: Json };
type Value = Json;

/** A compact study (plain JSON); see the module comment and schema/study.schema.json (compact-study). */
export interface CompactStudy {
  readonly $schema?: string;
  readonly name: string;
  readonly description?: string;
  readonly notes?: string;
  readonly defaults?: Obj;
  readonly grid?: Readonly<Record<string, readonly Value[]>>;
  readonly zip?: Readonly<Record<string, readonly Value[]>> | readonly Readonly<Record<string, readonly Value[]>>[];
  readonly labels?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly names?: string;
  readonly experiments?: readonly Obj[];
  readonly gapReference?: string;
  readonly figures?: readonly Obj[];
  readonly sweeps?: readonly Obj[];
  readonly thresholds?: readonly { readonly metric: string; readonly below: number }[];
  readonly gramFigures?: readonly Obj[];
}

const PATHS = experimentPaths();
const TAG = new RegExp(TAG_PATTERN);
const REF = new RegExp(REF_PATTERN);
const STUDY_KEYS = Object.keys((DEFINITIONS['compact-study']!.properties as Obj));

/** A value for a one-line message: JSON, at most 80 characters. */
export function show(v: unknown): string {
  let t: string;
  try {
    t = JSON.stringify(v) ?? String(v);
  } catch {
    t = String(v);
  }
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
}
function fail(path: string, msg: string): never {
  throw new ConfigError(OP, `${path} ${msg}`);
}
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
function needObj(v: unknown, path: string): Obj {
  if (!isObj(v)) fail(path, `must be an object, got ${show(v)}`);
  return v;
}
function needArr(v: unknown, path: string, what: string): Value[] {
  if (!Array.isArray(v) || v.length === 0) fail(path, `must be a non-empty array of ${what}, got ${show(v)}`);
  return v;
}
function needStr(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `must be a string, got ${show(v)}`);
  return v;
}
function checkKeysOf(o: Obj, path: string, known: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = nearest(k, known);
    fail(keyPath(path, k), `is not a valid key; ${near !== null ? `did you mean '${near}'?` : `expected one of ${known.join(', ')}`}`);
  }
}
/** A grid / zip / where / template key: a dotted experiment path or a tag. */
function checkKey(k: string, path: string): string {
  if (PATHS.includes(k) || TAG.test(k)) return k;
  const near = nearest(k, PATHS);
  return fail(path, `names no key of an experiment: ${show(k)}; ${near !== null ? `did you mean '${near}'?` : 'expected a dotted key such as \'sampler.B\' or a tag \'@name\''}`);
}

const clone = <T extends Value>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)) as T);

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** `over` merged into `base`: objects key by key, except that an object of another `kind` replaces; anything else replaces. */
export function deepMerge(base: Value | undefined, over: Value): Value {
  if (isObj(base) && isObj(over) && (over.kind === undefined || base.kind === undefined || over.kind === base.kind)) {
    const out: Obj = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
    return out;
  }
  return clone(over);
}

function getPath(o: Value, key: string): Value | undefined {
  let cur: Value | undefined = o;
  for (const part of key.split('.')) {
    if (!isObj(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}
function setPath(o: Obj, key: string, v: Value): void {
  const parts = key.split('.');
  let cur = o;
  for (const part of parts.slice(0, -1)) {
    if (!isObj(cur[part])) cur[part] = {};
    cur = cur[part] as Obj;
  }
  cur[parts[parts.length - 1]!] = clone(v);
}

// ---- values, labels, axes ----

interface AxisValue {
  /** Absent: the key is left unset (a labelled value without `value`). */
  readonly value?: Value;
  readonly hasValue: boolean;
  readonly label?: string;
  readonly with: readonly [string, Value][];
}

function isLabelled(v: Value): v is Obj {
  return isObj(v) && 'label' in v && Object.keys(v).every((k) => k === 'label' || k === 'value' || k === 'with');
}

function parseValue(v: Value, path: string): AxisValue {
  if (!isLabelled(v)) return { value: v, hasValue: true, with: [] };
  const label = needStr(v.label, `${path}.label`);
  const w = v.with === undefined ? {} : needObj(v.with, `${path}.with`);
  const withs = Object.entries(w).map(([k, x]) => [checkKey(k, keyPath(`${path}.with`, k)), x] as [string, Value]);
  return { value: v.value, hasValue: 'value' in v, label, with: withs };
}

/** A value's own label: a string or number as written, an object by its kind. */
function defaultLabel(v: Value): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (isObj(v) && typeof v.kind === 'string') return v.kind;
  return JSON.stringify(v);
}

interface Axis {
  readonly keys: readonly string[];
  readonly paths: readonly string[];
  /** entries[i][j]: the i-th value of keys[j]. */
  readonly entries: readonly (readonly AxisValue[])[];
}

function parseAxes(s: Obj): Axis[] {
  const axes: Axis[] = [];
  if (s.zip !== undefined) {
    const groups = Array.isArray(s.zip) ? s.zip.map((g, i) => [g, `study.zip[${i}]`] as const) : [[s.zip, 'study.zip'] as const];
    if (Array.isArray(s.zip) && s.zip.length === 0) fail('study.zip', 'must be a zip group or a non-empty list of them, got []');
    for (const [g, gp] of groups) {
      const o = needObj(g, gp);
      const keys = Object.keys(o);
      if (keys.length === 0) fail(gp, 'must zip at least one key, got {}');
      const lists = keys.map((k) => needArr(o[k], keyPath(gp, checkKey(k, keyPath(gp, k))), 'values'));
      lists.forEach((l, j) => {
        if (l.length !== lists[0]!.length) {
          fail(keyPath(gp, keys[j]!), `has ${l.length} values but ${keys[0]} has ${lists[0]!.length}; zipped keys take their values together, so the lists must have equal lengths`);
        }
      });
      axes.push({
        keys, paths: keys.map((k) => keyPath(gp, k)),
        entries: lists[0]!.map((_, i) => keys.map((k, j) => parseValue(lists[j]![i]!, `${keyPath(gp, k)}[${i}]`))),
      });
    }
  }
  if (s.grid !== undefined) {
    const o = needObj(s.grid, 'study.grid');
    for (const k of Object.keys(o)) {
      const p = keyPath('study.grid', checkKey(k, keyPath('study.grid', k)));
      const l = needArr(o[k], p, 'values');
      axes.push({ keys: [k], paths: [p], entries: l.map((x, i) => [parseValue(x, `${p}[${i}]`)]) });
    }
  }
  const seen = new Map<string, string>();
  for (const a of axes) {
    a.keys.forEach((k, j) => {
      if (seen.has(k)) fail(a.paths[j]!, `repeats the key '${k}' (also ${seen.get(k)}); a key can vary along one axis only`);
      seen.set(k, a.paths[j]!);
    });
  }
  return axes;
}

// ---- arms ----

interface Arm {
  readonly name: string;
  readonly spec: Obj;
  /** The label of each axis key that made this arm (grid arms only). */
  readonly axisLabels: ReadonlyMap<string, string>;
  readonly path: string;
}

type LabelMaps = Readonly<Record<string, Readonly<Record<string, string>>>>;

function labelOf(arm: Arm, key: string, maps: LabelMaps): string | undefined {
  const a = arm.axisLabels.get(key);
  if (a !== undefined) return a;
  if (TAG.test(key)) return undefined;
  const v = getPath(arm.spec, key);
  if (v === undefined) return undefined;
  const d = defaultLabel(v);
  return maps[key]?.[d] ?? d;
}

function render(template: string, path: string, arm: Arm | undefined, maps: LabelMaps): string {
  return template.replace(/\{([^{}]*)\}/g, (_, key: string) => {
    checkKey(key, `${path} (the placeholder {${key}})`);
    const l = arm === undefined ? undefined : labelOf(arm, key, maps);
    if (l === undefined) fail(path, `uses {${key}} but ${arm === undefined ? 'no arm is in context here (templates need forEach, panels by or series by)' : `the arm '${arm.name}' has no value for '${key}'`}: ${show(template)}`);
    return l;
  });
}

/** Replaces every "$dotted.key" string in the arm by that key's value (references may chain, not loop). */
function resolveRefs(spec: Obj, path: string): Obj {
  const resolve = (v: Value, at: string, depth: number): Value => {
    if (typeof v === 'string' && REF.test(v)) {
      const key = v.slice(1);
      if (!PATHS.includes(key)) {
        const near = nearest(key, PATHS);
        fail(at, `refers to no key of an experiment: ${show(v)}${near !== null ? `; did you mean '$${near}'?` : ''}`);
      }
      if (depth > 16) fail(at, `is a loop of references: ${show(v)}`);
      const target = getPath(spec, key);
      if (target === undefined) fail(at, `refers to ${key}, which this arm does not set: ${show(v)}`);
      return resolve(target, at, depth + 1);
    }
    if (Array.isArray(v)) return v.map((x, i) => resolve(x, `${at}[${i}]`, depth));
    if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x, keyPath(at, k), depth)]));
    return v;
  };
  return resolve(spec, path, 0) as Obj;
}

function finishSeeds(spec: Obj, path: string): void {
  const s = spec.seeds;
  if (isObj(s)) {
    const o = needObj(s, `${path}.seeds`);
    checkKeysOf(o, `${path}.seeds`, ['count']);
    const k = o.count;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) fail(`${path}.seeds.count`, `must be an integer >= 1, got ${show(k)}`);
    spec.seeds = Array.from({ length: k }, (_, i) => i);
  }
}

/** A finished arm: `name` first, then the keys in the experiment's order, then anything else (left to validation). */
function ordered(spec: Obj): Obj {
  const order = Object.keys(DEFINITIONS.experiment!.properties as Obj);
  const out: Obj = {};
  for (const k of order) if (spec[k] !== undefined) out[k] = spec[k]!;
  for (const k of Object.keys(spec)) if (!(k in out)) out[k] = spec[k]!;
  return out;
}

function buildArms(s: Obj, maps: LabelMaps): Arm[] {
  const defaults = s.defaults === undefined ? {} : needObj(s.defaults, 'study.defaults');
  if ('name' in defaults) fail('study.defaults.name', 'is not allowed: arm names come from `names` (a template) or the labels of the grid values');
  const arms: Arm[] = [];
  if (s.experiments !== undefined) {
    needArr(s.experiments, 'study.experiments', 'experiments').forEach((e, i) => {
      const path = `study.experiments[${i}]`;
      const o = needObj(e, path);
      const name = needStr(o.name, `${path}.name`);
      const spec = resolveRefs(deepMerge(defaults, o) as Obj, path);
      finishSeeds(spec, path);
      arms.push({ name, spec: ordered(spec), axisLabels: new Map(), path });
    });
  }
  const axes = parseAxes(s);
  if (axes.length > 0) {
    const names = s.names === undefined ? undefined : needStr(s.names, 'study.names');
    const idx = axes.map(() => 0);
    for (let count = 0; ; count++) {
      const spec = clone(defaults) as Obj;
      const axisLabels = new Map<string, string>();
      const withs: [string, Value][] = [];
      axes.forEach((a, i) => a.keys.forEach((k, j) => {
        const v = a.entries[idx[i]!]![j]!;
        if (v.hasValue && !TAG.test(k)) setPath(spec, k, v.value!);
        const label = v.label ?? (v.hasValue ? (maps[k]?.[defaultLabel(v.value!)] ?? defaultLabel(v.value!)) : undefined);
        if (label !== undefined) axisLabels.set(k, label);
        withs.push(...v.with);
      }));
      for (const [k, v] of withs) if (!TAG.test(k)) setPath(spec, k, v);
      const path = `study (grid arm ${count}: ${axes.flatMap((a) => a.keys.map((k) => `${k}=${axisLabels.get(k) ?? '(unset)'}`)).join(', ')})`;
      const resolved = resolveRefs(spec, path);
      finishSeeds(resolved, path);
      const pre: Arm = { name: `#${count}`, spec: resolved, axisLabels, path };
      const name = names !== undefined ? render(names, 'study.names', pre, maps) : [...axisLabels.values()].join(' ');
      arms.push({ name, spec: ordered({ name, ...resolved }), axisLabels, path });
      // next index: the last axis varies fastest
      let i = axes.length - 1;
      while (i >= 0 && ++idx[i]! === axes[i]!.entries.length) idx[i--] = 0;
      if (i < 0) break;
    }
  }
  if (arms.length === 0) fail('study', 'has no arms: give a grid, a zip or experiments');
  const seen = new Map<string, string>();
  for (const a of arms) {
    if (seen.has(a.name)) fail(a.path, `is named '${a.name}', like ${seen.get(a.name)}; arm names must be distinct (give \`names\` a template that tells them apart)`);
    seen.set(a.name, a.path);
  }
  return arms;
}

// ---- selections ----

function keysOf(v: Value, path: string): string[] {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0) fail(path, 'must name at least one key, got []');
  return list.map((k, i) => checkKey(needStr(k, Array.isArray(v) ? `${path}[${i}]` : path), Array.isArray(v) ? `${path}[${i}]` : path));
}

function matches(arm: Arm, key: string, want: Value, maps: LabelMaps): boolean {
  const alts = Array.isArray(want) ? want : [want];
  const v = TAG.test(key) ? undefined : getPath(arm.spec, key);
  const l = labelOf(arm, key, maps);
  return alts.some((w) => (v !== undefined && deepEqual(v, w)) || (l !== undefined && (w === l || (typeof w !== 'object' && String(w) === l))));
}

function select(arms: readonly Arm[], where: Value | undefined, path: string, maps: LabelMaps): Arm[] {
  if (where === undefined) return [...arms];
  const w = needObj(where, path);
  const keys = Object.keys(w).map((k) => checkKey(k, keyPath(path, k)));
  const out = arms.filter((a) => keys.every((k) => matches(a, k, w[k]!, maps)));
  if (out.length === 0) fail(path, `selects no arm: ${show(where)}`);
  return out;
}

/** Groups by the labels of `keys`, in arm order; arms lacking a key are left out. */
function groupBy(arms: readonly Arm[], keys: readonly string[], maps: LabelMaps): { labels: string[]; arms: Arm[] }[] {
  const groups = new Map<string, { labels: string[]; arms: Arm[] }>();
  for (const a of arms) {
    const labels = keys.map((k) => labelOf(a, k, maps));
    if (labels.some((l) => l === undefined)) continue;
    const id = JSON.stringify(labels);
    if (!groups.has(id)) groups.set(id, { labels: labels as string[], arms: [] });
    groups.get(id)!.arms.push(a);
  }
  return [...groups.values()];
}

const GENERATORS = ['where', 'forEach', 'limit'];

function forEachGroups(o: Obj, path: string, arms: readonly Arm[], maps: LabelMaps): { arms: Arm[]; context?: Arm; generated: boolean }[] {
  const selected = select(arms, o.where, `${path}.where`, maps);
  let groups: { arms: Arm[]; context?: Arm; generated: boolean }[];
  if (o.forEach !== undefined) {
    groups = groupBy(selected, keysOf(o.forEach, `${path}.forEach`), maps).map((g) => ({ arms: g.arms, context: g.arms[0], generated: true }));
    if (groups.length === 0) fail(`${path}.forEach`, `finds no arm with a value for ${show(o.forEach)}`);
  } else {
    groups = [{ arms: selected, generated: o.where !== undefined }];
  }
  if (o.limit !== undefined) {
    if (typeof o.limit !== 'number' || !Number.isInteger(o.limit) || o.limit < 1) fail(`${path}.limit`, `must be an integer >= 1, got ${show(o.limit)}`);
    groups = groups.slice(0, o.limit);
  }
  return groups;
}

function expandFigure(f: Value, path: string, arms: readonly Arm[], maps: LabelMaps, outer?: Arm): Obj[] {
  const o = needObj(f, path);
  if (o.figures !== undefined) {
    // a group: several figures per value of forEach, in the order listed
    checkKeysOf(o, path, ['forEach', 'where', 'limit', 'figures']);
    if (o.forEach === undefined) fail(`${path}.forEach`, 'is required in a group of figures (one group per value)');
    const inner = needArr(o.figures, `${path}.figures`, 'figures');
    return forEachGroups(o, path, arms, maps).flatMap((g) => inner.flatMap((x, i) => expandFigure(x, `${path}.figures[${i}]`, g.arms, maps, g.context)));
  }
  checkKeysOf(o, path, Object.keys(DEFINITIONS['figure-compact']!.properties as Obj).filter((k) => k !== 'figures'));
  const panelsBy = isObj(o.panels);
  if (!panelsBy && !GENERATORS.some((k) => o[k] !== undefined) && outer === undefined) return [o];
  const groups = o.forEach === undefined && o.where === undefined && o.limit === undefined
    ? [{ arms: [...arms], context: outer, generated: false }]
    : forEachGroups(o, path, arms, maps).map((g) => ({ ...g, context: g.context ?? outer }));
  return groups.map(({ arms: group, context, generated }) => {
    const out: Obj = {};
    for (const k of Object.keys(o)) {
      if (GENERATORS.includes(k) || k === 'panels' || k === 'arms') continue;
      out[k] = (k === 'name' || k === 'title') && context ? render(needStr(o[k], `${path}.${k}`), `${path}.${k}`, context, maps) : o[k]!;
    }
    if (o.arms !== undefined) out.arms = o.arms;
    else if (generated && !panelsBy && o.panels === undefined) out.arms = group.map((a) => a.name);
    if (panelsBy) out.panels = expandPanels(o.panels as Obj, `${path}.panels`, group, maps);
    else if (o.panels !== undefined) out.panels = o.panels;
    return out;
  });
}

function expandPanels(p: Obj, path: string, arms: readonly Arm[], maps: LabelMaps): Json {
  checkKeysOf(p, path, ['by', 'title', 'where', 'values', 'include']);
  const keys = keysOf(p.by, `${path}.by`);
  const title = needStr(p.title, `${path}.title`);
  const include = p.include === undefined ? [] : needArr(p.include, `${path}.include`, 'arm names').map((x, i) => needStr(x, `${path}.include[${i}]`));
  let groups = groupBy(select(arms, p.where, `${path}.where`, maps), keys, maps);
  if (p.values !== undefined) {
    const values = needArr(p.values, `${path}.values`, 'values');
    groups = values.map((v, i) => {
      const want = Array.isArray(v) ? v : [v];
      const g = groups.find((x) => x.arms.length > 0 && keys.every((k, j) => matches(x.arms[0]!, k, want[j]!, maps)));
      if (!g) fail(`${path}.values[${i}]`, `matches no arm's value of ${keys.join(', ')}: ${show(v)}`);
      return g;
    });
  }
  if (groups.length === 0) fail(`${path}.by`, `finds no arm with a value for ${show(p.by)}`);
  return groups.map((g) => ({ title: render(title, `${path}.title`, g.arms[0], maps), arms: [...include, ...g.arms.map((a) => a.name)] }));
}

function expandGram(f: Value, path: string, arms: readonly Arm[], maps: LabelMaps): Obj[] {
  const o = needObj(f, path);
  checkKeysOf(o, path, Object.keys(DEFINITIONS['gramFigure-compact']!.properties as Obj));
  if (!GENERATORS.some((k) => o[k] !== undefined)) return [o];
  return forEachGroups(o, path, arms, maps).map(({ arms: group, context }) => ({
    name: context ? render(needStr(o.name, `${path}.name`), `${path}.name`, context, maps) : o.name!,
    title: context ? render(needStr(o.title, `${path}.title`), `${path}.title`, context, maps) : o.title!,
    arms: o.arms ?? group.map((a) => a.name),
  }));
}

function expandSweep(w: Value, path: string, arms: readonly Arm[], maps: LabelMaps): Obj {
  const o = needObj(w, path);
  checkKeysOf(o, path, Object.keys(DEFINITIONS['sweep-compact']!.properties as Obj));
  const sp = `${path}.series`;
  const s = needObj(o.series, sp);
  if (s.x === undefined || isObj(s.x) || Array.isArray(s.x)) return o; // written out: name → points
  checkKeysOf(s, sp, ['by', 'name', 'x', 'where']);
  const x = checkKey(needStr(s.x, `${sp}.x`), `${sp}.x`);
  const selected = select(arms, s.where, `${sp}.where`, maps);
  const by = s.by === undefined ? undefined : keysOf(s.by, `${sp}.by`);
  if (by === undefined && s.name === undefined) fail(`${sp}.name`, 'is required without `by` (the name of the one series)');
  const groups = by === undefined ? [{ labels: [], arms: selected }] : groupBy(selected, by, maps);
  if (groups.length === 0) fail(`${sp}.by`, `finds no arm with a value for ${show(s.by)}`);
  const series: Obj = {};
  for (const g of groups) {
    const name = s.name !== undefined ? render(needStr(s.name, `${sp}.name`), `${sp}.name`, g.arms[0], maps) : g.labels.join(' ');
    if (name in series) fail(`${sp}.name`, `gives the series name '${name}' twice; name the series by \`by\``);
    series[name] = g.arms.map((a) => {
      const v = TAG.test(x) ? Number(labelOf(a, x, maps)) : getPath(a.spec, x);
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${sp}.x`, `is '${x}', which is not a number in the arm '${a.name}': ${show(v)}`);
      return { arm: a.name, x: v };
    });
  }
  const out: Obj = {};
  for (const k of Object.keys(o)) out[k] = k === 'series' ? series : o[k]!;
  return out;
}

// ---- entry points ----

/** A figure, Gram figure or sweep written with selections (forEach, where, limit, panels by, a group, series by). */
function usesSelections(list: unknown, series: boolean): boolean {
  if (!Array.isArray(list)) return false;
  return list.some((f) => isObj(f) && (GENERATORS.some((k) => k in f) || 'figures' in f || isObj(f.panels)
    || (series && isObj(f.series) && typeof f.series.x === 'string')));
}

/**
 * True when `v` is a study written compactly: it has defaults, grid, zip, labels or names, or a
 * figure, Gram figure or sweep that selects its arms by key.
 */
export function isCompactStudy(v: unknown): v is CompactStudy {
  return isObj(v) && (COMPACT_KEYS.some((k) => k in v)
    || usesSelections(v.figures, false) || usesSelections(v.gramFigures, false) || usesSelections(v.sweeps, true));
}

/**
 * The expanded StudySpec (types.ts, plain JSON) of a compact study; an expanded study or a single
 * experiment passes through (less a top-level "$schema", which only editors read).
 */
export function expandStudy(v: unknown): unknown {
  if (!isObj(v)) return v;
  if (!isCompactStudy(v)) {
    if (!('$schema' in v)) return v;
    const { $schema: _, ...rest } = v;
    return rest;
  }
  const s = v as Obj;
  checkKeysOf(s, 'study', STUDY_KEYS);
  const maps: Record<string, Record<string, string>> = {};
  if (s.labels !== undefined) {
    for (const [k, m] of Object.entries(needObj(s.labels, 'study.labels'))) {
      const p = keyPath('study.labels', checkKey(k, keyPath('study.labels', k)));
      const o = needObj(m, p);
      for (const [from, to] of Object.entries(o)) needStr(to, keyPath(p, from));
      maps[k] = o as Record<string, string>;
    }
  }
  const arms = buildArms(s, maps);
  // The expanded study's keys follow the order written, `experiments` where the first arm-making key was.
  const made: Obj = {
    name: needStr(s.name, 'study.name'),
    experiments: arms.map((a) => a.spec),
  };
  if (s.sweeps !== undefined) made.sweeps = needArr(s.sweeps, 'study.sweeps', 'sweeps').map((w, i) => expandSweep(w, `study.sweeps[${i}]`, arms, maps));
  if (s.figures !== undefined) made.figures = needArr(s.figures, 'study.figures', 'figures').flatMap((f, i) => expandFigure(f, `study.figures[${i}]`, arms, maps));
  if (s.gramFigures !== undefined) made.gramFigures = needArr(s.gramFigures, 'study.gramFigures', 'Gram figures').flatMap((g, i) => expandGram(g, `study.gramFigures[${i}]`, arms, maps));
  const out: Obj = {};
  for (const k of Object.keys(s)) {
    if (k === '$schema') continue;
    const key = ['defaults', 'grid', 'zip', 'labels', 'names', 'experiments'].includes(k) ? 'experiments' : k;
    if (!(key in out)) out[key] = key in made ? made[key]! : s[key]!;
  }
  if (!('name' in out)) return { name: made.name, ...out };
  return out;
}
