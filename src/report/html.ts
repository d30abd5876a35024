/**
 * One self-contained HTML page from a results folder: a `contrastlab run` output (final.json,
 * summary.md, figures, checkpoint.json, runs/) or a `contrastlab check` output (report.json, figures).
 *
 * The folder is read through ./folder.ts: only regular files inside it, each bounded; entries that
 * may not be read are skipped and listed in the page's Notes (a required file that may not be read
 * is an error).
 *
 * The page loads nothing: every figure, SVG or PNG, is an `<img>` with a base64 data: URI. An SVG
 * there is an image document, in which browsers run no script and load no resource, so its markup
 * is never parsed into the page and there is no sanitiser to get past. The style and the one small
 * script are inline and allowed by hash in a Content-Security-Policy that forbids everything else
 * (images: data: only), and every string read from the folder is HTML-escaped. The script only
 * marks each figure as rendered (`data-rendered`) with its drawn width in CSS px (`data-width`) and
 * the body with the count (`data-figures-rendered`). Formulas (`$...$` in statements and notes, and
 * the objective's definition) are MathML made offline by temml (./math.ts): nothing is loaded for them.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import { PRESETS } from '../experiments/presets/index.ts';
import { expandStudy } from '../experiments/studyLanguage.ts';
import { validateStudy } from '../experiments/spec.ts';
import { configHash } from '../experiments/spec.ts';
import { assertCanWrite, writeFileAtomic } from '../io/atomic.ts';
import { READ_CAPS } from '../io/read.ts';
import { type Json, ReportFolder } from './folder.ts';
import { fsReason } from '../io/read.ts';
import { escapeHtml as esc, markdownToHtml } from './markdown.ts';
import { mathText, texToMathml } from './math.ts';
import { armGrids } from './grid.ts';

export type ReportKind = 'run' | 'check' | 'diagnose';

export interface ReportOptions {
  /** Operation named in error messages (default 'report'). */
  readonly op?: string;
  /** The generation time printed on the page (default now). */
  readonly now?: Date;
}

export interface ReportFigureInfo {
  readonly name: string;
  /** The file embedded: both kinds are an `<img>` with a base64 data: URI (an SVG is preferred to a PNG of the same name). */
  readonly format: 'svg' | 'png';
}

export interface ReportPage {
  readonly kind: ReportKind;
  readonly title: string;
  readonly html: string;
  readonly figures: readonly ReportFigureInfo[];
}

/**
 * The most figure bytes embedded in one page (before base64): figures past it are listed in the
 * Notes, not embedded. Each figure is also capped on its own by READ_CAPS.svg / READ_CAPS.png.
 */
const MAX_EMBEDDED_BYTES = 128 * 2 ** 20;

/** Which kind of output `dir` is; a ConfigError naming the path otherwise. */
export function reportKind(dir: string, opts: { op?: string } = {}): ReportKind {
  const op = opts.op ?? 'report';
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (e) {
    throw new ConfigError(op, `'${dir}' ${fsReason(e)}`);
  }
  if (!isDir) throw new ConfigError(op, `'${dir}' is not a folder (expected a contrastlab run or check output folder)`);
  return kindOf(new ReportFolder(op, dir));
}

/** Decided by which entries exist (lstat: a dangling or outside link counts, and its read then fails). */
function kindOf(folder: ReportFolder): ReportKind {
  const dir = folder.dir;
  if (folder.has('report.json')) return 'check';
  if (folder.has('diagnose.json')) return 'diagnose';
  if (folder.has('final.json')) return 'run';
  if (folder.has('checkpoint.json')) {
    throw new ConfigError(folder.op, `'${dir}' holds an unfinished run (checkpoint.json but no final.json); finish it with contrastlab run ... --resume`);
  }
  if (folder.has('spec.json') && folder.has('runs')) {
    throw new ConfigError(folder.op, `'${dir}' holds an unfinished study (runs/ but no final.json); finish it with contrastlab run ... --resume, or contrastlab merge when it was run in shards`);
  }
  throw new ConfigError(folder.op, `'${dir}' is neither a run output (final.json), a check output (report.json) nor a diagnose output (diagnose.json)`);
}

// ---- formatting ----

function fmtNum(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x !== 'number') return x === undefined || x === null ? '—' : String(x);
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toPrecision(4) : x.toExponential(3);
}

const text = (x: unknown): string => (x === undefined || x === null ? '' : typeof x === 'string' ? x : JSON.stringify(x));
const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-');

function kvTable(rows: readonly [string, unknown][], id?: string): string {
  return `<table class="kv"${id ? ` id="${esc(id)}"` : ''}><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'number' ? fmtNum(v) : text(v))}</td></tr>`).join('\n')}</tbody></table>`;
}

function table(head: readonly string[], rows: readonly string[][], attrs = ''): string {
  return `<table class="data"${attrs}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>\n<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}

// ---- figures ----

interface FigureFiles { svg?: string; png?: string }

/** SVG / PNG entries at the top of the folder and in figures/ (paths relative to it), grouped by name without extension. */
function findFigures(folder: ReportFolder): Map<string, FigureFiles> {
  const found = new Map<string, FigureFiles>();
  for (const sub of ['', 'figures']) {
    for (const f of folder.list(sub)) {
      const m = /^(.+)\.(svg|png)$/i.exec(f);
      if (!m) continue;
      const name = sub ? `${sub}/${m[1]}` : m[1]!;
      const e = found.get(name) ?? {};
      e[m[2]!.toLowerCase() as 'svg' | 'png'] = sub ? `${sub}/${f}` : f;
      found.set(name, e);
    }
  }
  return found;
}

const MIME = { svg: 'image/svg+xml', png: 'image/png' } as const;

/** Figures at least this wide (their own width, in px) are scaled to the content width; smaller ones keep their size. */
const WIDE_FIGURE_PX = 400;

/** A figure's own width in px: a PNG's IHDR width, an SVG's width attribute (px or unitless) or viewBox width; null when not known. */
export function naturalWidth(format: 'svg' | 'png', bytes: Buffer): number | null {
  if (format === 'png') return bytes.length >= 24 ? bytes.readUInt32BE(16) : null;
  const tag = /<svg\b[^>]*>/i.exec(bytes.subarray(0, 8192).toString('utf8'))?.[0];
  if (!tag) return null;
  const w = /\swidth\s*=\s*["']\s*([\d.]+)\s*(px)?\s*["']/i.exec(tag);
  if (w) return Number(w[1]);
  const vb = /\sviewBox\s*=\s*["']\s*[-\d.e]+[\s,]+[-\d.e]+[\s,]+([\d.e]+)/i.exec(tag);
  return vb ? Number(vb[1]) : null;
}
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

class FigureRenderer {
  readonly used: ReportFigureInfo[] = [];
  private readonly tried = new Set<string>();
  private embedded = 0;
  constructor(private readonly folder: ReportFolder, private readonly files: Map<string, FigureFiles>) {}

  has(name: string): boolean {
    return this.files.has(name);
  }

  remaining(): string[] {
    return [...this.files.keys()].filter((n) => !this.tried.has(n));
  }

  /** The figure as an `<img>` data URI (its SVG if that can be read, else its PNG); '' when neither can. */
  render(name: string): string {
    this.tried.add(name);
    const f = this.files.get(name);
    for (const format of ['svg', 'png'] as const) {
      const rel = f?.[format];
      if (rel === undefined) continue;
      const bytes = this.folder.readOptional(rel, READ_CAPS[format]);
      if (bytes === null) continue;
      if (format === 'png' && !bytes.subarray(0, 8).equals(PNG_MAGIC)) {
        this.folder.note(`${rel} is not a PNG file; skipped`);
        continue;
      }
      if (this.embedded + bytes.length > MAX_EMBEDDED_BYTES) {
        this.folder.note(`${rel} not embedded: the page's figures would pass ${MAX_EMBEDDED_BYTES / 2 ** 20} MiB`);
        continue;
      }
      this.embedded += bytes.length;
      this.used.push({ name, format });
      const w = naturalWidth(format, bytes);
      const wide = w !== null && w >= WIDE_FIGURE_PX;
      return `<figure class="figure${wide ? ' wide' : ''}" id="fig-${esc(slug(name))}" data-figure="${esc(name)}" data-format="${format}">`
        + `<img alt="${esc(name)}" src="data:${MIME[format]};base64,${bytes.toString('base64')}"><figcaption>${esc(name)}</figcaption></figure>`;
    }
    return '';
  }
}

// ---- check folders ----

function verdictOf(c: Json): { failing: boolean; word: string } {
  const failing = c.pass !== true || c.error !== undefined;
  const word = typeof c.verdict === 'string' ? c.verdict : failing ? 'FAIL' : 'holds';
  return { failing, word };
}

function sourceText(s: unknown): string {
  if (s && typeof s === 'object') {
    const o = s as Json;
    return `${text(o.paper)} ${text(o.where)}${o.tag !== undefined ? ` [${text(o.tag)}]` : ''}`.trim();
  }
  return text(s);
}

interface Body { title: string; lede: string; sections: [string, string, string][]; env: Json }

function checkBody(folder: ReportFolder, figs: FigureRenderer): Body {
  const { op, dir } = folder;
  const path = folder.path('report.json');
  const r = folder.json('report.json', false)!;
  if (!Array.isArray(r.claims)) throw new ConfigError(op, `'${path}' has no 'claims' array (not a contrastlab check report.json)`);
  const claims = r.claims.map((c, k) => {
    if (c === null || typeof c !== 'object' || typeof (c as Json).id !== 'string') throw new ConfigError(op, `'${path}': claims[${k}] is not an object with a string 'id'`);
    return c as Json;
  });
  const failing = claims.filter((c) => verdictOf(c).failing).length;
  const lede = `${claims.length} claim${claims.length === 1 ? '' : 's'}${r.size !== undefined ? ` at size '${text(r.size)}'` : ''}${r.seed !== undefined ? ` (seed ${text(r.seed)})` : ''}`
    + `${typeof r.seconds === 'number' ? ` in ${r.seconds.toFixed(1)} s` : ''}: ${claims.length - failing} as expected, ${failing} failing.`;

  const rows = claims.map((c) => {
    const v = verdictOf(c);
    const refuted = c.expected === 'refuted';
    return `<tr class="claim ${v.failing ? 'fail' : 'pass'}" data-claim="${esc(c.id as string)}" data-expected="${refuted ? 'refuted' : 'holds'}" data-verdict="${v.failing ? 'fail' : 'pass'}">`
      + `<td><a href="#claim-${esc(slug(c.id as string))}"><code>${esc(c.id as string)}</code></a></td>`
      + `<td>${esc(sourceText(c.source))}</td><td>${esc(text(c.kind))}</td>`
      + `<td>${refuted ? '<span class="mark refuted" title="the statement, as reconstructed, is expected not to hold; the check demonstrates that">✗ expected refuted</span>' : 'holds'}</td>`
      + `<td class="verdict">${esc(v.word)}</td>`
      + `<td class="margin"><span class="num">${esc(fmtNum(c.margin))}</span>${c.marginUnit ? ` <span class="unit">${esc(text(c.marginUnit))}</span>` : ''}</td>`
      + `<td class="num">${typeof c.seconds === 'number' ? `${c.seconds.toFixed(1)} s` : ''}</td></tr>`;
  });
  const verdicts = `<table class="data" id="verdicts"><thead><tr><th>id</th><th>source</th><th>kind</th><th>expected</th><th>verdict</th><th>margin (unit)</th><th>time</th></tr></thead>\n<tbody>${rows.join('\n')}</tbody></table>`;

  const details = claims.map((c) => {
    const v = verdictOf(c);
    const assumptions = Array.isArray(c.assumptions) && c.assumptions.length ? `<p><strong>Assumptions:</strong> ${c.assumptions.map((a) => mathText(text(a), esc)).join('; ')}.</p>` : '';
    const names = Array.isArray(c.figures) ? c.figures.filter((f): f is string => typeof f === 'string') : [];
    const figures = names.map((f) => (figs.has(f) ? figs.render(f) : `<p class="note">figure ${esc(f)}: no ${esc(f)}.svg or .png in the folder</p>`)).join('\n');
    return `<section class="claim-detail ${v.failing ? 'fail' : 'pass'}" id="claim-${esc(slug(c.id as string))}"><h3><code>${esc(c.id as string)}</code> — ${esc(v.word)}</h3>`
      + `<p class="source">${esc(sourceText(c.source))}</p>`
      + (c.statement !== undefined ? `<p class="statement"><strong>Statement:</strong> ${mathText(text(c.statement), esc)}</p>` : '') + assumptions
      + `<p><strong>Verdict:</strong> ${esc(v.word)} — margin ${esc(fmtNum(c.margin))}${c.marginUnit ? ` ${mathText(text(c.marginUnit), esc)}` : ''}. ${mathText(text(c.summary), esc)}</p>`
      + (c.error !== undefined ? `<p class="error"><strong>Error:</strong> ${esc(text(c.error))}</p>` : '')
      + figures
      + (c.numbers !== undefined ? `<details><summary>numbers</summary><pre>${esc(JSON.stringify(c.numbers, null, 2))}</pre></details>` : '')
      + '</section>';
  }).join('\n');

  const settings: [string, unknown][] = [['size', r.size], ['seed', r.seed], ['seconds', r.seconds], ['passed', r.passed], ['failed', r.failed]];
  const sections: [string, string, string][] = [
    ['verdicts-section', 'Verdicts', verdicts],
    ['claims', 'Claims', details],
    ['settings', 'Settings', kvTable(settings.filter(([, v]) => v !== undefined))],
  ];
  const env = r.environment && typeof r.environment === 'object' ? (r.environment as Json) : {};
  return { title: `contrastlab check report — ${basename(resolve(dir))}`, lede, sections, env };
}

// ---- run folders ----

/** With a grid on the page, per-arm tables of more rows than this are collapsed (<details>). */
const COLLAPSE_ROWS = 8;

/** The two-sided InfoNCE of THEORY 2.1 (src/objectives/infonce.ts), as the page shows it. */
const INFONCE_TEX = String.raw`S = UV^{\top}/\tau,\qquad L(U,V) = \frac{1}{2N}\sum_{i=1}^{N}\Big[\Big(\log\sum_{j=1}^{N} e^{S_{ij}} - S_{ii}\Big) + \Big(\log\sum_{j=1}^{N} e^{S_{ji}} - S_{ii}\Big)\Big]`;

/** The objective's definition, as MathML, when every arm of the spec trains the two-sided InfoNCE (estimator minibatch-infonce); '' otherwise. */
function objectiveLine(spec: unknown): string {
  const exps = spec && typeof spec === 'object' && Array.isArray((spec as Json).experiments) ? ((spec as Json).experiments as unknown[]) : [];
  const objs = exps.map((e) => (e && typeof e === 'object' ? (e as Json).estimator : undefined));
  if (!objs.length || !objs.every((o) => o && typeof o === 'object' && (o as Json).kind === 'minibatch-infonce')) return '';
  const taus = [...new Set(objs.map((o) => (o as Json).tau).filter((t): t is number => typeof t === 'number'))];
  const tau = taus.length ? `, with ${texToMathml(String.raw`\tau = ${taus.map(String).join(', ')}`)}` : '';
  return `<div class="objective" id="objective"><p>Objective: the two-sided InfoNCE over the N rows of U and V (THEORY 2.1)${tau}:</p>${texToMathml(INFONCE_TEX, true)}</div>`;
}

/** The study spec: DIR/spec.json if present, else the shipped preset whose hash matches. */
function findSpec(folder: ReportFolder, name: unknown, hash: unknown): { spec: unknown; origin: string } | null {
  const spec = folder.json('spec.json', true);
  if (spec !== null) {
    const match = typeof hash === 'string' ? (configHash(spec) === hash ? ' (its hash matches final.json)' : ` (its hash ${configHash(spec)} differs from final.json's ${hash})`) : '';
    return { spec, origin: `spec.json in the folder${match}` };
  }
  if (typeof hash !== 'string') return null;
  for (const p of PRESETS) {
    for (const size of ['full', 'smoke'] as const) {
      const spec = validateStudy(expandStudy(p.spec(size)));
      if (spec.name === name && configHash(spec) === hash) return { spec, origin: `the shipped preset '${p.name}' at size ${size}, whose hash matches final.json's studyHash ${hash}` };
    }
  }
  return null;
}

// ---- diagnose folders ----

const num = (x: unknown) => esc(fmtNum(x));
const pm = (m: unknown, se: unknown) => `${num(m)} ± ${num(se)}`;

function diagnoseBody(folder: ReportFolder, figs: FigureRenderer): Body {
  const { op } = folder;
  const path = folder.path('diagnose.json');
  const r = folder.json('diagnose.json', false)!;
  if (!Array.isArray(r.objectives) || !Array.isArray(r.batchSizes)) throw new ConfigError(op, `'${path}' has no 'objectives' / 'batchSizes' arrays (not a contrastlab diagnose.json)`);
  const J = (x: unknown) => (x && typeof x === 'object' ? (x as Json) : {});
  const rows = J(r.rows);
  const nonUnit = Number(rows.nonUnitU ?? 0) + Number(rows.nonUnitV ?? 0);
  const lede = `Embeddings of N = ${text(r.n)} pairs in d = ${text(r.d)} at τ = ${text(r.tau)}, ε₀ = ${text(r.eps0)} (${text(r.dtype)} kernels, ${text(r.modality)} estimators, seed ${text(r.seed)}); `
    + (rows.normalized === true ? 'rows normalised before the diagnosis.' : nonUnit === 0 ? 'all rows unit length.' : `${nonUnit} rows are not unit length: the bounds do not apply.`);
  const sections: [string, string, string][] = [];
  const objs = (r.objectives as unknown[]).map(J);
  sections.push(['objectives', 'Objectives', table(['objective', 'value', '‖grad‖', '‖Riemannian grad‖', 'bound', 'gap'], objs.map((o) => {
    const b = J(o.bound);
    return [`<code>${esc(text(o.name))}</code>`, num(o.value), num(o.gradNorm), num(o.riemannianGradNorm), o.bound ? `${num(b.value)} <span class="unit">${esc(text(b.label))}</span>` : '—', num(o.gap)];
  }))]);
  const sim = J(r.similarity);
  const bound = J(sim.bound);
  sections.push(['similarity', 'Similarities', kvTable([
    ['positive mean (variance)', `${fmtNum(J(sim.positive).mean)} (${fmtNum(J(sim.positive).variance)})`],
    ['negative mean (variance)', `${fmtNum(J(sim.negative).mean)} (${fmtNum(J(sim.negative).variance)})`],
    ['E[s_pos] ≤ 1 + E[s_neg] + 1/(N−1)', `${fmtNum(bound.lhs)} ≤ ${fmtNum(bound.rhs)}: ${bound.applies === false ? 'rows not unit, the bound does not apply' : bound.holds === true ? 'holds' : 'VIOLATED'} (slack ${fmtNum(bound.slack)})`],
  ])]);
  const bs = (r.batchSizes as unknown[]).map(J);
  sections.push(['batch-sizes', 'By batch size', table(
    ['B', 'Jensen gap F − E[F̂_B]', 'plug-in bias', 'SogCLR bias (u = g)', 'draws', 'random batch loss', 'OSGD batches', 'spectral batches', 'same-label negatives / anchor'],
    bs.map((b) => {
      const bias = J(b.bias);
      const h = J(b.hardness);
      const fn = b.falseNegatives ? J(b.falseNegatives) : null;
      const est = (e: Json) => `${pm(e.bias, e.biasSE)}${e.resolved === true ? '' : ' <span class="unit">(below the noise)</span>'}`;
      return [num(b.B), pm(J(b.jensenGap).value, J(b.jensenGap).se), est(J(bias.plugin)), est(J(bias.sogclr)), num(bias.draws),
        pm(J(h.random).mean, J(h.random).se), pm(J(h.osgd).mean, J(h.osgd).se), h.spectral ? pm(J(h.spectral).mean, J(h.spectral).se) : '—',
        fn ? `${num(fn.expectedPerAnchor)} random, ${num(fn.osgdPerAnchor)} OSGD, ${num(fn.spectralPerAnchor)} spectral` : '—'];
    }),
  ) + `<p>${bs.map((b) => esc(text(J(b.bias).statement))).map((t, i) => `B = ${num(bs[i]!.B)}: ${t}`).join('<br>')}</p>`]);
  const hardest = Array.isArray(J(r.anchors).hardest) ? (J(r.anchors).hardest as unknown[]).map(J) : [];
  sections.push(['anchors', 'Hardest anchors', table(['anchor', 'loss', 'nearest negatives (index: similarity)'], hardest.map((a) => [
    num(a.index), num(a.loss), (Array.isArray(a.nearestNegatives) ? a.nearestNegatives.map(J) : []).map((x) => `${num(x.index)}: ${num(x.similarity)}`).join(', '),
  ]))]);
  if (r.labels && typeof r.labels === 'object') {
    const l = J(r.labels);
    sections.push(['labels', 'Labels', kvTable([
      ['classes', l.classes], ['kNN accuracy (k = 5, cosine)', J(l.knn).accuracy], ['linear-probe accuracy (ridge)', J(l.linearProbe).accuracy],
      ['split (train / test)', `${text(J(l.split).train)} / ${text(J(l.split).test)}`],
    ])]);
  }
  const figures = figs.remaining().map((n) => figs.render(n)).join('\n');
  sections.splice(1, 0, ['figures', 'Figures', figures || '<p class="note">No figures in the folder.</p>']);
  return { title: `diagnose: N = ${text(r.n)}, d = ${text(r.d)}`, lede, sections, env: {} };
}

function runBody(folder: ReportFolder, figs: FigureRenderer): Body {
  const { op, dir } = folder;
  const path = folder.path('final.json');
  const f = folder.json('final.json', false)!;
  if (!Array.isArray(f.arms) && !Array.isArray(f.runs)) throw new ConfigError(op, `'${path}' has neither 'arms' nor 'runs' (not a contrastlab run final.json)`);
  const arms = (Array.isArray(f.arms) ? f.arms : []).filter((a): a is Json => a !== null && typeof a === 'object');
  const runs = (Array.isArray(f.runs) ? f.runs : []).filter((a): a is Json => a !== null && typeof a === 'object');
  const study = typeof f.study === 'string' ? f.study : basename(resolve(dir));

  let status = 'complete';
  if (folder.has('checkpoint.json')) {
    const ck = folder.json('checkpoint.json', true);
    if (ck === null) status = 'not known: checkpoint.json was skipped (see Notes)';
    else if (ck.current !== null && ck.current !== undefined) status = 'interrupted: checkpoint.json holds a run in progress (continue with contrastlab run ... --resume)';
  }
  // Per-run checkpoints (runs/NNNN.partial.json) of runs in progress.
  const partial = folder.list('runs').filter((n) => n.endsWith('.partial.json')).length;
  if (partial > 0 && status === 'complete') status = `interrupted: ${partial} run${partial === 1 ? '' : 's'} in progress (runs/NNNN.partial.json; continue with contrastlab run ... --resume)`;
  const runFiles = folder.list('runs').filter((n) => n.endsWith('.json') && !n.endsWith('.partial.json')).length;
  const lede = `${runs.length} run${runs.length === 1 ? '' : 's'} in ${arms.length} arm${arms.length === 1 ? '' : 's'}; ${status}.`;

  const sections: [string, string, string][] = [];
  const spec = findSpec(folder, f.study, f.studyHash);
  const grids = armGrids(arms, spec?.spec, fmtNum);
  const mdBytes = folder.has('summary.md') ? folder.readOptional('summary.md', READ_CAPS.markdown) : null;
  let summary: string;
  if (mdBytes !== null) {
    // summary.md's title, description and environment line are in the page's header and environment table.
    let md = mdBytes.toString('utf8').replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').replace(/^# .*\n+/, '').replace(/^Environment: .*$/m, '');
    if (typeof f.description === 'string' && md.startsWith(`${f.description}\n`)) md = md.slice(f.description.length);
    summary = markdownToHtml(md, 2, grids ? { collapseTablesOver: COLLAPSE_ROWS } : {});
  } else {
    const metrics = [...new Set(arms.flatMap((a) => (a.final && typeof a.final === 'object' ? Object.keys(a.final) : [])))];
    const long = table(['arm', ...metrics.map((m) => `${m} (mean ± sd)`)], arms.map((a) => [esc(text(a.arm)), ...metrics.map((m) => {
      const s = (a.final as Json)?.[m] as Json | undefined;
      return s ? `${esc(fmtNum(s.mean))} ± ${esc(fmtNum(s.sd))}` : '—';
    })]));
    summary = grids && arms.length > COLLAPSE_ROWS ? `<details><summary>All ${arms.length} arms</summary>${long}</details>` : long;
  }
  sections.push(['summary', 'Summary', objectiveLine(spec?.spec) + (grids ?? '') + `<div id="summary-tables">${summary}</div>`]);

  const figures = figs.remaining().map((n) => figs.render(n)).join('\n');
  sections.push(['figures', 'Figures', figures || '<p class="note">No figures in the folder.</p>']);

  const metricKeys = [...new Set(runs.flatMap((r) => (r.final && typeof r.final === 'object' ? Object.keys(r.final).filter((k) => k !== 'step' && k !== 'epoch') : [])))];
  sections.push(['runs', 'Runs (final values)', `<details id="runs-details"><summary>${runs.length} run${runs.length === 1 ? '' : 's'}: final values of each seed</summary>`
    + table(['arm', 'seed', 'steps', 'epochs', 'stopped early', ...metricKeys],
      runs.map((r) => [esc(text(r.arm)), esc(fmtNum(r.seed)), esc(fmtNum(r.steps)), esc(fmtNum(r.epochs)), r.stoppedEarly ? 'yes' : 'no',
        ...metricKeys.map((k) => esc(fmtNum((r.final as Json | undefined)?.[k])))]), ' id="runs-table"') + '</details>']);

  const hashes = table(['arm', 'config hash'], arms.map((a) => [esc(text(a.arm)), `<code>${esc(text(a.configHash))}</code>`]));
  sections.push(['config', 'Configuration', spec
    ? `<p>Spec: ${esc(spec.origin)}.</p><pre id="spec">${esc(JSON.stringify(spec.spec, null, 2))}</pre>${hashes}`
    : `<p>The spec is not recorded in this folder and no shipped preset has its hash${typeof f.studyHash === 'string' ? ` (studyHash <code>${esc(f.studyHash)}</code>)` : ''}. Config hashes per arm:</p>${hashes}`]);

  // lstat, not stat: a link is shown as a link (a dangling one included) and never followed out.
  const files = folder.list().map((n) => {
    const d = folder.describe(n);
    return [`<code>${esc(d.label)}</code>`, esc(d.label === 'runs/' ? `${runFiles} finished runs` : d.what)];
  });
  sections.push(['files', 'Files in the folder', table(['file', 'size or kind'], files)]);

  const env = f.environment && typeof f.environment === 'object' ? { study, studyHash: f.studyHash, ...(f.environment as Json) } : { study, studyHash: f.studyHash };
  const description = typeof f.description === 'string' ? f.description : '';
  return { title: `contrastlab run — ${study}`, lede: `${description} ${lede}`.trim(), sections, env };
}

// ---- the page ----

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --pass: #1a7f37; --fail: #cf222e; --bg2: #f6f8fa; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); margin: 0 auto; max-width: 1200px; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; } h2 { border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
nav a { margin-right: 1rem; } .lede { color: var(--muted); }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
thead th { background: var(--bg2); } table.kv th { background: var(--bg2); font-weight: 600; }
tr.pass td.verdict { color: var(--pass); font-weight: 600; } tr.fail td.verdict { color: var(--fail); font-weight: 700; }
tr.fail { background: #ffebe9; } .unit { color: var(--muted); font-size: .85em; } td.num, .num { font-variant-numeric: tabular-nums; }
.mark.refuted { color: #8250df; font-weight: 600; white-space: nowrap; }
section.claim-detail { border-left: 4px solid var(--pass); padding-left: 1rem; margin: 1.5rem 0; } section.claim-detail.fail { border-left-color: var(--fail); }
.source, .note, figcaption, footer { color: var(--muted); font-size: .9rem; } .error { color: var(--fail); }
figure.figure { margin: 1rem 0; overflow-x: auto; } figure.figure img { max-width: 100%; height: auto; display: block; }
figure.figure.wide img { width: 100%; }
math { font-size: 1.1em; } math[display="block"] { display: block math; margin: .6rem 0; overflow-x: auto; } .tex-error { color: var(--fail); }
table.grid caption { caption-side: top; text-align: left; font-weight: 600; padding: .2rem 0; } table.grid tbody th { background: var(--bg2); white-space: nowrap; }
details > summary { cursor: pointer; color: var(--muted); margin: .4rem 0; }
pre { background: var(--bg2); padding: .6rem; overflow-x: auto; font-size: .8rem; max-height: 30rem; }
`;

const SCRIPT = `addEventListener('load', function () {
  var figs = document.querySelectorAll('figure.figure'), ok = 0;
  for (var i = 0; i < figs.length; i++) {
    var img = figs[i].querySelector('img'), r = img && img.getBoundingClientRect();
    var good = !!img && img.complete && img.naturalWidth > 0 && r.width > 0 && r.height > 0;
    figs[i].setAttribute('data-rendered', good ? 'yes' : 'no');
    figs[i].setAttribute('data-width', r ? String(Math.round(r.width)) : '0');
    if (good) ok++;
  }
  document.body.setAttribute('data-figures-rendered', ok + '/' + figs.length);
});`;

const sha256 = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`;
const CSP = `default-src 'none'; img-src data:; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; base-uri 'none'; form-action 'none'`;

/** Builds the page for the run or check output in `dir` (throws ConfigError naming the path on bad input). */
export function buildReport(dir: string, opts: ReportOptions = {}): ReportPage {
  const op = opts.op ?? 'report';
  const kind = reportKind(dir, { op });
  const folder = new ReportFolder(op, dir);
  const figs = new FigureRenderer(folder, findFigures(folder));
  const body = kind === 'check' ? checkBody(folder, figs) : kind === 'diagnose' ? diagnoseBody(folder, figs) : runBody(folder, figs);
  if (kind === 'check') {
    const rest = figs.remaining();
    if (rest.length) body.sections.splice(2, 0, ['other-figures', 'Other figures', rest.map((n) => figs.render(n)).join('\n')]);
  }
  const dataFile = kind === 'check' ? 'report.json' : kind === 'diagnose' ? 'diagnose.json' : 'final.json';
  const now = opts.now ?? new Date();
  const env: [string, unknown][] = [
    ...Object.entries(body.env).filter(([, v]) => v !== undefined),
    [`${dataFile} written`, folder.mtime(dataFile).toISOString()],
    ['page generated', now.toISOString()],
  ];
  if (!Object.keys(body.env).some((k) => /git|commit/i.test(k))) env.push(['git commit', 'not recorded']);
  body.sections.push(['environment', 'Environment', kvTable(env, 'environment-table')]);
  if (folder.notes.length) {
    body.sections.push(['notes', 'Notes', `<p>Entries of the folder that were not read (only regular files inside it are):</p><ul>${folder.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`]);
  }

  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="contrastlab report">
<title>${esc(body.title)}</title>
<style>${STYLE}</style>
</head>
<body data-kind="${kind}" data-figures="${figs.used.length}">
<header><h1>${esc(body.title)}</h1><p class="lede">${esc(body.lede)}</p>
<nav>${body.sections.map(([id, title]) => `<a href="#${id}">${esc(title)}</a>`).join('')}</nav></header>
<main>
${body.sections.map(([id, title, content]) => `<section id="${id}"><h2>${esc(title)}</h2>\n${content}\n</section>`).join('\n')}
</main>
<footer>Generated by <code>contrastlab report</code> from <code>${esc(resolve(dir))}</code> on ${esc(now.toISOString())}.</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
  return { kind, title: body.title, html, figures: figs.used };
}

/**
 * Writes the page for `dir` to `out` (default `dir/report.html`) atomically; an existing file is
 * replaced only with `overwrite`.
 */
export function writeReport(dir: string, opts: ReportOptions & { out?: string; overwrite?: boolean } = {}): ReportPage & { path: string; bytes: number } {
  const op = opts.op ?? 'report';
  reportKind(dir, { op });
  const path = opts.out ?? join(dir, 'report.html');
  assertCanWrite(op, path, opts.overwrite ?? false);
  const page = buildReport(dir, opts);
  writeFileAtomic(path, page.html, { overwrite: opts.overwrite ?? false, op });
  return { ...page, path, bytes: Buffer.byteLength(page.html, 'utf8') };
}
