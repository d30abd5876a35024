/** `contrastlab optimum`: write a known optimal configuration and print its closed-form loss. */
import { assertMatricesFit } from '../../core/budget.ts';
import { ConfigError, NonFiniteError } from '../../core/errors.ts';
import { Rng } from '../../core/random.ts';
import { assertCanWrite, writeFileAtomic } from '../../io/atomic.ts';
import { matrixToNpy, serializeNpy } from '../../io/npy.ts';
import { infonceLossAndGrad } from '../../objectives/index.ts';
import { crossPolytopeInfonce, crossPolytopeInfonceBig, etfInfonce, etfInfonceBig } from '../../optima/closedForms.ts';
import { crossPolytope } from '../../optima/crossPolytope.ts';
import { simplexEtf } from '../../optima/etf.ts';
import { choiceFlag, numberFlag, parseFlags, requireFlag, seedFlag } from '../args.ts';
import { makeBackend } from '../backendChoice.ts';
import type { CommandIO } from '../io.ts';

export const OPTIMUM_HELP = `contrastlab optimum --kind <etf|cross-polytope> --n N --d D --out U.npy [options]

Writes an optimal configuration (N unit rows in R^d, float64; V = U at the optimum) and prints one
JSON object with its closed-form two-sided InfoNCE value (THEORY 3), the same value to 40 significant
digits (mathjs BigNumber), and the value the library's blocked kernel computes at the written rows.

  --kind etf              simplex ETF, any N >= 2 and d >= N-1
  --kind cross-polytope   +-e_k, N = 2d (optimality unverified in THEORY)
  --n N, --d D            shape
  --tau T                 temperature > 0 (default 1)
  --seed S                apply a Haar-random rotation drawn from seed S (default: no rotation)
  --out FILE              output .npy (must not exist unless --force)
  --force                 replace FILE if it exists`;

export function optimumCommand(argv: string[], io: CommandIO): number {
  const cmd = 'optimum';
  const { flags } = parseFlags(cmd, argv, {
    kind: { type: 'string' }, n: { type: 'string' }, d: { type: 'string' }, tau: { type: 'string' },
    seed: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    io.out(OPTIMUM_HELP);
    return 0;
  }
  if (flags.kind === undefined) throw new ConfigError('contrastlab optimum', '--kind is required (etf or cross-polytope)');
  const kind = choiceFlag(cmd, flags, 'kind', ['etf', 'cross-polytope'] as const, 'etf');
  if (flags.n === undefined || flags.d === undefined) throw new ConfigError('contrastlab optimum', '--n and --d are required');
  // N = 1 has no negatives: the loss is identically 0 and there is nothing to optimise.
  const n = numberFlag(cmd, flags, 'n', 0, { int: true, min: 2 });
  const d = numberFlag(cmd, flags, 'd', 0, { int: true, min: 1 });
  const tau = numberFlag(cmd, flags, 'tau', 1, { gt: 0 });
  const seed = (flags.seed === undefined ? undefined : seedFlag(cmd, flags));
  const out = requireFlag(cmd, flags, 'out');
  assertCanWrite('contrastlab optimum', out, flags.force === true);
  assertMatricesFit('contrastlab optimum', `the optimum for --n ${n} --d ${d}`, n, d, 8, 2);
  const rng = seed === undefined ? undefined : Rng.fromSeed(seed);
  const U = kind === 'etf' ? simplexEtf(n, d, { rng }) : crossPolytope(n, d, { rng });
  const closedForm = kind === 'etf' ? etfInfonce(n, tau) : crossPolytopeInfonce(n, tau);
  const closedFormHighPrecision = (kind === 'etf' ? etfInfonceBig(n, tau, { digits: 40 }) : crossPolytopeInfonceBig(n, tau, { digits: 40 })).toString();
  if (!Number.isFinite(closedForm)) {
    throw new NonFiniteError('contrastlab optimum', `the closed-form value at --tau ${tau} is ${closedForm}: 1/tau exceeds the float64 range; raise --tau`);
  }
  const backend = makeBackend(cmd, undefined, 'f64');
  let evaluated: number;
  try {
    evaluated = infonceLossAndGrad(U, U, { tau, backend, grad: false }).value;
  } finally {
    backend.dispose();
  }
  const a = matrixToNpy(U, 'f64');
  writeFileAtomic(out, serializeNpy(a.data, a.shape, a.dtype), { overwrite: flags.force === true, op: 'contrastlab optimum' });
  io.out(JSON.stringify({ kind, n, d, tau, ...(seed !== undefined ? { seed } : {}), closedForm, closedFormHighPrecision, evaluated, out }));
  return 0;
}
