/**
 * The memory budget: the largest single allocation the toolkit makes on the user's behalf.
 * Sizes are checked against it before anything is allocated, so an impossible request
 * (`--n 100000 --d 100000`, a spec with `"n": 1e9`, a .npy header declaring 40 GB) is a one-line
 * CapExceededError naming the size instead of an out-of-memory crash.
 *
 * Budget = half of the machine's memory (or of the cgroup limit, when one is set), overridable with
 * the environment variable CONTRASTLAB_MEMORY_BUDGET (bytes, or a number with KiB/MiB/GiB).
 */
import { totalmem } from 'node:os';
import { CapExceededError, ConfigError } from './errors.ts';

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, kb: 1e3, mb: 1e6, gb: 1e9 };

/** Parses "123", "512MiB", "2 GiB" into bytes; null when not a size. */
export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? null : Math.floor(Number(m[1]) * unit);
}

/** The machine's usable memory: os.totalmem(), or the cgroup limit when it is smaller. */
function machineBytes(): number {
  const total = totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

export function memoryBudgetBytes(): number {
  const env = process.env.CONTRASTLAB_MEMORY_BUDGET;
  if (env !== undefined && env !== '') {
    const b = parseBytes(env);
    if (b === null || b <= 0) throw new ConfigError('memory budget', `CONTRASTLAB_MEMORY_BUDGET must be a size such as 4GiB, got '${env}'`);
    return b;
  }
  return Math.floor(machineBytes() / 2);
}

/** "1.5 GiB", "12.0 MiB", "800 bytes". */
export function formatBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(1)} MiB`;
  if (b >= 2 ** 10) return `${(b / 2 ** 10).toFixed(1)} KiB`;
  return `${b} bytes`;
}

/**
 * Throws CapExceededError unless `bytes` (a product the caller computed in float64, possibly huge)
 * fits the memory budget. `what` names the allocation, e.g. "U and V (100000 x 100000 float64, x2)".
 */
export function assertFitsBudget(op: string, what: string, bytes: number): void {
  const budget = memoryBudgetBytes();
  if (!(bytes <= budget)) {
    const source = process.env.CONTRASTLAB_MEMORY_BUDGET ? 'CONTRASTLAB_MEMORY_BUDGET' : `half of this machine's ${formatBytes(machineBytes())}; set CONTRASTLAB_MEMORY_BUDGET to change it`;
    throw new CapExceededError(op, `${what} needs ${formatBytes(bytes)}, over the memory budget of ${formatBytes(budget)} (${source})`);
  }
}

/** Bytes of `count` matrices of rows x cols in `dtype`, checked against the budget. */
export function assertMatricesFit(op: string, what: string, rows: number, cols: number, bytesPerElement: number, count = 1): void {
  assertFitsBudget(op, `${what} (${count > 1 ? `${count} x ` : ''}${rows} x ${cols}, ${bytesPerElement === 8 ? 'float64' : bytesPerElement === 4 ? 'float32' : `${bytesPerElement}-byte`})`, rows * cols * bytesPerElement * count);
}
