/**
 * Checks of state read back from disk (checkpoint.json, runs/NNNN.json) or handed to a run to
 * resume from. Such state is not trusted: every field is compared with what the spec gives before
 * it is used (a step of −5 or 1e9, a matrix of another shape, an optimizer state of another
 * optimizer would give wrong numbers or never end). Errors are ConfigErrors naming the source (the
 * file) and the field.
 */
import { ConfigError, ContrastlabError } from '../core/errors.ts';
import { Rng, type RngState } from '../core/random.ts';
import type { MetricName } from './spec.ts';

type Json = Record<string, unknown>;

function show(v: unknown): string {
  let t: string;
  try {
    t = typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v);
  } catch {
    t = typeof v;
  }
  return t.length > 60 ? `${t.slice(0, 57)}...` : t;
}

function isTyped(x: unknown): x is Float64Array | Float32Array | Int32Array {
  return x instanceof Float64Array || x instanceof Float32Array || x instanceof Int32Array;
}

function isMatrix(x: unknown): boolean {
  return x !== null && typeof x === 'object' && isTyped((x as Json).data) && typeof (x as Json).rows === 'number';
}

/**
 * Field checks with messages "<source> <field> <problem>, got <value>"; `root` names the checked
 * value itself (e.g. 'current' in checkpoint.json, 'record' in runs/0000.json).
 */
export class StateChecker {
  constructor(readonly op: string, readonly source: string, readonly root?: string) {}

  fail(field: string, msg: string): never {
    throw new ConfigError(this.op, `${this.source} ${field} ${msg}`);
  }

  /** An object with exactly these keys (optional ones may be absent). */
  obj(v: unknown, field: string, keys: readonly string[], optional: readonly string[] = []): Json {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || isTyped(v)) this.fail(field, `must be an object, got ${show(v)}`);
    const o = v as Json;
    for (const k of keys) if (o[k] === undefined) this.fail(`${field}.${k}`, 'is missing');
    for (const k of Object.keys(o)) if (!keys.includes(k) && !optional.includes(k)) this.fail(`${field}.${k}`, 'is not a field of this state');
    return o;
  }

  int(v: unknown, field: string, lo: number, hi: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) this.fail(field, `must be an integer in [${lo}, ${hi}], got ${show(v)}`);
    return v;
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, `must be true or false, got ${show(v)}`);
    return v;
  }

  /** `v` equals `expected` (a string or number the spec fixes). */
  eq(v: unknown, field: string, expected: string | number, why: string): void {
    if (v !== expected) this.fail(field, `is ${show(v)} but ${why} gives ${show(expected)}`);
  }

  /** Runs a check written elsewhere (sampler state, generator state); its error is re-raised naming the field. */
  wrap<T>(field: string, check: () => T): T {
    try {
      return check();
    } catch (e) {
      if (e instanceof ContrastlabError) this.fail(field, `is not valid: ${e.message}`);
      throw e;
    }
  }

  rng(v: unknown, field: string): RngState {
    this.wrap(field, () => Rng.fromState(v as RngState));
    return v as RngState;
  }

  /**
   * `v` has the structure of `template` (a fresh state built from the spec): the same keys, typed
   * arrays of the same class and length, matrices of the same shape (contiguous), numbers where it
   * has numbers (finite where it is finite; a count `n` equal), equal booleans and strings.
   * `finite`: every entry of every typed array must be finite too (parameters).
   */
  like(v: unknown, template: unknown, field: string, finite = false): void {
    if (isTyped(template)) {
      if (!(v instanceof template.constructor) || (v as typeof template).length !== template.length) {
        this.fail(field, `must be a ${template.constructor.name} of length ${template.length}, got ${isTyped(v) ? `a ${v.constructor.name} of length ${v.length}` : show(v)}`);
      }
      if (finite) {
        const a = v as Float64Array;
        for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) this.fail(`${field}[${i}]`, `must be finite, got ${a[i]}`);
      }
      return;
    }
    if (isMatrix(template)) {
      const t = template as { rows: number; cols: number };
      const m = this.obj(v, field, ['data', 'rows', 'cols', 'rowStride', 'colStride', 'offset']);
      if (m.rows !== t.rows || m.cols !== t.cols) this.fail(field, `must be a ${t.rows}x${t.cols} matrix, got ${show(m.rows)}x${show(m.cols)}`);
      if (m.offset !== 0 || m.rowStride !== t.cols || m.colStride !== 1) this.fail(field, 'must be a contiguous row-major matrix (offset 0, rowStride = cols, colStride 1)');
      this.like(m.data, (template as Json).data, `${field}.data`, finite);
      return;
    }
    if (Array.isArray(template)) {
      if (!Array.isArray(v) || v.length !== template.length) this.fail(field, `must be an array of ${template.length}, got ${show(v)}`);
      template.forEach((t, i) => this.like(v[i], t, `${field}[${i}]`, finite));
      return;
    }
    if (template !== null && typeof template === 'object') {
      const keys = Object.keys(template);
      const o = this.obj(v, field, keys);
      for (const k of keys) this.like(o[k], (template as Json)[k], `${field}.${k}`, finite);
      return;
    }
    if (typeof template === 'number') {
      if (typeof v !== 'number' || (Number.isFinite(template) && !Number.isFinite(v))) this.fail(field, `must be a ${Number.isFinite(template) ? 'finite ' : ''}number, got ${show(v)}`);
      if (field.endsWith('.n') && v !== template) this.fail(field, `is ${v} but the spec gives ${template}`);
      return;
    }
    if (v !== template) this.fail(field, `must be ${show(template)}, got ${show(v)}`);
  }

  /**
   * A trace: rows in increasing step order, steps in [0, maxStep], epoch = step / stepsPerEpoch
   * exactly (as the run computes it), and only the metrics the run logs, finite.
   */
  trace(v: unknown, field: string, maxStep: number, stepsPerEpoch: number, metrics: readonly MetricName[]): Json[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array of logged rows, got ${show(v)}`);
    let prev = -1;
    v.forEach((r, i) => {
      const f = `${field}[${i}]`;
      const row = this.obj(r, f, ['step', 'epoch'], metrics);
      const step = this.int(row.step, `${f}.step`, prev + 1, maxStep);
      if (row.epoch !== step / stepsPerEpoch) this.fail(`${f}.epoch`, `must be step / ${stepsPerEpoch} = ${step / stepsPerEpoch}, got ${show(row.epoch)}`);
      for (const m of metrics) {
        if (row[m] !== undefined && (typeof row[m] !== 'number' || !Number.isFinite(row[m]))) this.fail(`${f}.${m}`, `must be a finite number, got ${show(row[m])}`);
      }
      prev = step;
    });
    return v as Json[];
  }

  /** A matrix of exactly rows x cols float64 with finite entries. */
  matrix(v: unknown, field: string, rows: number, cols: number): void {
    this.like(v, { data: new Float64Array(rows * cols), rows, cols, rowStride: cols, colStride: 1, offset: 0 }, field, true);
  }
}

/** Deep equality of two decoded JSON values (the final row against the trace's last). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Json)[k], (b as Json)[k]));
}
