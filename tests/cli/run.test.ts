import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/experiments/presets.ts';
import { cli, tmp } from './harness.ts';

describe('contrastlab run', () => {
  it('--list prints every preset, one per line: name, then a description', async () => {
    const r = await cli('run', '--list');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(PRESETS.length);
    for (const [i, p] of PRESETS.entries()) expect(lines[i]).toMatch(new RegExp(`^${p.name}\\t.{10,}`));
  });

  it('a smoke preset writes trace.csv, final.json, summary.md and the figures; --print-spec round-trips through a spec file', async () => {
    const dir = tmp();
    const out = join(dir, 'rect');
    const r = await cli('run', '--preset', 'rectangle', '--size', 'smoke', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['trace.csv', 'final.json', 'summary.md', 'angle-error.svg', 'angle-error.png']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(/Steps and epochs until angleError ≤ 0.5/);
    const spec = await cli('run', '--preset', 'rectangle', '--size', 'smoke', '--print-spec');
    writeFileSync(join(dir, 'spec.json'), spec.stdout);
    const again = await cli('run', join(dir, 'spec.json'), '--out', join(dir, 'again'));
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(join(dir, 'again', 'trace.csv'), 'utf8')).toBe(readFileSync(join(out, 'trace.csv'), 'utf8'));
    // --resume of a finished study changes nothing.
    const resumed = await cli('run', join(dir, 'spec.json'), '--out', join(dir, 'again'), '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readFileSync(join(dir, 'again', 'trace.csv'), 'utf8')).toBe(readFileSync(join(out, 'trace.csv'), 'utf8'));
  }, 60_000);

  it('bad input: one line on stderr, exit 2', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.json'), '{"name": "x", "experiments": [{"name": "a"}]}');
    writeFileSync(join(dir, 'notjson.json'), '{');
    const cases: [string[], RegExp][] = [
      [['run', '--preset', 'nope', '--out', join(dir, 'o')], /unknown preset 'nope'/],
      [['run', '--out', join(dir, 'o')], /exactly one of SPEC.json or --preset NAME/],
      [['run', join(dir, 'bad.json'), '--out', join(dir, 'o')], /study.experiments\[0\].data must be an object/],
      [['run', join(dir, 'notjson.json'), '--out', join(dir, 'o')], /is not valid JSON/],
      [['run', join(dir, 'missing.json'), '--out', join(dir, 'o')], /cannot be read/],
      [['run', '--preset', 'rectangle', '--size', 'smoke', '--out', join(dir, 'o'), '--resume'], /no checkpoint/],
      [['run', '--preset', 'rectangle', '--size', 'huge', '--out', join(dir, 'o')], /--size must be one of full, smoke/],
      [['run', '--preset', 'rectangle', '--out', dir], /already exists/],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(existsSync(join(dir, 'o'))).toBe(false);
  });
});
