/**
 * Progress of a long command (`run`, `check`, `bias`) on stderr, weighted by work (steps, claims,
 * batch rows), with the elapsed time and an estimate of the time left:
 *
 *  - on a terminal: one line with a bar, redrawn in place (`\r`) at most every `redrawMs` (100 ms);
 *  - elsewhere (nohup, CI logs, notebooks): a plain line at the first update, then at most one every
 *    `intervalMs` (5 s; CONTRASTLAB_PROGRESS_INTERVAL seconds), and a last line at `finish()`:
 *      run cho-grid: 37% (1234/3336 steps), 42 s elapsed, ETA 71 s — arm seed 1 step 40/139
 *  - `quiet`: nothing at all.
 *
 * The work runs synchronously (a study blocks the event loop), so no timer could fire during it:
 * every line is drawn from `update()` with a clock check, never from setInterval. The clock is
 * `now()` (Date.now by default; tests pass a fake one).
 *
 * ETA = elapsed × (total − done) / (work done by this invocation), shown once that work is at least
 * 2% of what this invocation has to do, or 2 s have passed. Work counted as done without being done
 * here (runs finished before a --resume, steps a run skipped by stopping early) is declared with
 * `setSkipped` and left out of the rate.
 */
import { parseNumber } from './args.ts';
import type { CommandIO } from './io.ts';

export interface Progress {
  /** `done` units of the total are done (absolute, not an increment); `detail` says where (a claim id, a run). */
  update(done: number, detail?: string): void;
  /** Of the units counted done, this many were not done by this invocation (absolute); left out of the rate. */
  setSkipped(units: number): void;
  /** Changes the total (a count that turned out different from the estimate). */
  setTotal(total: number): void;
  /** All done: the last line (terminal: the final bar and a newline). */
  finish(detail?: string): void;
  /** On a terminal, erases an unfinished bar (before an error message is printed); otherwise nothing. */
  close(): void;
}

export interface ProgressOptions {
  /** What is running: `run cho-grid`, `check`, `bias`. */
  readonly label: string;
  /** Units of work in all. */
  readonly total: number;
  /** What a unit is, plural: 'steps', 'claims'. */
  readonly unit: string;
  /** No output at all (`--quiet`). */
  readonly quiet?: boolean;
  /** The clock in milliseconds (default Date.now). */
  readonly now?: () => number;
  /** Not a terminal: minimum time between two lines (default 5000 ms). */
  readonly intervalMs?: number;
  /** On a terminal: minimum time between two redraws (default 100 ms). */
  readonly redrawMs?: number;
}

export const DEFAULT_INTERVAL_MS = 5000;
export const DEFAULT_REDRAW_MS = 100;
/** The ETA is shown once this fraction of the work is done by this invocation, or ETA_AFTER_MS passed. */
const ETA_AFTER_FRACTION = 0.02;
const ETA_AFTER_MS = 2000;
const BAR_WIDTH = 24;

/**
 * The interval between two progress lines when stderr is not a terminal: CONTRASTLAB_PROGRESS_INTERVAL
 * (seconds, >= 0; 0 = a line at every update; read by the CLI's one number parser) or the default 5 s.
 */
export function progressIntervalMs(command: string, env: Record<string, string | undefined> = process.env): number {
  const raw = env.CONTRASTLAB_PROGRESS_INTERVAL;
  if (raw === undefined || raw.trim() === '') return DEFAULT_INTERVAL_MS;
  return parseNumber(`contrastlab ${command}`, 'CONTRASTLAB_PROGRESS_INTERVAL (seconds)', raw, { min: 0 }) * 1000;
}

/** A duration for people: `0.4 s`, `42 s`, `12 min 5 s`, `3 h 7 min`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 100) return `${Math.round(s)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  const min = Math.round(whole / 60);
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

const SILENT: Progress = { update() {}, setSkipped() {}, setTotal() {}, finish() {}, close() {} };

export function createProgress(io: CommandIO, opts: ProgressOptions): Progress {
  if (opts.quiet) return SILENT;
  const now = opts.now ?? Date.now;
  const t0 = now();
  const tty = io.isTTY && io.errWrite !== undefined;
  const write = (text: string) => io.errWrite!(text);
  const interval = tty ? (opts.redrawMs ?? DEFAULT_REDRAW_MS) : (opts.intervalMs ?? DEFAULT_INTERVAL_MS);
  let total = Math.max(0, opts.total);
  let done = 0;
  let skipped = 0;
  let detail = '';
  let last = -Infinity; // time of the last line or redraw; -Infinity: none yet
  let drawn = false; // a terminal bar is on screen, unfinished
  let finished = false;

  const describe = (t: number, final: boolean): { pct: string; counts: string; time: string } => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    // Floor, so that 100% means all of it.
    const pct = `${final ? 100 : Math.floor(frac * 100)}%`;
    const counts = `${done}/${total} ${opts.unit}`;
    const elapsed = t - t0;
    let time = `${formatDuration(elapsed)} elapsed`;
    if (final) time += ', done';
    else {
      const work = done - skipped;
      const toDo = total - skipped;
      if (work > 0 && toDo > 0 && elapsed > 0 && (work >= ETA_AFTER_FRACTION * toDo || elapsed >= ETA_AFTER_MS)) {
        time += `, ETA ${formatDuration((elapsed * Math.max(0, total - done)) / work)}`;
      }
    }
    return { pct, counts, time };
  };

  const plainLine = (t: number, final: boolean): string => {
    const d = describe(t, final);
    return `${opts.label}: ${d.pct} (${d.counts}), ${d.time}${detail ? ` — ${detail}` : ''}`;
  };

  const barLine = (t: number, final: boolean): string => {
    const d = describe(t, final);
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const full = Math.round((final ? 1 : frac) * BAR_WIDTH);
    const text = `${opts.label} [${'#'.repeat(full)}${'.'.repeat(BAR_WIDTH - full)}] ${d.pct} (${d.counts}), ${d.time}${detail ? ` — ${detail}` : ''}`;
    // A line longer than the terminal would wrap, and `\r` would then redraw only its last row.
    const cols = io.columns;
    return cols !== undefined && cols > 1 && text.length > cols - 1 ? text.slice(0, cols - 1) : text;
  };

  const emit = (t: number, final: boolean) => {
    last = t;
    if (tty) {
      write(`\r${barLine(t, final)}\x1b[K${final ? '\n' : ''}`);
      drawn = !final;
    } else io.err(plainLine(t, final));
  };

  return {
    update(d, det) {
      if (finished) return;
      done = Math.max(0, d);
      if (det !== undefined) detail = det;
      const t = now();
      // Off a terminal, all done is for finish() to say (one line, not two alike).
      if (!tty && done >= total && last > -Infinity) return;
      if (t - last >= interval) emit(t, false);
    },
    setSkipped(units) {
      skipped = Math.max(0, units);
    },
    setTotal(n) {
      total = Math.max(0, n);
    },
    finish(det) {
      if (finished) return;
      finished = true;
      done = total;
      detail = det ?? '';
      emit(now(), true);
    },
    close() {
      if (tty && drawn) write('\r\x1b[K');
      drawn = false;
      finished = true;
    },
  };
}

/**
 * The older interface (`solve`): a bar on a terminal, nothing otherwise; `total` in steps.
 * Commands with long runs use createProgress, which also prints plain lines off a terminal.
 */
export function progressBar(io: CommandIO, label: string, total: number): Progress {
  return io.isTTY ? createProgress(io, { label, total, unit: 'steps' }) : SILENT;
}
