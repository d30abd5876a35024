#!/usr/bin/env node
/**
 * Executes the notebooks in notebooks/ headless (Jupyter nbconvert with the tslab TypeScript kernel)
 * and writes the executed copies and their figures (SVG and PNG) under results/notebooks/.
 *
 *   npm run notebooks                          every notebook at smoke size (CONTRASTLAB_SIZE, default smoke)
 *   npm run notebooks -- --size full           the full sizes (minutes per notebook)
 *   npm run notebooks -- cho-figure1 claims    only these (file names without .ipynb)
 *   npm run notebooks -- --update-docs         also copy the main figures' PNGs into docs/figures/
 *   npm run notebooks -- --no-build            skip `npm run build` (the notebooks import dist/)
 *   npm run notebooks -- --out DIR             write there instead of results/notebooks/
 *   node scripts/notebooks.mjs --kernel        only register the kernel; prints the JUPYTER_PATH to export
 *
 * Needs Debian's jupyter-nbconvert and python3-ipykernel (or any Python with nbconvert and
 * jupyter_client). The kernel comes from notebooks/package.json (npm ci there on first use); its
 * kernelspec is written to notebooks/.jupyter/kernels/tslab/ and found through JUPYTER_PATH, so no
 * global Jupyter state is read or written. Exits 1 if any notebook fails (a cell error or a type error).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nbDir = join(root, 'notebooks');
const jupyterDir = join(nbDir, '.jupyter');

/** The figures the README shows: results/notebooks/<from> → docs/figures/<to>. */
const DOC_FIGURES = [
  ['01-cho-figure1/fig1a-rotation.png', 'cho-fig1a-rotation.png'],
  ['01-cho-figure1/fig1b-gram.png', 'cho-fig1b-gram.png'],
  ['01-cho-figure1/fig1b-scatter3d.png', 'cho-fig1b-scatter3d.png'],
  ['02-cho-grid/distance-projected-steps.png', 'cho-grid-distance.png'],
  ['03-sogclr-batch-size/gap-vs-B.png', 'sog-gap-vs-B.png'],
  ['03-sogclr-batch-size/probe-vs-B.png', 'sog-probe-vs-B.png'],
  ['03-sogclr-batch-size/bias-vs-B.png', 'sog-bias-vs-B.png'],
  ['05-mnist/probe-vs-B.png', 'mnist-probe-vs-B.png'],
  ['05-mnist/F-vs-B.png', 'mnist-F-vs-B.png'],
  ['05-mnist/selection-probe-SimCLR.png', 'mnist-selection-probe-SimCLR.png'],
  ['05-mnist/selection-probe-SogCLR.png', 'mnist-selection-probe-SogCLR.png'],
];

function fail(msg) {
  process.stderr.write(`notebooks: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { size: process.env.CONTRASTLAB_SIZE || 'smoke', out: join(root, 'results', 'notebooks'), build: true, docs: false, kernelOnly: false, only: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--size') o.size = argv[++i];
    else if (a.startsWith('--size=')) o.size = a.slice(7);
    else if (a === '--out') o.out = resolve(argv[++i] ?? fail('--out needs a folder'));
    else if (a === '--no-build') o.build = false;
    else if (a === '--update-docs') o.docs = true;
    else if (a === '--kernel') o.kernelOnly = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${readHelp()}\n`);
      process.exit(0);
    } else if (a.startsWith('-')) fail(`unknown option '${a}' (see --help)`);
    else o.only.push(a.replace(/\.ipynb$/, ''));
  }
  if (o.size !== 'smoke' && o.size !== 'full') fail(`--size (or CONTRASTLAB_SIZE) must be smoke or full, got '${o.size}'`);
  return o;
}

function readHelp() {
  return 'node scripts/notebooks.mjs [NAME...] [--size smoke|full] [--out DIR] [--update-docs] [--no-build] [--kernel]';
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { stdio: 'inherit', ...opts });
}

/** A Python that can import nbconvert and jupyter_client: Debian's first (the python3 on PATH may lack them). */
function findPython() {
  const candidates = [process.env.CONTRASTLAB_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import nbconvert, jupyter_client'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  fail('no Python with nbconvert and jupyter_client found; install them with\n'
    + '  apt-get install -y --no-install-recommends jupyter-nbconvert python3-ipykernel\n'
    + '(or set CONTRASTLAB_PYTHON to a Python that has them)');
  return '';
}

/** Installs the kernel package (notebooks/package-lock.json) when missing and writes its kernelspec. */
function registerKernel() {
  const tslabBin = join(nbDir, 'node_modules', 'tslab', 'bin', 'tslab');
  if (!existsSync(tslabBin)) {
    process.stdout.write('notebooks: installing the tslab kernel (npm ci in notebooks/)\n');
    const r = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: nbDir });
    if (r.status !== 0 || !existsSync(tslabBin)) fail('npm ci in notebooks/ failed');
  }
  const specDir = join(jupyterDir, 'kernels', 'tslab');
  mkdirSync(specDir, { recursive: true });
  const spec = {
    argv: [process.execPath, tslabBin, 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript', language: 'typescript',
  };
  writeFileSync(join(specDir, 'kernel.json'), `${JSON.stringify(spec, null, 1)}\n`);
  return jupyterDir;
}

/** The stderr and error outputs of an executed notebook's code cells, for the log. */
function cellErrors(path) {
  if (!existsSync(path)) return `(no executed copy at ${path})\n`;
  const nb = JSON.parse(readFileSync(path, 'utf8'));
  const lines = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) {
      const text = o.output_type === 'error' ? [o.ename, o.evalue, ...(o.traceback ?? [])].join('\n')
        : o.output_type === 'stream' && o.name === 'stderr' ? [].concat(o.text).join('') : null;
      if (text) lines.push(`--- cell ${i} ---\n${text.trimEnd()}`);
    }
  });
  return `${lines.length > 0 ? lines.join('\n') : '(no error output recorded)'}\nexecuted copy with the errors: ${path}\n`;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const jupyterPath = registerKernel();
  if (o.kernelOnly) {
    process.stdout.write(`kernelspec 'tslab' written to ${join(jupyterPath, 'kernels', 'tslab')}; for an interactive Jupyter:\n`
      + `  export JUPYTER_PATH=${jupyterPath}\n`);
    return;
  }
  const python = findPython();
  if (o.build) {
    const r = run('npm', ['run', '--silent', 'build'], { cwd: root });
    if (r.status !== 0) fail('npm run build failed');
  } else if (!existsSync(join(root, 'dist', 'src', 'index.js'))) fail('dist/ is missing: run npm run build (or drop --no-build)');

  const all = readdirSync(nbDir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => f.slice(0, -6));
  for (const n of o.only) if (!all.includes(n)) fail(`no notebook '${n}' in notebooks/ (have: ${all.join(', ')})`);
  const names = o.only.length > 0 ? all.filter((n) => o.only.includes(n)) : all;
  const outDir = o.out;
  mkdirSync(outDir, { recursive: true });
  const env = {
    ...process.env,
    CONTRASTLAB_SIZE: o.size,
    CONTRASTLAB_NOTEBOOK_OUT: outDir,
    JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(':'),
    JUPYTER_RUNTIME_DIR: join(jupyterDir, 'runtime'),
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  const results = [];
  const t0 = performance.now();
  for (const name of names) {
    process.stdout.write(`notebooks: ${name} (size ${o.size}) ...\n`);
    const t = performance.now();
    const execute = (output, extra) => spawnSync(python, [
      '-m', 'nbconvert', '--to', 'notebook', '--execute', join(nbDir, `${name}.ipynb`),
      '--output-dir', outDir, '--output', output,
      '--ExecutePreprocessor.kernel_name=tslab', '--ExecutePreprocessor.timeout=1800', ...extra,
    ], { cwd: nbDir, env, encoding: 'utf8' });
    const r = execute(name, []);
    const seconds = (performance.now() - t) / 1000;
    const ok = r.status === 0;
    if (!ok) {
      process.stderr.write(`${r.stderr ?? ''}\n`);
      // tslab's error replies carry no message (nbconvert prints an empty '<Error>'): run again keeping
      // the errors, and print the cells' stderr (type errors, stack traces).
      execute(`${name}.failed`, ['--allow-errors']);
      process.stderr.write(cellErrors(join(outDir, `${name}.failed.ipynb`)));
    }
    if (ok) rmSync(join(outDir, `${name}.failed.ipynb`), { force: true });
    results.push({ name, ok, seconds });
    process.stdout.write(`notebooks: ${name} ${ok ? 'ok' : 'FAILED'} in ${seconds.toFixed(1)} s\n`);
  }
  const total = (performance.now() - t0) / 1000;
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(`\n| notebook | result | seconds |\n|---|---|---|\n${results.map((r) => `| ${r.name} | ${r.ok ? 'ok' : 'FAILED'} | ${r.seconds.toFixed(1)} |`).join('\n')}\n`);
  process.stdout.write(`\n${results.length} notebooks at size ${o.size} in ${total.toFixed(1)} s: ${results.length - failed.length} ok, ${failed.length} failed; executed copies and figures in ${outDir}\n`);
  if (o.docs && failed.length === 0) {
    const docs = join(root, 'docs', 'figures');
    mkdirSync(docs, { recursive: true });
    // Only the figures of the notebooks this run executed: another notebook's file in outDir may be
    // a stale one of another size.
    const ran = new Set(results.map((r) => r.name));
    for (const [from, to] of DOC_FIGURES.filter(([f]) => ran.has(f.split('/')[0]))) {
      const src = join(outDir, from);
      if (existsSync(src)) copyFileSync(src, join(docs, to));
      else process.stderr.write(`notebooks: --update-docs: ${src} was not written (notebook not run?)\n`);
    }
    process.stdout.write(`notebooks: main figures copied to ${docs}\n`);
  }
  if (failed.length > 0) process.exit(1);
}

main();
