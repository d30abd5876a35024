/**
 * Backend selection by name for the CLI: `cpu`, `reference`, or `gpujs[:MODE]` with MODE one of
 * headlessgl (default), auto, webasm, cpu (gpu.js's modes; see src/backend/gpujs).
 */
import { createCpuBackend } from '../backend/cpu/index.ts';
import { createGpujsBackend, describeGpujs, GPUJS_MODES, type GpujsMode } from '../backend/gpujs/index.ts';
import { createReferenceBackend } from '../backend/reference.ts';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import type { DType } from '../core/matrix.ts';

export const BACKEND_NAMES = ['cpu', 'reference', 'gpujs', ...GPUJS_MODES.map((m) => `gpujs:${m}`)] as const;

/** The --dtype default for a backend name: float32 for gpujs (its only precision), else float64. */
export function defaultDtype(name: string | undefined): DType {
  return name?.startsWith('gpujs') ? 'f32' : 'f64';
}

/**
 * Creates the named backend. `notice` receives one-line notes for the user (the gpujs mode, precision
 * and renderer it got, and any fallback); default: stderr.
 */
export function makeBackend(command: string, name: string | undefined, dtype: DType, notice: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Backend {
  const full = name ?? 'cpu';
  const [base, mode] = full.split(':', 2) as [string, string | undefined];
  if (base === 'gpujs') {
    if (mode !== undefined && !GPUJS_MODES.includes(mode as GpujsMode)) {
      throw new ConfigError(`contrastlab ${command}`, `--backend gpujs:MODE needs MODE in ${GPUJS_MODES.join(', ')}, got '${mode}'`);
    }
    if (dtype !== 'f32') throw new ConfigError(`contrastlab ${command}`, `--backend gpujs computes in float32 only; drop --dtype ${dtype} or use --dtype f32`);
    const be = createGpujsBackend({ mode: (mode ?? 'headlessgl') as GpujsMode, notice });
    notice(describeGpujs(be));
    return be;
  }
  if (mode !== undefined) throw new ConfigError(`contrastlab ${command}`, `--backend ${base} takes no mode, got '${full}'`);
  switch (base) {
    case 'cpu':
      return createCpuBackend({ dtype });
    case 'reference':
      return createReferenceBackend({ dtype });
    default:
      throw new ConfigError(`contrastlab ${command}`, `--backend must be one of cpu, reference, gpujs[:${GPUJS_MODES.join('|')}], got '${name}'`);
  }
}
