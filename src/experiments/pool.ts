/**
 * The runs of a study, one (arm, seed) at a time, in this thread or on worker threads, and the files
 * they write in the study folder DIR:
 *
 *   DIR/runs/NNNN.json          a finished run (RunFile): written once, atomically, when it ends
 *   DIR/runs/NNNN.partial.json  the checkpoint of run NNNN while it is in progress (PartialFile),
 *                               rewritten atomically at most every 2 s; removed when NNNN.json exists
 *
 * NNNN is the run's index: arms in the spec's order, then seeds in order. Every file carries the
 * study's hash and the run configuration (backend, dtype, block size, mode) it was computed under.
 * A run is a pure function of (spec, seed, run configuration), so a run file has the same bytes
 * whichever thread, process or machine computed it, and whether or not it was resumed.
 *
 * Workers (poolWorker.ts) each build their own backend from the run configuration, take one run at
 * a time from a queue in index order, write its files themselves (records never travel back to the
 * main thread), and report its logged rows for the progress bar.
 */
import { spawnModuleWorker } from '../core/moduleWorker.ts';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Backend } from '../backend/types.ts';
import * as errors from '../core/errors.ts';
import { ConfigError } from '../core/errors.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { decodeState, encodeState } from '../io/codec.ts';
import { readJsonFile } from '../io/read.ts';
import { StateChecker } from './checkpoint.ts';
import { recordsEmbeddings } from './spec.ts';
import { collectGarbage } from './summary.ts';
import { checkRunRecord, checkRunState, type RunRecord, type RunState, type RunTraceRow, totalSteps, train } from './train.ts';
import type { ExperimentSpec, StudySpec } from './types.ts';

// ---- the training loop (train.ts) ----

export type { RunRecord, RunState, RunTraceRow };

export interface TrainHooks {
  readonly backend: Backend;
  readonly resume?: RunState;
  readonly onLog?: (row: RunTraceRow, totalSteps: number) => void;
  readonly onCheckpoint?: (state: RunState) => void;
  readonly recordEmbeddings?: boolean;
}


export function trainRun(e: ExperimentSpec, seed: number, h: TrainHooks): RunRecord {
  return train(e, seed, h);
}

export function runTotalSteps(e: ExperimentSpec): number {
  return totalSteps(e);
}

// ---- files ----

/**
 * What changes the numbers besides the spec: the backend, its precision, its tile size and (gpu.js)
 * the mode it runs in. A study is resumed or merged only under one run configuration.
 */
export interface RunConfig {
  readonly backend: string;
  readonly dtype: string;
  readonly blockSize: number;
  readonly mode?: string;
}

export function runConfigOf(backend: Backend): RunConfig {
  const mode = backend.info.mode;
  return { backend: backend.name, dtype: backend.dtype, blockSize: backend.blockSize, ...(typeof mode === 'string' ? { mode } : {}) };
}

export const VERSION = 3;

/** runs/NNNN.json */
export interface RunFile {
  readonly version: typeof VERSION;
  readonly studyHash: string;
  readonly runConfig: RunConfig;
  /** The run's index in the study (arms in order, seeds in order). */
  readonly index: number;
  readonly record: RunRecord;
}

/** runs/NNNN.partial.json */
export interface PartialFile {
  readonly version: typeof VERSION;
  readonly studyHash: string;
  readonly runConfig: RunConfig;
  readonly index: number;
  readonly state: RunState;
}

export const runName = (k: number) => `${String(k).padStart(4, '0')}.json`;
export const runFile = (out: string, k: number) => join(out, 'runs', runName(k));
export const partialFile = (out: string, k: number) => join(out, 'runs', `${String(k).padStart(4, '0')}.partial.json`);
/** A finished run's file name (not a partial one): its index, or null. */
export function runIndexOfName(name: string): number | null {
  const m = /^(\d{4,})\.json$/.exec(name);
  return m ? Number(m[1]) : null;
}

export interface PlannedRun {
  readonly index: number;
  readonly e: ExperimentSpec;
  readonly arm: string;
  readonly seed: number;
}

/** Every run of the study in index order (arm-major, then seed). */
export function studyRuns(study: StudySpec): PlannedRun[] {
  return study.experiments.flatMap((e) => e.seeds.map((seed) => ({ e, arm: e.name, seed }))).map((r, index) => ({ index, ...r }));
}

export function describeConfig(c: RunConfig): string {
  return `backend ${c.backend}${c.mode ? ` (mode ${c.mode})` : ''}, dtype ${c.dtype}, blockSize ${c.blockSize}`;
}

/** The header shared by the run files: version, study hash, run configuration. `what` says where it came from (for the other-spec message). */
export function checkHeader(c: StateChecker, o: Record<string, unknown>, studyHash: string, runConfig: RunConfig | null, where: string): RunConfig {
  if (o.version !== VERSION) {
    c.fail('version', `is ${JSON.stringify(o.version)}; this contrastlab writes version ${VERSION} (one checkpoint per run); start the study afresh with --force`);
  }
  if (o.studyHash !== studyHash) {
    throw new ConfigError(c.op, `${c.source} is for another spec (hash ${JSON.stringify(o.studyHash)}, this spec ${studyHash})${where}`);
  }
  const rc = c.obj(o.runConfig, 'runConfig', ['backend', 'dtype', 'blockSize'], ['mode']) as unknown as RunConfig;
  if (runConfig !== null) {
    const diffs = (['backend', 'mode', 'dtype', 'blockSize'] as const).filter((k) => rc[k] !== runConfig[k]);
    if (diffs.length > 0) {
      throw new ConfigError(c.op, `${c.source} was computed with ${describeConfig(rc)}, but this invocation uses ${describeConfig(runConfig)}; `
        + `resume with the same --backend and --dtype (mixing them would mix numbers of different precision)`);
    }
  }
  return { backend: rc.backend, dtype: rc.dtype, blockSize: rc.blockSize, ...(rc.mode !== undefined ? { mode: rc.mode } : {}) };
}

/** Reads and checks runs/NNNN.json of `run`; `runConfig` null accepts any (returned). */
export function readRunFile(op: string, path: string, run: PlannedRun, studyHash: string, runConfig: RunConfig | null, label = '--resume: '): { record: RunRecord; runConfig: RunConfig } {
  const c = new StateChecker(op, `${label}'${path}'`);
  const raw = decodeState(readJsonFile(op, path, { what: 'run record' }));
  const f = c.obj(raw, 'content', [], ['version', 'studyHash', 'runConfig', 'index', 'record']);
  const rc = checkHeader(c, f, studyHash, runConfig, '');
  c.obj(raw, 'content', ['version', 'studyHash', 'runConfig', 'index', 'record']);
  c.eq(f.index, 'index', run.index, 'its file name');
  const record = checkRunRecord(run.e, run.seed, f.record, new StateChecker(op, `${label}'${path}'`, 'record'), recordsEmbeddings(run.e));
  return { record, runConfig: rc };
}

/** Reads and checks runs/NNNN.partial.json of `run`. */
export function readPartialFile(op: string, path: string, run: PlannedRun, studyHash: string, runConfig: RunConfig): RunState {
  const c = new StateChecker(op, `--resume: '${path}'`);
  const raw = decodeState(readJsonFile(op, path, { what: 'checkpoint' }));
  const f = c.obj(raw, 'content', [], ['version', 'studyHash', 'runConfig', 'index', 'state']);
  checkHeader(c, f, studyHash, runConfig, '');
  c.obj(raw, 'content', ['version', 'studyHash', 'runConfig', 'index', 'state']);
  c.eq(f.index, 'index', run.index, 'its file name');
  return checkRunState(run.e, run.seed, f.state, new StateChecker(op, `--resume: '${path}'`, 'state'));
}

/** Checkpoints of a run in progress are written at most this often (default). */
export const CHECKPOINT_INTERVAL_MS = 2000;

export interface RunContext {
  readonly op: string;
  readonly out: string;
  readonly studyHash: string;
  readonly runConfig: RunConfig;
  readonly checkpointIntervalMs: number;
}

/**
 * Runs one run to its end: from its checkpoint when runs/NNNN.partial.json exists (checked), writes
 * checkpoints while it goes, then runs/NNNN.json, then removes the checkpoint.
 */
export function executeRun(ctx: RunContext, run: PlannedRun, backend: Backend, onLog?: (row: RunTraceRow, totalSteps: number) => void): void {
  const partial = partialFile(ctx.out, run.index);
  const resume = existsSync(partial) ? readPartialFile(ctx.op, partial, run, ctx.studyHash, ctx.runConfig) : undefined;
  let last = 0;
  const record = trainRun(run.e, run.seed, {
    backend,
    recordEmbeddings: recordsEmbeddings(run.e),
    ...(resume ? { resume } : {}),
    ...(onLog ? { onLog } : {}),
    onCheckpoint: (state) => {
      const now = Date.now();
      if (now - last < ctx.checkpointIntervalMs) return;
      last = now;
      const f: PartialFile = { version: VERSION, studyHash: ctx.studyHash, runConfig: ctx.runConfig, index: run.index, state };
      writeFileAtomic(partial, JSON.stringify(encodeState(f)), { overwrite: true, op: ctx.op });
    },
  });
  const file: RunFile = { version: VERSION, studyHash: ctx.studyHash, runConfig: ctx.runConfig, index: run.index, record };
  writeFileAtomic(runFile(ctx.out, run.index), JSON.stringify(encodeState(file)), { overwrite: true, op: ctx.op });
  rmSync(partial, { force: true });
  collectGarbage(); // the run's garbage, before the next run grows the heap further
}

// ---- worker threads ----

/** main → worker */
export type PoolRequest =
  | { readonly kind: 'init'; readonly study: StudySpec; readonly ctx: RunContext; readonly dtype: string; readonly backend: string; readonly crashCleanup: boolean }
  | { readonly kind: 'run'; readonly index: number }
  | { readonly kind: 'stop' };

/** worker → main */
export type PoolReply =
  | { readonly kind: 'log'; readonly index: number; readonly row: RunTraceRow; readonly totalSteps: number }
  | { readonly kind: 'done'; readonly index: number }
  | { readonly kind: 'error'; readonly index: number; readonly error: { name: string; op?: string; message: string; stack?: string } };

const workerUrl = () => new URL(`./poolWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

function spawnWorker(siblings: number): Worker {
  return spawnModuleWorker(workerUrl(), { siblings });
}

/** An error from a worker, as the same class (so a ConfigError still exits 2 with its one line). */
export function errorFromWorker(e: { name: string; op?: string; message: string; stack?: string }): Error {
  const Cls = (errors as Record<string, unknown>)[e.name];
  if (typeof Cls === 'function' && Cls.prototype instanceof errors.ContrastlabError && e.op !== undefined) {
    const err = Object.create(Cls.prototype as object) as errors.ContrastlabError;
    Object.defineProperty(err, 'message', { value: e.message, writable: true, configurable: true });
    Object.defineProperty(err, 'op', { value: e.op });
    Object.defineProperty(err, 'name', { value: e.name, writable: true, configurable: true });
    if (e.stack) Object.defineProperty(err, 'stack', { value: e.stack, writable: true, configurable: true });
    return err;
  }
  const err = new Error(e.message);
  if (e.stack) err.stack = e.stack;
  return err;
}

export function errorToMessage(e: unknown): { name: string; op?: string; message: string; stack?: string } {
  if (e instanceof errors.ContrastlabError) return { name: e.name, op: e.op, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  return { name: 'Error', message: String(e) };
}

/**
 * The temporaries (io/atomic.ts) of run and checkpoint files that stopped workers of this process
 * were writing: a worker stopped mid-write cannot remove its own, and this process's crash cleanup
 * does not know them (workers have their own module instances).
 */
function removeWorkerTemporaries(out: string): void {
  const dir = join(out, 'runs');
  const re = new RegExp(`^\\.\\d{4,}(\\.partial)?\\.json\\.part-${process.pid}-\\d+-\\d+\\.tmp$`);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) if (re.test(n)) rmSync(join(dir, n), { force: true });
}

export interface PoolOptions {
  readonly study: StudySpec;
  readonly ctx: RunContext;
  /** The backend by name and dtype (each worker makes its own). */
  readonly backend: string;
  readonly dtype: string;
  readonly workers: number;
  /** The workers register their temporaries with a watchdog (io/atomic.ts enableCrashCleanup), as the CLI's main thread does. */
  readonly crashCleanup?: boolean;
  readonly onLog?: (index: number, row: RunTraceRow, totalSteps: number) => void;
  readonly onDone?: (index: number) => void;
}

/**
 * Runs `todo` (indices, taken in this order) on `workers` threads. Resolves when all are done;
 * rejects at the first error, after stopping every worker (runs in flight keep their checkpoints).
 */
export function runOnWorkers(todo: readonly number[], o: PoolOptions): Promise<void> {
  const queue = [...todo];
  const k = Math.max(1, Math.min(o.workers, queue.length));
  if (queue.length === 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const pool: Worker[] = [];
    let left = queue.length;
    let failed = false;
    const fail = (e: Error) => {
      if (failed) return;
      failed = true;
      void Promise.all(pool.map((w) => w.terminate())).finally(() => {
        removeWorkerTemporaries(o.ctx.out);
        reject(e);
      });
    };
    const next = (w: Worker) => {
      const index = queue.shift();
      if (index === undefined) {
        w.postMessage({ kind: 'stop' } satisfies PoolRequest);
        return;
      }
      w.postMessage({ kind: 'run', index } satisfies PoolRequest);
    };
    for (let i = 0; i < k; i++) {
      const w = spawnWorker(k);
      pool.push(w);
      w.on('message', (m: PoolReply) => {
        if (failed) return;
        try {
          if (m.kind === 'log') o.onLog?.(m.index, m.row, m.totalSteps);
          else if (m.kind === 'done') o.onDone?.(m.index);
        } catch (e) {
          // A progress callback that throws ends the study, as it does in this thread.
          return fail(e instanceof Error ? e : new Error(String(e)));
        }
        if (m.kind === 'log') return;
        if (m.kind === 'done') {
          left--;
          if (left === 0) {
            for (const x of pool) x.postMessage({ kind: 'stop' } satisfies PoolRequest);
            resolve();
          } else next(w);
        } else fail(errorFromWorker(m.error));
      });
      w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
      w.on('exit', (code) => {
        if (!failed && left > 0 && code !== 0) fail(new Error(`a run worker exited with code ${code} before finishing`));
      });
      w.postMessage({ kind: 'init', study: o.study, ctx: o.ctx, backend: o.backend, dtype: o.dtype, crashCleanup: o.crashCleanup === true } satisfies PoolRequest);
      next(w);
    }
  });
}
