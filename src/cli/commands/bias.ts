/** `contrastlab bias`: bias and variance of the plug-in and exact-u SogCLR gradient estimators vs B. */
import { type BiasEstimate, type BiasOptions, type BiasReport, checkBiasOptions, estimatorBias, estimatorBiasAt, fitPowerLaw } from '../../analysis/bias.ts';
import { type Matrix64, toContiguous } from '../../core/matrix.ts';
import { readMatrixFlag } from '../matrixFiles.ts';
import { ConfigError, NonFiniteError } from '../../core/errors.ts';
import { choiceFlag, intListFlag, numberFlag, parseFlags, seedFlag, stringFlag } from '../args.ts';
import type { CommandIO } from '../io.ts';
import { createProgress, progressIntervalMs } from '../progress.ts';

export const BIAS_HELP = `contrastlab bias [--estimator-set bimodal|unimodal] [--n N] [--d D] [--u U.npy --v V.npy] [--tau T] [--eps0 E]
                 [--batch-sizes 4,8,16,32,64] [--draws R] [--seed S] [--json] [--quiet]

At fixed parameters (N pairs of independent, seeded, uniformly random unit rows in R^d; or your own
embeddings with --u and --v, rows used as given), for each
batch size B draws R uniform batches and estimates, for two estimators of the gradient of the global
contrastive objective F (THEORY 2.3; bimodal = CLIP-like, unimodal = SimCLR-like, epsilon_0 = E):
  plug-in   u = g-hat, the in-batch estimate (DCL; SimCLR / CLIP up to epsilon_0)
  sogclr    u = g, the exact per-anchor value (SogCLR's fixed point; unbiased for every B)
the bias ||E[m] - grad F|| of the estimate m scattered into the full gradient, and its total variance
(trace). The mean of R draws carries its own noise, sqrt(trace Var / R) ("noise"), which inflates
||mean - grad F|| ("raw"); the reported bias removes it (an unbiased U-statistic over 20 independent
groups of draws), with a jackknife standard error. A power law bias ~ B^slope is fitted to the
plug-in rows by least squares on log-log (slope and its standard error).

  --estimator-set S  bimodal (default) or unimodal
  --n N              examples, >= 2 (default 256)
  --d D              dimension, >= 1 (default 32)
  --u FILE, --v FILE your embeddings instead (N x d .npy each, float or integer; N and d come from
                     them, so --n and --d are refused with them); contrastlab diagnose reports this
                     and more about them
  --tau T            temperature > 0 (default 0.1)
  --eps0 E           epsilon_0 >= 0 of F and of both estimators (default 0)
  --batch-sizes L    comma-separated distinct integers in [2, N] (default 4,8,16,32,64)
  --draws R          batches per size, >= 4 (default 2000)
  --seed S           integer >= 0 (default 0): the instance and the draws
  --json             print one JSON object instead of the table
  --quiet            no progress on stderr (counted in batch rows, B x R per size, as each size
                     completes; off a terminal one line every 5 s or CONTRASTLAB_PROGRESS_INTERVAL
                     seconds, and one at the end)

The defaults run in about a second. The bias shrinks relative to the per-draw noise as N grows, so a
larger N needs proportionally more draws to resolve it (e.g. N = 1024 needs R of about 8000).`;

const e3 = (x: number) => (x === 0 ? '0' : x.toExponential(2));

function cells(e: BiasEstimate): string[] {
  return [`${e3(e.bias)} ± ${e3(e.biasSE)}`, e3(e.rawBias), e3(e.noise), e3(e.variance)];
}

function table(r: BiasReport, source: string): string {
  const head = ['B', 'plug-in bias ± SE', 'raw', 'noise', 'variance', 'sogclr bias ± SE', 'raw', 'noise', 'variance', 'sogclr D/SE'];
  const rows = r.rows.map((x) => [String(x.B), ...cells(x.plugin), ...cells(x.sogclr), (x.sogclr.biasSq / x.sogclr.biasSqSE).toFixed(2)]);
  const w = head.map((h, j) => Math.max(h.length, ...rows.map((row) => row[j]!.length)));
  const line = (row: string[]) => row.map((c, j) => c.padStart(w[j]!)).join('  ');
  const fit = r.fit === null
    ? 'plug-in bias ∝ B^slope: not fitted (fewer than 2 sizes with a resolved bias)'
    : `plug-in bias ∝ B^slope: slope = ${r.fit.slope.toFixed(3)}${r.fit.slopeSE === null ? '' : ` ± ${r.fit.slopeSE.toFixed(3)}`} (least squares on log-log, ${r.fit.points} sizes)`;
  return [
    `${r.modality} GCL on ${source}, N = ${r.n}, d = ${r.d}, tau = ${r.tau}, eps0 = ${r.eps0}, R = ${r.draws} draws per B (${r.groups} groups), seed ${r.seed}; ||grad F|| = ${e3(r.gradNorm)}`,
    line(head),
    ...rows.map(line),
    fit,
    'bias: noise-corrected ||E[m] - grad F||; raw: ||mean of draws - grad F||; noise: sqrt(trace Var / R); variance: trace Var of one estimate;',
    'sogclr D/SE: its squared-bias estimate in standard errors (|D/SE| <= 2-4: zero within noise).',
  ].join('\n');
}

export async function biasCommand(argv: string[], io: CommandIO): Promise<number> {
  const cmd = 'bias';
  const { flags } = parseFlags(cmd, argv, {
    'estimator-set': { type: 'string' }, n: { type: 'string' }, d: { type: 'string' }, tau: { type: 'string' },
    eps0: { type: 'string' }, 'batch-sizes': { type: 'string' }, u: { type: 'string' }, v: { type: 'string' }, draws: { type: 'string' }, seed: { type: 'string' },
    json: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    io.out(BIAS_HELP);
    return 0;
  }
  const modality = choiceFlag(cmd, flags, 'estimator-set', ['bimodal', 'unimodal'] as const, 'bimodal');
  const uPath = stringFlag(flags, 'u');
  const vPath = stringFlag(flags, 'v');
  if ((uPath === undefined) !== (vPath === undefined)) throw new ConfigError('contrastlab bias', '--u and --v go together (the pairs (u_i, v_i))');
  if (uPath !== undefined && (flags.n !== undefined || flags.d !== undefined)) {
    throw new ConfigError('contrastlab bias', '--n and --d cannot be given with --u / --v (N and d are the files\' shape)');
  }
  const own = uPath !== undefined ? { U: toContiguous(readMatrixFlag(cmd, uPath, 'u'), 'f64') as Matrix64, V: toContiguous(readMatrixFlag(cmd, vPath!, 'v'), 'f64') as Matrix64 } : null;
  if (own && (own.U.rows !== own.V.rows || own.U.cols !== own.V.cols)) {
    throw new ConfigError('contrastlab bias', `--u is ${own.U.rows} x ${own.U.cols} but --v is ${own.V.rows} x ${own.V.cols}; the pairs need the same shape`);
  }
  if (own && own.U.rows < 2) throw new ConfigError('contrastlab bias', `--u has ${own.U.rows} row; N >= 2 pairs are needed`);
  const n = own ? own.U.rows : numberFlag(cmd, flags, 'n', 256, { int: true, min: 2 });
  const d = own ? own.U.cols : numberFlag(cmd, flags, 'd', 32, { int: true, min: 1 });
  const tau = numberFlag(cmd, flags, 'tau', 0.1, { gt: 0 });
  const eps0 = numberFlag(cmd, flags, 'eps0', 0, { min: 0 });
  const draws = numberFlag(cmd, flags, 'draws', 2000, { int: true, min: 4 });
  const seed = seedFlag(cmd, flags);
  const batchSizes = intListFlag(cmd, flags, 'batch-sizes', [4, 8, 16, 32, 64], { min: 2 });
  for (const B of batchSizes) {
    if (B > n) throw new ConfigError('contrastlab bias', `--batch-sizes entry ${B} exceeds --n ${n}`);
  }
  const intervalMs = progressIntervalMs(cmd);
  const opts: BiasOptions = { modality, n, d, tau, eps0, batchSizes, draws, seed };
  // Refused before any progress line, so that bad input is one line on stderr.
  checkBiasOptions('estimatorBias', opts);
  // Work: B rows per draw, R draws per batch size (reported as each size completes).
  const work = batchSizes.map((B) => B * draws);
  const bar = createProgress(io, { label: 'bias', total: work.reduce((a, b) => a + b, 0), unit: 'batch rows', quiet: flags.quiet === true, intervalMs });
  let r: BiasReport;
  try {
    // The exact gradient at the instance comes first and can fail on its own (a tau whose 1/tau
    // overflows): off a terminal the first line waits for the first batch size, so that such an
    // error stays the one line on stderr; a terminal's bar is erased before the error anyway.
    if (io.isTTY) bar.update(0, `B = ${batchSizes[0]}`);
    const onSize = (k: number) => bar.update(work.slice(0, k).reduce((a, b) => a + b, 0), k < batchSizes.length ? `B = ${batchSizes[k]}` : undefined);
    if (own) {
      const at = estimatorBiasAt(own.U, own.V, { modality, tau, eps0, batchSizes, draws, seed, onDraw: (done) => { if (done % draws === 0) onSize(done / draws); } });
      const fitRows = at.rows.filter((x) => x.plugin.biasSq > 0);
      r = {
        modality, n, d, tau, eps0, draws, groups: at.rows[0]!.groups, seed, gradNorm: at.gradNorm,
        rows: at.rows.map((x) => ({ B: x.B, plugin: x.plugin, sogclr: x.sogclr })), fit: fitPowerLaw(fitRows.map((x) => x.B), fitRows.map((x) => x.plugin.bias)),
      };
    } else {
      r = estimatorBias({ ...opts, onSize });
    }
    bar.finish();
  } finally {
    bar.close();
  }
  const bad = [r.gradNorm, ...r.rows.flatMap((x) => [x.plugin.bias, x.plugin.variance, x.sogclr.bias, x.sogclr.variance])].find((x) => !Number.isFinite(x));
  if (bad !== undefined) {
    throw new NonFiniteError('contrastlab bias', `an estimate is ${bad}: the scale of S = UVᵀ/τ (1/τ = ${1 / tau} for unit rows) exceeds the float64 range; raise --tau`);
  }
  if (flags.json) {
    const est = (p: 'plugin' | 'sogclr', e: BiasEstimate) => ({
      [`${p}Bias`]: e.bias, [`${p}BiasSE`]: e.biasSE, [`${p}BiasSq`]: e.biasSq, [`${p}BiasSqSE`]: e.biasSqSE,
      [`${p}RawBias`]: e.rawBias, [`${p}Noise`]: e.noise, [`${p}Variance`]: e.variance,
    });
    io.out(JSON.stringify({
      estimatorSet: modality, instance: own ? { u: uPath, v: vPath } : 'seeded uniformly random unit rows', n, d, tau, eps0, draws, groups: r.groups, seed, gradNorm: r.gradNorm,
      rows: r.rows.map((x) => ({ B: x.B, ...est('plugin', x.plugin), ...est('sogclr', x.sogclr) })),
      slope: r.fit?.slope ?? null, slopeSE: r.fit?.slopeSE ?? null, slopePoints: r.fit?.points ?? 0,
    }));
  } else io.out(table(r, own ? `--u ${uPath} --v ${vPath}` : 'seeded random unit rows'));
  return 0;
}
