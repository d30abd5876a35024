/**
 * docs/theory.md is the specification that every "THEORY …" citation in the repository points to
 * (issue 12). This test collects the citations from the sources, the claims, the README, the docs,
 * the notebooks, the tests and the benchmarks, and checks each one against the document:
 *
 *   THEORY 2.1, THEORY.md 2.1, THEORY §2.1     a heading numbered 2.1 ("### 2.1 …") exists
 *   THEORY 2.2/3, THEORY 2.3, 5                 every listed number is a heading
 *   THEORY 3, row 2 / first row                 section 3 has a table row whose first cell is 2
 *   THEORY 3, first caveat / caveat 1           section 3 has a "Caveats" list with an item 1
 *   THEORY 3, caveats: low dimension            that list has an item containing "low dimension"
 *   THEORY 3, caveats                           section 3 has a "Caveats" list
 *   THEORY 5 (claims: SimCLR/plug-in bias)      section 5's text contains the label
 *   THEORY 5, "Parametrisations"                section 5's text contains the quoted label
 *   §4.5 (inside docs/theory.md itself)         a heading numbered 4.5 exists
 *
 * It also checks that every claim of the catalogue is named in the document (as `id`), and that
 * sections 1–6 and 2.1–2.3 keep the numbers and titles of the earlier THEORY.md, so citations
 * written against that file stay valid.
 *
 * The checking functions take the document's text, so the unit tests below also show that a
 * broken document (a cited heading, a table row or a caveat removed; a claim not named) fails.
 */
import { readdirSync, readFileSync, type Stats, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLAIMS } from '../../src/claims.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const THEORY_DOC = 'docs/theory.md';
const DOC_PATH = join(ROOT, THEORY_DOC);

// ---------------------------------------------------------------------------------------------
// Collecting citations

/** What the scan reads: these paths under the repository root (folders recursively). */
const SCAN_ROOTS = ['src', 'proofs-checks', 'notebooks', 'docs', 'tests', 'benchmarks', 'scripts', 'bin', 'README.md'];
/** Folders never read: dependencies, build and run outputs, and this test's own folder (its fixtures cite on purpose). */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'results', '.git', '.gl', '.whl']);
const SKIP_PATHS = new Set(['tests/docs', 'src/backend/cpu/wasm/kernels.generated.ts']);
const TEXT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.py', '.md', '.ipynb']);

export interface Citation {
  /** Repository-relative path of the citing file. */
  readonly file: string;
  /** 1-based line of the citation (for notebooks: the line in the cells' joined text). */
  readonly line: number;
  /** The citation as written (normalised whitespace), for messages. */
  readonly text: string;
  /** Section numbers cited, e.g. ['2.3', '5']. */
  readonly sections: readonly string[];
  /** A table row of the (first) cited section, e.g. 'THEORY 3, row 2'. */
  readonly row?: number;
  /** An item of the section's caveats list ('THEORY 3, first caveat'); 0 = the list itself. */
  readonly caveat?: number;
  /** Text that must appear in one of the section's caveats ('THEORY 3, caveats: low dimension'). */
  readonly caveatLabel?: string;
  /** Text that must appear in the section ('(claims: …)' or a quoted label). */
  readonly label?: string;
}

const ORDINALS: Record<string, number> = { first: 1, second: 2, third: 3, fourth: 4, fifth: 5, sixth: 6 };

/** The head of a citation: "THEORY", optionally ".md", optionally "§", then a section number ("THEORY's 1/√B" is not one). */
const HEAD = /^THEORY(?:\.md)?[ \t]*(?:§[ \t]*)?(\d+(?:\.\d+)*)/;
/** A further section in a list: "/3", ", 5", " and 6" — a number that ends there (not "5, arXiv 2305…", "3, row 1"). */
const MORE = /^[ \t]*(?:\/|,|and\b|&)[ \t]*(?:§[ \t]*)?(\d+(?:\.\d+)*)(?=[ \t]*(?:[),;\]/&]|\.(?!\d)|and\b|$))/;

/** Collapses a comment-wrapped window onto one line: newlines with their indentation and comment leaders. */
function flatten(s: string): string {
  return s.replace(/[ \t]*\r?\n[ \t]*(?:\*(?!\*)|\/\/+|#+(?=[ \t]))?[ \t]*/g, ' ');
}

function normaliseLabel(s: string): string {
  return s.toLowerCase().replace(/[“”"'`*_]/g, '').replace(/\s+/g, ' ').trim();
}

/** Parses the citation at the start of `window` (which begins with "THEORY"), or null when none is there. */
export function parseCitation(window: string, file: string, line: number): Citation | null {
  const w = flatten(window);
  const head = HEAD.exec(w);
  if (!head) return null;
  const sections = [head[1]!];
  let rest = w.slice(head[0].length);
  for (let more = MORE.exec(rest); more; more = MORE.exec(rest)) {
    sections.push(more[1]!);
    rest = rest.slice(more[0].length);
  }
  let row: number | undefined;
  let caveat: number | undefined;
  let caveatLabel: string | undefined;
  let label: string | undefined;
  let m: RegExpExecArray | null;
  if ((m = /^\s*,\s*row\s+(\d+)\b/i.exec(rest))) row = Number(m[1]);
  else if ((m = /^\s*,\s*(first|second|third|fourth|fifth|sixth)\s+row\b/i.exec(rest))) row = ORDINALS[m[1]!.toLowerCase()];
  else if ((m = /^\s*,\s*(first|second|third|fourth|fifth|sixth)\s+caveat\b/i.exec(rest))) caveat = ORDINALS[m[1]!.toLowerCase()];
  else if ((m = /^\s*,\s*caveat\s+(\d+)\b/i.exec(rest))) caveat = Number(m[1]);
  else if ((m = /^\s*(?:,\s*|\(\s*)caveats?\s*:\s*([^)\];,]+)/i.exec(rest))) { caveat = 0; caveatLabel = normaliseLabel(m[1]!); }
  else if ((m = /^\s*,\s*caveats\b/i.exec(rest))) caveat = 0;
  else if ((m = /^\s*\(\s*claims?\s*:\s*([^)]+)\)/i.exec(rest))) label = normaliseLabel(m[1]!);
  else if ((m = /^\s*,\s*["“]([^"”]+)["”]/.exec(rest))) label = normaliseLabel(m[1]!);
  const consumed = w.length - rest.length + (m ? m[0].length : 0);
  const text = w.slice(0, consumed).replace(/\s+/g, ' ').trim();
  return {
    file, line, text, sections,
    ...(row !== undefined ? { row } : {}),
    ...(caveat !== undefined ? { caveat } : {}),
    ...(caveatLabel !== undefined ? { caveatLabel } : {}),
    ...(label !== undefined ? { label } : {}),
  };
}

/** Every citation in `text` (the contents of `file`): "THEORY n…" anywhere, and bare "§n" inside docs/theory.md. */
export function extractCitations(text: string, file: string): Citation[] {
  const out: Citation[] = [];
  const lineAt = (i: number) => text.slice(0, i).split('\n').length;
  for (const m of text.matchAll(/THEORY/g)) {
    const i = m.index ?? 0;
    const c = parseCitation(text.slice(i, i + 240), file, lineAt(i));
    if (c) out.push(c);
  }
  if (file === THEORY_DOC) {
    for (const m of text.matchAll(/(?<!THEORY[ \t]*|THEORY\.md[ \t]*)§[ \t]*(\d+(?:\.\d+)*)/g)) {
      out.push({ file, line: lineAt(m.index ?? 0), text: m[0], sections: [m[1]!] });
    }
  }
  return out;
}

/** A file's text as scanned: notebooks as the joined string leaves of their JSON (cell sources and outputs). */
function scannedText(path: string): string {
  const raw = readFileSync(path, 'utf8');
  if (extname(path) !== '.ipynb') return raw;
  const parts: string[] = [];
  const walk = (x: unknown): void => {
    if (typeof x === 'string') parts.push(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(JSON.parse(raw));
  return parts.join('');
}

function filesUnder(rel: string): string[] {
  if (SKIP_PATHS.has(rel)) return [];
  const abs = join(ROOT, rel);
  let st: Stats;
  try {
    st = statSync(abs);
  } catch {
    return [];
  }
  if (st.isFile()) return TEXT_EXTENSIONS.has(extname(rel)) ? [rel] : [];
  if (!st.isDirectory()) return [];
  return readdirSync(abs).filter((name) => !SKIP_DIRS.has(name)).sort().flatMap((name) => filesUnder(`${rel}/${name}`));
}

/** Every citation in the repository's scanned files. */
export function collectCitations(): Citation[] {
  return SCAN_ROOTS.flatMap(filesUnder).flatMap((rel) => extractCitations(scannedText(join(ROOT, rel)), rel.split(sep).join('/')));
}

// ---------------------------------------------------------------------------------------------
// The document's structure

export interface Section {
  readonly number: string;
  readonly title: string;
  readonly level: number;
  /** The section's text: its heading line up to the next heading of the same or a higher level. */
  readonly text: string;
}

/** Numbered headings ("## 3. Known optima …", "### 2.1 Two-sided …") outside code fences. */
export function parseSections(doc: string): Map<string, Section> {
  const lines = doc.split('\n');
  const heads: { number: string; title: string; level: number; index: number }[] = [];
  const anyHeads: { level: number; index: number }[] = [];
  let fence = false;
  lines.forEach((line, index) => {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (fence) return;
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (!h) return;
    anyHeads.push({ level: h[1]!.length, index });
    const n = /^(\d+(?:\.\d+)*)\.?\s+(.*)$/.exec(h[2]!.trim());
    if (n) heads.push({ number: n[1]!, title: n[2]!.trim(), level: h[1]!.length, index });
  });
  const out = new Map<string, Section>();
  for (const h of heads) {
    const next = anyHeads.find((a) => a.index > h.index && a.level <= h.level);
    const text = lines.slice(h.index, next ? next.index : lines.length).join('\n');
    if (!out.has(h.number)) out.set(h.number, { number: h.number, title: h.title, level: h.level, text });
  }
  return out;
}

/** Numbers in the first cell of the section's table rows ("| 2 | …"). */
function tableRows(section: Section): Set<number> {
  const rows = new Set<number>();
  for (const m of section.text.matchAll(/^\|\s*(\d+)\s*\|/gm)) rows.add(Number(m[1]));
  return rows;
}

/** The numbered items of the first "Caveats" heading inside the section, by number, with their text; null if none. */
function caveats(section: Section): Map<number, string> | null {
  const lines = section.text.split('\n');
  const start = lines.findIndex((l) => /^#{1,6}\s.*caveat/i.test(l));
  if (start < 0) return null;
  const items = new Map<number, string>();
  let current: number | null = null;
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6}\s/.test(line)) break;
    const item = /^(\d+)\.\s+(.*)$/.exec(line);
    if (item) {
      current = Number(item[1]);
      items.set(current, item[2]!);
    } else if (current !== null && line.trim() !== '') items.set(current, `${items.get(current)!} ${line.trim()}`);
  }
  return items;
}

/** What is wrong with the citations against the document `doc` (empty when every citation resolves). */
export function checkCitations(doc: string, citations: readonly Citation[]): string[] {
  const sections = parseSections(doc);
  const problems: string[] = [];
  for (const c of citations) {
    const where = `${c.file}:${c.line} "${c.text}"`;
    const missing = c.sections.filter((n) => !sections.has(n));
    if (missing.length > 0) {
      problems.push(`${where}: no section ${missing.join(', ')} in docs/theory.md`);
      continue;
    }
    const s = sections.get(c.sections[0]!)!;
    if (c.row !== undefined && !tableRows(s).has(c.row)) problems.push(`${where}: section ${s.number} has no table row ${c.row}`);
    if (c.caveat !== undefined) {
      const list = caveats(s);
      if (list === null) problems.push(`${where}: section ${s.number} has no "Caveats" list`);
      else if (c.caveat > 0 && !list.has(c.caveat)) problems.push(`${where}: section ${s.number} has no caveat ${c.caveat}`);
      else if (c.caveatLabel !== undefined && ![...list.values()].some((t) => normaliseLabel(t).includes(c.caveatLabel!))) {
        problems.push(`${where}: no caveat of section ${s.number} mentions "${c.caveatLabel}"`);
      }
    }
    if (c.label !== undefined && !normaliseLabel(s.text).includes(c.label)) problems.push(`${where}: section ${s.number} does not mention "${c.label}"`);
  }
  return problems;
}

/** Claim ids not named in the document as `id`. */
export function missingClaimIds(doc: string, ids: readonly string[]): string[] {
  return ids.filter((id) => !doc.includes(`\`${id}\``));
}

// ---------------------------------------------------------------------------------------------
// Tests

const DOC = readFileSync(DOC_PATH, 'utf8');

/** The sections of the earlier THEORY.md, with their titles: citations were written against these. */
const THEORY_MD_SECTIONS: readonly [string, string][] = [
  ['1', 'Notation'],
  ['2', 'Objectives'],
  ['2.1', "Two-sided InfoNCE, `infonce` (CHO's loss; CLIP-style)"],
  ['2.2', 'Mini-batch objective over a batch set, `minibatch`'],
  ['2.3', 'Global contrastive objective, `gcl` (SOG)'],
  ['3', 'Known optima (unit-norm rows) and closed forms, in the conventions above'],
  ['4', 'Batch selection (CHO)'],
  ['5', 'SogCLR and its baselines (SOG)'],
  ['6', 'Optimizer conventions'],
];

/** Removes the heading line that starts with `prefix` (the section's text stays, as plain text). */
function withoutHeading(doc: string, prefix: string): string {
  const lines = doc.split('\n');
  const i = lines.findIndex((l) => l.startsWith(prefix));
  if (i < 0) throw new Error(`no heading starting with ${prefix}`);
  lines[i] = lines[i]!.replace(/^#+\s+/, '');
  return lines.join('\n');
}

describe('docs/theory.md', () => {
  const citations = collectCitations();

  it('resolves every THEORY citation in the repository', () => {
    expect(checkCitations(DOC, citations)).toEqual([]);
    // The scan found the citations where they are known to be (guards against a scan that silently reads nothing).
    const files = new Set(citations.map((c) => c.file.split('/')[0]));
    for (const where of ['src', 'proofs-checks', 'README.md', 'docs']) expect(files).toContain(where);
    expect(citations.length).toBeGreaterThan(100);
    expect(citations.some((c) => c.row !== undefined)).toBe(true);
    expect(citations.some((c) => c.caveatLabel !== undefined)).toBe(true);
    expect(citations.some((c) => c.label !== undefined)).toBe(true);
  });

  it('names every claim of the catalogue', () => {
    expect(CLAIMS.length).toBeGreaterThan(0);
    expect(missingClaimIds(DOC, CLAIMS.map((c) => c.id))).toEqual([]);
  });

  it("keeps the earlier THEORY.md's section numbers and titles", () => {
    const sections = parseSections(DOC);
    for (const [number, title] of THEORY_MD_SECTIONS) expect(sections.get(number)?.title, `section ${number}`).toBe(title);
  });

  it('reads every citation form', () => {
    const one = (s: string) => parseCitation(s, 'x.ts', 1);
    expect(one('THEORY 2.1 (averaged)')).toMatchObject({ sections: ['2.1'] });
    expect(one("THEORY 2.1's averaged two-sided InfoNCE")).toMatchObject({ sections: ['2.1'] });
    expect(one('THEORY.md 2.1). */')).toMatchObject({ sections: ['2.1'] });
    expect(one('THEORY §4, CHO')).toMatchObject({ sections: ['4'] });
    expect(one('THEORY 5.')).toMatchObject({ sections: ['5'] });
    expect(one('THEORY 2.2/3; [fig]')).toMatchObject({ sections: ['2.2', '3'] });
    expect(one('THEORY\n * 2.3, 5), one interface')).toMatchObject({ sections: ['2.3', '5'] });
    expect(one('THEORY 5, arXiv 2305.11965).')).toMatchObject({ sections: ['5'] });
    expect(one('THEORY 3, row 2; [fig][derived])')).toMatchObject({ sections: ['3'], row: 2 });
    expect(one('THEORY 3, first row (Lu')).toMatchObject({ sections: ['3'], row: 1 });
    expect(one('THEORY 3, second caveat [derived]')).toMatchObject({ sections: ['3'], caveat: 2 });
    expect(one('THEORY 3, caveats: low dimension)')).toMatchObject({ caveat: 0, caveatLabel: 'low dimension' });
    expect(one('THEORY 3, caveats) — rotate')).toMatchObject({ caveat: 0 });
    expect(one('THEORY 5 (claims: SimCLR/plug-in bias)')).toMatchObject({ sections: ['5'], label: 'simclr/plug-in bias' });
    expect(one('THEORY 5, "Parametrisations").')).toMatchObject({ sections: ['5'], label: 'parametrisations' });
    expect(one("THEORY's tag")).toBeNull();
    expect(one("THEORY's 1/√B and 1/B")).toBeNull();
    expect(one('THEORY marks unverified')).toBeNull();
    // Notebooks: string leaves of the JSON; docs: bare § references too.
    expect(extractCitations('see §4.5 and THEORY §2', 'docs/theory.md').map((c) => c.sections)).toEqual([['2'], ['4.5']]);
    expect(extractCitations('see §4.5', 'docs/other.md')).toEqual([]);
  });

  it('fails on a document missing a cited section, row or caveat', () => {
    const cite = (s: string) => extractCitations(s, 'src/example.ts');
    // The real citations against a document whose "## 5." heading is gone: every THEORY 5 citation fails.
    const no5 = checkCitations(withoutHeading(DOC, '## 5. '), citations);
    expect(no5.length).toBe(citations.filter((c) => c.sections.includes('5')).length);
    expect(no5.length).toBeGreaterThan(20);
    expect(no5.every((p) => p.includes('no section 5'))).toBe(true);
    // A subsection.
    const no23 = checkCitations(withoutHeading(DOC, '### 2.3 '), cite('F (THEORY 2.3, 5)'));
    expect(no23).toEqual(['src/example.ts:1 "THEORY 2.3, 5": no section 2.3 in docs/theory.md']);
    // A table row.
    const rowless = DOC.split('\n').filter((l) => !l.startsWith('| 2 | all C(N,B) batches')).join('\n');
    expect(checkCitations(DOC, cite('Thm 4 (THEORY 3, row 2)'))).toEqual([]);
    expect(checkCitations(rowless, cite('Thm 4 (THEORY 3, row 2)'))).toEqual(['src/example.ts:1 "THEORY 3, row 2": section 3 has no table row 2']);
    // A caveat, by number and by label.
    const noCaveat2 = DOC.split('\n').filter((l) => !l.startsWith('2. **Low dimension.**')).join('\n');
    expect(checkCitations(noCaveat2, cite('(THEORY 3, second caveat)'))).toEqual(['src/example.ts:1 "THEORY 3, second caveat": section 3 has no caveat 2']);
    expect(checkCitations(DOC, cite('(THEORY 3, caveats: lower dimension)'))).toEqual([
      'src/example.ts:1 "THEORY 3, caveats: lower dimension": no caveat of section 3 mentions "lower dimension"',
    ]);
    // A label of a claims paragraph, and a section that never existed.
    expect(checkCitations(DOC, cite('(THEORY 5 (claims: the sigmoid loss))'))).toEqual([
      'src/example.ts:1 "THEORY 5 (claims: the sigmoid loss)": section 5 does not mention "the sigmoid loss"',
    ]);
    expect(checkCitations(DOC, cite('THEORY 42.2'))).toEqual(['src/example.ts:1 "THEORY 42.2": no section 42.2 in docs/theory.md']);
  });

  it('fails on a document that does not name a claim', () => {
    const id = CLAIMS[0]!.id;
    expect(missingClaimIds(DOC.split(`\`${id}\``).join('(removed)'), CLAIMS.map((c) => c.id))).toEqual([id]);
  });
});
