/**
 * The objective passes of `diagnose` on worker threads (diagnoseWorker.ts): U and V are shared with
 * the workers once (SharedArrayBuffer), every pass is assigned up front (round-robin by cost, so a
 * busy calling thread does not hold the workers up; one promise per pass, so the caller can go on as
 * soon as the pass it needs is done), and each worker runs its passes with its own CPU
 * backend of the same dtype. A pass is a pure function of its inputs, so the results are the same bits
 * as on the calling thread, for any number of threads.
 */
import { spawnModuleWorker } from '../core/moduleWorker.ts';
import { Worker } from 'node:worker_threads';
import type { DType, Matrix64 } from '../core/matrix.ts';
import type { LsePasses, PassName } from './diagnosePasses.ts';

export interface PassTask {
  readonly names: PassName[];
  readonly U: Float64Array;
  readonly V: Float64Array;
  readonly n: number;
  readonly d: number;
  readonly tau: number;
  readonly eps0: number;
  readonly dtype: DType;
  readonly lse: LsePasses | null;
}

export type PassReply = { readonly name: PassName; readonly arrays: Float64Array[] } | { readonly error: string };

const workerUrl = () => new URL(`./diagnoseWorker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

function spawn(siblings: number): Worker {
  return spawnModuleWorker(workerUrl(), { siblings });
}

function shared(m: Matrix64): Float64Array {
  const a = new Float64Array(new SharedArrayBuffer(m.rows * m.cols * 8));
  a.set(m.data.subarray(0, m.rows * m.cols));
  return a;
}

/**
 * Starts the passes on `threads` workers (assigned round-robin in the given order) and returns one
 * promise per pass; the workers end when their passes are done (or at the first error, which
 * rejects every pass of that worker still pending).
 */
export function runPassesOnWorkers(
  names: PassName[], U: Matrix64, V: Matrix64,
  o: { tau: number; eps0: number; dtype: DType; lse: LsePasses | null; threads: number; onDone?: (name: PassName) => void },
): Map<PassName, Promise<Float64Array[]>> {
  const su = shared(U);
  const sv = shared(V);
  const queues: PassName[][] = Array.from({ length: o.threads }, () => []);
  names.forEach((name, i) => queues[i % o.threads]!.push(name));
  const out = new Map<PassName, Promise<Float64Array[]>>();
  for (const q of queues.filter((x) => x.length > 0)) {
    const settle = new Map<PassName, { resolve: (a: Float64Array[]) => void; reject: (e: Error) => void }>();
    for (const name of q) out.set(name, new Promise((resolve, reject) => settle.set(name, { resolve, reject })));
    const w = spawn(o.threads);
    const fail = (e: Error) => {
      void w.terminate();
      for (const s of settle.values()) s.reject(e);
      settle.clear();
    };
    w.on('message', (r: PassReply) => {
      if ('error' in r) return fail(new Error(`diagnose worker: ${r.error}`));
      o.onDone?.(r.name);
      settle.get(r.name)?.resolve(r.arrays);
      settle.delete(r.name);
      if (settle.size === 0) void w.terminate();
    });
    w.on('error', fail);
    w.on('exit', (code) => {
      if (settle.size > 0) fail(new Error(`diagnose worker exited with code ${code} before finishing`));
    });
    const task: PassTask = { names: q, U: su, V: sv, n: U.rows, d: U.cols, tau: o.tau, eps0: o.eps0, dtype: o.dtype, lse: o.lse };
    w.postMessage(task);
  }
  // A rejection nobody awaits yet must not end the process: the caller awaits every pass.
  for (const pr of out.values()) pr.catch(() => {});
  return out;
}
