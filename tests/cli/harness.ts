/** Runs the CLI in-process with captured output, in a fresh temporary folder. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import type { Matrix } from '../../src/core/matrix.ts';
import { matrixToNpy, serializeNpy } from '../../src/io/npy.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: () => Record<string, unknown>;
}

export async function cli(...argv: string[]): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false });
  const stdout = out.join('\n');
  return { code, stdout, stderr: err.join('\n'), json: () => JSON.parse(stdout) };
}

export function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'contrastlab-cli-'));
}

export function writeMatrix(path: string, m: Matrix, dtype: 'f64' | 'f32' = 'f64'): string {
  const a = matrixToNpy(m, dtype);
  writeFileSync(path, serializeNpy(a.data, a.shape, a.dtype));
  return path;
}
