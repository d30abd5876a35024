/**
 * The `contrastlab` command line. Each command parses its own flags, validates them before any
 * work, writes its outputs atomically, prints its result on stdout (JSON, a table, or with `run` a
 * short summary), and exits non-zero with a one-line
 * message on stderr for any bad input (2), or an unexpected internal error (70).
 */
import { setFlagsFromString } from 'node:v8';
import { ContrastlabError } from '../core/errors.ts';
import { enableCrashCleanup, removeTemporaries } from '../io/atomic.ts';
import { type CommandIO, exitQuietlyOnEpipe, processIO } from './io.ts';

type Command = (argv: string[], io: CommandIO) => number | Promise<number>;

/**
 * Each command's module is loaded only when it runs, so `contrastlab eval` does not load the
 * plotting stack (vega, resvg), the claims catalogue or gpu.js before it starts.
 */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  check: { load: async () => (await import('./commands/check.ts')).checkCommand, summary: 'run the claims catalogue (proofs-checks/): verdicts with signed margins, report.md / report.json' },
  eval: { load: async () => (await import('./commands/eval.ts')).evalCommand, summary: 'value and gradient of an objective at U.npy / V.npy' },
  optimum: { load: async () => (await import('./commands/optimum.ts')).optimumCommand, summary: 'write a known optimum (simplex ETF, cross-polytope) and its closed-form loss' },
  solve: { load: async () => (await import('./commands/solve.ts')).solveCommand, summary: 'exact full-batch solver on the sphere from a seeded start' },
  run: { load: async () => (await import('./commands/run.ts')).runCommand, summary: 'run an experiment / study spec or a shipped preset (traces, summaries, figures, checkpoints)' },
  merge: { load: async () => (await import('./commands/merge.ts')).mergeCommand, summary: 'complete a study run in shards: check every run is there once, then write its summaries and figures' },
  bias: { load: async () => (await import('./commands/bias.ts')).biasCommand, summary: 'bias and variance vs B of the plug-in and exact-u SogCLR gradient estimators' },
  diagnose: { load: async () => (await import('./commands/diagnose.ts')).diagnoseCommand, summary: 'what your embeddings say: objectives, bounds, per-anchor losses, estimator bias vs B, batch hardness, labels' },
  gradcheck: { load: async () => (await import('./commands/gradcheck.ts')).gradcheckCommand, summary: 'is your (distributed) gradient the global objective\'s? names the implementation mistake it matches' },
  report: { load: async () => (await import('./commands/report.ts')).reportCommand, summary: 'one self-contained HTML page from a run, check or diagnose output folder (figures, tables, config)' },
};

export const MAIN_HELP = `contrastlab — numerical checks of contrastive-learning optimisation theory

Usage: contrastlab <command> [options]     (contrastlab <command> --help for its options)

Commands:
${Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(10)} ${c.summary}`).join('\n')}

Exit status: 0 success, 1 a claim failed (check), 2 bad input (message on stderr), 70 internal error.`;

export async function main(argv: string[], io: CommandIO = processIO): Promise<number> {
  if (io === processIO) {
    exitQuietlyOnEpipe(removeTemporaries);
    enableCrashCleanup(); // temporaries of a run ended by a signal or kill -9 are removed by a watchdog
  }
  // CONTRASTLAB_FMA=1: the CPU backend's relaxed-SIMD (FMA) build; Node 20 has relaxed SIMD behind
  // this V8 flag, which takes effect for modules compiled after it is set (newer Node: on already).
  if (process.env.CONTRASTLAB_FMA === '1') setFlagsFromString('--experimental-wasm-relaxed-simd');
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.out('contrastlab 0.1.0');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`contrastlab: unknown command '${name}' (expected one of ${Object.keys(COMMANDS).join(', ')}; see contrastlab --help)`);
    return 2;
  }
  try {
    return await (await cmd.load())(rest, io);
  } catch (e) {
    if (e instanceof ContrastlabError) {
      const m = oneLine(e.message);
      io.err(m.startsWith('contrastlab') ? m : `contrastlab ${name}: ${m}`);
      return 2;
    }
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err.code === 'string' && typeof err.path === 'string') {
      io.err(`contrastlab ${name}: ${err.code} on '${err.path}': ${oneLine(err.message)}`);
      return 2;
    }
    // A bug, not bad input: one line; the stack only on request.
    const debug = process.env.CONTRASTLAB_DEBUG === '1';
    io.err(`contrastlab ${name}: internal error: ${debug ? err?.stack ?? String(e) : `${oneLine(err?.message ?? String(e))} (set CONTRASTLAB_DEBUG=1 for the stack trace)`}`);
    return 70;
  }
}

/** Messages are one line: newlines inside (e.g. from a file name) are shown as spaces. */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
