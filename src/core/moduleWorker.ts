/**
 * A worker thread running one of this package's modules: the built `.js` directly, or, from the
 * sources (a development checkout), the `.ts` after registering tsx's loader inside the worker.
 * tsx is resolved from this module, not from the working directory (the worker's eval code resolves from there).
 */
import { Worker } from 'node:worker_threads';

export function spawnModuleWorker(url: URL): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true });
}
