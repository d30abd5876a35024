import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../cli/harness.ts';
import { CHECK_IDS, realOutputs, tmpDir } from './fixtures.ts';

describe('contrastlab report (CLI, real outputs)', () => {
  let out: { check: string; run: string };
  beforeAll(async () => {
    out = await realOutputs();
  }, 300_000);

  it('turns a check folder into DIR/report.html and prints what it wrote', async () => {
    const r = await cli('report', out.check);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ kind: 'check', out: join(out.check, 'report.html') });
    const html = readFileSync(join(out.check, 'report.html'), 'utf8');
    expect(j.bytes).toBe(Buffer.byteLength(html));
    for (const id of CHECK_IDS) expect(html).toContain(`data-claim="${id}"`);
    expect(html).toContain('data-expected="refuted"');
    expect(j.figures).toBe((html.match(/<figure class="figure( wide)?"/g) ?? []).length);
    expect(j.figures).toBeGreaterThan(0);
  });

  it('turns a run folder into a page at --out, refusing to overwrite without --force', async () => {
    const page = join(tmpDir(), 'run.html');
    const r = await cli('report', out.run, '--out', page);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ kind: 'run', out: page, figures: 3 });
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('<title>contrastlab run — fixed-partition-smoke</title>');
    expect(html).toContain('Spec: spec.json in the folder (its hash matches final.json)');
    const again = await cli('report', out.run, '--out', page);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`contrastlab report: '${page}' already exists; refusing to overwrite it (pass --force / overwrite: true)`);
    writeFileSync(page, 'old');
    expect((await cli('report', out.run, '--out', page, '--force')).code).toBe(0);
    // Same page up to the generation time.
    const stamp = (t: string) => t.replace(/(page generated<\/th><td>|on )\d{4}-\d\d-\d\dT[\d:.]+Z/g, '$1T');
    expect(stamp(readFileSync(page, 'utf8'))).toBe(stamp(html));
  });

  it('bad input: exit 2 and one line naming the path; nothing written', async () => {
    const dir = tmpDir();
    const cases: [string[], string][] = [
      [['report', join(dir, 'nope')], `contrastlab report: '${join(dir, 'nope')}' does not exist`],
      [['report', join(out.run, 'final.json')], `contrastlab report: '${join(out.run, 'final.json')}' is not a folder`],
      [['report', dir], `contrastlab report: '${dir}' is neither a run output (final.json), a check output (report.json) nor a diagnose output (diagnose.json)`],
      [['report'], 'contrastlab report: give exactly one folder, got 0'],
      [['report', dir, dir], 'contrastlab report: give exactly one folder, got 2'],
      [['report', out.run, '--bogus'], "contrastlab report: Unknown option '--bogus'"],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr.startsWith(msg), `${r.stderr} / ${msg}`).toBe(true);
      expect(r.stderr.split('\n')).toHaveLength(1);
    }
    writeFileSync(join(dir, 'report.json'), '{"claims": [');
    const bad = await cli('report', dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`'${join(dir, 'report.json')}' is not valid JSON`);
    expect(existsSync(join(dir, 'report.html'))).toBe(false);
  });

  it('--help and the command list', async () => {
    const h = await cli('report', '--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('contrastlab report DIR [--out FILE] [--force]');
    expect((await cli('--help')).stdout).toMatch(/\n {2}report {4}/);
  });
});
