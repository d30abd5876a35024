import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { findPreset } from '../../src/experiments/presets/index.ts';
import { expandStudy } from '../../src/experiments/studyLanguage.ts';
import { validateStudy } from '../../src/experiments/spec.ts';
import { configHash } from '../../src/experiments/spec.ts';
import { buildReport, reportKind, writeReport } from '../../src/index.ts';
import { markdownToHtml } from '../../src/report/markdown.ts';
import { folder, PNG_1X1, SIMPLE_SVG, tmpDir } from './fixtures.ts';

const NOW = new Date('2025-01-02T03:04:05Z');
const INJECT = `<script>document.body.setAttribute('data-pwned','1')</script><img src=x onerror="alert(1)">`;

function claim(id: string, extra: object = {}): object {
  return {
    id, source: { paper: 'CHO', where: 'Thm 4', tag: 'derived' }, statement: 'A statement.', assumptions: ['a', 'b'], kind: 'identity',
    expected: 'holds', verdict: 'holds', pass: true, margin: 1.23456, marginUnit: 'decades below the bound', summary: 'Fine.',
    numbers: { x: 1 }, seconds: 0.5, figures: [], ...extra,
  };
}

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

const checkJson = (claims: object[]) => ({ size: 'smoke', seed: 0, seconds: 1.5, environment: { node: 'v20', backend: 'cpu' }, passed: 1, failed: 0, claims });

/** The page's scripts and the tags that carry event handlers. */
const scripts = (html: string) => html.match(/<script\b/gi) ?? [];

describe('report: check folders', () => {
  it('renders the verdict table with margin, unit and expected-refuted marks, figures as data: URI images', () => {
    const dir = folder({
      'report.json': checkJson([
        claim('a.one', { figures: ['fig-a'] }),
        claim('b.two', { expected: 'refuted', verdict: 'refuted (as expected)', margin: 'NaN', marginUnit: '' }),
        claim('c.three', { pass: false, verdict: 'FAIL', margin: -0.5 }),
      ]),
      'fig-a.svg': SIMPLE_SVG, 'fig-a.png': PNG_1X1, 'extra.png': PNG_1X1,
    });
    expect(reportKind(dir)).toBe('check');
    const page = buildReport(dir, { now: NOW });
    expect(page.kind).toBe('check');
    expect(page.figures).toEqual([{ name: 'fig-a', format: 'svg' }, { name: 'extra', format: 'png' }]);
    const h = page.html;
    const rows = h.match(/<tr class="claim [a-z]+"[^>]*>/g)!;
    expect(rows).toHaveLength(3);
    expect(rows[1]).toContain('data-expected="refuted"');
    expect(rows[2]).toContain('data-verdict="fail"');
    expect(h).toContain('✗ expected refuted');
    expect(h).toContain('<span class="num">1.235</span> <span class="unit">decades below the bound</span>');
    expect(h).toContain('<span class="num">NaN</span>');
    expect(h).toContain('3 claims at size &#39;smoke&#39; (seed 0) in 1.5 s: 2 as expected, 1 failing.');
    // The SVG (preferred to the PNG beside it) and the PNG-only figure are both <img> data URIs; no SVG markup in the page.
    expect(h).toContain(`<figure class="figure" id="fig-fig-a" data-figure="fig-a" data-format="svg"><img alt="fig-a" src="data:image/svg+xml;base64,${b64(SIMPLE_SVG)}">`);
    expect(h).toContain(`<img alt="extra" src="data:image/png;base64,${b64(PNG_1X1)}">`);
    expect(h).not.toContain('<svg');
    expect(h).toContain('<th>git commit</th><td>not recorded</td>');
    expect(h).toContain('2025-01-02T03:04:05.000Z');
    // Nothing external: no http(s) URL in any src/href, one script (ours), a CSP that forbids the rest.
    expect(h).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(scripts(h)).toHaveLength(1);
    expect(h).toMatch(/<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'sha256-[^']+'; script-src 'sha256-[^']+'/);
  });

  it('escapes every string from the folder (no markup injection)', () => {
    const dir = folder({
      'report.json': checkJson([claim(`x${INJECT}`, {
        statement: INJECT, summary: INJECT, marginUnit: INJECT, kind: INJECT, verdict: INJECT, assumptions: [INJECT],
        source: { paper: INJECT, where: '"><b>', tag: "'" }, numbers: { s: INJECT }, error: INJECT, figures: [`../${INJECT}`],
      })]),
    });
    const h = buildReport(dir, { now: NOW }).html;
    expect(scripts(h)).toHaveLength(1);
    expect(h).not.toContain('onerror="');
    expect(h).not.toContain('<img src=x');
    expect(h).not.toContain('"><b>');
    expect(h).toContain('&lt;script&gt;document.body.setAttribute(&#39;data-pwned&#39;,&#39;1&#39;)&lt;/script&gt;');
    expect(h).toContain('&quot;&gt;&lt;b&gt;');
  });

  it('embeds every SVG, hostile or not, only as a base64 image (no script runs and nothing loads there)', () => {
    const evil = [
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><use href="http://example.com/a.svg#x"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(http://example.com/x)"/></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(http://example.com/a.css);</style></svg>',
      '<!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
      '<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>',
    ];
    for (const [k, svg] of evil.entries()) {
      const page = buildReport(folder({ 'report.json': checkJson([claim('a', { figures: ['f'] })]), 'f.svg': svg }), { now: NOW });
      expect(page.figures, `case ${k}`).toEqual([{ name: 'f', format: 'svg' }]);
      expect(page.html).toContain(`src="data:image/svg+xml;base64,${b64(svg)}"`);
      expect(page.html).not.toContain('alert(1)');
      expect(page.html).not.toContain('example.com');
    }
  });

  it('lists a figure named in report.json but missing, and a .png that is not a PNG', () => {
    const dir = folder({ 'report.json': checkJson([claim('a', { figures: ['one', 'two', 'gone'] })]), 'one.svg': SIMPLE_SVG, 'two.svg': SIMPLE_SVG, 'bad.png': 'not a png' });
    const page = buildReport(dir, { now: NOW });
    expect(page.figures.map((f) => f.name)).toEqual(['one', 'two']);
    expect(page.html).toContain('figure gone: no gone.svg or .png in the folder');
    expect(page.html).toContain('bad.png is not a PNG file; skipped');
  });
});

describe('report: run folders', () => {
  const preset = validateStudy(expandStudy(findPreset('fixed-partition')!.spec('smoke')));
  const finalJson = (hash: string) => ({
    study: preset.name, description: 'Desc <i>.', studyHash: hash, environment: { node: 'v20', backend: 'cpu', gitCommit: 'abc123' },
    arms: [{ arm: 'fixed', configHash: 'h1', final: { loss: { mean: 1.5, sd: 0.1, min: 1.4, max: 1.6, count: 2 } }, thresholds: [] }],
    runs: [{ arm: 'fixed', seed: 0, configHash: 'h1', steps: 10, epochs: 5, stoppedEarly: false, final: { step: 10, epoch: 5, loss: 1.4 } },
      { arm: 'fixed', seed: 1, configHash: 'h1', steps: 10, epochs: 5, stoppedEarly: true, final: { step: 10, epoch: 5, loss: 1.6 } }],
  });

  it('renders summary.md tables, the runs table, figures, the spec found by hash and the environment', () => {
    const md = `# ${preset.name}\n\nDesc <i>.\n\nFinal values over seeds; **bold** and \`code\`.\n\n| arm | loss |\n|---|---|\n| fixed | 1.5 ± 0.1 |\n\nEnvironment: {}\n`;
    const dir = folder({ 'final.json': finalJson(configHash(preset)), 'summary.md': md, 'checkpoint.json': { version: 1, current: null }, 'runs/0000.json': {}, 'gap.svg': SIMPLE_SVG, 'gap.png': PNG_1X1 });
    const page = buildReport(dir, { now: NOW });
    expect(page.kind).toBe('run');
    expect(page.figures).toEqual([{ name: 'gap', format: 'svg' }]);
    const h = page.html;
    expect(h).toContain('<th>file</th><th>size or kind</th>');
    expect(h).toContain(`<tr><td><code>gap.svg</code></td><td>${Buffer.byteLength(SIMPLE_SVG)} bytes</td></tr>`);
    expect(h).toContain('<title>contrastlab run — fixed-partition-smoke</title>');
    expect(h.match(/Desc &lt;i&gt;\./g)).toHaveLength(1); // the description once (header), not again from summary.md
    expect(h).toContain('<strong>bold</strong> and <code>code</code>');
    expect(h).toContain('<td>fixed</td><td>1.5 ± 0.1</td>');
    expect(h).toMatch(/<table class="data" id="runs-table">.*<tbody><tr><td>fixed<\/td><td>0<\/td><td>10<\/td><td>5<\/td><td>no<\/td><td>1.400<\/td><\/tr>/s);
    expect(h).toContain("Spec: the shipped preset &#39;fixed-partition&#39; at size smoke");
    expect(h).toContain('&quot;name&quot;: &quot;fixed-partition-smoke&quot;');
    expect(h).toContain('<th>gitCommit</th><td>abc123</td>');
    expect(h).not.toContain('git commit</th>');
    expect(h).toContain('1 finished runs');
    expect(h).toContain('; complete.');
    expect(scripts(h)).toHaveLength(1);
  });

  it('says when the spec is not recorded; uses spec.json when present; reports an interrupted run', () => {
    const noSpec = buildReport(folder({ 'final.json': finalJson('0000000000000000') }), { now: NOW }).html;
    expect(noSpec).toContain('The spec is not recorded in this folder');
    expect(noSpec).toContain('<th>loss (mean ± sd)</th>'); // no summary.md: the arms table from final.json
    const spec = { name: 'mine', experiments: [] };
    const withSpec = buildReport(folder({ 'final.json': finalJson(configHash(spec)), 'spec.json': spec }), { now: NOW }).html;
    expect(withSpec).toContain('Spec: spec.json in the folder (its hash matches final.json)');
    const interrupted = buildReport(folder({ 'final.json': finalJson('x'), 'checkpoint.json': { version: 1, current: { arm: 'fixed' } } }), { now: NOW }).html;
    expect(interrupted).toContain('interrupted: checkpoint.json holds a run in progress');
  });
});

describe('report: bad input', () => {
  const expectError = (f: () => unknown, ...parts: string[]) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    for (const p of parts) expect((err as Error).message).toContain(p);
  };

  it('names the path: missing, not a folder, neither kind, unfinished run, malformed JSON, wrong shapes', () => {
    const dir = tmpDir();
    expectError(() => buildReport(join(dir, 'nope')), `'${join(dir, 'nope')}' does not exist`);
    writeFileSync(join(dir, 'file.txt'), 'x');
    expectError(() => buildReport(join(dir, 'file.txt')), `'${join(dir, 'file.txt')}' is not a folder`);
    expectError(() => buildReport(dir), `'${dir}' is neither a run output (final.json), a check output (report.json) nor a diagnose output (diagnose.json)`);
    const ck = folder({ 'checkpoint.json': {} });
    expectError(() => buildReport(ck), `'${ck}' holds an unfinished run`);
    const badCheck = folder({ 'report.json': '{"claims": [' });
    expectError(() => buildReport(badCheck), `'${join(badCheck, 'report.json')}' is not valid JSON`);
    const badRun = folder({ 'final.json': 'nan' });
    expectError(() => buildReport(badRun), `'${join(badRun, 'final.json')}' is not valid JSON`);
    const arr = folder({ 'final.json': [] });
    expectError(() => buildReport(arr), `'${join(arr, 'final.json')}' must hold a JSON object`);
    const noClaims = folder({ 'report.json': { claims: 3 } });
    expectError(() => buildReport(noClaims), `'${join(noClaims, 'report.json')}' has no 'claims' array`);
    const noId = folder({ 'report.json': { claims: [{ id: 1 }] } });
    expectError(() => buildReport(noId), "claims[0] is not an object with a string 'id'");
    const noArms = folder({ 'final.json': { study: 'x' } });
    expectError(() => buildReport(noArms), "has neither 'arms' nor 'runs'");
    const badCk = folder({ 'final.json': { runs: [] }, 'checkpoint.json': '{' });
    expectError(() => buildReport(badCk), `'${join(badCk, 'checkpoint.json')}' is not valid JSON`);
    expectError(() => buildReport(dir, { op: 'contrastlab report' }), 'contrastlab report: ');
  });
});

describe('writeReport', () => {
  it('writes DIR/report.html atomically, refuses to overwrite without overwrite, writes --out elsewhere', () => {
    const dir = folder({ 'report.json': checkJson([claim('a')]) });
    const r = writeReport(dir, { now: NOW });
    expect(r.path).toBe(join(dir, 'report.html'));
    expect(readFileSync(r.path, 'utf8')).toBe(r.html);
    expect(r.bytes).toBe(Buffer.byteLength(r.html));
    expect(() => writeReport(dir)).toThrow(/already exists; refusing to overwrite/);
    writeReport(dir, { overwrite: true, now: new Date(0) });
    expect(readFileSync(r.path, 'utf8')).toContain('1970-01-01T00:00:00.000Z');
    // The page in the folder is not mistaken for input on the next run; no temporary files are left.
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.json']);
    const other = join(tmpDir(), 'page.html');
    expect(writeReport(dir, { out: other }).path).toBe(other);
    expect(existsSync(other)).toBe(true);
    expect(() => writeReport(dir, { out: join(tmpDir(), 'missing', 'page.html') })).toThrow(ConfigError);
    // A bad folder fails before anything is written.
    expect(() => writeReport(tmpDir(), { out: join(tmpDir(), 'x.html') })).toThrow(/neither a run output/);
  });
});

describe('markdownToHtml', () => {
  it('renders headings, tables and inline markup, escaping raw HTML', () => {
    const h = markdownToHtml('# T\n\n<b>x</b> *em* `<i>`\n\n| a | b |\n|---|---|\n| 1 | <s> |\n| 2 |\n', 2);
    expect(h).toBe('<h3>T</h3>\n<p>&lt;b&gt;x&lt;/b&gt; <em>em</em> <code>&lt;i&gt;</code></p>\n<table class="data">\n<thead><tr><th>a</th><th>b</th></tr></thead>\n<tbody><tr><td>1</td><td>&lt;s&gt;</td></tr>\n<tr><td>2</td><td></td></tr></tbody>\n</table>');
  });
});
