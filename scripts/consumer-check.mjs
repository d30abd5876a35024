#!/usr/bin/env node
/**
 * What a user of the published package gets: `npm pack`, install the tarball into a fresh project
 * with `--omit=optional` (no gpu.js, no resvg binary), then
 *   - `import 'contrastlab'` from an .mjs computes a loss and loads neither the plotting stack
 *     (vega, resvg), nor gpu.js, nor mathjs;
 *   - `contrastlab/gpujs` imports, and creating a backend names the install command;
 *   - a .ts consumer type-checks with `skipLibCheck: false` against the shipped .d.ts.
 * Prints one line per check and exits 1 on the first failure. Used by .ci/run (needs the npm registry).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'contrastlab-consumer-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const t0 = Date.now();
try {
  run('npm', ['pack', '--pack-destination', work, '--silent'], root);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  const files = run('tar', ['-tzf', join(work, tarball)], work).trim().split('\n');
  const bad = files.filter((f) => !/^package\/(dist\/src|dist\/proofs-checks|bin|docs|schema)\/|^package\/(package\.json|README\.md|LICENSE)$/.test(f));
  if (bad.length) throw new Error(`the tarball ships files users do not need: ${bad.slice(0, 5).join(', ')}`);
  console.log(`ok: packed ${files.length} files (dist, bin, docs, schema, README)`);

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const t1 = Date.now();
  run('npm', ['install', '--omit=optional', '--no-audit', '--no-fund', join(work, tarball)], app);
  console.log(`ok: npm install --omit=optional of the tarball in ${((Date.now() - t1) / 1000).toFixed(1)} s`);

  writeFileSync(join(app, 'use.mjs'), `
    import { createRequire } from 'node:module';
    import { Rng, normalizeRows, infonceLossAndGrad, etfInfonceBig } from 'contrastlab';
    const require = createRequire(import.meta.url);
    const U = normalizeRows(Rng.fromSeed(1).fillNormalMatrix(64, 8));
    const { value } = infonceLossAndGrad(U, U, { tau: 0.5 });
    if (!(value > 0)) throw new Error('bad value ' + value);
    const heavy = Object.keys(require.cache).filter((k) => /node_modules\\/(mathjs|@resvg|vega|gpu\\.js)\\//.test(k));
    if (heavy.length) throw new Error('the main entry point loaded ' + heavy.join(', '));
    if (!etfInfonceBig(4, 1, { digits: 30 }).toString().startsWith('0.58265765306180045')) throw new Error('etfInfonceBig');
    const { createGpujsBackend } = await import('contrastlab/gpujs');
    try { createGpujsBackend(); throw new Error('a gpujs backend without gpu.js'); }
    catch (e) { if (!/npm install gpu\\.js/.test(String(e))) throw e; }
    console.log('value', value);
  `);
  run('node', ['use.mjs'], app);
  console.log('ok: import from .mjs computes a loss without loading vega, resvg, gpu.js or mathjs; contrastlab/gpujs names its install command');

  // The kill matrix's mutant switch is not reachable from an installed package: no deep import of
  // the mutants module, and `check --mutants` says it needs a development checkout (exit 2).
  writeFileSync(join(app, 'deep.mjs'), `
    try { await import('contrastlab/dist/src/core/mutants.js'); throw new Error('deep import of the mutant switch worked'); }
    catch (e) { if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e; }
  `);
  run('node', ['deep.mjs'], app);
  let mutantsExit = 0;
  let mutantsErr = '';
  try { run('node', [join(app, 'node_modules', 'contrastlab', 'bin', 'contrastlab.mjs'), 'check', '--mutants'], app); }
  catch (e) { mutantsExit = e.status; mutantsErr = String(e.stderr); }
  if (mutantsExit !== 2 || !/development checkout/.test(mutantsErr) || mutantsErr.trim().split('\n').length !== 1) {
    throw new Error(`check --mutants in an installed package: exit ${mutantsExit}, stderr ${JSON.stringify(mutantsErr)}`);
  }
  console.log('ok: the mutant switch is not importable from the package; check --mutants there exits 2 naming the development checkout');
  // The CLI runs without the optional native plotting binary when it writes no figures.
  const list = run('node', [join(app, 'node_modules', 'contrastlab', 'bin', 'contrastlab.mjs'), 'check', '--list'], app);
  if (list.trim().split('\n').length < 30) throw new Error(`check --list printed ${list.trim().split('\n').length} lines`);
  console.log('ok: contrastlab check --list runs in the installed package');
  // diagnose runs its passes on worker threads loaded from the package's compiled files.
  writeFileSync(join(app, 'emb.mjs'), `
    import { serializeNpy } from 'contrastlab';
    import { writeFileSync } from 'node:fs';
    const n = 40, d = 5;
    for (const [name, seed] of [['U', 1], ['V', 2]]) {
      const a = new Float32Array(n * d);
      let x = seed;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let c = 0; c < d; c++) { x = (x * 1103515245 + 12345) % 2147483648; a[i * d + c] = x / 2147483648 - 0.5 + (i % 4 === c ? 1 : 0); s += a[i * d + c] ** 2; }
        for (let c = 0; c < d; c++) a[i * d + c] /= Math.sqrt(s);
      }
      writeFileSync(name + '.npy', serializeNpy(a, [n, d], 'f32'));
    }
  `);
  run('node', ['emb.mjs'], app);
  const cl = join(app, 'node_modules', 'contrastlab', 'bin', 'contrastlab.mjs');
  const diag = JSON.parse(run('node', [cl, 'diagnose', '--u', 'U.npy', '--v', 'V.npy', '--batch-sizes', '4,8', '--draws', '8', '--threads', '2', '--no-spectral', '--json', '--quiet'], app));
  if (diag.n !== 40 || diag.dtype !== 'f32' || diag.objectives.length !== 3) throw new Error(`diagnose in the installed package: ${JSON.stringify(diag).slice(0, 200)}`);
  const gc = JSON.parse(run('node', [cl, 'gradcheck', '--u', 'U.npy', '--v', 'V.npy', '--grad-u', 'U.npy', '--grad-v', 'V.npy', '--objective', 'infonce', '--tau', '0.5', '--json'], app));
  if (gc.verdict !== 'unexplained') throw new Error(`gradcheck in the installed package: verdict ${gc.verdict}`);
  console.log('ok: diagnose (2 worker threads) and gradcheck run in the installed package');

  writeFileSync(join(app, 'use.ts'), `
    import { infonceLossAndGrad, type LossAndGrad, type Matrix, type StudySpec, type VegaLiteSpec } from 'contrastlab';
    import type { WrittenFigure } from 'contrastlab/plot';
    import type { GpujsBackendOptions } from 'contrastlab/gpujs';
    import type { Claim } from 'contrastlab/claims';
    export function f(U: Matrix): LossAndGrad { return infonceLossAndGrad(U, U, { tau: 0.1 }); }
    export type T = [StudySpec, VegaLiteSpec, WrittenFigure, GpujsBackendOptions, Claim];
  `);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: ['node'] },
    files: ['use.ts'],
  }));
  // @types/node (and the undici-types it needs) for the consumer: the ones the repository uses.
  execFileSync('cp', ['-r', join(root, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node')]);
  execFileSync('cp', ['-r', join(root, 'node_modules', 'undici-types'), join(app, 'node_modules', 'undici-types')]);
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], app);
  console.log('ok: a .ts consumer type-checks with skipLibCheck: false');
  console.log(`consumer check passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  console.log(`consumer check FAILED: ${(e.stderr || e.stdout || e.message || String(e)).toString().trim().split('\n').slice(0, 20).join('\n')}`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
