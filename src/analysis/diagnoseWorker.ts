/** Worker thread of `diagnose` (diagnoseWorkers.ts): runs its list of objective passes, replying after each. */
import { parentPort } from 'node:worker_threads';
import { createCpuBackend } from '../backend/cpu/index.ts';
import { matrix } from '../core/matrix.ts';
import { gradPass, lsePass } from './diagnosePasses.ts';
import type { PassReply, PassTask } from './diagnoseWorkers.ts';

parentPort!.on('message', (t: PassTask) => {
  const backend = createCpuBackend({ dtype: t.dtype });
  try {
    const U = matrix(t.U, t.n, t.d);
    const V = matrix(t.V, t.n, t.d);
    for (const name of t.names) {
      const arrays = name.startsWith('lse') ? lsePass(name as 'lse-uv', U, V, t.tau, backend) : gradPass(name as 'grad-infonce', U, V, t.tau, t.eps0, t.lse!, backend);
      const reply: PassReply = { name, arrays };
      parentPort!.postMessage(reply, arrays.map((a) => a.buffer as ArrayBuffer));
    }
  } catch (e) {
    const reply: PassReply = { error: (e as Error).message };
    parentPort!.postMessage(reply);
  } finally {
    backend.dispose();
  }
});
