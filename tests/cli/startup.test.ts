/**
 * `contrastlab eval` must start fast: it loads none of the heavy dependencies (mathjs, vega,
 * vega-lite, @resvg/resvg-js, gpu.js), which only the commands and functions that use them load.
 * No timing is asserted: a child process runs the CLI's `main` and records every module it
 * resolves, ESM through a `module.register` resolve hook, CommonJS (require, createRequire)
 * through `Module._resolveFilename`, and the test checks which heavy packages appear.
 * A control run that does use them (`optimum`, the plotting subpath, the gpujs backend) shows the
 * recording sees each of them.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromRows } from '../../src/core/matrix.ts';
import { tmp, writeMatrix } from './harness.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const HEAVY = ['mathjs', 'vega', 'vega-lite', '@resvg/resvg-js', 'gpu.js'] as const;

// Runs on the loader thread: appends each resolved URL to the log file (synchronously, so the
// record is complete when the import it belongs to returns).
const HOOK = `
import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) { log = data.log; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(log, r.url + '\\n');
  return r;
}`;

// argv: log file, hook file, JSON of { imports: module paths to import first, runs: argv lists for main }.
const PROBE = `
import { createRequire, register } from 'node:module';
import { appendFileSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
const [log, hook, job] = process.argv.slice(2);
const { imports, runs, main: mainPath, heavy } = JSON.parse(job);
register(pathToFileURL(hook).href, import.meta.url, { data: { log } });
const Module = createRequire(import.meta.url)('node:module');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const f = resolveFilename.apply(this, args);
  appendFileSync(log, f + '\\n');
  return f;
};
for (const m of imports) await import(pathToFileURL(m).href);
const { main } = await import(pathToFileURL(mainPath).href);
const codes = [];
const errors = [];
for (const argv of runs) {
  codes.push(await main(argv, { out: () => {}, err: (l) => errors.push(l), isTTY: false }));
}
const seen = readFileSync(log, 'utf8').split('\\n').map((s) => s.replaceAll('\\\\', '/'));
const loaded = heavy.filter((name) => seen.some((s) => s.includes('/node_modules/' + name + '/')));
const ours = seen.filter((s) => s.includes('/src/')).length;
console.log(JSON.stringify({ codes, errors, loaded, ours }));`;

function probe(runs: string[][], imports: string[] = []): { codes: number[]; errors: string[]; loaded: string[]; ours: number } {
  const dir = tmp();
  const log = join(dir, 'resolved.log');
  writeFileSync(log, '');
  writeFileSync(join(dir, 'hook.mjs'), HOOK);
  writeFileSync(join(dir, 'probe.mjs'), PROBE);
  const job = JSON.stringify({ imports, runs, main: join(root, 'src/cli/main.ts'), heavy: HEAVY });
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'probe.mjs'), log, join(dir, 'hook.mjs'), job], {
    cwd: root, encoding: 'utf8', timeout: 120_000,
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function tinyInput(): { dir: string; u: string; v: string } {
  const dir = tmp();
  const rows = (k: number) => Array.from({ length: 8 }, (_, i) => Array.from({ length: 16 }, (_, j) => Math.sin(1 + i * 16 + j + k)));
  return { dir, u: writeMatrix(join(dir, 'U.npy'), fromRows(rows(0))), v: writeMatrix(join(dir, 'V.npy'), fromRows(rows(7))) };
}

describe('CLI start-up: what eval loads', () => {
  it('eval (every objective, cpu and reference backends, --grad-out) and --help load none of the heavy packages', () => {
    const { dir, u, v } = tinyInput();
    const runs = [
      ['--help'],
      ['eval', '--help'],
      ['eval', '--objective', 'infonce', '--u', u, '--v', v],
      ['eval', '--objective', 'infonce-uv', '--u', u, '--v', v, '--dtype', 'f32'],
      ['eval', '--objective', 'minibatch', '--all-batches', '3', '--u', u, '--v', v],
      ['eval', '--objective', 'gcl-bimodal', '--u', u, '--v', v, '--backend', 'reference'],
      ['eval', '--objective', 'gcl-unimodal', '--u', u],
      ['eval', '--objective', 'sigmoid', '--u', u, '--v', v, '--grad-out', join(dir, 'grads')],
      ['eval', '--objective', 'infonce', '--u', join(dir, 'missing.npy')], // the error path too
    ];
    const r = probe(runs);
    expect(r.codes, r.errors.join('\n')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 2]);
    expect(r.ours).toBeGreaterThan(10); // the recording saw the modules eval did load
    expect(r.loaded).toEqual([]);
  });

  it('control: the recording sees each heavy package when something does use it', () => {
    const { dir, u } = tinyInput();
    let gpujs = true;
    try {
      createRequire(import.meta.url).resolve('gpu.js');
    } catch {
      gpujs = false; // an optional peer dependency (npm run gpu:install)
    }
    const runs = [
      ['optimum', '--kind', 'etf', '--n', '4', '--d', '3', '--out', join(dir, 'etf.npy')], // mathjs (createRequire)
      ...(gpujs ? [['eval', '--objective', 'infonce', '--u', u, '--backend', 'gpujs:cpu']] : []), // gpu.js (require)
    ];
    const r = probe(runs, [join(root, 'src/plot.ts'), join(root, 'src/plot/render.ts')]); // vega, vega-lite, resvg (import)
    // Only the optimum run's status is checked: the gpujs run is there to load gpu.js, and its
    // exit status is not this test's concern.
    expect(r.codes[0], r.errors.join('\n')).toBe(0);
    expect(r.loaded).toEqual(HEAVY.filter((n) => gpujs || n !== 'gpu.js'));
  });
});
