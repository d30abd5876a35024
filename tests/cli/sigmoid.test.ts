/** `contrastlab eval|solve --objective sigmoid --t T --b B`, and `solve --objective` for every objective. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomMatrix } from '../../src/backend/instances.ts';
import { Rng } from '../../src/core/random.ts';
import { parseNpy } from '../../src/io/npy.ts';
import { OBJECTIVE_NAMES } from '../../src/objectives/index.ts';
import { sigmoidLossAndGrad } from '../../src/objectives/sigmoid.ts';
import { cli, tmp, writeMatrix } from './harness.ts';

const dir = tmp();
const Um = randomMatrix(Rng.fromSeed(1), 6, 3, 'f64', 'unit');
const Vm = randomMatrix(Rng.fromSeed(2), 6, 3, 'f64', 'unit');
const U = writeMatrix(join(dir, 'U.npy'), Um);
const V = writeMatrix(join(dir, 'V.npy'), Vm);

describe('contrastlab eval --objective sigmoid', () => {
  it('prints value, gradNorm, gradT and gradB of the op, t and b as given; writes float64 gradients', async () => {
    const out = join(dir, 'g');
    const r = await cli('eval', '--objective', 'sigmoid', '--u', U, '--v', V, '--t', '5', '--b', '-2', '--grad-out', out);
    expect(r.code, r.stderr).toBe(0);
    const j = r.json();
    const want = sigmoidLossAndGrad(Um, Vm, { t: 5, b: -2 });
    expect(j).toMatchObject({ objective: 'sigmoid', n: 6, d: 3, t: 5, b: -2, dtype: 'f64', backend: 'cpu' });
    expect(j.tau).toBeUndefined();
    expect(j.value).toBe(want.value);
    expect(j.gradT).toBe(want.gradT);
    expect(j.gradB).toBe(want.gradB);
    const gU = parseNpy(readFileSync(join(out, 'gradU.npy')));
    expect(Array.from(gU.data as Float64Array)).toEqual(Array.from(want.gradU!.data));
  });

  it('defaults t = 10, b = -10; the reference backend and float32 agree', async () => {
    const a = (await cli('eval', '--objective', 'sigmoid', '--u', U, '--v', V)).json();
    expect(a).toMatchObject({ t: 10, b: -10 });
    expect(a.value).toBe(sigmoidLossAndGrad(Um, Vm).value);
    const ref = (await cli('eval', '--objective', 'sigmoid', '--u', U, '--v', V, '--backend', 'reference')).json();
    expect(Math.abs((ref.value as number) - (a.value as number))).toBeLessThan(1e-13 * (a.value as number));
    const f32 = (await cli('eval', '--objective', 'sigmoid', '--u', U, '--v', V, '--dtype', 'f32')).json();
    expect(Math.abs((f32.value as number) - (a.value as number))).toBeLessThan(1e-5 * (a.value as number));
  });
});

describe('contrastlab solve --objective', () => {
  it('sigmoid at fixed t, b: writes the run, the summary names the objective, t and b', async () => {
    const out = join(dir, 'solve-sigmoid');
    const r = await cli('solve', '--objective', 'sigmoid', '--t', '5', '--b', '-2', '--n', '6', '--d', '3', '--steps', '200', '--lr', '0.05', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json();
    expect(s).toMatchObject({ command: 'solve', objective: 'sigmoid', t: 5, b: -2, n: 6, d: 3, optimum: null });
    expect(s.tau).toBeUndefined();
    const trace = readFileSync(join(out, 'trace.csv'), 'utf8').trim().split('\n');
    const loss = (line: string) => Number(line.split(',')[1]);
    expect(loss(trace[trace.length - 1]!)).toBeLessThan(loss(trace[1]!));
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'))).toMatchObject({ objective: 'sigmoid', t: 5, b: -2 });
  });

  it('takes every objective by name (minibatch with --all-batches or --batches)', async () => {
    writeFileSync(join(dir, 'batches.json'), JSON.stringify([[0, 1, 2], [3, 4, 5]]));
    for (const name of OBJECTIVE_NAMES) {
      const extra = name === 'minibatch' ? ['--all-batches', '2'] : name.startsWith('gcl') ? ['--eps0', '0.1'] : [];
      const out = join(dir, `solve-all-${name}`);
      const r = await cli('solve', '--objective', name, ...extra, '--n', '6', '--d', '5', '--steps', '20', '--lr', '0.1', '--out', out);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.json().objective).toBe(name);
      expect(existsSync(join(out, 'U.npy'))).toBe(true);
    }
    const r = await cli('solve', '--objective', 'minibatch', '--batches', join(dir, 'batches.json'), '--n', '6', '--d', '5', '--steps', '5', '--out', join(dir, 'solve-list'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ objective: 'minibatch', batches: 2 });
    // Without --objective: InfoNCE at tau, as before.
    const d = await cli('solve', '--n', '4', '--d', '4', '--tau', '0.5', '--steps', '5', '--out', join(dir, 'solve-default'));
    expect(d.json()).toMatchObject({ objective: 'infonce', tau: 0.5 });
  });

  it('--help of eval and solve lists sigmoid and its flags', async () => {
    for (const c of ['eval', 'solve']) {
      const h = (await cli(c, '--help')).stdout;
      expect(h).toMatch(/sigmoid/);
      expect(h).toMatch(/--t T +sigmoid: scale t > 0/);
      expect(h).toMatch(/--b B +sigmoid: bias b/);
    }
    expect((await cli('solve', '--help')).stdout).toMatch(/--objective NAME/);
  });
});

describe('bad values: one line, exit 2, nothing written', () => {
  mkdirSync(join(dir, 'bad'));
  const cases: [string, string[], RegExp][] = [
    ['t = 0', ['eval', '--objective', 'sigmoid', '--u', U, '--t', '0'], /^contrastlab eval: --t must be > 0, got 0$/],
    ['t < 0', ['eval', '--objective', 'sigmoid', '--u', U, '--t', '-3'], /--t must be > 0, got -3/],
    ['t not a number', ['eval', '--objective', 'sigmoid', '--u', U, '--t', 'abc'], /--t must be a decimal number, got 'abc'/],
    ['b not finite', ['eval', '--objective', 'sigmoid', '--u', U, '--b', '1e999'], /--b must be a finite number, got '1e999'/],
    ['b hex', ['eval', '--objective', 'sigmoid', '--u', U, '--b', '0x10'], /--b must be a decimal number, got '0x10'/],
    ['tau with sigmoid', ['eval', '--objective', 'sigmoid', '--u', U, '--tau', '0.5'], /--tau does not apply to --objective sigmoid/],
    ['t with infonce', ['eval', '--objective', 'infonce', '--u', U, '--t', '2'], /--t\/--b apply to --objective sigmoid only, not 'infonce'/],
    ['eps0 with sigmoid', ['eval', '--objective', 'sigmoid', '--u', U, '--eps0', '0.1'], /--eps0 applies to the gcl objectives only, not 'sigmoid'/],
    ['solve t = 0', ['solve', '--objective', 'sigmoid', '--t', '0', '--n', '4', '--d', '3', '--out', join(dir, 'bad', 's')], /^contrastlab solve: --t must be > 0, got 0$/],
    ['solve bad objective', ['solve', '--objective', 'siglip', '--n', '4', '--d', '3', '--out', join(dir, 'bad', 's')], /--objective must be one of .*sigmoid, got 'siglip'/],
    ['solve b with gcl', ['solve', '--objective', 'gcl-bimodal', '--b', '1', '--n', '4', '--d', '3', '--out', join(dir, 'bad', 's')], /--t\/--b apply to --objective sigmoid only/],
    ['solve minibatch without batches', ['solve', '--objective', 'minibatch', '--n', '4', '--d', '3', '--out', join(dir, 'bad', 's')], /exactly one of --batches FILE or --all-batches B/],
  ];
  for (const [label, argv, msg] of cases) {
    it(label, async () => {
      const before = readdirSync(join(dir, 'bad'));
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(readdirSync(join(dir, 'bad'))).toEqual(before);
    });
  }
});
