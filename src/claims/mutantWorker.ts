/** Worker thread of the kill matrix (mutants.ts): runs one claim with one mutant (or none) per message. */
import { parentPort } from 'node:worker_threads';
import { CLAIMS } from '../../proofs-checks/index.ts';
import { createCpuBackend } from '../backend/cpu/index.ts';
import { withMutantAsync } from '../core/mutants.ts';
import type { MutantTask, MutantTaskResult } from './mutants.ts';
import { isFailure, runClaims } from './run.ts';

const backend = createCpuBackend({ dtype: 'f64' });

parentPort!.on('message', async (task: MutantTask) => {
  const claim = CLAIMS.find((c) => c.id === task.claim);
  let reply: MutantTaskResult;
  if (!claim) {
    reply = { claim: task.claim, mutant: task.mutant, ok: false, error: `no claim '${task.claim}'`, seconds: 0, reached: [], summary: '' };
  } else {
    const { result, reached } = await withMutantAsync(task.mutant, () => runClaims([claim], { size: task.size, seed: task.seed, backend }));
    const r = result[0]!;
    reply = {
      claim: task.claim, mutant: task.mutant, ok: !isFailure(r), seconds: r.seconds, reached: [...reached], summary: r.verdict.summary,
      ...(r.error !== undefined ? { error: r.error } : {}),
    };
  }
  parentPort!.postMessage(reply);
});
