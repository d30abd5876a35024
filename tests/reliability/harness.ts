/**
 * Helpers of the reliability suite: the real CLI as a subprocess (real exit codes, stderr and
 * signals), fresh temporary folders, snapshots of what the user had, temporary-file leftovers, and
 * the checks every bad-input case must pass. Every check returns a list of problems (each prefixed
 * with the case's name) instead of throwing, so one test can replay many cases and report them all.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, realpathSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
/** The spawned entry: bin/contrastlab.mjs on the TypeScript sources. */
export const ENTRY = join(ROOT, 'tests', 'reliability', 'entry.ts');
/** tsx's loader, by absolute URL (the child's cwd is a temporary folder). */
export const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** How many CLI processes a group of cases runs at once. */
export const CONCURRENCY = Math.max(2, Math.min(4, availableParallelism() + 1));

export interface CliResult {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The spawn timeout hit: the process was killed with SIGKILL. */
  readonly timedOut: boolean;
  readonly ms: number;
  readonly pid: number;
}

export interface CliOptions {
  readonly cwd: string;
  /** Added to the environment (CONTRASTLAB_MEMORY_BUDGET is not inherited unless given here). */
  readonly env?: Record<string, string>;
  /** Kill with SIGKILL after this long and report `timedOut` (default 60 s). */
  readonly timeoutMs?: number;
}

export interface Started {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
  /** Resolves once the entry has loaded every module and is about to call main() (polls a marker file). */
  ready(timeoutMs?: number): Promise<void>;
}

const markers = mkdtempSync(join(tmpdir(), 'contrastlab-rel-ready-'));
let markerCount = 0;

/** Starts `contrastlab ARGS` as `node --import tsx tests/reliability/entry.ts ARGS` in `cwd`. */
export function startCli(args: readonly string[], opts: CliOptions): Started {
  const marker = join(markers, `ready-${process.pid}-${markerCount++}`);
  const env: Record<string, string | undefined> = { ...process.env, CONTRASTLAB_TEST_READY: marker };
  delete env.CONTRASTLAB_MEMORY_BUDGET;
  delete env.NODE_OPTIONS;
  Object.assign(env, opts.env ?? {});
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', TSX, ENTRY, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  child.stdout!.on('error', () => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 300_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ args, code, signal, stdout, stderr, timedOut, ms: performance.now() - t0, pid: child.pid ?? -1 });
    });
  });
  let exited = false;
  void done.then(() => { exited = true; }, () => { exited = true; });
  const ready = async (timeoutMs = 300_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!existsSync(marker)) {
      if (exited) throw new Error(`contrastlab ${args.join(' ')} exited before it was ready`);
      if (Date.now() > until) throw new Error(`contrastlab ${args.join(' ')} not ready after ${timeoutMs} ms`);
      await sleep(20);
    }
  };
  return { child, done, ready };
}

export function runCli(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  return startCli(args, opts).done;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * CPU seconds (user + system) a process has used, from /proc/PID/stat (clock ticks of 1/100 s);
 * null once it has gone. Waiting for CPU time, not wall time, times a race independently of load.
 */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime: fields 14 and 15
  } catch {
    return null;
  }
}

/** Polls `cond` every `everyMs` (default 20 ms); false when `timeoutMs` passed first. */
export async function waitFor(cond: () => boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await sleep(everyMs);
  }
  return true;
}

/** Removes the folder of ready markers (call once, after the last test). */
export function cleanupMarkers(): void {
  rmSync(markers, { recursive: true, force: true });
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the order of the results. */
export async function pool<T, R>(items: readonly T[], fn: (x: T, i: number) => Promise<R>, limit = CONCURRENCY): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A fresh, empty temporary folder (its real path). */
export function freshDir(tag = 'case'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), `contrastlab-rel-${tag}-`)));
}

// ---- what the user had: snapshots ----

const HASH_WHOLE_BELOW = 64 * 2 ** 20;

function fileDigest(path: string, size: number): string {
  const h = createHash('sha256');
  if (size <= HASH_WHOLE_BELOW) return h.update(readFileSync(path)).digest('hex');
  // Huge (sparse) files: the first and last MiB.
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(2 ** 20);
    for (const pos of [0, size - buf.length]) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return `head+tail ${h.digest('hex')}`;
}

/**
 * Every entry under `dir` (links and special files by lstat, never followed or opened): relative
 * path → kind, size and sha256. `exclude(rel)` leaves out a path and everything under it.
 */
export function snapshot(dir: string, exclude: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (exclude(rel)) continue;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out.set(rel, `link -> ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, 'dir');
        walk(p);
      } else if (st.isFile()) out.set(rel, `file ${st.size} ${fileDigest(p, st.size)}`);
      else out.set(rel, st.isFIFO() ? 'fifo' : 'special');
    }
  };
  walk(dir);
  return out;
}

/** What changed between two snapshots: added, removed and changed paths. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const d: string[] = [];
  for (const [k, v] of before) {
    if (!after.has(k)) d.push(`removed ${k}`);
    else if (after.get(k) !== v) d.push(`changed ${k} (${v} -> ${after.get(k)})`);
  }
  for (const k of after.keys()) if (!before.has(k)) d.push(`added ${k}`);
  return d;
}

/** The exclusion predicate for expected outputs: these paths and everything under them. */
export function outputs(...paths: string[]): (rel: string) => boolean {
  return (rel) => paths.some((p) => rel === p || rel.startsWith(`${p}/`));
}

// ---- leftovers ----

/**
 * Leftovers once the CLI's watchdog has had its turn: a process ended by a signal leaves its
 * temporaries to a detached watchdog that polls every 100 ms, so they go within moments, not at
 * the instant of death. Polls for up to `ms`.
 */
export async function leftoversAfter(dir: string, ms = 120_000): Promise<string[]> {
  const until = Date.now() + ms;
  let left = leftovers(dir);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = leftovers(dir);
  }
  return left;
}

export const TEMP_RE = /\.(staging|part|old)-.*\.tmp$/;

/** Temporary files or folders of the atomic writers left anywhere under `dir` (links not followed). */
export function leftovers(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      if (TEMP_RE.test(name)) found.push(relative(dir, p));
      let st;
      try {
        st = lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return found.sort();
}

// ---- the checks of a bad-input case ----

/** Longest stderr line accepted as "one line naming the problem". */
export const MAX_LINE = 2000;

export function show(r: CliResult): string {
  const s = r.stderr.length > 400 ? `${r.stderr.slice(0, 400)}…(${r.stderr.length} chars)` : r.stderr;
  return `exit ${r.code}${r.signal ? ` signal ${r.signal}` : ''}${r.timedOut ? ' (TIMED OUT, killed)' : ''} after ${(r.ms / 1000).toFixed(1)} s, stderr ${JSON.stringify(s)}`;
}

/** Stack-trace lines (`    at f (file:1:2)`). */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s+at /.test(l));
}

/** Problems with `stderr` as "exactly one line naming the problem, no stack trace". */
export function oneLineProblems(r: CliResult, mentions: readonly (string | RegExp)[] = []): string[] {
  const p: string[] = [];
  const lines = r.stderr.replace(/\n$/, '').split('\n');
  if (r.stderr.trim() === '') p.push('stderr is empty');
  else if (lines.length !== 1) p.push(`stderr has ${lines.length} lines, not 1`);
  if (stackLines(r.stderr).length > 0) p.push('stderr holds a stack trace');
  if (lines.some((l) => l.length > MAX_LINE)) p.push(`a stderr line is over ${MAX_LINE} characters`);
  for (const m of mentions) {
    const ok = typeof m === 'string' ? r.stderr.includes(m) : m.test(r.stderr);
    if (!ok) p.push(`stderr does not name ${typeof m === 'string' ? `'${m}'` : m}`);
  }
  return p;
}

export interface BadInputCheck {
  /** Strings or patterns stderr must contain (the user's path, the flag, the cause). */
  readonly mentions?: readonly (string | RegExp)[];
  /** The case folder, checked for changes (against `before`) and for temporary leftovers. */
  readonly dir?: string;
  readonly before?: Map<string, string>;
  /** Paths (relative to `dir`) the case may create. */
  readonly expectedOutputs?: readonly string[];
}

/**
 * Every bad-input rule: exit 2, not timed out, exactly one stderr line naming the problem, no stack
 * trace, nothing of the user's changed, no temporary leftovers. Returns problems prefixed by `name`.
 */
export function badInputProblems(name: string, r: CliResult, check: BadInputCheck = {}): string[] {
  const p: string[] = [];
  if (r.timedOut) p.push('did not finish (hang)');
  if (r.code !== 2) p.push(`exit code ${r.code}${r.signal ? ` (signal ${r.signal})` : ''}, expected 2`);
  p.push(...oneLineProblems(r, check.mentions));
  if (check.dir) {
    if (check.before) {
      const after = snapshot(check.dir, outputs(...(check.expectedOutputs ?? [])));
      const diff = snapshotDiff(check.before, after);
      if (diff.length) p.push(`the folder changed: ${diff.join('; ')}`);
    }
    const left = leftovers(check.dir);
    if (left.length) p.push(`temporaries left: ${left.join(', ')}`);
  }
  return p.length ? [`[${name}] ${p.join('; ')} — observed: ${show(r)}`] : [];
}

/** Formats the problems of a group of cases for an assertion message. */
export function report(problems: readonly string[]): string {
  return problems.length ? `${problems.length} case(s) failed:\n${problems.join('\n')}` : 'all cases passed';
}
