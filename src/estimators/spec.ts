/**
 * Estimators as JSON data (`EstimatorSpec`) and their validation.
 *
 * A spec names the estimator and its hyper-parameters. Validation is strict: an unknown `kind`, an
 * unknown key, a missing required key or a value of the wrong type is a ConfigError; a number
 * outside its domain (τ ≤ 0, γ ∉ (0, 1], ε₀ < 0, ...) is a DomainError. Every message names the
 * path of the offending value (`estimator.gamma.gammaMin`) and the value.
 *
 * @example
 *   validateEstimatorSpec({ kind: 'sogclr', modality: 'unimodal', tau: 0.1, gamma: 0.9, eps0: 0 });
 */
import { ConfigError, DomainError } from '../core/errors.ts';
import type { Modality } from './types.ts';

/** γ: a constant, or FastCLIP's cosine decay from 1 (epoch 0) down to γ_min at epoch E (constant after). */
export type GammaSpec = number | { readonly schedule: 'cosine'; readonly gammaMin: number; readonly epochs: number };

export interface SogclrPitfalls {
  /** With `sharedU`: store u1 + u2 instead of their mean (THEORY 5; diverges for γ ≤ 1/2). */
  readonly sumStorage?: boolean;
  /** First-visit rule per batch (γ = 1 only when every entry of the batch is unvisited) instead of per entry. */
  readonly batchFirstVisit?: boolean;
}

export type EstimatorSpec =
  /** Unimodal NT-Xent (2B views, within-view negatives): GCL plug-in with ε₀ = 1/(2B−2), u = ĝ. */
  | { readonly kind: 'simclr'; readonly tau: number }
  /** Decoupled contrastive loss: GCL plug-in with ε₀ = 0, u = ĝ. */
  | { readonly kind: 'dcl'; readonly modality: Modality; readonly tau: number }
  /** Two-sided InfoNCE on the batch: bimodal GCL plug-in with ε₀ = 1/(B−1), u = ĝ. */
  | { readonly kind: 'clip'; readonly tau: number }
  | {
    readonly kind: 'sogclr';
    readonly modality: Modality;
    readonly tau: number;
    readonly gamma: GammaSpec;
    /** ε₀ ≥ 0 inside the log (default 0, as in SOG's code). */
    readonly eps0?: number;
    /** One u per example for its two anchors, storing their mean (SOG's official code). */
    readonly sharedU?: boolean;
    readonly pitfalls?: SogclrPitfalls;
  }
  | {
    readonly kind: 'isogclr';
    /** Default 'unimodal' (iSogCLR's main setting, SimCLR-like). */
    readonly modality?: Modality;
    readonly tau0: number;
    readonly tauMin: number;
    readonly tauMax: number;
    readonly rho: number;
    readonly tauLr: number;
    readonly gamma: GammaSpec;
    readonly eps0?: number;
  }
  | {
    readonly kind: 'fastclip-v3';
    /** Default 'bimodal' (FastCLIP trains CLIP). */
    readonly modality?: Modality;
    readonly tau0: number;
    readonly tauMin: number;
    readonly tauMax: number;
    readonly rho: number;
    readonly tauLr: number;
    readonly gamma: GammaSpec;
    readonly eps0?: number;
  };

export type EstimatorKind = EstimatorSpec['kind'];
export const ESTIMATOR_KINDS: readonly EstimatorKind[] = ['simclr', 'dcl', 'clip', 'sogclr', 'isogclr', 'fastclip-v3'];
export const MODALITIES: readonly Modality[] = ['bimodal', 'unimodal'];

const OP = 'estimator spec';

const KEYS: Record<EstimatorKind, { required: readonly string[]; optional: readonly string[] }> = {
  simclr: { required: ['tau'], optional: [] },
  dcl: { required: ['modality', 'tau'], optional: [] },
  clip: { required: ['tau'], optional: [] },
  sogclr: { required: ['modality', 'tau', 'gamma'], optional: ['eps0', 'sharedU', 'pitfalls'] },
  isogclr: { required: ['tau0', 'tauMin', 'tauMax', 'rho', 'tauLr', 'gamma'], optional: ['modality', 'eps0'] },
  'fastclip-v3': { required: ['tau0', 'tauMin', 'tauMax', 'rho', 'tauLr', 'gamma'], optional: ['modality', 'eps0'] },
};

const show = (x: unknown): string => {
  if (typeof x === 'number') return String(x);
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
};

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean" suggestions. */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to `word` (case-insensitive edit distance; ties: the first candidate), or
 * null when none is close enough to be a plausible misspelling (distance > max(2, length/3), or
 * every character different).
 */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const len = best === null ? 0 : Math.max(word.length, best.length);
  return best !== null && bestD < len && bestD <= Math.max(2, Math.floor(len / 3)) ? best : null;
}

/** `path.key`, or `path["odd key"]` when the key is not an identifier (keeps messages one line). */
export function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * The one key check for every object of a JSON spec (estimators, experiments, studies): a key that
 * is neither required nor optional is refused, naming its path and the nearest valid key (a
 * misspelt key would otherwise be ignored and its default used silently); a missing required key
 * is refused too.
 */
export function checkKeys(op: string, path: string, o: Record<string, unknown>, required: readonly string[], optional: readonly string[] = []): void {
  const known = [...required, ...optional];
  for (const k of Object.keys(o)) {
    if (known.includes(k)) continue;
    const near = nearest(k, known);
    throw new ConfigError(op, `${keyPath(path, k)} is not a known key; ${near !== null ? `did you mean '${near}'?` : `expected one of ${known.join(', ')}`}`);
  }
  for (const k of required) if (o[k] === undefined) throw new ConfigError(op, `${keyPath(path, k)} is required`);
}

function num(path: string, x: unknown): number {
  if (typeof x !== 'number') throw new ConfigError(OP, `${path} must be a number, got ${show(x)}`);
  if (!Number.isFinite(x)) throw new DomainError(OP, `${path} must be finite, got ${show(x)}`);
  return x;
}

function positive(path: string, x: unknown): number {
  const v = num(path, x);
  if (!(v > 0)) throw new DomainError(OP, `${path} must be > 0, got ${v}`);
  return v;
}

function nonNegative(path: string, x: unknown): number {
  const v = num(path, x);
  if (!(v >= 0)) throw new DomainError(OP, `${path} must be >= 0, got ${v}`);
  return v;
}

function unitInterval(path: string, x: unknown): number {
  const v = num(path, x);
  if (!(v > 0 && v <= 1)) throw new DomainError(OP, `${path} must be in (0, 1], got ${v}`);
  return v;
}

function bool(path: string, x: unknown): boolean {
  if (typeof x !== 'boolean') throw new ConfigError(OP, `${path} must be true or false, got ${show(x)}`);
  return x;
}

function modality(path: string, x: unknown): Modality {
  if (x !== 'bimodal' && x !== 'unimodal') throw new ConfigError(OP, `${path} must be 'bimodal' or 'unimodal', got ${show(x)}`);
  return x;
}

function gamma(path: string, x: unknown): GammaSpec {
  if (typeof x === 'number') return unitInterval(path, x);
  if (!isRecord(x)) throw new ConfigError(OP, `${path} must be a number in (0, 1] or {schedule: 'cosine', gammaMin, epochs}, got ${show(x)}`);
  checkKeys(OP, path, x, ['schedule', 'gammaMin', 'epochs']);
  if (x.schedule !== 'cosine') throw new ConfigError(OP, `${path}.schedule must be 'cosine', got ${show(x.schedule)}`);
  const gammaMin = unitInterval(`${path}.gammaMin`, x.gammaMin);
  const epochs = num(`${path}.epochs`, x.epochs);
  if (!Number.isInteger(epochs) || epochs < 1) throw new DomainError(OP, `${path}.epochs must be an integer >= 1, got ${epochs}`);
  return { schedule: 'cosine', gammaMin, epochs };
}

function tauRange(path: string, o: Record<string, unknown>): { tau0: number; tauMin: number; tauMax: number } {
  const tauMin = positive(`${path}.tauMin`, o.tauMin);
  const tauMax = positive(`${path}.tauMax`, o.tauMax);
  if (tauMax < tauMin) throw new DomainError(OP, `${path}.tauMax = ${tauMax} is below ${path}.tauMin = ${tauMin}`);
  const tau0 = positive(`${path}.tau0`, o.tau0);
  if (tau0 < tauMin || tau0 > tauMax) throw new DomainError(OP, `${path}.tau0 = ${tau0} is outside [tauMin, tauMax] = [${tauMin}, ${tauMax}]`);
  return { tau0, tauMin, tauMax };
}

/**
 * Checks `x` against the EstimatorSpec grammar and returns a normalised copy (defaults filled in).
 * `path` is how the spec is named in messages (default 'estimator').
 */
export function validateEstimatorSpec(x: unknown, path = 'estimator'): EstimatorSpec {
  if (!isRecord(x)) throw new ConfigError(OP, `${path} must be an object with a 'kind', got ${show(x)}`);
  const kind = x.kind;
  if (typeof kind !== 'string' || !(ESTIMATOR_KINDS as readonly string[]).includes(kind)) {
    throw new ConfigError(OP, `${path}.kind must be one of ${ESTIMATOR_KINDS.join(', ')}, got ${show(kind)}`);
  }
  const k = kind as EstimatorKind;
  checkKeys(OP, path, x, KEYS[k].required, ['kind', ...KEYS[k].optional]);
  switch (k) {
    case 'simclr':
      return { kind: k, tau: positive(`${path}.tau`, x.tau) };
    case 'clip':
      return { kind: k, tau: positive(`${path}.tau`, x.tau) };
    case 'dcl':
      return { kind: k, modality: modality(`${path}.modality`, x.modality), tau: positive(`${path}.tau`, x.tau) };
    case 'sogclr': {
      const sharedU = x.sharedU === undefined ? false : bool(`${path}.sharedU`, x.sharedU);
      let pitfalls: SogclrPitfalls = {};
      if (x.pitfalls !== undefined) {
        const p = x.pitfalls;
        if (!isRecord(p)) throw new ConfigError(OP, `${path}.pitfalls must be an object, got ${show(p)}`);
        checkKeys(OP, `${path}.pitfalls`, p, [], ['sumStorage', 'batchFirstVisit']);
        pitfalls = {
          sumStorage: p.sumStorage === undefined ? false : bool(`${path}.pitfalls.sumStorage`, p.sumStorage),
          batchFirstVisit: p.batchFirstVisit === undefined ? false : bool(`${path}.pitfalls.batchFirstVisit`, p.batchFirstVisit),
        };
        if (pitfalls.sumStorage && !sharedU) {
          throw new ConfigError(OP, `${path}.pitfalls.sumStorage applies to a shared u only; set ${path}.sharedU to true`);
        }
      }
      return {
        kind: k,
        modality: modality(`${path}.modality`, x.modality),
        tau: positive(`${path}.tau`, x.tau),
        gamma: gamma(`${path}.gamma`, x.gamma),
        eps0: x.eps0 === undefined ? 0 : nonNegative(`${path}.eps0`, x.eps0),
        sharedU,
        pitfalls: { sumStorage: pitfalls.sumStorage ?? false, batchFirstVisit: pitfalls.batchFirstVisit ?? false },
      };
    }
    case 'isogclr':
    case 'fastclip-v3':
      return {
        kind: k,
        modality: x.modality === undefined ? (k === 'isogclr' ? 'unimodal' : 'bimodal') : modality(`${path}.modality`, x.modality),
        ...tauRange(path, x),
        rho: nonNegative(`${path}.rho`, x.rho),
        tauLr: nonNegative(`${path}.tauLr`, x.tauLr),
        gamma: gamma(`${path}.gamma`, x.gamma),
        eps0: x.eps0 === undefined ? 0 : nonNegative(`${path}.eps0`, x.eps0),
      };
  }
}

/** γ at a 0-based epoch: the constant, or γ_min + (1 − γ_min)·(1 + cos(π·min(e, E)/E))/2. */
export function gammaAt(g: GammaSpec, epoch: number): number {
  if (typeof g === 'number') return g;
  const e = Math.min(Math.max(epoch, 0), g.epochs);
  if (e === 0) return 1; // exactly 1 (not γ_min + (1 − γ_min) rounded): the plug-in step
  return g.gammaMin + (1 - g.gammaMin) * 0.5 * (1 + Math.cos((Math.PI * e) / g.epochs));
}
