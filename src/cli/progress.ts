/** A one-line progress indicator on stderr when it is a terminal; silent otherwise. */
import type { CommandIO } from './io.ts';

export interface Progress {
  update(done: number, detail?: string): void;
  finish(): void;
}

export function progressBar(io: CommandIO, label: string, total: number): Progress {
  if (!io.isTTY) return { update() {}, finish() {} };
  let last = 0;
  const width = 24;
  const draw = (done: number, detail = '') => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const full = Math.round(frac * width);
    process.stderr.write(`\r${label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} ${detail}\x1b[K`);
  };
  return {
    update(done, detail) {
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      draw(done, detail);
    },
    finish() {
      process.stderr.write('\n');
    },
  };
}
