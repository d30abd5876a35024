/** Access to Debian's python3 + numpy for independent cross-checks (installed by .ci/run). */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export function hasNumpy(): boolean {
  return spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
}

/** In CI numpy must be there (the checks must not silently vanish); locally the tests skip without it. */
export function numpyOrSkip(): boolean {
  const ok = hasNumpy();
  if (!ok && process.env.CI) throw new Error('python3-numpy is missing in CI: .ci/run must install it');
  return ok;
}

export function python(code: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

export function pythonScript(path: string, args: string[]): string {
  const r = spawnSync(PYTHON, [path, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python ${path} failed: ${r.stderr}`);
  return r.stdout;
}
