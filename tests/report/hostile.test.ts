/**
 * Hostile results folders: links leaving DIR, devices, FIFOs, folders where files are expected,
 * dangling links, SVGs that try to load or run something. The page must never hold a byte of a file
 * outside DIR, never block or grow without bound, and bad required files are one-line errors (exit 2).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { buildReport } from '../../src/index.ts';
import { READ_CAPS } from '../../src/io/read.ts';
import { cli } from '../cli/harness.ts';
import { folder, PNG_1X1, SIMPLE_SVG, tmpDir } from './fixtures.ts';

const NOW = new Date('2025-01-02T03:04:05Z');
const MARKER = 'OUTSIDE-SECRET-5d1c0e9a';
const FINAL = { study: 'hostile', arms: [], runs: [] };
const CHECK = { claims: [{ id: 'a', pass: true, margin: 1, figures: ['gap'] }] };

/** Files outside any report folder, each holding MARKER. */
function outside() {
  const d = tmpDir();
  const w = (name: string, content: string | Buffer) => (writeFileSync(join(d, name), content), join(d, name));
  mkdirSync(join(d, 'figs'));
  writeFileSync(join(d, 'figs', 'leak.svg'), `<svg xmlns="http://www.w3.org/2000/svg"><text>${MARKER}</text></svg>`);
  return {
    dir: d,
    text: w('secret.txt', `root:x:0:0:${MARKER}\n`),
    svg: w('secret.svg', `<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><text>${MARKER}</text></svg>`),
    png: w('secret.png', Buffer.concat([PNG_1X1, Buffer.from(MARKER)])),
    json: w('secret.json', JSON.stringify({ name: MARKER, experiments: [] })),
    final: w('final.json', JSON.stringify({ ...FINAL, description: MARKER })),
    report: w('report.json', JSON.stringify({ claims: [{ id: MARKER, pass: true }] })),
  };
}

/** MARKER appears neither as text nor inside any base64 payload of the page. */
function expectNoLeak(html: string): void {
  expect(html).not.toContain(MARKER);
  for (const m of html.matchAll(/base64,([A-Za-z0-9+/=]+)/g)) expect(Buffer.from(m[1]!, 'base64').toString('latin1')).not.toContain(MARKER);
}

/** The page's Notes section (skipped entries), '' when there is none. */
const notes = (html: string) => /<section id="notes">(.*?)<\/section>/s.exec(html)?.[1] ?? '';

/** A CLI failure that is due: exit 2, exactly one stderr line naming `path`, no stack frames. */
async function expectCliError(dir: string, ...parts: string[]): Promise<void> {
  const r = await cli('report', dir, '--out', join(tmpDir(), 'page.html'));
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\bat /);
  expect(r.stderr.startsWith('contrastlab report: ')).toBe(true);
  for (const p of parts) expect(r.stderr).toContain(p);
}

/** The CLI succeeds (exit 0, nothing on stderr); returns the page. */
async function cliPage(dir: string): Promise<string> {
  const out = join(tmpDir(), 'page.html');
  const r = await cli('report', dir, '--out', out);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return execFileSync('cat', [out], { encoding: 'utf8' });
}

describe('report: links leaving the folder', () => {
  it('summary.md linked outside: not read, the page says it was skipped', async () => {
    const o = outside();
    const dir = folder({ 'final.json': FINAL });
    symlinkSync(o.text, join(dir, 'summary.md'));
    const html = await cliPage(dir);
    expectNoLeak(html);
    expect(notes(html)).toContain('summary.md');
    expect(notes(html)).toContain('outside the folder');
  });

  it('figures linked outside (.svg, .png, the figures/ folder): not embedded, listed as skipped', () => {
    const o = outside();
    const dir = folder({ 'report.json': CHECK, 'ok.svg': SIMPLE_SVG });
    symlinkSync(o.svg, join(dir, 'gap.svg'));
    symlinkSync(o.png, join(dir, 'gap.png'));
    symlinkSync(join(o.dir, 'figs'), join(dir, 'figures'));
    const page = buildReport(dir, { now: NOW });
    expectNoLeak(page.html);
    expect(page.figures).toEqual([{ name: 'ok', format: 'svg' }]);
    for (const n of ['gap.svg', 'gap.png', 'figures']) expect(notes(page.html)).toContain(n);
  });

  it('a link inside the folder is followed', () => {
    const dir = folder({ 'report.json': CHECK, 'sub/real.svg': SIMPLE_SVG });
    symlinkSync(join(dir, 'sub', 'real.svg'), join(dir, 'gap.svg'));
    expect(buildReport(dir, { now: NOW }).figures).toEqual([{ name: 'gap', format: 'svg' }]);
  });

  it('spec.json linked outside: not read, the page says so and falls back to the preset lookup', () => {
    const o = outside();
    const dir = folder({ 'final.json': FINAL });
    symlinkSync(o.json, join(dir, 'spec.json'));
    const html = buildReport(dir, { now: NOW }).html;
    expectNoLeak(html);
    expect(notes(html)).toContain('spec.json');
    expect(html).toContain('The spec is not recorded in this folder');
  });

  it('final.json / report.json linked outside: exit 2, one line naming the file', async () => {
    const o = outside();
    const run = tmpDir();
    symlinkSync(o.final, join(run, 'final.json'));
    await expectCliError(run, `'${join(run, 'final.json')}'`, 'outside the folder');
    const check = tmpDir();
    symlinkSync(o.report, join(check, 'report.json'));
    await expectCliError(check, `'${join(check, 'report.json')}'`, 'outside the folder');
    expect(() => buildReport(check)).toThrow(ConfigError);
  });
});

describe('report: files that are not regular files', () => {
  it('summary.md linked to /dev/zero: skipped at once with a note (no unbounded read)', async () => {
    const dir = folder({ 'final.json': FINAL });
    symlinkSync('/dev/zero', join(dir, 'summary.md'));
    const html = await cliPage(dir);
    expect(notes(html)).toContain('summary.md');
  });

  it('summary.md a folder or a FIFO: skipped with a note, exit 0', async () => {
    const asDir = folder({ 'final.json': FINAL, 'summary.md/x': 'x' });
    expect(notes(await cliPage(asDir))).toMatch(/summary\.md.*directory/);
    const fifo = folder({ 'final.json': FINAL });
    execFileSync('mkfifo', [join(fifo, 'summary.md')]);
    expect(notes(await cliPage(fifo))).toMatch(/summary\.md.*FIFO/);
  });

  it('required files that are a folder, a FIFO or /dev/zero: exit 2, one line', async () => {
    const asDir = folder({ 'final.json/x': 'x' });
    await expectCliError(asDir, `'${join(asDir, 'final.json')}'`, 'directory');
    const fifo = tmpDir();
    execFileSync('mkfifo', [join(fifo, 'report.json')]);
    await expectCliError(fifo, `'${join(fifo, 'report.json')}'`, 'FIFO');
    const zero = tmpDir();
    symlinkSync('/dev/zero', join(zero, 'final.json'));
    await expectCliError(zero, `'${join(zero, 'final.json')}'`);
  });

  it('files over their cap (sparse, so nothing large is written) are skipped with a note naming the cap', () => {
    const dir = folder({ 'final.json': FINAL, 'summary.md': '', 'big.svg': '' });
    truncateSync(join(dir, 'summary.md'), READ_CAPS.markdown + 1);
    truncateSync(join(dir, 'big.svg'), READ_CAPS.svg + 1);
    const page = buildReport(dir, { now: NOW });
    expect(page.figures).toEqual([]);
    expect(notes(page.html)).toContain('summary.md is larger than the cap of');
    expect(notes(page.html)).toContain('big.svg is larger than the cap of');
  });

  it('a checkpoint.json that is a FIFO is skipped with a note, the status not claimed complete', () => {
    const dir = folder({ 'final.json': FINAL });
    execFileSync('mkfifo', [join(dir, 'checkpoint.json')]);
    const html = buildReport(dir, { now: NOW }).html;
    expect(notes(html)).toContain('checkpoint.json');
    expect(html).not.toContain('; complete.');
  });
});

describe('report: dangling links', () => {
  it('are listed in the files table as links and skipped as figures, not fatal', async () => {
    const dir = folder({ 'final.json': FINAL });
    symlinkSync(join(dir, 'nowhere.txt'), join(dir, 'dangling.txt'));
    symlinkSync(join(dir, 'nowhere.svg'), join(dir, 'gone.svg'));
    const html = await cliPage(dir);
    const files = /<section id="files">(.*?)<\/section>/s.exec(html)![1]!;
    expect(files).toMatch(/dangling\.txt.*link to .*nowhere\.txt.*dangling/);
    expect(notes(html)).toContain('gone.svg');
  });

  it('a dangling required file is a one-line error', async () => {
    const dir = tmpDir();
    symlinkSync(join(dir, 'nowhere.json'), join(dir, 'report.json'));
    await expectCliError(dir, `'${join(dir, 'report.json')}'`, 'dangling');
  });
});

describe('report: figures are images, never inline markup', () => {
  it('an SVG with CSS escapes, <style> and <script> is present only as a base64 data URI', () => {
    const evil = [
      '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><style>a{background:u\\72l(http://x)}</style><script>alert(1)</script><rect width="9" height="9"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="9" height="9" fill="u\\72l(http://x/a)"/></svg>',
    ];
    for (const svg of evil) {
      const page = buildReport(folder({ 'report.json': CHECK, 'gap.svg': svg }), { now: NOW });
      expect(page.figures).toEqual([{ name: 'gap', format: 'svg' }]);
      expect(page.html).toContain(`<img alt="gap" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}">`);
      for (const bit of ['<svg', '<rect', '<style>a', 'u\\72l', 'http://x', 'alert(1)']) expect(page.html).not.toContain(bit);
      expect(page.html.match(/<script/g)).toHaveLength(1);
    }
  });
});
