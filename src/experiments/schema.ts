/**
 * Validation of a study spec (expanded or compact) or a single experiment against the JSON Schema
 * (schema/study.schema.json, built by studySchema.ts), with ajv. The validators are compiled on the
 * first call (ajv is loaded then, not at import), so commands that never validate a spec do not
 * pay for it. A failure is ONE ConfigError line naming the path of the first error and the value,
 * and for an unknown key the nearest valid key:
 *
 *   study spec: study.experiments[0].sampler.kinf is not a valid key; did you mean 'kind'?
 */
import { createRequire } from 'node:module';
import { ConfigError } from '../core/errors.ts';
import { keyPath, nearest } from '../estimators/spec.ts';
import { isCompactStudy, show } from './studyLanguage.ts';
import { SCHEMA_ID, studySchema } from './studySchema.ts';

const OP = 'study spec';

interface AjvError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
  schema?: unknown;
  parentSchema?: Record<string, unknown>;
  data?: unknown;
  /** Set on the errors found inside `propertyNames`. */
  propertyName?: string;
}
type Validate = ((v: unknown) => boolean) & { errors?: AjvError[] | null };

type Which = 'study' | 'compact-study' | 'experiment-file';
let ajv: { addSchema(s: object): void; getSchema(ref: string): Validate | undefined } | undefined;
const validators = new Map<Which, Validate>();

/** The validator of one definition, compiled on first use (ajv itself is loaded on the first call). */
function validatorOf(which: Which): Validate {
  const known = validators.get(which);
  if (known) return known;
  if (!ajv) {
    const require = createRequire(import.meta.url);
    const Ajv = (require('ajv') as { default: new (o: object) => NonNullable<typeof ajv> }).default;
    ajv = new Ajv({ allErrors: true, verbose: true, strictTypes: false, strictTuples: false, allowUnionTypes: true });
    ajv.addSchema(studySchema());
  }
  const v = ajv.getSchema(`${SCHEMA_ID}#/definitions/${which}`)!;
  validators.set(which, v);
  return v;
}

/** "/experiments/0/sampler" → "study.experiments[0].sampler". */
function pathOf(root: string, pointer: string): string {
  let p = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    p = /^\d+$/.test(part) ? `${p}[${part}]` : keyPath(p, part);
  }
  return p;
}

function valueAt(v: unknown, pointer: string): unknown {
  let cur = v;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[part] : undefined;
  }
  return cur;
}

const RANK = ['propertyNames', 'additionalProperties', 'enum', 'const', 'type', 'oneOf'];
const depth = (e: AjvError) => (e.instancePath === '' ? 0 : e.instancePath.split('/').length - 1);
const rank = (e: AjvError) => (RANK.includes(e.keyword) ? RANK.indexOf(e.keyword) : RANK.length);
/** How far into later alternatives of anyOf an error lies (0: only first alternatives, e.g. a number rather than a reference). */
const branch = (e: AjvError) => [...e.schemaPath.matchAll(/\/anyOf\/(\d+)\//g)].reduce((t, m) => t + Number(m[1]), 0)
  + (e.schemaPath.startsWith('#/definitions/reference/') ? 1 : 0);
const better = (e: AjvError, b: AjvError) => depth(e) > depth(b)
  || (depth(e) === depth(b) && (branch(e) < branch(b) || (branch(e) === branch(b) && rank(e) < rank(b))));

/**
 * The error to report: the deepest one (the most specific place), preferring an unknown key, then a
 * value outside its choices, then a wrong type; among equals the first reported (the first
 * alternative of an anyOf). `if` and anyOf errors only say that a branch failed.
 */
function pick(errors: readonly AjvError[]): AjvError {
  const real = errors.filter((e) => e.keyword !== 'if' && e.keyword !== 'anyOf' && e.propertyName === undefined);
  const list = real.length ? real : [...errors];
  return list.reduce((best, e) => (better(e, best) ? e : best));
}

function message(e: AjvError, root: string, v: unknown, all: readonly AjvError[]): string {
  const path = pathOf(root, e.instancePath);
  const value = valueAt(v, e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      const near = nearest(key, known.filter((k) => k !== '$schema'));
      const kind = (value as { kind?: unknown } | null)?.kind;
      const forKind = typeof kind === 'string' && e.schemaPath.includes('/then/') ? ` for kind '${kind}'` : '';
      return `${keyPath(path, key)} is not a valid key${forKind}; ${near !== null ? `did you mean '${near}'?` : `expected one of ${known.join(', ')}`}`;
    }
    case 'propertyNames': {
      const name = String(e.params.propertyName);
      const inner = all.find((x) => x.keyword === 'enum' && x.propertyName === name && Array.isArray(x.schema));
      const allowed = (inner?.schema as string[] | undefined) ?? [];
      const near = nearest(name, allowed);
      return `${keyPath(path, name)} names no key of an experiment; ${near !== null ? `did you mean '${near}'?` : 'expected a dotted key such as \'sampler.B\' or a tag \'@name\''}`;
    }
    case 'oneOf': {
      const forms = Array.isArray(e.schema) ? (e.schema as { required?: string[] }[]).map((f) => (f.required ?? []).join(' and ')).filter(Boolean) : [];
      return `${path} must have exactly one of ${forms.length ? forms.join(' or ') : 'its forms'}, got ${show(value)}`;
    }
    case 'required':
      return `${keyPath(path, String(e.params.missingProperty))} is required`;
    case 'enum': {
      const allowed = (e.params.allowedValues as unknown[]).map(String);
      const near = typeof value === 'string' ? nearest(value, allowed) : null;
      if (allowed.includes('sampler.kind')) {
        return `${path} names no key of an experiment: ${show(value)}; ${near !== null ? `did you mean '${near}'?` : 'expected a dotted key such as \'sampler.B\' or a tag \'@name\''}`;
      }
      return `${path} must be one of ${allowed.join(', ')}, got ${show(value)}${near !== null ? `; did you mean '${near}'?` : ''}`;
    }
    case 'const':
      return `${path} must be ${show(e.params.allowedValue)}, got ${show(value)}`;
    default:
      return `${path} ${e.message ?? 'is invalid'}, got ${show(value)}`;
  }
}

/**
 * Validates `v` against the study schema: a compact study (defaults / grid / zip / labels / names),
 * an expanded study (experiments listed) or a single experiment, chosen by its keys. Throws one
 * ConfigError line for the first error. `what` names the root in messages (default 'study', or
 * 'experiment' for a single experiment).
 */
export function checkSchema(v: unknown, what?: string): void {
  const isObj = v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj) throw new ConfigError(OP, `${what ?? 'spec'} must be an object, got ${show(v)}`);
  const o = v as Record<string, unknown>;
  const kind: Which = isCompactStudy(o) ? 'compact-study'
    : ['experiments', 'figures', 'sweeps', 'description', 'gramFigures', 'thresholds', 'gapReference', 'notes'].some((k) => k in o) ? 'study' : 'experiment-file';
  const validate = validatorOf(kind);
  if (validate(v)) return;
  const errors = validate.errors ?? [];
  const root = what ?? (kind === 'experiment-file' ? 'experiment' : 'study');
  throw new ConfigError(OP, message(pick(errors), root, v, errors));
}
