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

/** The flag's value as a number, or `dflt` when absent; a ConfigError naming flag and value otherwise. */
export function numberFlag(command: string, flags: Flags, name: string, dflt: number, rule?: NumberRule): number;
export function numberFlag(command: string, flags: Flags, name: string, dflt: undefined, rule?: NumberRule): number | undefined;
export function numberFlag(command: string, flags: Flags, name: string, dflt: number | undefined, rule: NumberRule = {}): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return dflt;
  const op = `contrastlab ${command}`;
  const s = String(raw).trim();
  const x = s === '' ? NaN : Number(s);
  if (!Number.isFinite(x)) throw new ConfigError(op, `--${name} must be a finite number, got '${raw}'`);
  if (rule.int && !Number.isInteger(x)) throw new ConfigError(op, `--${name} must be an integer, got '${raw}'`);
  if (rule.min !== undefined && x < rule.min) throw new ConfigError(op, `--${name} must be >= ${rule.min}, got ${x}`);
  if (rule.gt !== undefined && x <= rule.gt) throw new ConfigError(op, `--${name} must be > ${rule.gt}, got ${x}`);
  if (rule.max !== undefined && x > rule.max) throw new ConfigError(op, `--${name} must be <= ${rule.max}, got ${x}`);
  return x;
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
