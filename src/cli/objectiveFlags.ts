/**
 * The objective flags shared by `eval` and `solve`: --objective and the parameters that apply to
 * it (--tau for the softmax objectives, --eps0 for gcl-*, --batches / --all-batches / --max-batches
 * for minibatch, --t / --b for sigmoid). A flag given to an objective it does not apply to is a
 * ConfigError naming both.
 */
import { ConfigError } from '../core/errors.ts';
import { readJsonFile } from '../io/read.ts';
import { type BatchSet, OBJECTIVE_NAMES, type ObjectiveName, type ObjectiveSpec, SIGMOID_DEFAULT_B, SIGMOID_DEFAULT_T } from '../objectives/index.ts';
import { choiceFlag, type Flags, numberFlag, stringFlag } from './args.ts';

/** parseFlags options of the objective flags. */
export const OBJECTIVE_FLAG_OPTIONS = {
  objective: { type: 'string' }, tau: { type: 'string' }, eps0: { type: 'string' }, batches: { type: 'string' },
  'all-batches': { type: 'string' }, 'max-batches': { type: 'string' }, t: { type: 'string' }, b: { type: 'string' },
} as const;

/** Help lines of the objective flags (after --objective). */
export const OBJECTIVE_FLAG_HELP = `  --tau T              temperature > 0 of infonce, infonce-uv, minibatch, gcl-* (default 1)
  --eps0 E             gcl-*: epsilon_0 >= 0 inside the log (default 0)
  --batches FILE       minibatch: JSON array of batches, each an array of 0-based row indices
  --all-batches B      minibatch: all C(N,B) batches of size B (enumerated lazily)
  --max-batches K      cap on C(N,B) (default 1000000)
  --t T                sigmoid: scale t > 0 (an inverse temperature; default ${SIGMOID_DEFAULT_T}, SigLIP's start)
  --b B                sigmoid: bias b (default ${SIGMOID_DEFAULT_B}, SigLIP's start)`;

function readBatches(op: string, path: string): number[][] {
  const parsed = readJsonFile(op, path, { what: '--batches file' });
  if (!Array.isArray(parsed) || !parsed.every((b) => Array.isArray(b) && b.every((i) => typeof i === 'number'))) {
    throw new ConfigError(op, `--batches file '${path}' must hold a JSON array of arrays of row indices`);
  }
  return parsed as number[][];
}

export interface ObjectiveChoice {
  readonly spec: ObjectiveSpec;
  /** The settings used, for the command's JSON output (objective, tau or t and b, eps0, batches). */
  readonly settings: Record<string, unknown>;
}

/**
 * Reads the objective flags. `required`: --objective must be given (eval), else it defaults to
 * infonce (solve). Files (--batches) are read here; row indices are checked by the objective.
 */
export function objectiveFromFlags(cmd: string, flags: Flags, required: boolean): ObjectiveChoice {
  const op = `contrastlab ${cmd}`;
  const name: ObjectiveName = choiceFlag(cmd, flags, 'objective', OBJECTIVE_NAMES, 'infonce');
  if (required && flags.objective === undefined) throw new ConfigError(op, `--objective is required (one of ${OBJECTIVE_NAMES.join(', ')})`);
  const tauGiven = flags.tau !== undefined;
  const tau = numberFlag(cmd, flags, 'tau', 1, { gt: 0 });
  const eps0 = numberFlag(cmd, flags, 'eps0', undefined, { min: 0 });
  const t = numberFlag(cmd, flags, 't', undefined, { gt: 0 });
  const b = numberFlag(cmd, flags, 'b', undefined);
  const maxBatches = numberFlag(cmd, flags, 'max-batches', 1_000_000, { int: true, min: 1 });
  const batchesPath = stringFlag(flags, 'batches');
  const allB = numberFlag(cmd, flags, 'all-batches', undefined, { int: true, min: 2 });
  if (name === 'minibatch' && (batchesPath === undefined) === (allB === undefined)) {
    throw new ConfigError(op, 'minibatch needs exactly one of --batches FILE or --all-batches B');
  }
  if (name !== 'minibatch' && (batchesPath !== undefined || allB !== undefined)) {
    throw new ConfigError(op, `--batches/--all-batches apply to --objective minibatch only, not '${name}'`);
  }
  if (eps0 !== undefined && !name.startsWith('gcl')) {
    throw new ConfigError(op, `--eps0 applies to the gcl objectives only, not '${name}'`);
  }
  if (name === 'sigmoid' && tauGiven) {
    throw new ConfigError(op, `--tau does not apply to --objective sigmoid; its scale is --t (t = 1/tau) and its bias --b`);
  }
  if (name !== 'sigmoid' && (t !== undefined || b !== undefined)) {
    throw new ConfigError(op, `--t/--b apply to --objective sigmoid only, not '${name}'`);
  }
  if (name === 'sigmoid') {
    const st = t ?? SIGMOID_DEFAULT_T;
    const sb = b ?? SIGMOID_DEFAULT_B;
    return { spec: { name, t: st, b: sb }, settings: { objective: name, t: st, b: sb } };
  }
  let batches: BatchSet | undefined;
  if (batchesPath !== undefined) batches = { kind: 'list', batches: readBatches(op, batchesPath) };
  if (allB !== undefined) batches = { kind: 'all', B: allB };
  const settings: Record<string, unknown> = { objective: name, tau };
  if (name.startsWith('gcl')) settings.eps0 = eps0 ?? 0;
  return { spec: { name, tau, eps0, batches, maxBatches }, settings };
}

/** The `batches` field of a command's output for a minibatch spec (n rows). */
export function batchesSummary(spec: ObjectiveSpec, n: number): Record<string, unknown> {
  const bs = spec.batches;
  if (spec.name !== 'minibatch' || !bs) return {};
  return { batches: bs.kind === 'all' ? `all C(${n},${bs.B})` : bs.batches.length };
}
