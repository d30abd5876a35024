/**
 * Worker threads that run the CPU backend's kernels on the backend's shared WebAssembly memory.
 *
 * `run(fn, args)` calls the exported kernel `fn(...args, tid, K)` on the calling thread (tid 0) and
 * on K − 1 workers (tid 1 … K − 1) at once, and returns when all have finished: the kernels stay
 * synchronous. Each kernel splits its work by tid and fixes the order of every reduction that
 * crosses threads (see assembly/pair.ts, the wavefront), so the result does not depend on K.
 *
 * Hand-off through a SharedArrayBuffer: the caller writes the call (kernel index, arguments), bumps
 * a generation counter and notifies; each worker runs its part, adds 1 to a done counter and
 * notifies; the caller waits (Atomics.wait, allowed on Node's main thread) for K − 1.
 * The workers start on the first parallel call, are unref'd (they never keep the process alive),
 * and end with the backend's dispose() or when the backend is garbage collected.
 */
import { Worker } from 'node:worker_threads';
import type { WasmMemory } from './wasm/module.ts';

/** The worker: a CommonJS script run with `eval`, so it needs no loader (works from sources and dist). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl, argBuf, tid, names } = workerData;
const c = new Int32Array(ctl);
const a = new Float64Array(argBuf);
let ex = null;
try {
  ex = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm abort'); } } }).exports;
} catch (e) {
  ex = null; // every call then reports a failure instead of leaving the caller waiting
}
let gen = 0;
for (;;) {
  Atomics.wait(c, 0, gen);
  gen = Atomics.load(c, 0);
  const f = c[3];
  if (f < 0) break;
  const K = c[5];
  if (tid < K) {
    try {
      if (ex === null) throw new Error('no instance');
      const args = Array.from(a.subarray(0, c[4]));
      ex[names[f]](...args, tid, K);
    } catch (e) {
      Atomics.store(c, 2, 1);
      const abort = c[6];
      if (abort > 0) Atomics.store(new Int32Array(memory.buffer), abort >> 2, 1);
    }
  }
  Atomics.add(c, 1, 1);
  Atomics.notify(c, 1);
}
`;

// Control words: 0 generation, 1 done count, 2 error flag, 3 kernel index (−1: exit),
// 4 argument count, 5 K of this call, 6 byte address of the call's abort flag in wasm memory.
const CTL_WORDS = 8;
const MAX_ARGS = 64;

export interface KernelThreads {
  /** Threads a call can use (the calling thread included). */
  readonly count: number;
  /**
   * Runs `fn(...args, tid, k)` for tid = 0 … k − 1 (0 here, the rest on workers); returns when all
   * are done. `abortAddr` is the byte address of an i32 the kernels poll while they wait; a worker
   * that fails sets it, so that no thread waits for it forever.
   */
  run(fn: string, args: number[], k: number, abortAddr: number): void;
  dispose(): void;
}

interface Shared {
  workers: Worker[];
  ctl: Int32Array;
}

/** Terminates the workers of a backend that was collected without dispose(). */
const finalizer = new FinalizationRegistry<Shared>((s) => stop(s));

function stop(s: Shared): void {
  if (s.workers.length === 0) return;
  Atomics.store(s.ctl, 3, -1);
  Atomics.add(s.ctl, 0, 1);
  Atomics.notify(s.ctl, 0);
  for (const w of s.workers) void w.terminate();
  s.workers = [];
}

export function createKernelThreads(
  owner: object,
  count: number,
  module: object,
  memory: WasmMemory,
  call: (fn: string, args: number[], tid: number, k: number) => void,
): KernelThreads {
  const ctlBuf = new SharedArrayBuffer(CTL_WORDS * 4);
  const argBuf = new SharedArrayBuffer(MAX_ARGS * 8);
  const ctl = new Int32Array(ctlBuf);
  const argv = new Float64Array(argBuf);
  const names: string[] = [];
  const index = new Map<string, number>();
  const shared: Shared = { workers: [], ctl };
  let started = false;
  let disposed = false;

  // Names are fixed before the workers start (they receive the list once).
  const KERNELS = ['gemmPanel64', 'gemmPanel32', 'pairLse64', 'pairLse32', 'pairGrad64', 'pairGrad32'];
  for (const k of KERNELS) {
    index.set(k, names.length);
    names.push(k);
  }

  function start(): void {
    started = true;
    for (let tid = 1; tid < count; tid++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctl: ctlBuf, argBuf, tid, names } });
      w.unref();
      w.on('error', () => Atomics.store(ctl, 2, 1));
      shared.workers.push(w);
    }
    finalizer.register(owner, shared, shared);
  }

  return {
    count,
    run(fn, args, k, abortAddr) {
      const K = Math.max(1, Math.min(k, count));
      if (K === 1 || disposed) {
        call(fn, args, 0, 1);
        return;
      }
      const f = index.get(fn);
      if (f === undefined) throw new Error(`kernel threads: ${fn} is not a threaded kernel`);
      if (args.length > MAX_ARGS) throw new Error(`kernel threads: ${args.length} arguments, at most ${MAX_ARGS}`);
      if (!started) start();
      argv.set(args);
      Atomics.store(ctl, 1, 0);
      Atomics.store(ctl, 2, 0);
      Atomics.store(ctl, 3, f);
      Atomics.store(ctl, 4, args.length);
      Atomics.store(ctl, 5, K);
      Atomics.store(ctl, 6, abortAddr);
      Atomics.add(ctl, 0, 1);
      Atomics.notify(ctl, 0);
      let failure: unknown = null;
      try {
        call(fn, args, 0, K);
      } catch (e) {
        failure = e;
        if (abortAddr > 0) Atomics.store(new Int32Array(memory.buffer), abortAddr >> 2, 1);
      }
      // Every worker answers (those with tid ≥ K at once); wait for all count − 1 of them.
      for (;;) {
        const d = Atomics.load(ctl, 1);
        if (d >= count - 1) break;
        Atomics.wait(ctl, 1, d, 1000);
      }
      if (failure !== null) throw failure;
      if (Atomics.load(ctl, 2) !== 0) throw new Error(`cpu backend: a kernel thread failed in ${fn}`);
    },
    dispose() {
      disposed = true;
      finalizer.unregister(shared);
      stop(shared);
    },
  };
}
