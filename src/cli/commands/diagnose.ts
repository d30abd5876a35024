/** `contrastlab diagnose`: what the theory says about the user's embeddings (src/analysis/diagnose.ts). */
import { join } from 'node:path';
import { type Diagnosis, diagnose, diagnoseDefaultThreads, type DiagnoseOptions, checkDiagnoseInputs } from '../../analysis/diagnose.ts';
import { ConfigError } from '../../core/errors.ts';
import { dtypeOf } from '../../core/matrix.ts';
import { StagedDir } from '../../io/atomic.ts';
import { choiceFlag, intListFlag, numberFlag, parseFlags, requireFlag, seedFlag, stringFlag } from '../args.ts';
import type { CommandIO } from '../io.ts';
import { readLabelsFlag, readMatrixFlag } from '../matrixFiles.ts';
import { createProgress, progressIntervalMs } from '../progress.ts';

export const DIAGNOSE_HELP = `contrastlab diagnose --u U.npy [--v V.npy] [--labels y.npy] [--tau T] [--batch-sizes 32,256,4096] [options]

What the theory says about your embeddings: U.npy and V.npy hold N x d rows (pair i is (u_i, v_i), two
views or an image and its caption; V omitted means V = U), float32/float64 or integer .npy.
Reports, as one JSON document (--json) or a summary (default):
  rows        norms; rows that are not unit length are counted (normalised only with --normalize)
  objectives  infonce, gcl-bimodal and gcl-unimodal (with eps0): value, Euclidean and Riemannian
              gradient norms, the gap to the best lower bound for unit rows at (N, d, tau) — the
              simplex-ETF value, attained only when d >= N - 1 (labelled a bound otherwise)
  anchors     per-anchor infonce terms and log g; the hardest anchors and their nearest negatives
  similarity  mean and variance of positive and negative similarities; E[s_pos] <= 1 + E[s_neg] +
              1/(N-1) checked on the data; histograms
  per B       the bias and variance of the plug-in (SimCLR / DCL / CLIP) and exact-u SogCLR gradient
              estimators, with standard errors (or "below the noise"); the Jensen gap of the
              mini-batch GCL objective; the mean batch loss of random, approximate-OSGD and
              spectral-clustering batches; with labels the same-label negatives per anchor
  labels      kNN (k = 5, cosine) and ridge linear-probe accuracy on a seeded 80/20 split

  --u FILE, --v FILE   the embeddings (N x d .npy, C order)
  --labels FILE        N integer labels >= 0 (int32/int64/uint8 .npy, shape (N,) or (N, 1))
  --tau T              temperature > 0 (default 0.1)
  --eps0 E             epsilon_0 >= 0 of the GCL objectives and estimators (default 0)
  --batch-sizes L      comma-separated distinct integers in [2, N] (default: 32,256,4096 up to N)
  --estimator-set S    bimodal (CLIP-like, default) or unimodal (SimCLR-like) estimators
  --draws R            batch draws per size for the bias, >= 4 (default: a work budget, see docs)
  --seed S             integer >= 0 (default 0): every sampled part
  --dtype f64|f32      kernel precision (default: f32 when the embedding files are float32, else f64)
  --threads K          worker threads for the objective passes (default: the cores + 1, at most 5);
                       the results are the same bits for every K
  --normalize          normalise the rows first
  --no-spectral        skip the spectral-clustering batches (the slowest sampled part)
  --out DIR            also write DIR/diagnose.json, figures/ and report.html (a new folder)
  --force              replace DIR if it exists
  --json               print the whole JSON document (per-anchor arrays included) on stdout
  --quiet              no progress on stderr`;

/** JSON-ready copy: typed arrays become arrays, NaN and ±Infinity null. */
export function diagnosisJson(r: Diagnosis): unknown {
  return JSON.parse(JSON.stringify(r, (_k, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float64Array) : v)));
}

const f = (x: number | null | undefined, p = 4) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toPrecision(p) : x.toExponential(p - 1));

export function diagnosisSummary(r: Diagnosis): string {
  const L: string[] = [];
  L.push(`N = ${r.n}, d = ${r.d}, tau = ${r.tau}, eps0 = ${r.eps0}, kernels ${r.dtype}, estimator set ${r.modality}, seed ${r.seed}`);
  const nonUnit = r.rows.nonUnitU + r.rows.nonUnitV;
  L.push(r.rows.normalized
    ? `rows: normalised (--normalize); before: ${nonUnit} of ${2 * r.n} not unit (norms ${f(r.rows.minNorm)}..${f(r.rows.maxNorm)})`
    : nonUnit === 0 ? `rows: all unit length (within ${r.rows.unitTolerance})`
      : `rows: ${r.rows.nonUnitU} of U and ${r.rows.nonUnitV} of V are not unit length (norms ${f(r.rows.minNorm)}..${f(r.rows.maxNorm)}; e.g. ${r.rows.examples.slice(0, 3).map(([s, i, x]) => `${s}[${i}] = ${f(x)}`).join(', ')}); bounds not applied; --normalize to normalise`);
  L.push('objective       value        ||grad||     ||Riem grad||  bound         gap');
  for (const o of r.objectives) {
    L.push(`${o.name.padEnd(14)}  ${f(o.value, 6).padEnd(11)}  ${f(o.gradNorm).padEnd(11)}  ${f(o.riemannianGradNorm).padEnd(13)}  ${o.bound ? f(o.bound.value, 6).padEnd(12) : '—'.padEnd(12)}  ${f(o.gap)}`);
  }
  const b0 = r.objectives[0]!.bound;
  if (b0) L.push(`bound: ${b0.label}`);
  const s = r.similarity;
  L.push(`similarity: positives ${f(s.positive.mean)} (var ${f(s.positive.variance)}), negatives ${f(s.negative.mean)} (var ${f(s.negative.variance)}); E[s_pos] <= 1 + E[s_neg] + 1/(N-1): ${f(s.bound.lhs)} <= ${f(s.bound.rhs)} ${s.bound.applies ? (s.bound.holds ? 'holds' : 'VIOLATED') : '(rows not unit: the bound does not apply)'}`);
  L.push(`hardest anchors (infonce loss): ${r.anchors.hardest.slice(0, 5).map((h) => `${h.index} (${f(h.loss)}; nearest negatives ${h.nearestNegatives.slice(0, 3).map((x) => x.index).join(', ')})`).join('; ')}`);
  L.push('B       Jensen gap ± SE        plug-in bias ± SE      SogCLR D/SE  draws  random    OSGD      spectral  same-label neg/anchor');
  for (const b of r.batchSizes) {
    const fn = b.falseNegatives;
    L.push(`${String(b.B).padEnd(6)}  ${`${f(b.jensenGap.value, 3)} ± ${f(b.jensenGap.se, 2)}`.padEnd(21)}  ${`${f(b.bias.plugin.bias, 3)} ± ${f(b.bias.plugin.biasSE, 2)}${b.bias.plugin.resolved ? '' : ' (noise)'}`.padEnd(21)}  ${f(b.bias.sogclr.biasSq / b.bias.sogclr.biasSqSE, 2).padEnd(11)}  ${String(b.bias.draws).padEnd(5)}  ${f(b.hardness.random.mean).padEnd(8)}  ${f(b.hardness.osgd.mean).padEnd(8)}  ${f(b.hardness.spectral?.mean).padEnd(8)}  ${fn ? `${f(fn.expectedPerAnchor, 3)} (OSGD ${f(fn.osgdPerAnchor, 3)}, spectral ${f(fn.spectralPerAnchor, 3)})` : '—'}`);
  }
  if (r.labels) L.push(`labels: ${r.labels.classes} classes; kNN (k = 5) ${f(r.labels.knn.accuracy)}, linear probe ${f(r.labels.linearProbe.accuracy)} (${r.labels.split.train}/${r.labels.split.test} split)`);
  return L.join('\n');
}

export async function diagnoseCommand(argv: string[], io: CommandIO): Promise<number> {
  const cmd = 'diagnose';
  const { flags } = parseFlags(cmd, argv, {
    u: { type: 'string' }, v: { type: 'string' }, labels: { type: 'string' }, tau: { type: 'string' }, eps0: { type: 'string' },
    'batch-sizes': { type: 'string' }, 'estimator-set': { type: 'string' }, draws: { type: 'string' }, seed: { type: 'string' },
    dtype: { type: 'string' }, threads: { type: 'string' }, normalize: { type: 'boolean' }, 'no-spectral': { type: 'boolean' },
    out: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    io.out(DIAGNOSE_HELP);
    return 0;
  }
  const uPath = requireFlag(cmd, flags, 'u');
  const tau = numberFlag(cmd, flags, 'tau', 0.1, { gt: 0 });
  const eps0 = numberFlag(cmd, flags, 'eps0', 0, { min: 0 });
  const modality = choiceFlag(cmd, flags, 'estimator-set', ['bimodal', 'unimodal'] as const, 'bimodal');
  const draws = numberFlag(cmd, flags, 'draws', undefined, { int: true, min: 4 });
  const seed = seedFlag(cmd, flags);
  const threads = numberFlag(cmd, flags, 'threads', diagnoseDefaultThreads(), { int: true, min: 1, max: 64 });
  const out = stringFlag(flags, 'out');
  const staged = out !== undefined ? new StagedDir(out, { overwrite: flags.force === true, op: 'contrastlab diagnose' }) : null;
  try {
    const U = readMatrixFlag(cmd, uPath, 'u');
    const vPath = stringFlag(flags, 'v');
    const V = vPath !== undefined ? readMatrixFlag(cmd, vPath, 'v') : U;
    if (V.rows !== U.rows || V.cols !== U.cols) {
      throw new ConfigError(`contrastlab ${cmd}`, `--u is ${U.rows} x ${U.cols} but --v is ${V.rows} x ${V.cols}; the pairs (u_i, v_i) need the same shape`);
    }
    const labelsPath = stringFlag(flags, 'labels');
    const labels = labelsPath !== undefined ? readLabelsFlag(cmd, labelsPath, 'labels', U.rows) : null;
    const dflt = [32, 256, 4096].filter((B) => B <= U.rows);
    const batchSizes = flags['batch-sizes'] !== undefined || dflt.length === 0 ? intListFlag(cmd, flags, 'batch-sizes', dflt.length ? dflt : [2], { min: 2 }) : dflt;
    for (const B of batchSizes) if (B > U.rows) throw new ConfigError(`contrastlab ${cmd}`, `--batch-sizes entry ${B} exceeds N = ${U.rows}`);
    const f32 = dtypeOf(U) === 'f32' && dtypeOf(V) === 'f32';
    const dtype = choiceFlag(cmd, flags, 'dtype', ['f64', 'f32'] as const, f32 ? 'f32' : 'f64');
    const opts: DiagnoseOptions = {
      tau, eps0, batchSizes, labels, normalize: flags.normalize === true, modality, draws, seed, dtype, threads, skipSpectral: flags['no-spectral'] === true,
    };
    checkDiagnoseInputs('contrastlab diagnose', U, V, opts);
    const bar = createProgress(io, { label: 'diagnose', total: 1, unit: 'Mflop', quiet: flags.quiet === true, intervalMs: progressIntervalMs(cmd) });
    let r: Diagnosis;
    try {
      r = await diagnose(U, V, {
        ...opts,
        onProgress: (done, total, what) => {
          bar.setTotal(Math.ceil(total / 1e6));
          bar.update(Math.floor(done / 1e6), what);
        },
      });
      bar.finish();
    } finally {
      bar.close();
    }
    const json = diagnosisJson(r);
    if (staged) {
      staged.write('diagnose.json', JSON.stringify(json, null, 1) + '\n');
      const { writeDiagnoseFigures } = await import('../../plot/diagnose.ts');
      await writeDiagnoseFigures(staged, r);
      staged.commit();
      const { writeReport } = await import('../../report/html.ts');
      writeReport(out!, { op: 'contrastlab diagnose' });
    }
    if (flags.json) io.out(JSON.stringify(json));
    else {
      io.out(diagnosisSummary(r));
      if (out !== undefined) io.out(`wrote ${join(out, 'diagnose.json')}, four figures (diagnose-*.svg, .png) and ${join(out, 'report.html')}`);
    }
    return 0;
  } finally {
    staged?.abort();
  }
}
