/**
 * The generated pages loaded in headless Chromium (Debian's `chromium`): the DOM after load has the
 * figures (each an <img> data URI, decoded with a non-empty box — marked by the page's own script)
 * and the tables; text and SVGs from the folder cannot inject markup or script. In CI chromium must
 * be installed.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/index.ts';
import { cli } from '../cli/harness.ts';
import { CHECK_IDS, chromiumOrSkip, dumpDom, folder, PNG_1X1, realOutputs, screenshot, SIMPLE_SVG, tmpDir } from './fixtures.ts';

const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('report pages in headless Chromium', () => {
  let out: { check: string; run: string };
  beforeAll(async () => {
    out = await realOutputs();
  }, 300_000);

  it('check page: every figure rendered, one verdict row per claim, the expected-refuted mark', (ctx) => {
    const bin = chromiumOrSkip((note) => ctx.skip(note));
    const page = writeReport(out.check, { out: join(tmpDir(), 'check.html') });
    const dom = dumpDom(bin!, page.path);
    const k = page.figures.length;
    expect(k).toBeGreaterThan(0);
    expect(dom).toContain(`data-figures-rendered="${k}/${k}"`);
    expect(count(dom, /<figure class="figure( wide)?"[^>]*data-rendered="yes"/g)).toBe(k);
    expect(count(dom, /<figure class="figure( wide)?"[^>]*><img alt="[^"]*" src="data:image\/(svg\+xml|png);base64,/g)).toBe(k);
    expect(dom).not.toContain('<svg');
    const table = /<table class="data" id="verdicts">(.*?)<\/table>/s.exec(dom)![1]!;
    const rows = table.match(/<tr class="claim [^"]*"[^>]*>/g)!;
    expect(rows.map((r) => /data-claim="([^"]+)"/.exec(r)![1]).sort()).toEqual([...CHECK_IDS].sort());
    expect(rows.filter((r) => r.includes('data-expected="refuted"'))).toHaveLength(1);
    expect(table).toContain('refuted (as expected)');
  }, 300_000);

  it('run page: the three figures rendered, the summary and runs tables', (ctx) => {
    const bin = chromiumOrSkip((note) => ctx.skip(note));
    const page = writeReport(out.run, { out: join(tmpDir(), 'run.html') });
    const dom = dumpDom(bin!, page.path);
    expect(page.figures.map((f) => f.name).sort()).toEqual(['distance', 'gap', 'gram']);
    expect(dom).toContain('data-figures-rendered="3/3"');
    const runs = /<table class="data" id="runs-table">(.*?)<\/table>/s.exec(dom)![1]!;
    expect(count(runs, /<tbody>|<tr>/g) - 1).toBe(1 + 6); // header row + 3 arms × 2 seeds
    expect(count(/<div id="summary-tables">(.*?)<\/div>/s.exec(dom)![1]!, /<table/g)).toBe(2);
    expect(dom).toContain('<pre id="spec">');
  }, 300_000);

  it('hostile folder contents: no injected script runs, PNG and SVG images decode', (ctx) => {
    const bin = chromiumOrSkip((note) => ctx.skip(note));
    const inject = `<script>document.body.setAttribute('data-pwned','1')</script><img src=x onerror="document.body.setAttribute('data-pwned','2')">`;
    const evilSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="30" height="10" onload="document.body.setAttribute('data-pwned','3')"><rect width="30" height="10"/><script>document.body.setAttribute('data-pwned','4')</script></svg>`;
    const cssSvg = '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="10"><style>rect{fill:u\\72l(http://x/a)}</style><rect width="30" height="10"/></svg>';
    const dir = folder({
      'report.json': { claims: [{ id: `x${inject}`, statement: inject, summary: inject, pass: true, margin: 1, marginUnit: inject, figures: ['evil', 'png', 'ok', 'css'] }] },
      'evil.svg': evilSvg, 'png.png': PNG_1X1, 'ok.svg': SIMPLE_SVG, 'css.svg': cssSvg,
    });
    const page = writeReport(dir);
    expect(page.figures).toEqual([{ name: 'evil', format: 'svg' }, { name: 'png', format: 'png' }, { name: 'ok', format: 'svg' }, { name: 'css', format: 'svg' }]);
    const dom = dumpDom(bin!, page.path);
    // The page's script ran (so scripts are not simply disabled) and no injected one did.
    expect(dom).toContain('data-figures-rendered="4/4"');
    expect(/<body[^>]*>/.exec(dom)![0]).not.toContain('data-pwned');
    expect(dom).not.toMatch(/data-pwned="/);
    expect(count(dom, /<script/g)).toBe(1);
    expect(count(dom, /<img /g)).toBe(4);
    expect(dom).not.toContain('<svg');
  }, 300_000);

  it('at a 1400 px window the figures take the page width (>= 900 px), formulas are MathML; screenshots (docs/figures with CONTRASTLAB_UPDATE_DOCS=1)', async (ctx) => {
    const bin = chromiumOrSkip((note) => ctx.skip(note));
    // A grid study for the run page (cho-grid at smoke size: 24 arms over (N, d) x parametrisation x method).
    const grid = join(tmpDir(), 'grid');
    const r = await cli('run', '--preset', 'cho-grid', '--size', 'smoke', '--out', grid);
    expect(r.code, r.stderr).toBe(0);
    // Screenshots go to a scratch folder; CONTRASTLAB_UPDATE_DOCS=1 writes them to docs/figures
    // (a test run must not change tracked files).
    const docs = process.env.CONTRASTLAB_UPDATE_DOCS === '1' ? fileURLToPath(new URL('../../docs/figures', import.meta.url)) : tmpDir();
    mkdirSync(docs, { recursive: true });
    const widths: Record<string, number[]> = {};
    for (const [name, dir] of [['check', out.check], ['run', grid]] as const) {
      const page = writeReport(dir, { out: join(tmpDir(), `${name}.html`) });
      const dom = dumpDom(bin!, page.path, [1400, 1000]);
      const k = page.figures.length;
      expect(k).toBeGreaterThan(0);
      expect(dom).toContain(`data-figures-rendered="${k}/${k}"`);
      const w = [...dom.matchAll(/<figure class="figure wide"[^>]*data-width="(\d+)"/g)].map((m) => Number(m[1]));
      expect(w).toHaveLength(k);
      for (const x of w) expect(x).toBeGreaterThanOrEqual(900);
      widths[name] = w;
      const png = join(docs, `report-${name}.png`);
      screenshot(bin!, page.path, png, [1400, 1800]);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    }
    // The run page shows the objective's definition as MathML and the (N, d) x method grid.
    const runDom = dumpDom(bin!, writeReport(grid, { out: join(tmpDir(), 'grid.html') }).path, [1400, 1000]);
    expect(runDom).toMatch(/<div class="objective" id="objective">.*<math display="block"[^>]*>/s);
    expect(runDom).toMatch(/<table class="data grid" id="grid-distance" data-metric="distance" data-rows="4" data-cols="6">/);
    console.log(`figure widths at a 1400 px window: ${JSON.stringify(widths)}`);
  }, 300_000);
});
