/**
 * numpy `.npy` read and write (NEP 1, `numpy.lib.format`), for little-endian float64 / float32
 * arrays in C order; integer arrays (labels, quantised features) are read too, through a separate
 * path ({@link parseNpyAny}, {@link readNpyAnyFileSync}) so that {@link NpyArray} stays float-only.
 *
 * Layout: the magic `\x93NUMPY`, a major and a minor version byte, the header length
 * (uint16 little-endian for version 1.0, uint32 for 2.0 and 3.0), the header (latin1 for 1.0 and
 * 2.0, utf-8 for 3.0): a Python dict literal such as
 * `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and ended by
 * `\n`, then the raw array data.
 *
 * The header is parsed by a small recursive-descent parser of the Python literal subset numpy
 * writes (dicts, tuples, lists, quoted strings, ints, floats, True / False / None); nothing is
 * evaluated. Anything the reader does not support (big-endian, float16, bool, object or
 * structured dtypes, Fortran order; integers in the float-only readers) is an
 * {@link NpyFormatError} naming the offending value.
 *
 * Integer dtypes read by the `Any` readers: '<i8', '<i4', '<i2', '|i1', '|u1', '<u2', '<u4',
 * '<u8' (a 1-byte dtype may also be spelled with '<'). int64 / uint64 data is a BigInt64Array /
 * BigUint64Array; {@link intNpyToFloat64} converts any integer array to float64, refusing values
 * beyond 2^53 in magnitude (not exactly representable).
 *
 * @example
 * const bytes = serializeNpy(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * const arr = parseNpy(bytes); // { dtype: 'f64', shape: [2, 3], data: Float64Array [1..6] }
 * const m = npyToMatrix(arr); // 2x3 Matrix sharing arr.data
 * const any = parseNpyAny(labelBytes); // { kind: 'int', array: { dtype: 'i8', shape: [n], data: BigInt64Array } }
 */
import { assertFitsBudget } from '../core/budget.ts';
import { DomainError, NpyFormatError, ShapeError } from '../core/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import { closeFile, openRegular, type ReadOptions, readExactly } from './read.ts';
import {
  type DType,
  type FloatArray,
  type Matrix,
  dtypeOf,
  isContiguous,
  matrix,
  shapeStr,
  toContiguous,
} from '../core/matrix.ts';

export interface NpyArray {
  readonly dtype: DType;
  readonly shape: number[];
  readonly data: FloatArray;
}

/** Integer dtypes the `Any` readers accept: signed / unsigned, 1 to 8 bytes, little-endian. */
export type IntDType = 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8';

/** The typed array holding each {@link IntDType} (int64 / uint64 as bigint arrays). */
export interface IntArrayOf {
  i1: Int8Array;
  i2: Int16Array;
  i4: Int32Array;
  i8: BigInt64Array;
  u1: Uint8Array;
  u2: Uint16Array;
  u4: Uint32Array;
  u8: BigUint64Array;
}
export type IntArray = IntArrayOf[IntDType];

/** An integer `.npy` array, C order. */
export interface NpyIntArray {
  readonly dtype: IntDType;
  readonly shape: number[];
  readonly data: IntArray;
}

/** What the `Any` readers return: a float array (as the float-only readers do) or an integer one. */
export type NpyAnyArray = { readonly kind: 'float'; readonly array: NpyArray } | { readonly kind: 'int'; readonly array: NpyIntArray };

/** Any dtype the readers know. */
export type AnyDType = DType | IntDType;

export interface ParseNpyOptions {
  /** A name for the bytes (usually the file path), prefixed to error messages. */
  source?: string;
  /**
   * Largest header accepted, in bytes (numpy's own reader refuses headers over 10000 bytes
   * by default, `max_header_size`). Default 10000.
   */
  maxHeaderBytes?: number;
}

export interface SerializeNpyOptions {
  /**
   * Format version to write. Default: 1.0 when the header fits its uint16 length field, else
   * 2.0 (numpy's own choice; 3.0 only differs by a utf-8 header, which these ASCII headers never
   * need). Forcing 1 for a header that does not fit is an error.
   */
  version?: 1 | 2 | 3;
}

export interface WriteNpyOptions extends SerializeNpyOptions {
  /** Replace an existing file. Default false: an existing file is an error and is left as is. */
  overwrite?: boolean;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAGIC_LEN = MAGIC.length + 2;
/** numpy aligns the start of the data to this many bytes (`ARRAY_ALIGN`). */
export const NPY_ALIGN = 64;
/** numpy leaves room to rewrite the growth axis in place (`GROWTH_AXIS_MAX_DIGITS`). */
const GROWTH_AXIS_MAX_DIGITS = 21;
const DEFAULT_MAX_HEADER_BYTES = 10000;
/** Nesting depth of the header literal beyond which parsing stops (numpy writes depth 2). */
const MAX_LITERAL_DEPTH = 32;
const READ_OP = 'readNpy';
const WRITE_OP = 'writeNpy';

const ITEMSIZE: Record<AnyDType, number> = { f64: 8, f32: 4, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8 };
/** The descr numpy writes for each dtype (used in messages). */
const DESCR: Record<AnyDType, string> = {
  f64: '<f8', f32: '<f4', i1: '|i1', i2: '<i2', i4: '<i4', i8: '<i8', u1: '|u1', u2: '<u2', u4: '<u4', u8: '<u8',
};
/** numpy's names of the dtypes, for messages ("int64 '<i8'"). */
export const DTYPE_NAMES: Record<AnyDType, string> = {
  f64: 'float64', f32: 'float32', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64', u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
};
/** Accepted integer descr strings. */
const INT_DESCRS: Record<string, IntDType> = {
  '|i1': 'i1', '<i1': 'i1', '<i2': 'i2', '<i4': 'i4', '<i8': 'i8',
  '|u1': 'u1', '<u1': 'u1', '<u2': 'u2', '<u4': 'u4', '<u8': 'u8',
};

export function isIntDType(t: AnyDType): t is IntDType {
  return t !== 'f64' && t !== 'f32';
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------
// The header: a Python literal parser (the subset numpy writes, plus enough to name mistakes).
// ---------------------------------------------------------------------------------------------

/** A parsed Python literal. Ints keep their exact value as a bigint. */
export type PyLiteral =
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number; readonly text: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'none' }
  | { readonly kind: 'tuple'; readonly items: readonly PyLiteral[] }
  | { readonly kind: 'list'; readonly items: readonly PyLiteral[] }
  | { readonly kind: 'dict'; readonly entries: readonly (readonly [PyLiteral, PyLiteral])[] };

/** Python's `repr` of a parsed literal, for error messages. */
export function pyRepr(v: PyLiteral): string {
  switch (v.kind) {
    case 'str':
      return `'${v.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
    case 'int':
      return v.value.toString();
    case 'float':
      return v.text;
    case 'bool':
      return v.value ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'tuple':
      return v.items.length === 1 ? `(${pyRepr(v.items[0]!)},)` : `(${v.items.map(pyRepr).join(', ')})`;
    case 'list':
      return `[${v.items.map(pyRepr).join(', ')}]`;
    case 'dict':
      return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  }
}

function pyTypeName(v: PyLiteral): string {
  return v.kind === 'none' ? 'NoneType' : v.kind;
}

/**
 * Parses one Python literal (with surrounding whitespace) from `text`.
 * `allowLongSuffix` accepts Python 2's `3L` ints, which numpy wrote under Python 2 (numpy's
 * reader strips them too, for versions 1.0 and 2.0).
 * Throws a plain `SyntaxError` with the position; the caller wraps it.
 */
export function parsePyLiteral(text: string, allowLongSuffix = false): PyLiteral {
  let pos = 0;

  const fail = (what: string): never => {
    const near = JSON.stringify(text.slice(pos, pos + 20));
    throw new SyntaxError(`${what} at character ${pos} (near ${near})`);
  };
  const skipWs = (): void => {
    while (pos < text.length) {
      const c = text[pos]!;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f') pos++;
      else break;
    }
  };
  const expect = (c: string): void => {
    skipWs();
    if (text[pos] !== c) fail(`expected '${c}'`);
    pos++;
  };

  const parseString = (): PyLiteral => {
    const quote = text[pos]!;
    pos++;
    let out = '';
    for (;;) {
      if (pos >= text.length) fail('unterminated string');
      const c = text[pos]!;
      if (c === quote) {
        pos++;
        return { kind: 'str', value: out };
      }
      if (c === '\n' || c === '\r') fail('newline inside a string');
      if (c !== '\\') {
        out += c;
        pos++;
        continue;
      }
      const e = text[pos + 1];
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0' };
      if (e !== undefined && e in simple) {
        out += simple[e]!;
        pos += 2;
      } else if (e === 'x' || e === 'u') {
        const n = e === 'x' ? 2 : 4;
        const hex = text.slice(pos + 2, pos + 2 + n);
        if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) fail(`bad \\${e} escape`);
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 2 + n;
      } else {
        fail(`unsupported escape \\${e ?? ''}`);
      }
    }
  };

  const parseNumber = (): PyLiteral => {
    const start = pos;
    if (text[pos] === '-' || text[pos] === '+') pos++;
    const digitsStart = pos;
    while (pos < text.length && text[pos]! >= '0' && text[pos]! <= '9') pos++;
    const intDigits = text.slice(digitsStart, pos);
    let isFloat = false;
    if (text[pos] === '.') {
      isFloat = true;
      pos++;
      while (pos < text.length && text[pos]! >= '0' && text[pos]! <= '9') pos++;
    }
    if (intDigits === '' && !(isFloat && pos - digitsStart > 1)) {
      pos = start;
      fail('expected a number');
    }
    if (text[pos] === 'e' || text[pos] === 'E') {
      isFloat = true;
      pos++;
      if (text[pos] === '-' || text[pos] === '+') pos++;
      const expStart = pos;
      while (pos < text.length && text[pos]! >= '0' && text[pos]! <= '9') pos++;
      if (pos === expStart) fail('expected exponent digits');
    }
    const numText = text.slice(start, pos);
    if (isFloat) return { kind: 'float', value: Number(numText), text: numText };
    if (intDigits.length > 1 && intDigits[0] === '0') {
      pos = start;
      fail('leading zeros in an integer');
    }
    if (allowLongSuffix && (text[pos] === 'L' || text[pos] === 'l')) pos++;
    if (/[A-Za-z_0-9]/.test(text[pos] ?? '')) fail('invalid character in a number');
    return { kind: 'int', value: BigInt(numText) };
  };

  /** Items of a bracketed sequence up to `close`; `sawComma` reports a top-level comma. */
  const parseItems = (close: string, depth: number): { items: PyLiteral[]; sawComma: boolean } => {
    const items: PyLiteral[] = [];
    let sawComma = false;
    skipWs();
    if (text[pos] === close) {
      pos++;
      return { items, sawComma };
    }
    for (;;) {
      items.push(parseValue(depth + 1));
      skipWs();
      if (text[pos] === close) {
        pos++;
        return { items, sawComma };
      }
      if (text[pos] !== ',') fail(`expected ',' or '${close}'`);
      pos++;
      sawComma = true;
      skipWs();
      if (text[pos] === close) {
        pos++;
        return { items, sawComma };
      }
    }
  };

  const parseDict = (depth: number): PyLiteral => {
    pos++; // '{'
    const entries: [PyLiteral, PyLiteral][] = [];
    skipWs();
    if (text[pos] === '}') {
      pos++;
      return { kind: 'dict', entries };
    }
    for (;;) {
      const key = parseValue(depth + 1);
      expect(':');
      const value = parseValue(depth + 1);
      entries.push([key, value]);
      skipWs();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'dict', entries };
      }
      if (text[pos] !== ',') fail("expected ',' or '}'");
      pos++;
      skipWs();
      if (text[pos] === '}') {
        pos++;
        return { kind: 'dict', entries };
      }
    }
  };

  const parseValue = (depth: number): PyLiteral => {
    if (depth > MAX_LITERAL_DEPTH) fail(`nesting deeper than ${MAX_LITERAL_DEPTH}`);
    skipWs();
    if (pos >= text.length) fail('unexpected end of header');
    const c = text[pos]!;
    if (c === '{') return parseDict(depth);
    if (c === '(') {
      pos++;
      const { items, sawComma } = parseItems(')', depth);
      // `(x)` is x, `(x,)` and `()` are tuples, as in Python.
      if (items.length === 1 && !sawComma) return items[0]!;
      return { kind: 'tuple', items };
    }
    if (c === '[') {
      pos++;
      return { kind: 'list', items: parseItems(']', depth).items };
    }
    if (c === "'" || c === '"') return parseString();
    if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9')) return parseNumber();
    const m = /^[A-Za-z_][A-Za-z_0-9]*/.exec(text.slice(pos, pos + 64));
    if (m) {
      const name = m[0];
      if (name === 'True' || name === 'False') {
        pos += name.length;
        return { kind: 'bool', value: name === 'True' };
      }
      if (name === 'None') {
        pos += name.length;
        return { kind: 'none' };
      }
      fail(`unexpected name '${name}'`);
    }
    return fail('unexpected character');
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) fail('unexpected text after the literal');
  return value;
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

function bytesRepr(b: Uint8Array): string {
  let s = "b'";
  for (const x of b) {
    if (x === 0x5c) s += '\\\\';
    else if (x === 0x27) s += "\\'";
    else if (x === 0x0a) s += '\\n';
    else if (x === 0x0d) s += '\\r';
    else if (x === 0x09) s += '\\t';
    else if (x >= 0x20 && x < 0x7f) s += String.fromCharCode(x);
    else s += `\\x${x.toString(16).padStart(2, '0')}`;
  }
  return `${s}'`;
}

const DTYPE_KIND_NAMES: Record<string, string> = {
  b: 'boolean',
  i: 'signed integer',
  u: 'unsigned integer',
  f: 'floating point',
  c: 'complex',
  O: 'Python object',
  S: 'byte string',
  a: 'byte string',
  U: 'unicode string',
  V: 'void / raw bytes',
  M: 'datetime64',
  m: 'timedelta64',
};

/** Why a descr string is unsupported, in words. */
function describeUnsupportedDescr(descr: string): string {
  const m = /^([<>|=])([A-Za-z])(\d*)(.*)$/.exec(descr);
  if (!m) return `unsupported dtype descr '${descr}'`;
  const [, order, kind, size, rest] = m;
  const kindName = DTYPE_KIND_NAMES[kind!];
  if (!kindName) return `unsupported dtype descr '${descr}'`;
  const what = `${kindName}${size ? `, ${size} byte${size === '1' ? '' : 's'}` : ''}${rest ? `, ${rest}` : ''}`;
  if ((kind === 'i' || kind === 'u') && ['1', '2', '4', '8'].includes(size!) && !rest && order !== '<' && order !== '|') {
    if (order === '>') return `big-endian dtype '${descr}' (${what}) is not supported`;
    return `dtype '${descr}' with byte order '${order}' is not supported`;
  }
  if (kind === 'f' && (size === '8' || size === '4')) {
    if (order === '>') return `big-endian dtype '${descr}' (${what}) is not supported`;
    return `dtype '${descr}' with byte order '${order}' is not supported`;
  }
  if (kind === 'f' && size === '2') return `dtype '${descr}' (float16, half precision) is not supported`;
  if (kind === 'O') return `object dtype '${descr}' is not supported`;
  return `dtype '${descr}' (${what}) is not supported`;
}

const SUPPORTED_FLOAT = "only little-endian float64 '<f8' and float32 '<f4' are supported";
const SUPPORTED_ANY =
  "supported: little-endian float64 '<f8', float32 '<f4' and integers int64 '<i8', int32 '<i4', int16 '<i2', int8 '|i1', uint8 '|u1', uint16 '<u2', uint32 '<u4', uint64 '<u8'";

/** The dtype of a descr; integers only when `allowInt` (the float-only readers refuse them). */
function descrToDtype(descr: PyLiteral, fail: (msg: string) => never, allowInt: boolean): AnyDType {
  const supported = allowInt ? SUPPORTED_ANY : SUPPORTED_FLOAT;
  if (descr.kind === 'list') {
    return fail(`structured dtype (descr is a list of ${descr.items.length} fields: ${truncate(pyRepr(descr))}) is not supported; ${supported}`);
  }
  if (descr.kind !== 'str') return fail(`'descr' must be a string, got ${pyTypeName(descr)} ${truncate(pyRepr(descr))}`);
  if (descr.value === '<f8') return 'f64';
  if (descr.value === '<f4') return 'f32';
  const int = Object.hasOwn(INT_DESCRS, descr.value) ? INT_DESCRS[descr.value]! : undefined;
  if (int !== undefined) {
    if (allowInt) return int;
    return fail(`integer dtype '${descr.value}' (${DTYPE_NAMES[int]}) is not read as floats; ${supported} (integer arrays are read by parseNpyAny / readNpyAnyFileSync)`);
  }
  if (/^[<>|=]b1$/.test(descr.value)) {
    return fail(`boolean dtype '${descr.value}' is not supported; save it as integers (a.astype(np.int64)); ${supported}`);
  }
  return fail(`${describeUnsupportedDescr(descr.value)}; ${supported}`);
}

function truncate(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max)}...`;
}

interface ParsedHeader {
  dtype: AnyDType;
  shape: number[];
}

function interpretHeader(d: PyLiteral, fail: (msg: string) => never, allowInt: boolean): ParsedHeader {
  if (d.kind !== 'dict') return fail(`header is not a dict literal: got ${pyTypeName(d)} ${truncate(pyRepr(d))}`);
  const known = ['descr', 'fortran_order', 'shape'] as const;
  const found = new Map<string, PyLiteral>();
  for (const [k, v] of d.entries) {
    if (k.kind !== 'str') return fail(`header key ${truncate(pyRepr(k))} is not a string`);
    if (!(known as readonly string[]).includes(k.value)) {
      return fail(`unknown header key ${pyRepr(k)}; expected exactly 'descr', 'fortran_order', 'shape'`);
    }
    if (found.has(k.value)) return fail(`duplicate header key ${pyRepr(k)}`);
    found.set(k.value, v);
  }
  for (const k of known) if (!found.has(k)) return fail(`header is missing key '${k}' (header: ${truncate(pyRepr(d), 200)})`);

  const dtype = descrToDtype(found.get('descr')!, fail, allowInt);

  const fortran = found.get('fortran_order')!;
  if (fortran.kind !== 'bool') return fail(`'fortran_order' must be True or False, got ${truncate(pyRepr(fortran))}`);
  if (fortran.value) {
    return fail("fortran_order: True (column-major data) is not supported; only C order is; save np.ascontiguousarray(a) instead");
  }

  const shapeLit = found.get('shape')!;
  if (shapeLit.kind !== 'tuple') return fail(`'shape' must be a tuple of non-negative ints, got ${pyTypeName(shapeLit)} ${truncate(pyRepr(shapeLit))}`);
  const shape: number[] = [];
  for (let k = 0; k < shapeLit.items.length; k++) {
    const e = shapeLit.items[k]!;
    const where = (): string => `shape ${truncate(pyRepr(shapeLit))} entry ${k}`;
    if (e.kind !== 'int') return fail(`${where()} is ${truncate(pyRepr(e))}, not an integer`);
    if (e.value < 0n) return fail(`${where()} is negative (${e.value})`);
    if (e.value > BigInt(Number.MAX_SAFE_INTEGER)) return fail(`${where()} is ${e.value}, larger than 2^53 - 1`);
    shape.push(Number(e.value));
  }
  return { dtype, shape };
}

/** A fresh, zeroed typed array of `count` elements of `dtype`. */
function allocate(dtype: 'f64' | 'f32', count: number): FloatArray;
function allocate(dtype: IntDType, count: number): IntArray;
function allocate(dtype: AnyDType, count: number): FloatArray | IntArray;
function allocate(dtype: AnyDType, count: number): FloatArray | IntArray {
  switch (dtype) {
    case 'f64': return new Float64Array(count);
    case 'f32': return new Float32Array(count);
    case 'i1': return new Int8Array(count);
    case 'i2': return new Int16Array(count);
    case 'i4': return new Int32Array(count);
    case 'i8': return new BigInt64Array(count);
    case 'u1': return new Uint8Array(count);
    case 'u2': return new Uint16Array(count);
    case 'u4': return new Uint32Array(count);
    case 'u8': return new BigUint64Array(count);
  }
}

/** Reads element i of `dtype` little-endian from `dv` (the big-endian-host path). */
function getLittleEndian(dv: DataView, dtype: AnyDType, i: number): number | bigint {
  switch (dtype) {
    case 'f64': return dv.getFloat64(8 * i, true);
    case 'f32': return dv.getFloat32(4 * i, true);
    case 'i1': return dv.getInt8(i);
    case 'i2': return dv.getInt16(2 * i, true);
    case 'i4': return dv.getInt32(4 * i, true);
    case 'i8': return dv.getBigInt64(8 * i, true);
    case 'u1': return dv.getUint8(i);
    case 'u2': return dv.getUint16(2 * i, true);
    case 'u4': return dv.getUint32(4 * i, true);
    case 'u8': return dv.getBigUint64(8 * i, true);
  }
}

/**
 * Converts `out` in place from little-endian bytes to host order (a no-op on little-endian hosts
 * unless `hostLittleEndian` is false, which only the tests pass on such a host: then the bytes are
 * re-read through a DataView, which on a little-endian host leaves the values unchanged).
 */
function fixByteOrder(out: FloatArray | IntArray, dtype: AnyDType, hostLittleEndian: boolean): void {
  if (hostLittleEndian || ITEMSIZE[dtype] === 1) return;
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const w = out as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < out.length; i++) w[i] = getLittleEndian(dv, dtype, i);
}

/** `count` little-endian elements of `dtype` from `bytes[offset]`, into a fresh aligned array. */
function decodeAny(bytes: Uint8Array, offset: number, count: number, dtype: AnyDType, hostLittleEndian: boolean): FloatArray | IntArray {
  const size = ITEMSIZE[dtype];
  const out = allocate(dtype, count);
  if (hostLittleEndian) {
    // Copy into the fresh ArrayBuffer (byte 0 is aligned for any item size). Not bytes.slice():
    // on a Node Buffer that returns a view of the same, possibly pooled and misaligned, memory.
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * size));
    return out;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, count * size);
  const w = out as unknown as { [i: number]: number | bigint };
  for (let i = 0; i < count; i++) w[i] = getLittleEndian(dv, dtype, i);
  return out;
}

/**
 * Decodes `count` little-endian floats starting at `bytes[offset]` into a fresh, aligned array.
 * Copies first, so the offset need not be a multiple of the item size. `hostLittleEndian` is a
 * parameter only so both paths can be tested.
 */
export function decodeLittleEndian(
  bytes: Uint8Array,
  offset: number,
  count: number,
  dtype: DType,
  hostLittleEndian = HOST_LITTLE_ENDIAN,
): FloatArray {
  return decodeAny(bytes, offset, count, dtype, hostLittleEndian) as FloatArray;
}

/** {@link decodeLittleEndian} for integer dtypes. */
export function decodeLittleEndianInt<T extends IntDType>(
  bytes: Uint8Array,
  offset: number,
  count: number,
  dtype: T,
  hostLittleEndian = HOST_LITTLE_ENDIAN,
): IntArrayOf[T] {
  return decodeAny(bytes, offset, count, dtype, hostLittleEndian) as IntArrayOf[T];
}

/** What a `.npy` header declares: dtype, shape, where the data starts and how many bytes it needs. */
export interface NpyHeader<T extends AnyDType = DType> {
  readonly dtype: T;
  readonly shape: number[];
  readonly dataOffset: number;
  /** count of elements (product of the shape), as a bigint: a hostile header may declare 2^60. */
  readonly count: bigint;
  readonly dataBytes: bigint;
}

/**
 * Parses the magic, version and header dict of a `.npy` file from its first bytes (`bytes` may be
 * a prefix of the file: at least the header must be there). Float dtypes only; see
 * {@link parseNpyAnyHeader} for integer ones.
 */
export function parseNpyHeader(bytes: Uint8Array, options: ParseNpyOptions = {}): NpyHeader {
  return parseHeader(bytes, options, false) as NpyHeader;
}

/** {@link parseNpyHeader} accepting the integer dtypes too. */
export function parseNpyAnyHeader(bytes: Uint8Array, options: ParseNpyOptions = {}): NpyHeader<AnyDType> {
  return parseHeader(bytes, options, true);
}

function parseHeader(bytes: Uint8Array, options: ParseNpyOptions, allowInt: boolean): NpyHeader<AnyDType> {
  const prefix = options.source ? `${options.source}: ` : '';
  const fail = (msg: string): never => {
    throw new NpyFormatError(READ_OP, prefix + msg);
  };
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;

  const head = bytes.subarray(0, MAGIC.length);
  if (head.length < MAGIC.length || MAGIC.some((b, i) => head[i] !== b)) {
    fail(`bad magic: a .npy file starts with b'\\x93NUMPY', got ${bytesRepr(bytes.subarray(0, 8))}${bytes.length < MAGIC.length ? ` (only ${bytes.length} bytes)` : ''}`);
  }
  if (bytes.length < MAGIC_LEN) fail(`truncated: ${bytes.length} bytes, too short for the version bytes`);
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    fail(`unknown format version ${major}.${minor}; supported: 1.0, 2.0, 3.0`);
  }
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < MAGIC_LEN + lenBytes) {
    fail(`truncated header: ${bytes.length} bytes, too short for the ${lenBytes}-byte header length of version ${major}.0`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(MAGIC_LEN, true) : dv.getUint32(MAGIC_LEN, true);
  const headerStart = MAGIC_LEN + lenBytes;
  if (headerLen > maxHeaderBytes) {
    fail(`header too long: ${headerLen} bytes, over the limit of ${maxHeaderBytes} (raise maxHeaderBytes if the file is trusted)`);
  }
  if (headerStart + headerLen > bytes.length) {
    fail(`truncated header: it declares ${headerLen} bytes but only ${bytes.length - headerStart} follow the length field`);
  }
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLen);
  let headerText: string;
  try {
    headerText = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(headerBytes);
  } catch {
    return fail(`header of version ${major}.0 is not valid ${major === 3 ? 'utf-8' : 'latin1'}`);
  }

  let literal: PyLiteral;
  try {
    literal = parsePyLiteral(headerText, major < 3);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    return fail(`header is not a valid Python dict literal: ${e.message}; header: ${JSON.stringify(truncate(headerText, 200))}`);
  }
  const { dtype, shape } = interpretHeader(literal, fail, allowInt);
  let count = 1n;
  for (const n of shape) count *= BigInt(n);
  return { dtype, shape, dataOffset: headerStart + headerLen, count, dataBytes: count * BigInt(ITEMSIZE[dtype]) };
}

function shapeText(shape: readonly number[]): string {
  return `(${shape.join(', ')}${shape.length === 1 ? ',' : ''})`;
}

/** The error for data that is shorter or longer than the header declares. */
function dataSizeError(h: NpyHeader<AnyDType>, have: bigint, prefix: string): NpyFormatError | null {
  if (have < h.dataBytes) return new NpyFormatError(READ_OP, `${prefix}truncated data: shape ${shapeText(h.shape)} of ${DESCR[h.dtype]} needs ${h.dataBytes} bytes but ${have} follow the header`);
  if (have > h.dataBytes) return new NpyFormatError(READ_OP, `${prefix}${have - h.dataBytes} trailing bytes: shape ${shapeText(h.shape)} of ${DESCR[h.dtype]} needs ${h.dataBytes} bytes but ${have} follow the header`);
  return null;
}

/**
 * Parses the bytes of a `.npy` file (format 1.0, 2.0 or 3.0; '<f8' or '<f4'; C order).
 * The returned data is a fresh copy, not a view of `bytes`.
 */
export function parseNpy(bytes: Uint8Array, options: ParseNpyOptions = {}): NpyArray {
  return parseBytes(bytes, options, false) as NpyArray;
}

/** {@link parseNpy} for float or integer arrays ('<i8', '<i4', '|u1', ...: see the module comment). */
export function parseNpyAny(bytes: Uint8Array, options: ParseNpyOptions = {}): NpyAnyArray {
  return tagged(parseBytes(bytes, options, true));
}

function parseBytes(bytes: Uint8Array, options: ParseNpyOptions, allowInt: boolean): NpyArray | NpyIntArray {
  const h = parseHeader(bytes, options, allowInt);
  const err = dataSizeError(h, BigInt(bytes.length - h.dataOffset), options.source ? `${options.source}: ` : '');
  if (err) throw err;
  const data = decodeAny(bytes, h.dataOffset, Number(h.count), h.dtype, HOST_LITTLE_ENDIAN);
  return { dtype: h.dtype, shape: h.shape, data } as NpyArray | NpyIntArray;
}

function tagged(a: NpyArray | NpyIntArray): NpyAnyArray {
  return isIntDType(a.dtype) ? { kind: 'int', array: a as NpyIntArray } : { kind: 'float', array: a as NpyArray };
}

/**
 * Reads and parses a `.npy` file; error messages name the path. Only a regular file is read
 * (a directory, FIFO or device is a ConfigError); the header is read first, the file's size must
 * match what it declares, and the data (checked against the memory budget before it is allocated)
 * is read straight into the result's buffer in chunks, so files over 2 GiB are read as data.
 */
export async function readNpyFile(path: string, options: Omit<ParseNpyOptions, 'source'> & ReadOptions = {}): Promise<NpyArray> {
  return readNpyFileSync(path, options);
}

export function readNpyFileSync(path: string, options: Omit<ParseNpyOptions, 'source'> & ReadOptions = {}): NpyArray {
  return readFile(path, options, false) as NpyArray;
}

/** {@link readNpyFileSync} for float or integer arrays, with the same checks. */
export function readNpyAnyFileSync(path: string, options: Omit<ParseNpyOptions, 'source'> & ReadOptions = {}): NpyAnyArray {
  return tagged(readFile(path, options, true));
}

function readFile(path: string, options: Omit<ParseNpyOptions, 'source'> & ReadOptions, allowInt: boolean): NpyArray | NpyIntArray {
  const what = options.what ?? '.npy file';
  const f = openRegular(READ_OP, path, { ...options, what });
  try {
    const headLen = Math.min(f.size, MAGIC_LEN + 4 + (options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES));
    const head = new Uint8Array(headLen);
    readExactly(READ_OP, what, f, head, 0);
    const h = parseHeader(head, { ...options, source: path }, allowInt);
    const err = dataSizeError(h, BigInt(f.size - h.dataOffset), `${path}: `);
    if (err) throw err;
    assertFitsBudget(READ_OP, `${path}: the array of shape ${shapeText(h.shape)} (${DESCR[h.dtype]})`, Number(h.dataBytes));
    const data = allocate(h.dtype, Number(h.count));
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    readExactly(READ_OP, what, f, raw, h.dataOffset);
    fixByteOrder(data, h.dtype, HOST_LITTLE_ENDIAN);
    return { dtype: h.dtype, shape: h.shape, data } as NpyArray | NpyIntArray;
  } finally {
    closeFile(f);
  }
}

/** Row-major multi-index of flat element `k` in `shape`, as "[i, j]" ("[k]" for 1-D, "[]" for 0-D). */
export function npyIndexStr(shape: readonly number[], k: number): string {
  const idx: number[] = [];
  for (let a = shape.length - 1; a >= 0; a--) {
    const n = shape[a]!;
    idx.unshift(n === 0 ? 0 : k % n);
    k = n === 0 ? 0 : Math.floor(k / n);
  }
  return `[${idx.join(', ')}]`;
}

/** 2^53: integers of at most this magnitude are exactly representable as float64. */
const EXACT_LIMIT = 2n ** 53n;

/**
 * The values of an integer array as float64 (same shape, C order). int64 / uint64 values beyond
 * 2^53 in magnitude are not exactly representable and are a DomainError naming the value and its
 * index (`op` and `name` prefix the message). Narrower dtypes always convert exactly.
 */
export function intNpyToFloat64(arr: NpyIntArray, op: string, name = 'array'): Float64Array {
  const n = arr.data.length;
  assertFitsBudget(op, `${name} as float64 (shape ${shapeText(arr.shape)})`, n * 8);
  const out = new Float64Array(n);
  if (arr.dtype === 'i8' || arr.dtype === 'u8') {
    const data = arr.data as BigInt64Array | BigUint64Array;
    for (let k = 0; k < n; k++) {
      const v = data[k]!;
      if (v > EXACT_LIMIT || v < -EXACT_LIMIT) {
        throw new DomainError(op, `${name} holds ${DTYPE_NAMES[arr.dtype]} value ${v} at index ${npyIndexStr(arr.shape, k)}, beyond 2^53 in magnitude: it has no exact float64 value`);
      }
      out[k] = Number(v);
    }
    return out;
  }
  out.set(arr.data as Exclude<IntArray, BigInt64Array | BigUint64Array>);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

function checkShape(shape: readonly number[], length: number): void {
  for (let k = 0; k < shape.length; k++) {
    const n = shape[k]!;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ShapeError(WRITE_OP, `shape [${shape.join(', ')}] entry ${k} is ${n}; entries must be non-negative integers`);
    }
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== length) {
    throw new ShapeError(WRITE_OP, `shape [${shape.join(', ')}] has ${count} elements but the data has ${length}`);
  }
}

/** The header dict exactly as numpy's `_write_array_header` formats it (keys sorted, growth padding). */
function headerDict(dtype: DType, shape: readonly number[]): string {
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let h = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) h += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  return h;
}

/**
 * Serialises `data` (C order, `shape`) as `.npy` bytes, converting to `dtype` when it differs
 * from the data's own (f64 → f32 rounds to nearest). The header is padded with spaces and ended
 * by '\n' so the data starts at a multiple of 64 bytes: byte-identical to recent numpy's
 * `np.save`, including its 21-digit growth-axis padding.
 */
export function serializeNpy(
  data: FloatArray,
  shape: readonly number[],
  dtype: DType = dtypeOf(data),
  options: SerializeNpyOptions = {},
): Uint8Array {
  checkShape(shape, data.length);
  const dict = headerDict(dtype, shape);
  // ASCII only, so latin1 and utf-8 encode it identically.
  const hlen = dict.length + 1; // + '\n'
  const fits = (version: 1 | 2 | 3): { lenBytes: number; pad: number } | null => {
    const lenBytes = version === 1 ? 2 : 4;
    const pad = NPY_ALIGN - ((MAGIC_LEN + lenBytes + hlen) % NPY_ALIGN);
    const total = hlen + pad;
    return total <= (version === 1 ? 0xffff : 0xffffffff) ? { lenBytes, pad } : null;
  };
  const version = options.version ?? (fits(1) ? 1 : 2);
  const layout = fits(version);
  if (!layout) {
    throw new NpyFormatError(WRITE_OP, `header too long: ${hlen} bytes for shape of ${shape.length} dims does not fit format version ${version}.0`);
  }
  const headerLen = hlen + layout.pad;
  const dataOffset = MAGIC_LEN + layout.lenBytes + headerLen;
  const itemsize = ITEMSIZE[dtype];
  const out = new Uint8Array(dataOffset + data.length * itemsize);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (layout.lenBytes === 2) dv.setUint16(MAGIC_LEN, headerLen, true);
  else dv.setUint32(MAGIC_LEN, headerLen, true);
  let p = MAGIC_LEN + layout.lenBytes;
  for (let i = 0; i < dict.length; i++) out[p++] = dict.charCodeAt(i);
  out.fill(0x20, p, p + layout.pad);
  p += layout.pad;
  out[p++] = 0x0a;

  const typed: FloatArray =
    dtypeOf(data) === dtype ? data : dtype === 'f64' ? Float64Array.from(data) : Float32Array.from(data);
  if (HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength), dataOffset);
  } else if (dtype === 'f64') {
    for (let i = 0; i < typed.length; i++) dv.setFloat64(dataOffset + 8 * i, typed[i]!, true);
  } else {
    for (let i = 0; i < typed.length; i++) dv.setFloat32(dataOffset + 4 * i, typed[i]!, true);
  }
  return out;
}

/**
 * Writes `arr` to `path` atomically ({@link writeFileAtomic}): the bytes go to a temporary file in
 * the same folder, fsynced, then hard-linked onto `path` (which fails if `path` exists, so a file
 * created meanwhile is never clobbered) or, with `overwrite`, renamed over it. On any failure the
 * temporary file is removed and `path` is untouched. Without `overwrite`, an existing `path`
 * (file, folder or link) is a {@link ConfigError}.
 */
export async function writeNpyFile(path: string, arr: NpyArray, options: WriteNpyOptions = {}): Promise<void> {
  const bytes = serializeNpy(arr.data, arr.shape, arr.dtype, options.version ? { version: options.version } : {});
  writeFileAtomic(path, bytes, { overwrite: options.overwrite ?? false, op: WRITE_OP });
}

// ---------------------------------------------------------------------------------------------
// Matrix helpers
// ---------------------------------------------------------------------------------------------

function npyShapeStr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * A 2-D array as a row-major Matrix sharing `arr.data`. A 1-D array of length n is an error
 * unless `allow1d`, which reads it as n x 1.
 */
export function npyToMatrix(arr: NpyArray, options: { allow1d?: boolean } = {}): Matrix {
  const { shape } = arr;
  if (shape.length === 2) return matrix(arr.data, shape[0]!, shape[1]!);
  if (shape.length === 1) {
    if (options.allow1d) return matrix(arr.data, shape[0]!, 1);
    throw new ShapeError('npyToMatrix', `array has shape ${npyShapeStr(shape)} (1-D); need a 2-D array, or pass { allow1d: true } to read it as ${shape[0]}x1`);
  }
  throw new ShapeError('npyToMatrix', `array has shape ${npyShapeStr(shape)} (${shape.length}-D); need a 2-D array`);
}

/**
 * A Matrix as a 2-D NpyArray of `dtype` (default: the matrix's). A contiguous matrix of that
 * dtype is shared (a subarray of its data); a strided view, or a dtype change, is copied.
 */
export function matrixToNpy(m: Matrix, dtype: DType = dtypeOf(m)): NpyArray {
  const n = m.rows * m.cols;
  if (n === 0) return { dtype, shape: [m.rows, m.cols], data: dtype === 'f64' ? new Float64Array(0) : new Float32Array(0) };
  if (dtypeOf(m) === dtype && isContiguous(m)) {
    if (m.offset + n > m.data.length) {
      throw new ShapeError('matrixToNpy', `${shapeStr(m)} at offset ${m.offset} needs ${m.offset + n} elements, buffer has ${m.data.length}`);
    }
    return { dtype, shape: [m.rows, m.cols], data: m.data.subarray(m.offset, m.offset + n) };
  }
  return { dtype, shape: [m.rows, m.cols], data: toContiguous(m, dtype).data };
}
