/** Bounded reads (src/io/read.ts, readNpyFile): regular files only, capped, inside a root when asked. */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CapExceededError, ConfigError } from '../../src/core/errors.ts';
import { readNpyFile } from '../../src/io/npy.ts';
import { jsonDepth, parseJsonText, readFileBounded, readJsonFile } from '../../src/io/read.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'contrastlab-read-'));

describe('readFileBounded', () => {
  it('refuses directories, FIFOs and devices without blocking', () => {
    const dir = tmp();
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    expect(() => readFileBounded('t', dir, 100)).toThrow(/is a directory; only regular files are read/);
    expect(() => readFileBounded('t', fifo, 100)).toThrow(/is a FIFO/);
    expect(() => readFileBounded('t', '/dev/zero', 100)).toThrow(/is a character device/);
  });

  it('stops at the cap, also where the size is not known in advance (procfs)', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'big'), Buffer.alloc(1000));
    expect(() => readFileBounded('t', join(dir, 'big'), 999)).toThrow(/larger than the cap of 999 bytes/);
    expect(readFileBounded('t', join(dir, 'big'), 1000).length).toBe(1000);
    expect(() => readFileBounded('t', '/proc/self/maps', 10)).toThrow(/larger than the cap/);
  });

  it('with `within`, refuses a link whose target is outside the root, and reads one inside', () => {
    const dir = tmp();
    const outside = tmp();
    writeFileSync(join(outside, 'secret'), 'secret');
    writeFileSync(join(dir, 'ok'), 'ok');
    symlinkSync(join(outside, 'secret'), join(dir, 'leak'));
    symlinkSync(join(dir, 'ok'), join(dir, 'alias'));
    expect(() => readFileBounded('t', join(dir, 'leak'), 100, { within: dir })).toThrow(/outside .*; refusing to read it/);
    expect(readFileBounded('t', join(dir, 'alias'), 100, { within: dir }).toString()).toBe('ok');
  });

  it('names a missing file, a dangling link and a link loop', () => {
    const dir = tmp();
    symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
    symlinkSync(join(dir, 'loop'), join(dir, 'loop'));
    expect(() => readFileBounded('t', join(dir, 'none'), 10, { what: 'spec file' })).toThrow(/spec file '.*none' does not exist/);
    expect(() => readFileBounded('t', join(dir, 'dangling'), 10)).toThrow(/does not exist/);
    expect(() => readFileBounded('t', join(dir, 'loop'), 10)).toThrow(/symbolic link loop/);
  });
});

describe('JSON', () => {
  it('accepts a byte-order mark and refuses nesting deeper than 64 before parsing', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bom.json'), '\ufeff{"a": 1}');
    expect(readJsonFile('t', join(dir, 'bom.json'))).toEqual({ a: 1 });
    expect(jsonDepth('{"a": "[[[[", "b": [[1]]}')).toBe(3);
    expect(() => parseJsonText('t', '['.repeat(100_000) + ']'.repeat(100_000), 'x')).toThrow(/nests 100000 levels deep/);
    expect(() => parseJsonText('t', '{"a": ', 'x')).toThrow(ConfigError);
  });
});

/** Opens `p` and writes a 128-byte version-1.0 float64 header for `shape`; the data is the caller's (sparse). */
function npyHeaderOnly(p: string, shape: string): number {
  const h = Buffer.alloc(128, 0x20);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(h);
  h.writeUInt16LE(118, 8);
  h.write(`{'descr': '<f8', 'fortran_order': False, 'shape': ${shape}, }`, 10, 'latin1');
  h[127] = 0x0a;
  const fd = openSync(p, 'w');
  writeSync(fd, h);
  return fd;
}

describe('readNpyFile on hostile files', () => {
  it('a header declaring more than the memory budget is refused before allocating', async () => {
    const dir = tmp();
    const p = join(dir, 'big.npy');
    // A valid header for (2**31, 8) float64 = 128 GiB, followed by a sparse file of that size.
    const fd = npyHeaderOnly(p, '(2147483648, 8)');
    writeSync(fd, Buffer.alloc(1), 0, 1, 128 + 2 ** 31 * 8 * 8 - 1); // sparse: 128 GiB that take no space
    closeSync(fd);
    await expect(readNpyFile(p)).rejects.toThrow(CapExceededError);
    await expect(readNpyFile(p)).rejects.toThrow(/needs 128\.0 GiB, over the memory budget/);
  });

  it('a file over 2 GiB is read as data (chunked), when the budget allows', async () => {
    const dir = tmp();
    const p = join(dir, 'sparse.npy');
    // (2**28 + 2**20, 1) float64 = 2.008 GiB of zeros, sparse on disk (readFile's limit is 2 GiB).
    const rows = 2 ** 28 + 2 ** 20;
    const fd = npyHeaderOnly(p, `(${rows}, 1)`);
    const tail = Buffer.alloc(8);
    tail.writeDoubleLE(42);
    writeSync(fd, tail, 0, 8, 128 + (rows - 1) * 8);
    closeSync(fd);
    const prev = process.env.CONTRASTLAB_MEMORY_BUDGET;
    process.env.CONTRASTLAB_MEMORY_BUDGET = '3GiB';
    try {
      const a = await readNpyFile(p);
      expect(a.shape).toEqual([rows, 1]);
      expect(a.data[rows - 1]).toBe(42);
      expect(a.data[0]).toBe(0);
    } finally {
      if (prev === undefined) delete process.env.CONTRASTLAB_MEMORY_BUDGET;
      else process.env.CONTRASTLAB_MEMORY_BUDGET = prev;
    }
  }, 120_000);
});
