/** `contrastlab eval`: value and gradient norm of an objective at user-supplied embeddings (.npy). */
import { join } from 'node:path';
import type { Backend } from '../../backend/types.ts';
import { ConfigError } from '../../core/errors.ts';
import { frobeniusNorm, type Matrix } from '../../core/matrix.ts';
import { StagedDir } from '../../io/atomic.ts';
import { matrixToNpy, serializeNpy } from '../../io/npy.ts';
import { readMatrixFlag } from '../matrixFiles.ts';
import { evaluateObjective, type LossAndGrad, OBJECTIVE_NAMES, sigmoidLossAndGrad } from '../../objectives/index.ts';
import { choiceFlag, parseFlags, requireFlag, stringFlag } from '../args.ts';
import { batchesSummary, OBJECTIVE_FLAG_HELP, OBJECTIVE_FLAG_OPTIONS, objectiveFromFlags } from '../objectiveFlags.ts';
import { defaultDtype, makeBackend } from '../backendChoice.ts';
import type { CommandIO } from '../io.ts';

export const EVAL_HELP = `contrastlab eval --objective <infonce|infonce-uv|minibatch|gcl-bimodal|gcl-unimodal|sigmoid> --u U.npy [options]

Evaluates an objective and its Euclidean gradient at the embeddings in U.npy (and V.npy), rows used
as given (not normalised), and prints one JSON object: objective, n, d, its parameters (tau; or t
and b for sigmoid), value, gradNorm (Frobenius norm of the gradient over U and V together), for
sigmoid also gradT and gradB (the derivatives in t and b), and the settings used.

  --u FILE             N x d float32/float64 .npy (C order)
  --v FILE             N x d .npy; omitted means V = U
${OBJECTIVE_FLAG_HELP}
  --dtype f64|f32      kernel precision (default f64; f32 with gpujs)
  --backend NAME       cpu (default), reference, or gpujs[:headlessgl|auto|webasm|cpu]: gpu.js,
                       float32; headlessgl needs an X display (xvfb-run -a); prints the mode it got
  --grad-out DIR       write gradU.npy and gradV.npy (float64) into DIR (a new folder)
  --force              replace DIR if it exists`;

export function evalCommand(argv: string[], io: CommandIO): number {
  const cmd = 'eval';
  const { flags } = parseFlags(cmd, argv, {
    ...OBJECTIVE_FLAG_OPTIONS, u: { type: 'string' }, v: { type: 'string' }, dtype: { type: 'string' }, 'grad-out': { type: 'string' },
    force: { type: 'boolean' }, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    io.out(EVAL_HELP);
    return 0;
  }
  if (flags.objective === undefined) throw new ConfigError('contrastlab eval', `--objective is required (one of ${OBJECTIVE_NAMES.join(', ')})`);
  const uPath = requireFlag(cmd, flags, 'u');
  const dtype = choiceFlag(cmd, flags, 'dtype', ['f64', 'f32'] as const, defaultDtype(stringFlag(flags, 'backend')));
  const gradOut = stringFlag(flags, 'grad-out');
  const { spec, settings } = objectiveFromFlags(cmd, flags, true);
  // Refuse an existing output before any work is done.
  const staged = gradOut !== undefined ? new StagedDir(gradOut, { overwrite: flags.force === true, op: 'contrastlab eval' }) : null;
  let backend: Backend | null = null;
  try {
    const U = readMatrixFlag(cmd, uPath, 'u');
    const vPath = stringFlag(flags, 'v');
    const V = vPath !== undefined ? readMatrixFlag(cmd, vPath, 'v') : U;
    backend = makeBackend(cmd, stringFlag(flags, 'backend'), dtype, (l) => io.err(l));
    let r: LossAndGrad;
    let extra: Record<string, unknown> = {};
    if (spec.name === 'sigmoid') {
      const s = sigmoidLossAndGrad(U, V, { t: spec.t, b: spec.b, backend, grad: true });
      r = s;
      extra = { gradT: s.gradT, gradB: s.gradB };
    } else {
      r = evaluateObjective(spec, U, V, { backend, grad: true });
    }
    const { objective, ...params } = settings;
    const result: Record<string, unknown> = {
      objective, n: U.rows, d: U.cols, ...params, ...batchesSummary(spec, U.rows),
      dtype, backend: backend.name, value: r.value, gradNorm: frobeniusNorm(r.gradU!, r.gradV!), ...extra,
    };
    if (staged) {
      staged.write('gradU.npy', serializeNpyMatrix(r.gradU!));
      staged.write('gradV.npy', serializeNpyMatrix(r.gradV!));
      staged.commit();
      result.gradOut = { gradU: join(gradOut!, 'gradU.npy'), gradV: join(gradOut!, 'gradV.npy') };
    }
    io.out(JSON.stringify(result));
    return 0;
  } finally {
    staged?.abort();
    backend?.dispose();
  }
}

function serializeNpyMatrix(m: Matrix): Uint8Array {
  const a = matrixToNpy(m, 'f64');
  return serializeNpy(a.data, a.shape, a.dtype);
}
