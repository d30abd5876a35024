/** `contrastlab diagnose` (being written: issue 14). */
import type { CommandIO } from '../io.ts';

export function diagnoseCommand(_argv: string[], io: CommandIO): number {
  io.err('contrastlab diagnose: not available yet');
  return 2;
}
