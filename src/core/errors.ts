/**
 * Typed errors. Every message names the operation and the offending values or shapes,
 * e.g. `infonce: U is 128x16 but V is 128x15`.
 */
export class ContrastlabError extends Error {
  /** The operation that raised the error (e.g. `infonce`, `readNpy`, `cli eval`). */
  readonly op: string;
  constructor(op: string, message: string) {
    super(`${op}: ${message}`);
    this.op = op;
    this.name = new.target.name;
  }
}

/** Incompatible or invalid shapes (mismatched rows/cols, empty matrices, bad indices). */
export class ShapeError extends ContrastlabError {}

/** NaN or ±Infinity where finite numbers are required. */
export class NonFiniteError extends ContrastlabError {}

/** A scalar parameter outside its domain (tau <= 0, gamma outside (0,1], B > N, ...). */
export class DomainError extends ContrastlabError {}

/** A row that must be normalised has zero norm. */
export class ZeroRowError extends ContrastlabError {}

/** A request whose size exceeds a configured cap (e.g. enumerating C(N,B) batches). */
export class CapExceededError extends ContrastlabError {}

/** A malformed or unsupported `.npy` file. */
export class NpyFormatError extends ContrastlabError {}

/** A malformed configuration, CLI argument or JSON input. */
export class ConfigError extends ContrastlabError {}

/** Formats a number for an error message: full precision, NaN/Infinity spelled out. */
export function fmt(x: number): string {
  return Number.isFinite(x) ? String(x) : String(x);
}

/** A backend that cannot run here (a missing optional package, no WebGL context, an unsupported mode). */
export class BackendUnavailableError extends ContrastlabError {}
