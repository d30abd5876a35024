/**
 * Atomic file output: nothing the user had is lost, replaced or half-written.
 *
 * - A file is written to a temporary sibling (`.NAME.part-PID-….tmp`), fsynced, and then
 *   hard-linked onto its target (`link` fails if the target exists, so a file that appeared
 *   meanwhile is never replaced) or, with `overwrite`, renamed over it.
 * - A folder of results is built in a staging sibling (`.NAME.staging-PID-….tmp`) and moved into
 *   place by `commit()`. Without `overwrite`, commit first claims the target with `mkdir` (atomic:
 *   it fails if anything exists there, so two concurrent writers cannot both win) and then renames
 *   the staging folder onto the empty folder it just made (rename(2) refuses a non-empty target,
 *   so anything written into the claimed folder meanwhile is kept too). If the target exists at
 *   commit time, nothing of the user's is touched: the staged result is renamed to a visible
 *   `NAME.unsaved-STAMP` sibling and the ConfigError names it.
 * - With `overwrite`, the old target is renamed aside (`.NAME.old-PID-….tmp`), the new one renamed
 *   in, and the old one removed.
 * - Every temporary path is registered while it exists. In the CLI a watchdog process removes
 *   those left by a process that ended early, whatever ended it (SIGINT, SIGTERM, kill -9, a
 *   crash); see {@link enableCrashCleanup}. Independently, the next writer of the same target
 *   removes the temporaries of processes that no longer run (an `.old` aside whose target is
 *   missing is renamed back instead).
 */
import { closeSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';

// ---- temporaries: registry, crash cleanup, stale cleanup ----

type TempKind = 'file' | 'dir' | 'old';
/** Live temporaries of this process; an 'old' aside maps to the target it must go back to. */
const live = new Map<string, { kind: TempKind; target: string }>();

/**
 * Crash cleanup (the CLI turns it on): the process installs no signal handler (Ctrl-C, SIGTERM and
 * kill -9 end it at once, even inside a long synchronous computation); instead, at its first
 * temporary it starts a small detached watchdog process, and records every temporary it creates
 * and removes in a registry file (one synchronous append each). When the watched process has gone,
 * however it ended, the watchdog removes the temporaries still listed (renaming an 'old' aside back
 * when its target is missing) and the registry, then exits.
 */
let crashCleanup = false;
let registry: { fd: number; path: string } | null = null;

export function enableCrashCleanup(): void {
  crashCleanup = true;
}

const WATCHDOG = `
const fs = require('fs');
const [pid, reg] = [Number(process.argv[1]), process.argv[2]];
const alive = () => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const sweep = () => {
  const left = new Map();
  let text = '';
  try { text = fs.readFileSync(reg, 'utf8'); } catch {}
  for (const line of text.split('\\n')) {
    const [op, kind, path, target] = line.split('\\t');
    if (op === '+') left.set(path, { kind, target }); else if (op === '-') left.delete(path);
  }
  for (const [path, t] of [...left].reverse()) {
    try {
      if (t.kind === 'old' && !fs.existsSync(t.target)) fs.renameSync(path, t.target);
      else fs.rmSync(path, { recursive: true, force: true });
    } catch {}
  }
  try { fs.rmSync(reg, { force: true }); } catch {}
};
const tick = () => (alive() ? setTimeout(tick, 100) : sweep());
tick();
`;

function record(op: '+' | '-', path: string, kind: TempKind, target: string): void {
  if (!crashCleanup) return;
  if (registry === null) {
    const path = join(tmpdir(), `contrastlab-temporaries-${process.pid}-${Date.now()}.log`);
    registry = { fd: openSync(path, 'a', 0o600), path };
    spawn(process.execPath, ['-e', WATCHDOG, String(process.pid), path], { detached: true, stdio: 'ignore' }).unref();
  }
  writeSync(registry.fd, `${op}\t${kind}\t${path}\t${target}\n`);
}

/** Removes every temporary this process has created and not yet committed or removed. */
export function removeTemporaries(): void {
  for (const [p, t] of [...live].reverse()) {
    try {
      if (t.kind === 'old' && !existsSync(t.target)) renameSync(p, t.target);
      else rmSync(p, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    record('-', p, t.kind, t.target);
  }
  live.clear();
}

function track(path: string, kind: TempKind, target = ''): void {
  live.set(path, { kind, target });
  record('+', path, kind, target);
}

function untrack(path: string): void {
  const t = live.get(path);
  if (t === undefined) return;
  live.delete(path);
  record('-', path, t.kind, t.target);
}

/** The temporaries of this process (for tests). */
export function liveTemporaries(): string[] {
  return [...live.keys()];
}

let counter = 0;
function tempSibling(path: string, tag: 'part' | 'staging' | 'old'): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${Date.now()}-${counter++}.tmp`);
}

const TEMP_RE = /^\.(.+)\.(part|staging|old)-(\d+)-\d+-\d+\.tmp$/;

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporaries left next to `target` by processes that no longer run (after `kill -9`).
 * An `.old` aside whose target is missing is the user's previous result: it is renamed back.
 */
export function cleanStaleTemporaries(target: string): string[] {
  const dir = dirname(resolve(target));
  const name = basename(target);
  const cleaned: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return cleaned;
  }
  for (const e of entries) {
    const m = TEMP_RE.exec(e);
    if (!m || m[1] !== name || pidAlive(Number(m[3]))) continue;
    const p = join(dir, e);
    try {
      if (m[2] === 'old' && !existsSync(join(dir, name))) renameSync(p, join(dir, name));
      else rmSync(p, { recursive: true, force: true });
      cleaned.push(p);
    } catch {
      /* another process got there first */
    }
  }
  return cleaned;
}

// ---- checks ----

function exists(path: string): boolean {
  try {
    lstatSync(path); // a dangling link exists too
    return true;
  } catch {
    return false;
  }
}

/** Refuses an existing `path` (unless overwrite) or a missing parent folder; `shown` is the path named in messages. */
export function assertCanWrite(op: string, path: string, overwrite: boolean, parentMayBeMissing = false, shown = path): void {
  if (!overwrite && exists(path)) {
    throw new ConfigError(op, `'${shown}' already exists; refusing to overwrite it (pass --force / overwrite: true)`);
  }
  const dir = dirname(resolve(path));
  if (!parentMayBeMissing && !existsSync(dir)) throw new ConfigError(op, `the folder '${dirname(resolve(shown))}' for '${shown}' does not exist`);
}

/** Creates the missing ancestors of `path`; returns the topmost folder created (to undo), or null. */
function makeParents(path: string): string | null {
  let top: string | null = null;
  for (let d = dirname(resolve(path)); !existsSync(d); d = dirname(d)) top = d;
  if (top !== null) mkdirSync(dirname(resolve(path)), { recursive: true });
  return top;
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
}

/** A visible, unused sibling name for a result that could not be put in place. */
function unsavedName(path: string): string {
  for (let k = 0; ; k++) {
    const p = `${path}.unsaved-${stamp()}${k ? `-${k}` : ''}`;
    if (!exists(p)) return p;
  }
}

/** An fs error raised on a temporary path, reworded to name the user's path instead. */
function renamed(op: string, e: unknown, userPath: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string') return new ConfigError(op, `cannot write '${userPath}' (${err.code}${err.code === 'ENOSPC' ? ': no space left on the device' : ''})`);
  return e;
}

// ---- files ----

/**
 * Writes `data` to `path` atomically (temporary sibling, fsync, then link or rename). Without
 * `overwrite` an existing `path` is refused, also one that appears while the data is written: then
 * the data is kept at `PATH.unsaved-STAMP` and the error names it.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, opts: { overwrite?: boolean; op?: string; userPath?: string } = {}): void {
  const op = opts.op ?? 'writeFileAtomic';
  const overwrite = opts.overwrite ?? false;
  const shown = opts.userPath ?? path;
  assertCanWrite(op, path, overwrite, false, shown);
  cleanStaleTemporaries(path);
  const tmp = tempSibling(path, 'part');
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd = -1;
  try {
    // Registered before it exists: a signal's default action (SIGTERM, kill -9) can end the process
    // between any two statements, and the watchdog can only remove what it was told of.
    track(tmp, 'file');
    fd = openSync(tmp, 'wx');
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    if (overwrite) renameSync(tmp, path);
    else {
      try {
        linkSync(tmp, path); // atomic create-if-absent
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') {
          const keep = unsavedName(path);
          renameSync(tmp, keep);
          untrack(tmp);
          throw new ConfigError(op, `'${shown}' appeared while this command ran; it was left as it is and the new result is in '${keep}' (pass --force to replace)`);
        }
        // Filesystems without hard links: exclusive create of the target, then rename over it.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK') throw e;
        closeSync(openSync(path, 'wx'));
        renameSync(tmp, path);
      }
      rmSync(tmp, { force: true });
    }
    untrack(tmp);
  } catch (e) {
    if (fd >= 0) closeSync(fd);
    if (live.has(tmp)) {
      rmSync(tmp, { force: true });
      untrack(tmp);
    }
    throw e instanceof ConfigError ? e : renamed(op, e, shown);
  }
}

// ---- folders ----

/**
 * A results folder written as a unit: files go into a staging folder; `commit()` moves it to `dir`
 * (see the module comment for the rules), `abort()` removes the staging folder and any parent
 * folders it had to create.
 */
export class StagedDir {
  readonly dir: string;
  private readonly overwrite: boolean;
  private readonly op: string;
  private createdParent: string | null = null;
  private stagingPath: string | null = null;
  private done = false;

  constructor(dir: string, opts: { overwrite?: boolean; op?: string } = {}) {
    this.op = opts.op ?? 'StagedDir';
    this.dir = dir;
    this.overwrite = opts.overwrite ?? false;
    assertCanWrite(this.op, dir, this.overwrite, true);
  }

  /**
   * The staging folder, made at the first write, not at construction: a command refused or
   * interrupted before its result exists leaves no temporary, and the CLI's watchdog starts only
   * when there is something to clean.
   */
  get staging(): string {
    if (this.stagingPath === null) {
      if (this.done) throw new ConfigError(this.op, `the staged result for '${this.dir}' was already committed or aborted`);
      this.createdParent = makeParents(this.dir);
      if (this.createdParent !== null) track(this.createdParent, 'dir');
      cleanStaleTemporaries(this.dir);
      const s = tempSibling(this.dir, 'staging');
      track(s, 'dir'); // before it exists (see writeFileAtomic)
      try {
        mkdirSync(s);
      } catch (e) {
        untrack(s);
        throw e;
      }
      this.stagingPath = s;
    }
    return this.stagingPath;
  }

  /** Path of `name` inside the staging directory. */
  path(name: string): string {
    return join(this.staging, name);
  }

  write(name: string, data: Uint8Array | string): void {
    writeFileAtomic(this.path(name), data, { overwrite: true, op: this.op, userPath: join(this.dir, name) });
  }

  commit(): void {
    if (this.done) return;
    void this.staging; // an empty result is still a folder
    if (this.overwrite && exists(this.dir)) {
      const old = tempSibling(this.dir, 'old');
      track(old, 'old', this.dir); // before the rename (see writeFileAtomic)
      try {
        renameSync(this.dir, old);
      } catch (e) {
        untrack(old);
        throw e;
      }
      try {
        renameSync(this.staging, this.dir);
      } catch (e) {
        renameSync(old, this.dir); // put the user's folder back
        untrack(old);
        throw renamed(this.op, e, this.dir);
      }
      rmSync(old, { recursive: true, force: true });
      untrack(old);
    } else {
      // Claim the name atomically, then move the staged folder onto the (still empty) claim.
      let claimed = false;
      try {
        mkdirSync(this.dir);
        claimed = true;
        renameSync(this.staging, this.dir);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST' && code !== 'ENOTEMPTY' && code !== 'ENOTDIR') throw renamed(this.op, e, this.dir);
        if (claimed) {
          try {
            rmdirSync(this.dir); // only if still empty: never anything of someone else's
          } catch {
            /* another writer's files are in it: leave them */
          }
        }
        const keep = unsavedName(this.dir);
        renameSync(this.staging, keep);
        untrack(this.staging);
        this.release();
        throw new ConfigError(this.op, `'${this.dir}' appeared while this command ran; it was left as it is and the new result is in '${keep}' (pass --force to replace)`);
      }
    }
    untrack(this.staging);
    this.release();
  }

  abort(): void {
    if (this.done) return;
    if (this.stagingPath !== null) {
      rmSync(this.stagingPath, { recursive: true, force: true });
      untrack(this.stagingPath);
    }
    if (this.createdParent !== null) rmSync(this.createdParent, { recursive: true, force: true });
    this.release();
  }

  private release(): void {
    if (this.createdParent !== null) untrack(this.createdParent);
    this.done = true;
  }
}

/** A path moved aside while its replacement is made: put it back on failure, remove it on success. */
export interface Aside {
  restore(): void;
  discard(): void;
}

/**
 * Renames `path` to a hidden sibling (`.NAME.old-PID-….tmp`, registered, so a watchdog or the next
 * writer renames it back if this process dies before `discard`). With `--force`, the user's old
 * result is deleted only once the new one is complete.
 */
export function setAside(path: string, op = 'setAside'): Aside {
  const old = tempSibling(path, 'old');
  track(old, 'old', path); // before the rename (see writeFileAtomic)
  try {
    renameSync(path, old);
  } catch (e) {
    untrack(old);
    throw renamed(op, e, path);
  }
  let done = false;
  return {
    restore() {
      if (done) return;
      rmSync(path, { recursive: true, force: true });
      renameSync(old, path);
      untrack(old);
      done = true;
    },
    discard() {
      if (done) return;
      rmSync(old, { recursive: true, force: true });
      untrack(old);
      done = true;
    },
  };
}
