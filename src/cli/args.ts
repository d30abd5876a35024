/** Argument parsing for the CLI: node's strict parseArgs plus typed, named number checks. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../core/errors.ts';

export type Flags = Record<string, string | boolean | undefined>;

/** Parses `argv` strictly: unknown flags and missing values are ConfigErrors naming the command. */
export function parseFlags(command: string, argv: string[], options: ParseArgsConfig['options'], allowPositionals = false): { flags: Flags; positionals: string[] } {
  // A negative number after a string flag is its value (`--eps0 -1`), not another flag.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : null;
    if (name && options?.[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity|NaN)/.test(next)) {
      args.push(`${a}=${next}`);
      i++;
    } else args.push(a);
  }
  try {
    const { values, positionals } = parseArgs({ args, options, strict: true, allowPositionals });
    return { flags: values as Flags, positionals };
  } catch (e) {
    throw new ConfigError(`contrastlab ${command}`, (e as Error).message.replace(/\s+/g, ' ').trim());
  }
}

interface NumberRule {
  readonly int?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Strict lower bound. */
  readonly gt?: number;
}

/** A decimal number as people write it: `1`, `-0.5`, `.25`, `3e-4`; not hex, not `1e`, not `Infinity`. */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a decimal number from user text against `rule`; `what` names it in the ConfigError
 * (`--tau`, `--batch-sizes entry`). Integers must be safe integers (|x| <= 2^53 - 1): the one
 * integer parser of every command.
 */
export function parseNumber(op: string, what: string, raw: string, rule: NumberRule = {}): number {
  const s = raw.trim();
  if (!DECIMAL.test(s)) throw new ConfigError(op, `${what} must be a decimal number, got '${raw}'`);
  const x = Number(s);
  if (!Number.isFinite(x)) throw new ConfigError(op, `${what} must be a finite number, got '${raw}'`);
  if (rule.int && !Number.isSafeInteger(x)) {
    throw new ConfigError(op, `${what} must be an integer${Number.isInteger(x) ? ` of at most 2^53 - 1 (${Number.MAX_SAFE_INTEGER})` : ''}, got '${raw}'`);
  }
  if (rule.min !== undefined && x < rule.min) throw new ConfigError(op, `${what} must be >= ${rule.min}, got ${x}`);
  if (rule.gt !== undefined && x <= rule.gt) throw new ConfigError(op, `${what} must be > ${rule.gt}, got ${x}`);
  if (rule.max !== undefined && x > rule.max) throw new ConfigError(op, `${what} must be <= ${rule.max}, got ${x}`);
  return x;
}

/** The flag's value as a number, or `dflt` when absent; a ConfigError naming flag and value otherwise. */
export function numberFlag(command: string, flags: Flags, name: string, dflt: number, rule?: NumberRule): number;
export function numberFlag(command: string, flags: Flags, name: string, dflt: undefined, rule?: NumberRule): number | undefined;
export function numberFlag(command: string, flags: Flags, name: string, dflt: number | undefined, rule: NumberRule = {}): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return dflt;
  return parseNumber(`contrastlab ${command}`, `--${name}`, String(raw), rule);
}

/** A seed: an integer in [0, 2^53 - 1] (what Rng.fromSeed takes). */
export function seedFlag(command: string, flags: Flags, name = 'seed', dflt = 0): number {
  return numberFlag(command, flags, name, dflt, { int: true, min: 0 });
}

/** A comma-separated list of integers (e.g. batch sizes), each checked by `rule`, no repeats. */
export function intListFlag(command: string, flags: Flags, name: string, dflt: number[], rule: NumberRule = {}): number[] {
  const op = `contrastlab ${command}`;
  const raw = stringFlag(flags, name);
  if (raw === undefined) return dflt;
  const parts = raw.split(',');
  if (parts.some((s) => s.trim() === '')) throw new ConfigError(op, `--${name} must be a comma-separated list of integers, got '${raw}'`);
  const out: number[] = [];
  for (const s of parts) {
    const x = parseNumber(op, `--${name} entry`, s, { ...rule, int: true });
    if (out.includes(x)) throw new ConfigError(op, `--${name} lists ${x} twice`);
    out.push(x);
  }
  return out;
}

export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function requireFlag(command: string, flags: Flags, name: string): string {
  const v = stringFlag(flags, name);
  if (v === undefined || v === '') throw new ConfigError(`contrastlab ${command}`, `--${name} is required`);
  return v;
}

export function choiceFlag<T extends string>(command: string, flags: Flags, name: string, choices: readonly T[], dflt: T): T {
  const v = stringFlag(flags, name);
  if (v === undefined) return dflt;
  if (!(choices as readonly string[]).includes(v)) {
    throw new ConfigError(`contrastlab ${command}`, `--${name} must be one of ${choices.join(', ')}, got '${v}'`);
  }
  return v as T;
}
