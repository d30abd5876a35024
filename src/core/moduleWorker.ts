/**
 * A worker thread running one of this package's modules: the built `.js` directly, or, from the
 * sources (a development checkout), the `.ts` after registering tsx's loader inside the worker.
 * tsx is resolved from this module, not from the working directory (the worker's eval code resolves from there).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/**
 * `siblings`: how many such workers run at once. Each one's CPU backends then default to
 * max(1, ⌊cores / siblings⌋) kernel threads (CONTRASTLAB_THREADS in the worker's environment), so
 * K workers with their own kernel threads do not oversubscribe the cores. A CONTRASTLAB_THREADS
 * the user set is kept.
 */
export function spawnModuleWorker(url: URL, opts: { siblings?: number } = {}): Worker {
  const env = { ...process.env };
  if (opts.siblings !== undefined && (env.CONTRASTLAB_THREADS ?? '') === '') {
    env.CONTRASTLAB_THREADS = String(Math.max(1, Math.floor(availableParallelism() / Math.max(1, opts.siblings))));
  }
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { env });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, env });
}
