/** `contrastlab eval`: value and gradient norm of an objective at user-supplied embeddings (.npy). */
import { join } from 'node:path';
import type { Backend } from '../../backend/types.ts';
import { ConfigError, ShapeError } from '../../core/errors.ts';
import { assertFiniteMatrix, assertNonEmpty } from '../../core/validate.ts';
import { frobeniusNorm, type Matrix } from '../../core/matrix.ts';
import { StagedDir } from '../../io/atomic.ts';
import { matrixToNpy, npyToMatrix, readNpyFileSync, serializeNpy } from '../../io/npy.ts';
import { readJsonFile } from '../../io/read.ts';
import { type BatchSet, evaluateObjective, OBJECTIVE_NAMES, type ObjectiveSpec } from '../../objectives/index.ts';
import { choiceFlag, numberFlag, parseFlags, requireFlag, stringFlag } from '../args.ts';
import { defaultDtype, makeBackend } from '../backendChoice.ts';
import type { CommandIO } from '../io.ts';

export const EVAL_HELP = `contrastlab eval --objective <infonce|infonce-uv|minibatch|gcl-bimodal|gcl-unimodal> --u U.npy [options]

Evaluates an objective and its Euclidean gradient at the embeddings in U.npy (and V.npy), rows used
as given (not normalised), and prints one JSON object: objective, n, d, tau, value, gradNorm
(Frobenius norm of the gradient over U and V together), and the settings used.

  --u FILE             N x d float32/float64 .npy (C order)
  --v FILE             N x d .npy; omitted means V = U
  --tau T              temperature > 0 (default 1)
  --eps0 E             gcl-*: epsilon_0 >= 0 inside the log (default 0)
  --batches FILE       minibatch: JSON array of batches, each an array of 0-based row indices
  --all-batches B      minibatch: all C(N,B) batches of size B (enumerated lazily)
  --max-batches K      cap on C(N,B) (default 1000000)
  --dtype f64|f32      kernel precision (default f64; f32 with gpujs)
  --backend NAME       cpu (default), reference, or gpujs[:headlessgl|auto|webasm|cpu]: gpu.js,
                       float32; headlessgl needs an X display (xvfb-run -a); prints the mode it got
  --grad-out DIR       write gradU.npy and gradV.npy (float64) into DIR (a new folder)
  --force              replace DIR if it exists`;

/**
 * A bounded read of a regular .npy file (see io/read.ts), checked as embeddings here so that every
 * error names the flag and the path: a 2-D array, at least one row, finite entries.
 */
function readMatrix(path: string, flag: string): Matrix {
  const op = `contrastlab eval: --${flag} file '${path}'`;
  const arr = readNpyFileSync(path, { what: `--${flag} file` });
  let m: Matrix;
  try {
    m = npyToMatrix(arr);
  } catch (e) {
    throw new ShapeError(op, (e as Error).message.replace(/^npyToMatrix: /, '').replace(/, or pass \{ allow1d: true \}.*$/, ' (N rows x d columns)'));
  }
  assertNonEmpty(op, flag.toUpperCase(), m);
  assertFiniteMatrix(op, flag.toUpperCase(), m);
  return m;
}

function readBatches(path: string): number[][] {
  const op = 'contrastlab eval';
  const parsed = readJsonFile(op, path, { what: '--batches file' });
  if (!Array.isArray(parsed) || !parsed.every((b) => Array.isArray(b) && b.every((i) => typeof i === 'number'))) {
    throw new ConfigError(op, `--batches file '${path}' must hold a JSON array of arrays of row indices`);
  }
  return parsed as number[][];
}

export function evalCommand(argv: string[], io: CommandIO): number {
  const cmd = 'eval';
  const { flags } = parseFlags(cmd, argv, {
    objective: { type: 'string' }, u: { type: 'string' }, v: { type: 'string' }, tau: { type: 'string' },
    eps0: { type: 'string' }, batches: { type: 'string' }, 'all-batches': { type: 'string' },
    'max-batches': { type: 'string' }, dtype: { type: 'string' }, 'grad-out': { type: 'string' },
    force: { type: 'boolean' }, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    io.out(EVAL_HELP);
    return 0;
  }
  const objective = choiceFlag(cmd, flags, 'objective', OBJECTIVE_NAMES, 'infonce');
  if (flags.objective === undefined) throw new ConfigError('contrastlab eval', `--objective is required (one of ${OBJECTIVE_NAMES.join(', ')})`);
  const uPath = requireFlag(cmd, flags, 'u');
  const tau = numberFlag(cmd, flags, 'tau', 1, { gt: 0 });
  const eps0 = numberFlag(cmd, flags, 'eps0', undefined, { min: 0 });
  const dtype = choiceFlag(cmd, flags, 'dtype', ['f64', 'f32'] as const, defaultDtype(stringFlag(flags, 'backend')));
  const maxBatches = numberFlag(cmd, flags, 'max-batches', 1_000_000, { int: true, min: 1 });
  const gradOut = stringFlag(flags, 'grad-out');
  const batchesPath = stringFlag(flags, 'batches');
  const allB = numberFlag(cmd, flags, 'all-batches', undefined, { int: true, min: 2 });
  if (objective === 'minibatch' && (batchesPath === undefined) === (allB === undefined)) {
    throw new ConfigError('contrastlab eval', 'minibatch needs exactly one of --batches FILE or --all-batches B');
  }
  if (objective !== 'minibatch' && (batchesPath !== undefined || allB !== undefined)) {
    throw new ConfigError('contrastlab eval', `--batches/--all-batches apply to --objective minibatch only, not '${objective}'`);
  }
  if (eps0 !== undefined && !objective.startsWith('gcl')) {
    throw new ConfigError('contrastlab eval', `--eps0 applies to the gcl objectives only, not '${objective}'`);
  }
  // Refuse an existing output before any work is done.
  const staged = gradOut !== undefined ? new StagedDir(gradOut, { overwrite: flags.force === true, op: 'contrastlab eval' }) : null;
  let backend: Backend | null = null;
  try {
    const U = readMatrix(uPath, 'u');
    const vPath = stringFlag(flags, 'v');
    const V = vPath !== undefined ? readMatrix(vPath, 'v') : U;
    let batches: BatchSet | undefined;
    if (batchesPath !== undefined) batches = { kind: 'list', batches: readBatches(batchesPath) };
    if (allB !== undefined) batches = { kind: 'all', B: allB };
    const spec: ObjectiveSpec = { name: objective, tau, eps0, batches, maxBatches };
    backend = makeBackend(cmd, stringFlag(flags, 'backend'), dtype, (l) => io.err(l));
    const r = evaluateObjective(spec, U, V, { backend, grad: true });
    const result: Record<string, unknown> = {
      objective, n: U.rows, d: U.cols, tau, ...(objective.startsWith('gcl') ? { eps0: eps0 ?? 0 } : {}),
      ...(batches ? { batches: batches.kind === 'all' ? `all C(${U.rows},${batches.B})` : batches.batches.length } : {}),
      dtype, backend: backend.name, value: r.value, gradNorm: frobeniusNorm(r.gradU!, r.gradV!),
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
