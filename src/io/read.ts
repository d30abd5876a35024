/**
 * Bounded, typed file reads: the one way the toolkit reads a file the user named (or one inside a
 * folder they named). Every read
 *  - opens the path once (O_NONBLOCK, so a FIFO cannot hang the open) and checks what was opened:
 *    only a regular file is read; a directory, FIFO, socket or device is a ConfigError naming it;
 *  - is bounded: by a documented cap per kind of file ({@link READ_CAPS}), or, for `.npy`, by what
 *    its header declares; reading stops at the cap even when the file grows or lies about its size
 *    (procfs), and files over 2 GiB are read in chunks as data;
 *  - optionally stays inside a root folder (`within`): the real path of the opened file (from
 *    /proc/self/fd, so a link swapped after the check cannot redirect it) must be inside the real
 *    path of the root; a link leaving it is refused.
 * Errors are ConfigErrors (exit 2 in the CLI) naming the path the user gave.
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, realpathSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { formatBytes } from '../core/budget.ts';

/** Caps on files read whole (bytes). A larger file is refused, naming the cap. */
export const READ_CAPS = {
  /** specs, checkpoints, run records, reports, batch lists */
  json: 256 * 2 ** 20,
  /** summary.md and other text shown in a report */
  markdown: 16 * 2 ** 20,
  svg: 32 * 2 ** 20,
  png: 64 * 2 ** 20,
  /** the largest .npy header read before the declared shape is known */
  npyHeader: 64 * 2 ** 10,
} as const;

/** Deepest nesting accepted in a JSON input (specs are at most ~8 deep). */
export const MAX_JSON_DEPTH = 64;

export interface ReadOptions {
  /** What the file is, for messages: "--u file", "spec file", "report folder file". */
  readonly what?: string;
  /** Refuse the file unless its real path is inside this folder's real path. */
  readonly within?: string;
}

/** What a stat result is, in words ("a directory", "a FIFO (named pipe)", ...). */
export function kindOf(st: Stats): string {
  return st.isFile() ? 'a regular file' : st.isDirectory() ? 'a directory' : st.isSymbolicLink() ? 'a symbolic link'
    : st.isFIFO() ? 'a FIFO (named pipe)' : st.isSocket() ? 'a socket' : st.isCharacterDevice() ? 'a character device'
    : st.isBlockDevice() ? 'a block device' : 'not a regular file';
}

/** True when `child` (a real path) is `root` or inside it. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Why an fs call failed, as the words after the path ("does not exist", ...). */
export function fsReason(e: unknown): string {
  const code = errCode(e);
  return code === 'ENOENT' ? 'does not exist'
    : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)'
    : code === 'ELOOP' ? 'is a symbolic link loop'
    : code === 'ENOTDIR' ? 'has a path component that is not a folder'
    : code === 'EISDIR' ? 'is a directory, not a file'
    : `cannot be read (${code ?? (e as Error)?.message ?? String(e)})`;
}

/** Translates an fs error on `path` into a one-line ConfigError. */
export function fsError(op: string, what: string, path: string, e: unknown): ConfigError {
  return new ConfigError(op, `${what} '${path}' ${fsReason(e)}`);
}

/** An open regular file: its descriptor and size. Close it with {@link closeFile}. */
export interface OpenFile {
  readonly fd: number;
  readonly size: number;
  readonly path: string;
}

/** Opens `path` for reading after the checks above; the caller closes `fd`. */
export function openRegular(op: string, path: string, opts: ReadOptions = {}): OpenFile {
  const what = opts.what ?? 'file';
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fsError(op, what, path, e);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(op, `${what} '${path}' is ${kindOf(st)}; only regular files are read`);
    if (opts.within !== undefined) {
      const root = realpathSync(opts.within);
      let real: string;
      try {
        real = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        real = realpathSync(path);
      }
      if (!isInside(root, real)) throw new ConfigError(op, `${what} '${path}' is a link to '${real}', outside '${opts.within}'; refusing to read it`);
    }
    return { fd, size: st.size, path };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export function closeFile(f: OpenFile): void {
  closeSync(f.fd);
}

/** Reads exactly `length` bytes at `position` into `into` (chunks under 1 GiB; > 2 GiB files are fine). */
export function readExactly(op: string, what: string, f: OpenFile, into: Uint8Array, position: number): void {
  const CHUNK = 2 ** 30;
  let off = 0;
  while (off < into.length) {
    const n = readSync(f.fd, into, off, Math.min(CHUNK, into.length - off), position + off);
    if (n === 0) throw new ConfigError(op, `${what} '${f.path}' ended after ${position + off} bytes; ${position + into.length} expected (was it truncated while being read?)`);
    off += n;
  }
}

/**
 * Reads the whole of a regular file, refusing more than `maxBytes` (read stops at the cap + 1 byte
 * whatever the file's reported size).
 */
export function readFileBounded(op: string, path: string, maxBytes: number, opts: ReadOptions = {}): Buffer {
  const what = opts.what ?? 'file';
  const f = openRegular(op, path, opts);
  try {
    const tooBig = () => new ConfigError(op, `${what} '${path}' is larger than the cap of ${formatBytes(maxBytes)} for this kind of file`);
    if (f.size > maxBytes) throw tooBig();
    let buf = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(f.size + 1, 4096)));
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (len > maxBytes) throw tooBig();
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buf.length * 2));
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = readSync(f.fd, buf, len, buf.length - len, len);
      if (n === 0) break;
      len += n;
    }
    if (len > maxBytes) throw tooBig();
    return buf.subarray(0, len);
  } finally {
    closeFile(f);
  }
}

/** A bounded UTF-8 text read (a leading byte-order mark is dropped). */
export function readTextBounded(op: string, path: string, maxBytes: number, opts: ReadOptions = {}): string {
  const text = readFileBounded(op, path, maxBytes, opts).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * The maximum nesting depth of a JSON text, found by one pass over its characters (strings
 * skipped), so a 100,000-deep document is refused before any recursive code sees it.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Parses JSON text named `source`: a BOM is accepted, nesting over {@link MAX_JSON_DEPTH} refused. */
export function parseJsonText(op: string, text: string, source: string): unknown {
  const t = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const depth = jsonDepth(t);
  if (depth > MAX_JSON_DEPTH) throw new ConfigError(op, `${source} nests ${depth} levels deep, over the limit of ${MAX_JSON_DEPTH}`);
  try {
    return JSON.parse(t);
  } catch (e) {
    throw new ConfigError(op, `${source} is not valid JSON (${(e as Error).message.replace(/\s+/g, ' ')})`);
  }
}

/** Reads and parses a JSON file: bounded ({@link READ_CAPS}.json), regular files only, BOM accepted, depth-limited. */
export function readJsonFile(op: string, path: string, opts: ReadOptions & { maxBytes?: number } = {}): unknown {
  const what = opts.what ?? 'JSON file';
  const text = readTextBounded(op, path, opts.maxBytes ?? READ_CAPS.json, { ...opts, what });
  return parseJsonText(op, text, `${what} '${path}'`);
}

/** The real path of `p` resolved against the working directory (for messages and containment). */
export function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}
