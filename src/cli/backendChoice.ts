/** Backend selection by name for the CLI. */
import { createCpuBackend } from '../backend/cpu/index.ts';
import { createReferenceBackend } from '../backend/reference.ts';
import type { Backend } from '../backend/types.ts';
import { ConfigError } from '../core/errors.ts';
import type { DType } from '../core/matrix.ts';

export const BACKEND_NAMES = ['cpu', 'reference'] as const;

export function makeBackend(command: string, name: string | undefined, dtype: DType): Backend {
  switch (name ?? 'cpu') {
    case 'cpu':
      return createCpuBackend({ dtype });
    case 'reference':
      return createReferenceBackend({ dtype });
    default:
      throw new ConfigError(`contrastlab ${command}`, `--backend must be one of ${BACKEND_NAMES.join(', ')}, got '${name}'`);
  }
}
