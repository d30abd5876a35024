/**
 * Exact JSON encoding of run state for checkpoints: typed arrays become tagged base64 of their
 * bytes ({"$f64": "..."}), so every float64 survives bit for bit (NaN payloads, -0, subnormals);
 * plain objects, arrays, strings, booleans, null and finite numbers pass through. Non-finite
 * numbers are tagged too ({"$num": "Infinity"}), since JSON has no spelling for them.
 */
import { ConfigError } from '../core/errors.ts';

type Tagged = { $f64: string } | { $f32: string } | { $i32: string } | { $num: string };

function b64(a: Float64Array | Float32Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromB64<T>(s: string, bytes: number, make: (buf: ArrayBuffer) => T): T {
  const b = Buffer.from(s, 'base64');
  if (b.length % bytes !== 0) throw new ConfigError('decodeState', `a typed array of ${b.length} bytes is not a multiple of ${bytes}`);
  const copy = new ArrayBuffer(b.length);
  new Uint8Array(copy).set(b);
  return make(copy);
}

export function encodeState(x: unknown): unknown {
  if (x instanceof Float64Array) return { $f64: b64(x) } satisfies Tagged;
  if (x instanceof Float32Array) return { $f32: b64(x) } satisfies Tagged;
  if (x instanceof Int32Array) return { $i32: b64(x) } satisfies Tagged;
  if (typeof x === 'number') return Number.isFinite(x) ? x : ({ $num: String(x) } satisfies Tagged);
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return x;
  if (x === undefined) return null;
  if (Array.isArray(x)) return x.map(encodeState);
  if (typeof x === 'object') {
    if (ArrayBuffer.isView(x)) throw new ConfigError('encodeState', `unsupported typed array ${x.constructor.name}`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) out[k] = encodeState(v);
    return out;
  }
  throw new ConfigError('encodeState', `cannot encode a value of type ${typeof x}`);
}

export function decodeState(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(decodeState);
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o[keys[0]!] === 'string') {
      const s = o[keys[0]!] as string;
      switch (keys[0]) {
        case '$f64': return fromB64(s, 8, (b) => new Float64Array(b));
        case '$f32': return fromB64(s, 4, (b) => new Float32Array(b));
        case '$i32': return fromB64(s, 4, (b) => new Int32Array(b));
        case '$num': return Number(s);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = decodeState(v);
    return out;
  }
  return x;
}
