/** `contrastlab gradcheck` (being written: issue 14). */
import type { CommandIO } from '../io.ts';

export function gradcheckCommand(_argv: string[], io: CommandIO): number {
  io.err('contrastlab gradcheck: not available yet');
  return 2;
}
