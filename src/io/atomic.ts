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
 * - Every temporary path is registered while it exists; SIGINT, SIGTERM and SIGHUP remove them
 *   before the process ends with the signal's status. After `kill -9`, the next writer of the same
 *   target removes the temporaries of processes that no longer run (an `.old` aside whose target
 *   is missing is renamed back instead).
 */
import { closeSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';

// ---- temporaries: registry, signal cleanup, stale cleanup ----

const live = new Map<string, 'file' | 'dir'>();
let handlersOn = false;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onSignal(sig: NodeJS.Signals): void {
  removeTemporaries();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  handlersOn = false;
  if (removal !== null) clearImmediate(removal);
  removal = null;
  process.kill(process.pid, sig); // default action: the status a shell expects (130 for SIGINT)
}

/** Removes every temporary this process has created and not yet committed or removed. */
export function removeTemporaries(): void {
  for (const [p] of live) {
    try {
      rmSync(p, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  }
  live.clear();
}

function track(path: string, kind: 'file' | 'dir'): void {
  live.set(path, kind);
  if (removal !== null) {
    clearImmediate(removal);
    removal = null;
  }
  if (!handlersOn) {
    for (const s of SIGNALS) process.on(s, onSignal);
    handlersOn = true;
  }
}

/**
 * Handlers are removed on the next turn of the event loop, not at once: a signal that arrived
 * while a temporary existed is queued for that turn, and removing the listener first would drop it
 * (the process would then run on after Ctrl-C). Long loops that write files therefore yield to the
 * event loop after their writes (see experiments/study.ts).
 */
let removal: NodeJS.Immediate | null = null;
function untrack(path: string): void {
  live.delete(path);
  if (live.size === 0 && handlersOn && removal === null) {
    removal = setImmediate(() => {
      removal = null;
      if (live.size > 0 || !handlersOn) return;
      for (const s of SIGNALS) process.removeListener(s, onSignal);
      handlersOn = false;
    });
    removal.unref();
  }
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
    fd = openSync(tmp, 'wx');
    track(tmp, 'file');
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
   * The staging folder, made at the first write (not at construction: while no temporary exists no
   * signal handler is installed, so Ctrl-C stops a long computation at once).
   */
  get staging(): string {
    if (this.stagingPath === null) {
      if (this.done) throw new ConfigError(this.op, `the staged result for '${this.dir}' was already committed or aborted`);
      this.createdParent = makeParents(this.dir);
      if (this.createdParent !== null) track(this.createdParent, 'dir');
      cleanStaleTemporaries(this.dir);
      const s = tempSibling(this.dir, 'staging');
      mkdirSync(s);
      track(s, 'dir');
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
      renameSync(this.dir, old);
      track(old, 'dir');
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
