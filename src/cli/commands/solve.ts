/** `contrastlab solve`: the exact solver from a seeded random start; writes U.npy, V.npy and the trace. */
import { assertMatricesFit } from '../../core/budget.ts';
import { ConfigError } from '../../core/errors.ts';
import { StagedDir } from '../../io/atomic.ts';
import { matrixToNpy, serializeNpy } from '../../io/npy.ts';
import { traceToCsv, traceToJsonl } from '../../io/trace.ts';
import { solveExact, type TraceRow } from '../../solver/exact.ts';
import { choiceFlag, numberFlag, parseFlags, requireFlag, seedFlag, stringFlag } from '../args.ts';
import { defaultDtype, makeBackend } from '../backendChoice.ts';
import type { CommandIO } from '../io.ts';
import { batchesSummary, OBJECTIVE_FLAG_HELP, OBJECTIVE_FLAG_OPTIONS, objectiveFromFlags } from '../objectiveFlags.ts';
import { progressBar } from '../progress.ts';

export const SOLVE_HELP = `contrastlab solve --n N --d D --out DIR [--objective NAME] [options]

Full-batch gradient descent on the unit spheres for an objective (default the two-sided InfoNCE)
from a seeded random start. Writes DIR/U.npy, DIR/V.npy, DIR/trace.csv, DIR/trace.jsonl and
DIR/summary.json, and prints the summary: objective and its parameters, final loss, Riemannian
gradient norm, and where a known optimum exists (infonce: simplex ETF for d >= N-1, cross-polytope
for N = 2d; minibatch over all batches: ETF for d >= N-1) the gap to its closed-form value and the
distance ||UV^T - G*||_F. sigmoid is solved at fixed t and b (they are not trained).

  --n N                number of pairs (>= 2)
  --d D                dimension (>= 1)
  --objective NAME     infonce (default), infonce-uv, minibatch, gcl-bimodal, gcl-unimodal, sigmoid
${OBJECTIVE_FLAG_HELP}
  --seed S             seed of the random start (default 0)
  --steps K            step budget (default 2000)
  --lr ETA             step size > 0 (default 1)
  --mode projected|reparam   normalise after each step, or normalise inside the forward pass
  --tol T              stop when the Riemannian gradient norm <= T (default 1e-9)
  --dtype f64|f32      kernel precision (default f64; f32 with gpujs)
  --backend NAME       cpu (default), reference, or gpujs[:headlessgl|auto|webasm|cpu]: gpu.js,
                       float32; headlessgl needs an X display (xvfb-run -a); prints the mode it got
  --out DIR            results folder (must not exist unless --force)
  --force              replace DIR if it exists`;

export function solveCommand(argv: string[], io: CommandIO): number {
  const cmd = 'solve';
  const { flags } = parseFlags(cmd, argv, {
    ...OBJECTIVE_FLAG_OPTIONS, n: { type: 'string' }, d: { type: 'string' }, seed: { type: 'string' },
    steps: { type: 'string' }, lr: { type: 'string' }, mode: { type: 'string' }, tol: { type: 'string' },
    dtype: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, backend: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    io.out(SOLVE_HELP);
    return 0;
  }
  if (flags.n === undefined || flags.d === undefined) throw new ConfigError('contrastlab solve', '--n and --d are required');
  const n = numberFlag(cmd, flags, 'n', 0, { int: true, min: 2 });
  const d = numberFlag(cmd, flags, 'd', 0, { int: true, min: 1 });
  const { spec, settings } = objectiveFromFlags(cmd, flags, false);
  const seed = seedFlag(cmd, flags);
  const steps = numberFlag(cmd, flags, 'steps', 2000, { int: true, min: 0 });
  const lr = numberFlag(cmd, flags, 'lr', 1, { gt: 0 });
  const tol = numberFlag(cmd, flags, 'tol', 1e-9, { min: 0 });
  const mode = choiceFlag(cmd, flags, 'mode', ['projected', 'reparam'] as const, 'projected');
  const dtype = choiceFlag(cmd, flags, 'dtype', ['f64', 'f32'] as const, defaultDtype(stringFlag(flags, 'backend')));
  const out = requireFlag(cmd, flags, 'out');
  // U, V, their gradients and the step's copies: about 8 matrices of N x d float64.
  assertMatricesFit('contrastlab solve', `the solver's state for --n ${n} --d ${d}`, n, d, 8, 8);
  const staged = new StagedDir(out, { overwrite: flags.force === true, op: 'contrastlab solve' });
  const backend = makeBackend(cmd, stringFlag(flags, 'backend'), dtype, (l) => io.err(l));
  try {
    const bar = progressBar(io, 'solve', steps);
    const res = solveExact({
      n, d, objective: spec, steps, lr, mode, tol, seed, backend,
      onStep: (r: TraceRow) => bar.update(r.step, `loss ${r.loss.toExponential(6)} |grad| ${r.gradNorm.toExponential(2)}`),
    });
    bar.finish();
    const last = res.trace[res.trace.length - 1]!;
    const summary = {
      command: 'solve', ...settings, ...batchesSummary(spec, n), n, d, seed, lr, mode, dtype, backend: backend.name,
      steps: res.steps, converged: res.converged, collapsed: res.collapsed, loss: last.loss, gradNorm: last.gradNorm,
      ...(res.optimum ? { optimum: res.optimum.kind, optimumValue: res.optimum.value, gap: last.gap, distance: last.distance } : { optimum: null }),
      out,
    };
    staged.write('U.npy', npyBytes(res.U));
    staged.write('V.npy', npyBytes(res.V));
    staged.write('trace.csv', traceToCsv(res.trace));
    staged.write('trace.jsonl', traceToJsonl(res.trace));
    staged.write('summary.json', JSON.stringify(summary, null, 2) + '\n');
    staged.commit();
    if (res.collapsed) io.err(`contrastlab solve: warning: every row collapsed to one point (a stationary point of maximal loss, not a minimum; converged: false); --lr ${lr} is likely too large`);
    io.out(JSON.stringify(summary));
    return 0;
  } finally {
    staged.abort();
    backend.dispose();
  }
}

function npyBytes(m: Parameters<typeof matrixToNpy>[0]): Uint8Array {
  const a = matrixToNpy(m, 'f64');
  return serializeNpy(a.data, a.shape, a.dtype);
}
