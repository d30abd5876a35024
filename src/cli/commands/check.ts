/** `contrastlab check`: run the claims catalogue (proofs-checks/) and report verdicts with margins. */
import { CLAIMS } from '../../../proofs-checks/index.ts';
import { createCpuBackend } from '../../backend/cpu/index.ts';
import type { Backend } from '../../backend/types.ts';
import { reportJson, reportMarkdown, verdictTable, verdictWord } from '../../claims/report.ts';
import { isFailure, runClaims } from '../../claims/run.ts';
import { ConfigError } from '../../core/errors.ts';
import { StagedDir } from '../../io/atomic.ts';
import { choiceFlag, parseFlags, parseNumber, seedFlag, stringFlag } from '../args.ts';
import { makeBackend } from '../backendChoice.ts';
import type { CommandIO } from '../io.ts';
import { createProgress, progressIntervalMs } from '../progress.ts';

export const CHECK_HELP = `contrastlab check [ID...] [--size smoke|full] [--json] [--out DIR] [--quiet] [--list]

Runs the claims of the catalogue (all by default, or those whose id starts with one of the IDs
given), prints the verdict table (id, source, kind, verdict, signed margin, time) and, with --out,
writes DIR/report.md, DIR/report.json and the claims' figures (SVG and PNG). Exits 1 if any claim
fails (a finding: an unexpected verdict, or a check that threw), 0 otherwise.

Progress goes to stderr, counted in claims, with the claim in progress, the time elapsed and an
ETA: on a terminal one line redrawn in place; otherwise a line at the start, one every 5 s
(CONTRASTLAB_PROGRESS_INTERVAL=SECONDS) and one at the end.

  --size smoke|full    instance sizes: smoke runs in seconds per claim (CI), full in minutes (default smoke)
  --seed S             base seed of every claim's generators (default 0)
  --json               print report.json's content on stdout instead of the table
  --out DIR            write the report there (must not exist unless --force)
  --force              replace DIR if it exists
  --quiet              no progress on stderr
  --figure-size SIZE   column (3.25 in) or page (6.75 in): the claims' figures sized for a paper
                       (SVG text outlined, PNG at 4x; default: screen size)
  --backend NAME       a float32 backend to put under test (cpu, gpujs[:MODE]): numerics.f32-within-rule
                       checks it; the theory claims always run on the float64 CPU backend
  --list               print every claim id with its source and statement, and exit

Development checkout only (the sources and scripts/ present; npm run mutants is the same):
  --mutants            run the kill matrix: every selected claim against every named mutant (a
                       realistic implementation mistake built in behind an internal switch; see
                       src/core/mutants.ts) and print claim x mutant; exit 1 if a claim misses a
                       mutant it declares. With --json one object { claims, mutants, killed, ... }.
  --only-mutants IDS   comma-separated mutant ids (default all)
  --workers N          worker threads for the matrix (default: one per core)
  --matrix-out FILE    also write the matrix JSON to FILE (atomic; --force to replace)`;

export async function checkCommand(argv: string[], io: CommandIO): Promise<number> {
  const cmd = 'check';
  const { flags, positionals } = parseFlags(cmd, argv, {
    size: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' }, out: { type: 'string' },
    force: { type: 'boolean' }, quiet: { type: 'boolean' }, mutants: { type: 'boolean' }, 'only-mutants': { type: 'string' }, workers: { type: 'string' }, 'matrix-out': { type: 'string' }, 'figure-size': { type: 'string' }, list: { type: 'boolean' }, backend: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, true);
  if (flags.help) {
    io.out(CHECK_HELP);
    return 0;
  }
  if (flags.list) {
    for (const c of CLAIMS) io.out(`${c.id}\t${c.source.paper} ${c.source.where} [${c.source.tag}]\t${c.statement}`);
    return 0;
  }
  const size = choiceFlag(cmd, flags, 'size', ['smoke', 'full'] as const, 'smoke');
  // Paper sizes for the figures (src/plot/charts.ts FigureSize); undefined: screen size.
  const figureSize = flags['figure-size'] === undefined ? undefined : choiceFlag(cmd, flags, 'figure-size', ['column', 'page'] as const, 'column');
  const seed = seedFlag(cmd, flags);
  const claims = positionals.length === 0 ? CLAIMS : CLAIMS.filter((c) => positionals.some((p) => c.id === p || c.id.startsWith(`${p}.`) || c.id.startsWith(p)));
  for (const p of positionals) {
    if (!CLAIMS.some((c) => c.id.startsWith(p))) throw new ConfigError('contrastlab check', `no claim id starts with '${p}' (see contrastlab check --list)`);
  }
  const intervalMs = progressIntervalMs(cmd);
  if (flags.mutants) {
    const { checkMutants } = await import('./checkMutants.ts');
    const workers = flags.workers === undefined ? undefined : parseNumber(cmd, '--workers', String(flags.workers), { int: true, min: 1 });
    const only = stringFlag(flags, 'only-mutants');
    const matrixOut = stringFlag(flags, 'matrix-out');
    return checkMutants({
      size, seed, claims: positionals, json: flags.json === true, force: flags.force === true, quiet: flags.quiet === true, intervalMs,
      ...(only !== undefined ? { mutants: only.split(',') } : {}), ...(workers !== undefined ? { workers } : {}), ...(matrixOut !== undefined ? { out: matrixOut } : {}),
    }, io);
  }
  const out = stringFlag(flags, 'out');
  const staged = out !== undefined ? new StagedDir(out, { overwrite: flags.force === true, op: 'contrastlab check' }) : null;
  const underTest = stringFlag(flags, 'backend');
  const f32Backend: Backend | undefined = underTest !== undefined ? makeBackend(cmd, underTest, 'f32', (l) => io.err(l)) : undefined;
  const backend = createCpuBackend({ dtype: 'f64' });
  // Claims weigh one unit each (they carry no size hint); the line names the claim in progress.
  const bar = createProgress(io, { label: 'check', total: claims.length, unit: 'claims', quiet: flags.quiet === true, intervalMs });
  try {
    const t0 = performance.now();
    let results;
    try {
      let current = 0;
      results = await runClaims(claims, {
        size, seed, backend, ...(f32Backend ? { f32Backend } : {}),
        onStart: (c, i) => {
          current = i;
          bar.update(i, c.id);
        },
        onProgress: (c, m) => bar.update(current, `${c.id}: ${m}`),
        onDone: (r, i) => bar.update(i + 1, `${r.claim.id}: ${verdictWord(r)} (${r.seconds.toFixed(1)} s)`),
      });
      bar.finish();
    } finally {
      bar.close();
    }
    const meta = { size, seed, backend, ...(f32Backend ? { f32Backend } : {}), seconds: (performance.now() - t0) / 1000 };
    const failed = results.filter(isFailure).length;
    if (staged) {
      // The plotting stack (vega, resvg's native binary) loads only when figures are written.
      const { renderVegaLite } = await import('../../plot/index.ts');
      for (const r of results) {
        for (const f of r.verdict.figures ?? []) {
          const fig = await renderVegaLite(f.spec as never, figureSize ? { size: figureSize } : {});
          staged.write(`${f.name}.svg`, fig.svg);
          staged.write(`${f.name}.png`, fig.png);
        }
      }
      staged.write('report.md', reportMarkdown(results, meta));
      staged.write('report.json', reportJson(results, meta));
      staged.commit();
    }
    if (flags.json) io.out(reportJson(results, meta).trimEnd());
    else {
      io.out(verdictTable(results));
      io.out(`\n${results.length} claims, ${results.length - failed} as expected, ${failed} failing (${meta.seconds.toFixed(1)} s, size ${size})${out ? `; report in ${out}` : ''}`);
    }
    return failed > 0 ? 1 : 0;
  } finally {
    staged?.abort();
    backend.dispose();
    f32Backend?.dispose();
  }
}
