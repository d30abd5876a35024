/** `contrastlab gradcheck`: is a dumped gradient the global objective's? Which known mistake does it match? */
import { type GradcheckObjective, type GradcheckReport, GRADCHECK_OBJECTIVES, describeVerdict, gradcheck } from '../../analysis/gradcheck.ts';
import { ConfigError, ShapeError } from '../../core/errors.ts';
import { dtypeOf, shapeStr } from '../../core/matrix.ts';
import { choiceFlag, numberFlag, parseFlags, requireFlag } from '../args.ts';
import type { CommandIO } from '../io.ts';
import { readMatrixFlag } from '../matrixFiles.ts';

export const GRADCHECK_HELP = `contrastlab gradcheck --u U.npy --v V.npy --grad-u gU.npy --grad-v gV.npy
                      --objective infonce|gcl-bimodal|gcl-unimodal --tau T [--eps0 E] [--shards K] [--json]

Tells whether gU, gV (e.g. the gradient of one training step, summed over the ranks of a distributed
run) are the gradient of the global objective at (U, V) (THEORY 2.1 / 2.3), and if not, which known
implementation mistake they match (THEORY 9.6), each computed exactly in float64 by an emulation of
the K-worker step:
  scaled                     the global gradient times a scalar (all-reduce sum vs mean: K or 1/K)
  summed-directions          the two directions summed instead of averaged (2x; two-sided objectives)
  local-without-gather-grad  plain all_gather: the gathered features carry no gradient (K > 1)
  rank-offset                labels arange(N/K) on every shard, not + rank·N/K (K > 1, two-sided)
  one-direction              only the u -> v or only the v -> u direction (two-sided)
  missing-inv-tau            logits not divided by tau (tau != 1)
Each is matched up to a scalar s = <g, c>/<c, c> (U and V together); it matches when the residual
||g - s·c||_F / ||s·c||_F is at most the tolerance 16·eps·(1 + max|S|)·sqrt(1 + d), eps that of the
run's precision: float32 (2^-23) if any of the four files is float32, else float64 (2^-52). Nothing matches: 'unexplained'.

  --u, --v FILE           N x d float32/float64 .npy: the embeddings the gradient was taken at
  --grad-u, --grad-v FILE N x d .npy: the gradient to check
  --objective NAME        infonce (two-sided), gcl-bimodal or gcl-unimodal
  --tau T                 temperature > 0
  --eps0 E                epsilon_0 >= 0 of the gcl objectives (default 0)
  --shards K              workers of the run, K divides N; shard k holds rows [kN/K, (k+1)N/K) (default 1)
  --json                  one JSON object: verdict, scale, residual, tolerance, objective, n, d, tau,
                          eps0, shards, gradDtype, candidates [{name, scale, residual, matched,
                          detail}], notTested [{name, reason}], maxAbsS (max|S| of the tolerance);
                          a residual that is not finite (s = 0: g orthogonal to c) is null

Memory: S = UV^T (N x N float64, two copies; 2N x 2N for gcl-unimodal) is materialised.`;

const e3 = (x: number) => (Number.isFinite(x) ? x.toExponential(3) : String(x));
const s6 = (x: number) => (Number.isFinite(x) ? x.toPrecision(7) : String(x));

function table(r: GradcheckReport): string {
  const head = ['candidate', 'scale', 'residual', 'matched', 'detail'];
  const rows = r.candidates.map((c) => [c.name, s6(c.scale), e3(c.residual), c.matched ? 'yes' : 'no', c.detail]);
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j]!.length)));
  const line = (row: string[]) => row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(w[j]!))).join('  ');
  return [
    `verdict: ${describeVerdict(r)}`,
    `scale ${s6(r.scale)}, residual ${e3(r.residual)}, tolerance ${e3(r.tolerance)} (16·eps_${r.gradDtype}·(1 + max|S| = ${r.maxAbsS.toPrecision(4)})·sqrt(1 + d))`,
    `${r.objective}, N = ${r.n}, d = ${r.d}, tau = ${r.tau}${r.objective === 'infonce' ? '' : `, eps0 = ${r.eps0}`}, shards = ${r.shards}, gradient dtype ${r.gradDtype}`,
    line(head),
    ...rows.map(line),
    ...r.notTested.map((x) => `not tested: ${x.name} (${x.reason})`),
  ].join('\n');
}

export function gradcheckCommand(argv: string[], io: CommandIO): number {
  const cmd = 'gradcheck';
  const op = `contrastlab ${cmd}`;
  const { flags } = parseFlags(cmd, argv, {
    u: { type: 'string' }, v: { type: 'string' }, 'grad-u': { type: 'string' }, 'grad-v': { type: 'string' },
    objective: { type: 'string' }, tau: { type: 'string' }, eps0: { type: 'string' }, shards: { type: 'string' },
    json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    io.out(GRADCHECK_HELP);
    return 0;
  }
  const paths = (['u', 'v', 'grad-u', 'grad-v'] as const).map((f) => requireFlag(cmd, flags, f));
  if (flags.objective === undefined) throw new ConfigError(op, `--objective is required (one of ${GRADCHECK_OBJECTIVES.join(', ')})`);
  const objective: GradcheckObjective = choiceFlag(cmd, flags, 'objective', GRADCHECK_OBJECTIVES, 'infonce');
  if (flags.tau === undefined) throw new ConfigError(op, '--tau is required (the temperature the gradient was taken at)');
  const tau = numberFlag(cmd, flags, 'tau', 1, { gt: 0 });
  if (objective === 'infonce' && flags.eps0 !== undefined) throw new ConfigError(op, '--eps0 applies to gcl-bimodal and gcl-unimodal only');
  const eps0 = numberFlag(cmd, flags, 'eps0', 0, { min: 0 });
  const shards = numberFlag(cmd, flags, 'shards', 1, { int: true, min: 1 });
  const [U, V, gU, gV] = (['u', 'v', 'grad-u', 'grad-v'] as const).map((f, k) => readMatrixFlag(cmd, paths[k]!, f));
  for (const [f, m] of [['v', V!], ['grad-u', gU!], ['grad-v', gV!]] as const) {
    if (m.rows !== U!.rows || m.cols !== U!.cols) throw new ShapeError(op, `--u is ${shapeStr(U!)} but --${f} is ${shapeStr(m)}: all four must be N x d`);
  }
  const n = U!.rows;
  if (n < 2) throw new ShapeError(op, `needs N >= 2 rows, got N = ${n}`);
  if (n % shards !== 0) throw new ConfigError(op, `--shards ${shards} does not divide N = ${n}`);
  // The run's precision: float32 if any of the four files is (a float32 run that saved float64 copies is still float32).
  const gradDtype = [U, V, gU, gV].some((m) => dtypeOf(m!) === 'f32') ? 'f32' : 'f64';
  const r = gradcheck(U!, V!, gU!, gV!, { objective, tau, eps0, shards, gradDtype });
  if (flags.json) {
    io.out(JSON.stringify({
      verdict: r.verdict, scale: r.scale, residual: r.residual, tolerance: r.tolerance, objective: r.objective, n: r.n, d: r.d,
      tau: r.tau, eps0: r.eps0, shards: r.shards, gradDtype: r.gradDtype, maxAbsS: r.maxAbsS,
      candidates: r.candidates.map((c) => ({ name: c.name, scale: c.scale, residual: c.residual, matched: c.matched, detail: c.detail })),
      notTested: r.notTested,
    }));
  } else io.out(table(r));
  return 0;
}
