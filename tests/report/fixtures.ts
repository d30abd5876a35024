/** Inputs for the report tests: real run / check outputs made by the CLI, and hand-made folders. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli/harness.ts';

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'contrastlab-report-'));
}

/** Fast smoke claims: one with a figure, one expected refuted. */
export const CHECK_IDS = ['cho.spectral.pairwise-lower-bound', 'cho.osgd.coincident-row-trap'] as const;

/** Runs `contrastlab check <CHECK_IDS> --size smoke --out` and `contrastlab run --preset fixed-partition --size smoke --out`. */
export async function realOutputs(): Promise<{ check: string; run: string }> {
  const root = tmpDir();
  const check = join(root, 'check');
  const run = join(root, 'run');
  const c = await cli('check', ...CHECK_IDS, '--size', 'smoke', '--out', check);
  if (c.code !== 0) throw new Error(`check failed (${c.code}): ${c.stderr}`);
  const r = await cli('run', '--preset', 'fixed-partition', '--size', 'smoke', '--out', run);
  if (r.code !== 0) throw new Error(`run failed (${r.code}): ${r.stderr}`);
  return { check, run };
}

/** Writes `files` (name -> content; objects as JSON) into a fresh folder. */
export function folder(files: Record<string, string | Uint8Array | object>): string {
  const dir = tmpDir();
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, typeof content === 'string' || content instanceof Uint8Array ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** The smallest valid PNG (1x1, opaque black). */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==', 'base64');

export const SIMPLE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" viewBox="0 0 40 20"><defs><linearGradient id="gradient_0"><stop offset="0" stop-color="red"/></linearGradient></defs><rect width="40" height="20" fill="url(#gradient_0)"/><text x="2" y="12">a &lt; b</text></svg>';

/** Chromium for the page tests: in CI it must be there; locally the tests skip without it. */
export function findChromium(): string | null {
  for (const bin of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return bin;
  }
  return null;
}

export function chromiumOrSkip(skip: (note: string) => void): string | null {
  const bin = findChromium();
  if (bin === null && process.env.CI) throw new Error("chromium is missing in CI: .ci/run must install Debian's chromium");
  if (bin === null) skip('chromium is not installed (apt-get install chromium); the page is not checked in a browser');
  return bin;
}

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-extensions'];

/** The DOM of `file` after load, as headless Chromium dumps it (`window` [width, height] sets the window size). */
export function dumpDom(bin: string, file: string, window?: readonly [number, number]): string {
  const profile = tmpDir();
  const r = spawnSync(bin, [
    ...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...(window ? [`--window-size=${window[0]},${window[1]}`] : []), '--dump-dom', `file://${file}`,
  ], { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A PNG screenshot of `file` in a window of `window` [width, height] CSS px, written to `png`. */
export function screenshot(bin: string, file: string, png: string, window: readonly [number, number]): void {
  const profile = tmpDir();
  const r = spawnSync(bin, [
    ...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, `--window-size=${window[0]},${window[1]}`, '--hide-scrollbars', `--screenshot=${png}`, `file://${file}`,
  ], { encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`);
}
