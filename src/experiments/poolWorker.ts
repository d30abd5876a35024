/**
 * A run worker (see pool.ts): builds its own backend from the run configuration, then runs the
 * runs it is sent one at a time, writing their files itself, and reports logged rows, each run's
 * end, or the first error.
 */
import { parentPort } from 'node:worker_threads';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import type { DType } from '../core/matrix.ts';
import { makeBackend } from '../cli/backendChoice.ts';
import { enableCrashCleanup } from '../io/atomic.ts';
import { describeConfig, errorToMessage, executeRun, type PlannedRun, type PoolReply, type PoolRequest, type RunContext, runConfigOf, studyRuns } from './pool.ts';

const port = parentPort!;
let backend: Backend | null = null;
let runs: PlannedRun[] = [];
let ctx: RunContext | null = null;

port.on('message', (m: PoolRequest) => {
  if (m.kind === 'stop') {
    backend?.dispose();
    backend = null;
    port.close();
    return;
  }
  let index = -1;
  try {
    if (m.kind === 'init') {
      ctx = m.ctx;
      // A worker's temporaries are its own module instance's: registered with a watchdog of its own.
      if (m.crashCleanup) enableCrashCleanup();
      runs = studyRuns(m.study);
      backend = makeBackend('run', m.backend, m.dtype as DType, () => {});
      const rc = runConfigOf(backend);
      if (JSON.stringify(rc) !== JSON.stringify(ctx.runConfig)) {
        throw new ConfigError(ctx.op, `a worker's backend is ${describeConfig(rc)}, not the ${describeConfig(ctx.runConfig)} of this invocation; use --workers 1`);
      }
      return;
    }
    index = m.index;
    const run = runs[index]!;
    executeRun(ctx!, run, backend!, (row, totalSteps) => port.postMessage({ kind: 'log', index, row, totalSteps } satisfies PoolReply));
    port.postMessage({ kind: 'done', index } satisfies PoolReply);
  } catch (e) {
    port.postMessage({ kind: 'error', index, error: errorToMessage(e) } satisfies PoolReply);
  }
});
