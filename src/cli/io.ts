/** Where a command writes: stdout lines, stderr lines, and whether stderr is a terminal (progress). */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
  readonly isTTY: boolean;
  /** Writes `text` to stderr as is, without a newline (a progress bar redrawn in place with `\r`); without it progress prints lines. */
  errWrite?(text: string): void;
  /** The terminal's width in characters, when stderr is one (progress bars are cut to fit). */
  readonly columns?: number;
}

export const processIO: CommandIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  isTTY: process.stderr.isTTY === true,
  errWrite: (text) => process.stderr.write(text),
  get columns() {
    return process.stderr.columns;
  },
};

let guarded = false;

/**
 * A closed stdout or stderr (`contrastlab check --list | head -1`) ends the process quietly with
 * status 141 (128 + SIGPIPE, what a shell reports for `yes | head`), after removing temporaries;
 * no stack trace.
 */
export function exitQuietlyOnEpipe(cleanup: () => void): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      cleanup();
      process.exit(141);
    });
  }
}
