/**
 * The results folder a report is built from, read under one rule: only regular files whose real
 * path is inside the folder's real path are read, each bounded by a cap from READ_CAPS
 * (src/io/read.ts). A link that leaves the folder, a dangling link, a directory, FIFO, socket or
 * device where a file is expected is never opened (checked by path first, then again on the open
 * descriptor by `within`, so a link swapped in between is still refused).
 *  - Required files (final.json, report.json): a refusal is a ConfigError (exit 2) naming the path.
 *  - Optional files (summary.md, spec.json, checkpoint.json, figures, figures/, runs/): skipped, with
 *    the reason kept in `notes` for the page, so one bad entry does not cost the whole report.
 * Every other fs error is a one-line ConfigError naming the path, never a raw Node error.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, ContrastlabError } from '../core/errors.ts';
import { fsReason, isInside, kindOf, parseJsonText, READ_CAPS, readFileBounded } from '../io/read.ts';

export type Json = Record<string, unknown>;

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException | null)?.code;

export class ReportFolder {
  /** Entries skipped, one line each, shown on the page. */
  readonly notes: string[] = [];
  /** The folder's real path: what "inside" means. */
  readonly root: string;

  constructor(readonly op: string, readonly dir: string) {
    this.root = this.fs(dir, () => realpathSync(dir));
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  /** Runs an fs call on `path`; an error that is not already ours becomes a one-line ConfigError naming it. */
  fs<T>(path: string, f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof ContrastlabError) throw e;
      throw new ConfigError(this.op, `'${path}' ${fsReason(e)}`);
    }
  }

  note(line: string): void {
    if (!this.notes.includes(line)) this.notes.push(line);
  }

  /** Whether anything, a dangling link included, is at `rel` (lstat: links are not followed). */
  has(rel: string): boolean {
    try {
      lstatSync(this.path(rel));
      return true;
    } catch (e) {
      if (codeOf(e) === 'ENOENT' || codeOf(e) === 'ENOTDIR') return false;
      throw new ConfigError(this.op, `'${this.path(rel)}' ${fsReason(e)}`);
    }
  }

  lstat(rel: string): Stats {
    const p = this.path(rel);
    return this.fs(p, () => lstatSync(p));
  }

  /**
   * Why `rel` may not be read as a `want` (regular file or folder) inside the folder, or null when
   * it may. Nothing is opened: a device or a file outside the folder is refused by path alone.
   */
  refusal(rel: string, want: 'file' | 'dir' = 'file'): string | null {
    const p = this.path(rel);
    let real: string;
    try {
      real = realpathSync(p);
    } catch (e) {
      if (codeOf(e) !== 'ENOENT' || !this.has(rel) || !this.lstat(rel).isSymbolicLink()) return fsReason(e);
      return `is a dangling link (to '${this.fs(p, () => readlinkSync(p))}')`;
    }
    if (!isInside(this.root, real)) return `is a link to '${real}', outside the folder`;
    const st = this.fs(p, () => statSync(real));
    if (want === 'file' ? !st.isFile() : !st.isDirectory()) return `is ${kindOf(st)}, not ${want === 'file' ? 'a regular file' : 'a folder'}`;
    return null;
  }

  /** The bytes of a required file (at most `cap`); a ConfigError naming it when it may not be read. */
  read(rel: string, cap: number): Buffer {
    const p = this.path(rel);
    const why = this.refusal(rel);
    if (why !== null) throw new ConfigError(this.op, `'${p}' ${why}; not read`);
    return this.fs(p, () => readFileBounded(this.op, p, cap, { what: 'file', within: this.dir }));
  }

  /** The bytes of an optional file, or null (with a note) when it may not be read or is over `cap`. */
  readOptional(rel: string, cap: number): Buffer | null {
    const why = this.refusal(rel);
    if (why !== null) return this.skip(rel, why);
    const p = this.path(rel);
    try {
      return this.fs(p, () => readFileBounded(this.op, p, cap, { what: 'file', within: this.dir }));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return this.skip(rel, e.message.slice(this.op.length + 2).replace(`file '${p}' `, ''));
    }
  }

  private skip(rel: string, why: string): null {
    this.note(`${rel} ${why}; skipped`);
    return null;
  }

  /**
   * A JSON object from `rel` (optional: null when absent or skipped). Refusals of an optional file
   * are notes; what it holds is still checked: malformed JSON is an error, as in a required file.
   */
  json(rel: string, optional: boolean): Json | null {
    if (optional && !this.has(rel)) return null;
    const buf = optional ? this.readOptional(rel, READ_CAPS.json) : this.read(rel, READ_CAPS.json);
    if (buf === null) return null;
    const p = this.path(rel);
    const v = parseJsonText(this.op, buf.toString('utf8'), `'${p}'`);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(this.op, `'${p}' must hold a JSON object`);
    return v as Json;
  }

  /**
   * Names in the folder (`rel` '') or in a subfolder of it, sorted, dot-files left out. A subfolder
   * that is absent gives []; one that is a link leaving the folder (or not a folder) is skipped with a note.
   */
  list(rel = ''): string[] {
    if (rel !== '') {
      if (!this.has(rel)) return [];
      const why = this.refusal(rel, 'dir');
      if (why !== null) return (this.skip(`${rel}/`, why), []);
    }
    const p = this.path(rel);
    return this.fs(p, () => readdirSync(p)).filter((n) => !n.startsWith('.')).sort();
  }

  /** What an entry at the top of the folder is, for the files table; links are shown as links, not followed out. */
  describe(name: string): { label: string; what: string } {
    const st = this.lstat(name);
    if (st.isSymbolicLink()) {
      const target = this.fs(this.path(name), () => readlinkSync(this.path(name)));
      const why = this.refusal(name);
      const state = why === null ? '' : why.startsWith('is a dangling') ? ' (dangling)' : why.includes('outside the folder') ? ' (outside the folder; not read)'
        : why.includes('loop') ? ' (a link loop)' : '';
      return { label: name, what: `link to '${target}'${state}` };
    }
    if (st.isDirectory()) return { label: `${name}/`, what: 'folder' };
    return { label: name, what: st.isFile() ? `${st.size} bytes` : kindOf(st) };
  }

  /** When a file that has been read was last written. */
  mtime(rel: string): Date {
    const p = this.path(rel);
    return this.fs(p, () => statSync(p)).mtime;
  }
}
