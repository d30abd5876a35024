/**
 * Atomic file output: nothing the user had is lost or half-written.
 * A file is written to a temporary sibling, fsynced and renamed over its target; a directory of
 * results is staged in a temporary sibling directory and renamed into place only when complete.
 * Existing targets are replaced only when `overwrite` is set.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';

let counter = 0;
function tempSibling(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${Date.now()}-${counter++}.tmp`);
}

export function assertCanWrite(op: string, path: string, overwrite: boolean, parentMayBeMissing = false): void {
  if (!overwrite && existsSync(path)) {
    throw new ConfigError(op, `'${path}' already exists; refusing to overwrite it (pass --force / overwrite: true)`);
  }
  const dir = dirname(resolve(path));
  if (!parentMayBeMissing && !existsSync(dir)) throw new ConfigError(op, `the folder '${dir}' for '${path}' does not exist`);
}

/** Creates the missing ancestors of `path`; returns the topmost folder created (to undo), or null. */
function makeParents(path: string): string | null {
  let top: string | null = null;
  for (let d = dirname(resolve(path)); !existsSync(d); d = dirname(d)) top = d;
  if (top !== null) mkdirSync(dirname(resolve(path)), { recursive: true });
  return top;
}

/** Writes `data` to `path` atomically (temp file + fsync + rename). */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: { overwrite?: boolean; op?: string } = {}): void {
  const op = opts.op ?? 'writeFileAtomic';
  assertCanWrite(op, path, opts.overwrite ?? false);
  const tmp = tempSibling(path, 'part');
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx');
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * A results directory written as a unit: files go into a staging directory; `commit()` moves it to
 * `dir` (replacing an existing `dir` only with overwrite), `abort()` removes the staging directory
 * and any parent folders it had to create.
 */
export class StagedDir {
  readonly dir: string;
  readonly staging: string;
  private readonly overwrite: boolean;
  private readonly createdParent: string | null;
  private done = false;

  constructor(dir: string, opts: { overwrite?: boolean; op?: string } = {}) {
    const op = opts.op ?? 'StagedDir';
    this.dir = dir;
    this.overwrite = opts.overwrite ?? false;
    assertCanWrite(op, dir, this.overwrite, true);
    this.createdParent = makeParents(dir);
    this.staging = tempSibling(dir, 'staging');
    mkdirSync(this.staging);
  }

  /** Path of `name` inside the staging directory. */
  path(name: string): string {
    return join(this.staging, name);
  }

  write(name: string, data: Uint8Array | string): void {
    writeFileAtomic(this.path(name), data, { overwrite: true });
  }

  commit(): void {
    if (this.done) return;
    if (existsSync(this.dir)) {
      const old = tempSibling(this.dir, 'old');
      renameSync(this.dir, old);
      renameSync(this.staging, this.dir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(this.staging, this.dir);
    }
    this.done = true;
  }

  abort(): void {
    if (this.done) return;
    rmSync(this.staging, { recursive: true, force: true });
    if (this.createdParent !== null) rmSync(this.createdParent, { recursive: true, force: true });
    this.done = true;
  }
}
