/** Where a command writes: stdout lines, stderr lines, and whether stderr is a terminal (progress). */
export interface CommandIO {
  out(line: string): void;
  err(line: string): void;
  readonly isTTY: boolean;
}

export const processIO: CommandIO = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  isTTY: process.stderr.isTTY === true,
};
