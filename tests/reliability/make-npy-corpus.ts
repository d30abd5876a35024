/**
 * A corpus of malformed `.npy` files, each with one fault, for `contrastlab eval --u FILE`: every
 * one must be refused with exit 2 and one stderr line naming the file. Also usable by hand:
 *   node --import tsx tests/reliability/make-npy-corpus.ts DIR
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NpyCase {
  /** File name inside the corpus folder. */
  readonly file: string;
  /** The fault, in words. */
  readonly fault: string;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

interface Layout {
  readonly major?: number;
  readonly minor?: number;
  readonly magic?: Buffer;
  /** Write this in the header-length field instead of the real length. */
  readonly headerLen?: number;
  /** Pad the header with spaces and '\n' to a multiple of 64 bytes, as numpy does (default true). */
  readonly pad?: boolean;
}

/** A .npy file: magic, version, header length, header (latin1 unless bytes are given), data. */
export function npyBytes(header: string | Buffer, data: Buffer = Buffer.alloc(0), o: Layout = {}): Buffer {
  const major = o.major ?? 1;
  const minor = o.minor ?? 0;
  const lenBytes = major >= 2 && major <= 3 ? 4 : 2;
  let h = typeof header === 'string' ? Buffer.from(header, 'latin1') : header;
  if (o.pad ?? true) {
    const total = 8 + lenBytes + h.length + 1;
    const spaces = (64 - (total % 64)) % 64;
    h = Buffer.concat([h, Buffer.alloc(spaces, 0x20), Buffer.from('\n')]);
  }
  const len = Buffer.alloc(lenBytes);
  const hl = o.headerLen ?? h.length;
  if (lenBytes === 2) len.writeUInt16LE(hl);
  else len.writeUInt32LE(hl);
  return Buffer.concat([o.magic ?? MAGIC, Buffer.from([major, minor]), len, h, data]);
}

export function dict(descr = "'<f8'", fortran = 'False', shape = '(4, 3)'): string {
  return `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
}

/** rows x cols unit rows (row i is e_(i mod cols), signs alternating), little-endian. */
export function unitRows(rows = 4, cols = 3, dtype: 'f8' | 'f4' = 'f8'): Buffer {
  const size = dtype === 'f8' ? 8 : 4;
  const b = Buffer.alloc(rows * cols * size);
  for (let i = 0; i < rows; i++) {
    const v = i % 2 === 0 ? 1 : -1;
    const at = (i * cols + (i % cols)) * size;
    if (dtype === 'f8') b.writeDoubleLE(v, at);
    else b.writeFloatLE(v, at);
  }
  return b;
}

function withValue(data: Buffer, index: number, value: number, dtype: 'f8' | 'f4' = 'f8'): Buffer {
  const b = Buffer.from(data);
  if (dtype === 'f8') b.writeDoubleLE(value, index * 8);
  else b.writeFloatLE(value, index * 4);
  return b;
}

/** A valid 4 x 3 float64 file (for tests that need one good input). */
export function goodNpy(rows = 4, cols = 3): Buffer {
  return npyBytes(dict("'<f8'", 'False', `(${rows}, ${cols})`), unitRows(rows, cols));
}

function corpus(): [string, string, Buffer][] {
  const D = unitRows();
  const ok = dict();
  const c: [string, string, Buffer][] = [];
  const add = (file: string, fault: string, bytes: Buffer) => c.push([file, fault, bytes]);

  // magic, version, header length
  add('empty.npy', '0-byte file', Buffer.alloc(0));
  add('magic-only.npy', 'the magic and nothing else', Buffer.from(MAGIC));
  add('bad-magic.npy', "magic b'\\x93NUMPX'", npyBytes(ok, D, { magic: Buffer.from('\x93NUMPX', 'latin1') }));
  add('png.npy', 'a PNG file named .npy', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64)]));
  add('version-0-0.npy', 'format version 0.0', npyBytes(ok, D, { major: 0 }));
  add('version-1-1.npy', 'format version 1.1', npyBytes(ok, D, { minor: 1 }));
  add('version-4-0.npy', 'format version 4.0', npyBytes(ok, D, { major: 4 }));
  add('no-header-length.npy', 'magic and version, one byte of the length field', Buffer.concat([MAGIC, Buffer.from([1, 0, 0x40])]));
  add('header-length-over-file.npy', 'header length 5000, the file has 100 bytes', npyBytes(ok, Buffer.alloc(0), { headerLen: 5000 }).subarray(0, 100));
  add('header-length-v2-4GiB.npy', 'version 2.0 header length 0xFFFFFFF0', npyBytes(ok, D, { major: 2, headerLen: 0xfffffff0 }));
  add('header-100KB.npy', 'a valid dict padded to a 100 KB header (version 2.0)', npyBytes(ok + ' '.repeat(100 * 1024), D, { major: 2 }));

  // header text
  add('header-list.npy', 'header is a list, not a dict', npyBytes("['descr', '<f8']", D));
  add('header-string.npy', 'header is a string', npyBytes("'hello'", D));
  add('header-garbage.npy', 'header is not a Python literal', npyBytes('{descr: <f8, shape: 4x3}', D));
  add('header-unterminated.npy', 'dict never closed', npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3)", D));
  add('header-trailing-junk.npy', 'text after the dict', npyBytes(`${ok} junk`, D));
  add('header-call.npy', 'a function call in the header', npyBytes("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (4, 3)}", D));
  add('header-nul.npy', 'NUL bytes in the header', npyBytes(Buffer.concat([Buffer.from("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), }", 'latin1'), Buffer.alloc(8)]), D));
  add('header-unknown-key.npy', "extra key 'foo'", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), 'foo': 1, }", D));
  add('header-duplicate-key.npy', "key 'shape' twice", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), 'shape': (4, 3), }", D));
  add('header-missing-descr.npy', "no 'descr'", npyBytes("{'fortran_order': False, 'shape': (4, 3), }", D));
  add('header-missing-shape.npy', "no 'shape'", npyBytes("{'descr': '<f8', 'fortran_order': False, }", D));
  add('header-missing-fortran.npy', "no 'fortran_order'", npyBytes("{'descr': '<f8', 'shape': (4, 3), }", D));
  add('header-int-key.npy', 'a non-string key', npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), 1: 2, }", D));
  add('header-deep-nesting.npy', 'shape nested 4000 tuples deep', npyBytes(`{'descr': '<f8', 'fortran_order': False, 'shape': ${'('.repeat(4000)}4${')'.repeat(4000)}, }`, D));
  add('header-latin1-descr.npy', "descr '\\xff\\xfe' (latin1 bytes)", npyBytes(Buffer.concat([Buffer.from("{'descr': '", 'latin1'), Buffer.from([0xff, 0xfe]), Buffer.from("', 'fortran_order': False, 'shape': (4, 3), }", 'latin1')]), D));
  add('header-v3-bad-utf8.npy', 'version 3.0 header with invalid utf-8', npyBytes(Buffer.concat([Buffer.from("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3), 'x", 'latin1'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from("': 1, }", 'latin1')]), D, { major: 3 }));

  // dtype
  add('dtype-i8.npy', "descr '<i8'", npyBytes(dict("'<i8'"), D));
  add('dtype-big-endian-f8.npy', "descr '>f8'", npyBytes(dict("'>f8'"), D));
  add('dtype-bool.npy', "descr '|b1'", npyBytes(dict("'|b1'", 'False', '(4, 3)'), Buffer.alloc(12, 1)));
  add('dtype-object.npy', "descr '|O'", npyBytes(dict("'|O'"), D));
  add('dtype-f2.npy', "descr '<f2'", npyBytes(dict("'<f2'", 'False', '(4, 3)'), Buffer.alloc(24)));
  add('dtype-c16.npy', "descr '<c16'", npyBytes(dict("'<c16'", 'False', '(2, 3)'), D));
  add('dtype-structured.npy', "descr [('a', '<f8')]", npyBytes(dict("[('a', '<f8')]"), D));
  add('dtype-not-string.npy', 'descr 8', npyBytes(dict('8'), D));
  add('fortran-true.npy', 'fortran_order True', npyBytes(dict("'<f8'", 'True'), D));
  add('fortran-not-bool.npy', 'fortran_order 0', npyBytes(dict("'<f8'", '0'), D));

  // shape
  add('shape-negative.npy', 'shape (-4, 3)', npyBytes(dict("'<f8'", 'False', '(-4, 3)'), D));
  add('shape-2pow62.npy', 'shape (2**62, 2)', npyBytes(dict("'<f8'", 'False', `(${2n ** 62n}, 2)`), D));
  add('shape-huge-product.npy', 'shape (2**31, 2**31)', npyBytes(dict("'<f8'", 'False', `(${2 ** 31}, ${2 ** 31})`), D));
  add('shape-float.npy', 'shape (4.0, 3)', npyBytes(dict("'<f8'", 'False', '(4.0, 3)'), D));
  add('shape-string.npy', "shape ('4', 3)", npyBytes(dict("'<f8'", 'False', "('4', 3)"), D));
  add('shape-list.npy', 'shape [4, 3]', npyBytes(dict("'<f8'", 'False', '[4, 3]'), D));
  add('shape-none.npy', 'shape None', npyBytes(dict("'<f8'", 'False', 'None'), D));
  add('shape-1d.npy', 'a 1-D array (12,)', npyBytes(dict("'<f8'", 'False', '(12,)'), D));
  add('shape-3d.npy', 'a 3-D array (2, 2, 3)', npyBytes(dict("'<f8'", 'False', '(2, 2, 3)'), D));
  add('shape-0d.npy', 'a 0-D array ()', npyBytes(dict("'<f8'", 'False', '()'), D.subarray(0, 8)));
  add('shape-zero-rows.npy', 'an empty array (0, 3)', npyBytes(dict("'<f8'", 'False', '(0, 3)')));

  // data
  add('data-truncated.npy', 'shape (4, 3) of <f8 with 80 of 96 data bytes', npyBytes(ok, D.subarray(0, 80)));
  add('data-trailing.npy', '8 bytes after the data', npyBytes(ok, Buffer.concat([D, Buffer.alloc(8)])));
  add('f4-with-f8-data.npy', "descr '<f4' (4, 3) but 96 data bytes (float64-sized)", npyBytes(dict("'<f4'"), D));
  add('f8-with-f4-data.npy', "descr '<f8' (4, 3) but 48 data bytes (float32-sized)", npyBytes(ok, unitRows(4, 3, 'f4')));
  add('data-nan.npy', 'a NaN in the data', npyBytes(ok, withValue(D, 4, NaN)));
  add('data-inf.npy', '+Infinity in the data', npyBytes(ok, withValue(D, 0, Infinity)));
  add('data-f4-nan.npy', 'a NaN in float32 data', npyBytes(dict("'<f4'"), withValue(unitRows(4, 3, 'f4'), 5, NaN, 'f4')));
  return c;
}

/** Writes the corpus into `dir` (created if missing); returns each file with its fault. */
export function makeNpyCorpus(dir: string): NpyCase[] {
  mkdirSync(dir, { recursive: true });
  return corpus().map(([file, fault, bytes]) => {
    writeFileSync(join(dir, file), bytes);
    return { file, fault };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node --import tsx tests/reliability/make-npy-corpus.ts DIR\n');
    process.exitCode = 2;
  } else for (const c of makeNpyCorpus(dir)) process.stdout.write(`${c.file}\t${c.fault}\n`);
}
